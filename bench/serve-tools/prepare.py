#!/usr/bin/env python3
"""bench/serve's MLflow side and request bodies, from a workspace where mlbuild built the example.

    python3 bench/serve-tools/prepare.py WORKSPACE OUT

- Fits scikit-learn's LogisticRegression and HistGradientBoostingClassifier on mlbuild's own
  build/features/churn/train.bin (the same rows and the same fitted preprocessing), with the
  hyper-parameters of build/model/churn/model.json and build/model/churn_gbt/model.json (the
  recipes are bench/train_sklearn.py's), and saves them with mlflow.sklearn.save_model to
  OUT/mlflow/churn and OUT/mlflow/churn_gbt. The pyfunc answers predict_proba, as mlbuild answers
  a probability. The models are fitted on a DataFrame with mlbuild's feature names, so a request
  carries named columns and scikit-learn does not warn on every call.
- Writes the bodies: OUT/body/mlbuild-N.json, {"rows": [...]} with the first N raw rows of
  data/churn_recent.csv (mlbuild validates and preprocesses them itself), and
  OUT/body/mlflow-N.json, /invocations' {"dataframe_split": ...} with the first N rows of
  test.bin: already preprocessed feature columns, which is what the scikit-learn model takes.
"""

import csv
import json
import os
import shutil
import sys

import mlflow.sklearn
import pandas as pd
from mlflow.models import infer_signature

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from train_sklearn import gradient_boosting, logistic_regression, read_matrix  # noqa: E402

SIZES = (1, 100)


def raw_value(text):
    """A CSV cell as a client would send it in JSON: a number when it reads as one, else text."""
    if text == "":
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def main():
    workspace, out = sys.argv[1:3]
    features = os.path.join(workspace, "build", "features", "churn")
    with open(os.path.join(features, "feature_names.json")) as f:
        names = json.load(f)
    x_train, y_train = read_matrix(os.path.join(features, "train.bin"))
    x_test, _ = read_matrix(os.path.join(features, "test.bin"))
    train = pd.DataFrame(x_train, columns=names)

    # mlflow saves with skops, which asks that types it cannot bound-check be named as trusted:
    # we made these trees ourselves, a moment ago.
    models = (
        ("churn", logistic_regression, []),
        ("churn_gbt", gradient_boosting, ["sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor"]),
    )
    for model_name, make, trusted in models:
        with open(os.path.join(workspace, "build", "model", model_name, "model.json")) as f:
            hyper = json.load(f)["hyperparameters"]
        model = make(hyper).fit(train, y_train)
        path = os.path.join(out, "mlflow", model_name)
        shutil.rmtree(path, ignore_errors=True)  # save_model refuses an existing directory
        signature = infer_signature(train.head(5), model.predict_proba(train.head(5)))
        mlflow.sklearn.save_model(model, path, signature=signature, pyfunc_predict_fn="predict_proba",
                                 skops_trusted_types=trusted)

    os.makedirs(os.path.join(out, "body"), exist_ok=True)
    with open(os.path.join(workspace, "data", "churn_recent.csv"), newline="") as f:
        raw = list(csv.DictReader(f))
    for n in SIZES:
        rows = [{k: raw_value(v) for k, v in row.items() if k != "churned"} for row in raw[:n]]
        with open(os.path.join(out, "body", f"mlbuild-{n}.json"), "w") as f:
            json.dump({"rows": rows}, f)
        split = {"columns": names, "data": x_test[:n].tolist()}
        with open(os.path.join(out, "body", f"mlflow-{n}.json"), "w") as f:
            json.dump({"dataframe_split": split}, f)


if __name__ == "__main__":
    main()
