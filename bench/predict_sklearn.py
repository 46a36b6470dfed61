#!/usr/bin/env python3
"""The peer side of bench/train's scoring line: pandas reads the CSV, applies mlbuild's fitted
preprocessing (transform.json: impute, log1p, scaling, one-hot) vectorised, scikit-learn's
predict_proba scores, pandas writes id, prediction, probability. Each model is refitted on
train.bin first (not timed). Prints one JSON object with the seconds of each model.

    python3 bench/predict_sklearn.py WORKSPACE CSV FEATURES LR_MODEL GBT_MODEL
"""

import json
import os
import sys
import time

import numpy as np
import pandas as pd

sys.path.insert(0, os.path.dirname(__file__))
from train_sklearn import gradient_boosting, logistic_regression, read_matrix  # noqa: E402


def features(frame, transform):
    columns = []
    for step in transform["steps"]:
        raw = frame[step["column"]]
        if step["kind"] == "one_hot":
            text = raw.astype("string")
            if step.get("impute_text") is not None:
                text = text.fillna(step["impute_text"])
            columns += [(text == c).fillna(False).to_numpy(dtype=np.float64) for c in step["categories"]]
            continue
        x = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64)
        if step.get("impute_value") is not None:
            x = np.where(np.isnan(x), step["impute_value"], x)
        if step.get("log1p"):
            x = np.log1p(x)
        if step.get("scaling"):
            x = (x - step["center"]) / step["scale"]
        columns.append(x)
    return np.column_stack(columns)


def main():
    workspace, csv, features_name, lr_model, gbt_model = sys.argv[1:6]
    fdir = os.path.join(workspace, "build", "features", features_name)
    with open(os.path.join(fdir, "transform.json")) as f:
        transform = json.load(f)
    x_train, y_train = read_matrix(os.path.join(fdir, "train.bin"))
    out = {}
    for key, name, make in (("logistic", lr_model, logistic_regression), ("boosting", gbt_model, gradient_boosting)):
        with open(os.path.join(workspace, "build", "model", name, "model.json")) as f:
            model = make(json.load(f)["hyperparameters"]).fit(x_train, y_train)
        target = os.path.join(workspace, f"sklearn-{key}.csv")
        t = time.perf_counter()
        frame = pd.read_csv(csv)
        p = model.predict_proba(features(frame, transform))[:, 1]
        ids = transform["id_columns"]
        result = frame[ids].copy() if ids else pd.DataFrame(index=frame.index)
        result["prediction"] = np.where(p >= 0.5, transform["label"]["classes"][1], transform["label"]["classes"][0])
        result["probability"] = p
        result.to_csv(target, index=False)
        out[key] = {"rows": len(frame), "seconds": time.perf_counter() - t}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
