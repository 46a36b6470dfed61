#!/usr/bin/env python3
"""scikit-learn's side of bench/train, on exactly mlbuild's data.

Reads a workspace that mlbuild has built (build/features/NAME/train.bin and test.bin: the same
split and the same fitted preprocessing, format in docs/formats.md), fits
LogisticRegression(lbfgs, C = 1/l2) and HistGradientBoostingClassifier with mlbuild's
hyper-parameters, and prints one JSON line per model with test ROC AUC and fit seconds, plus
mlbuild's AUC from build/model/*/metrics.json and the time of pandas.read_csv on the raw CSV.

    python3 bench/train_sklearn.py WORKSPACE CSV FEATURES LR_MODEL GBT_MODEL
"""

import json
import os
import struct
import sys
import time

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score


def read_matrix(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"MLBMATX\0":
        raise SystemExit(f"{path}: not an mlbuild matrix")
    (version,) = struct.unpack_from("<I", data, 8)
    rows, columns = struct.unpack_from("<QQ", data, 12)
    has_label = data[28]
    offset = 29
    x = np.frombuffer(data, dtype="<f8", count=rows * columns, offset=offset).reshape(rows, columns)
    y = None
    if has_label:
        y = np.frombuffer(data, dtype="<f8", count=rows, offset=offset + 8 * rows * columns)
    return x, y


def logistic_regression(h):
    """scikit-learn's LogisticRegression with mlbuild's hyper-parameters (model.json's)."""
    return LogisticRegression(solver="lbfgs", C=1.0 / h["l2"], tol=h["tolerance"], max_iter=max(1000, h["max_iterations"]))


def gradient_boosting(h):
    """HistGradientBoostingClassifier with mlbuild's gradient_boosting hyper-parameters."""
    return HistGradientBoostingClassifier(
        max_iter=h["trees"], learning_rate=h["learning_rate"], max_leaf_nodes=h["max_leaf_nodes"],
        min_samples_leaf=h["min_samples_leaf"], max_bins=h["max_bins"], l2_regularization=h["l2"],
        max_depth=h["max_depth"], early_stopping=False, random_state=0)


def lightgbm_fit(h, x_train, y_train, x_test, y_test, threads):
    """LightGBM with the same trees, leaves, bins, rate, leaf minimum and L2, deterministic and
    row-wise (what issue 14 measured); the Dataset's binning is inside the timed fit, as
    mlbuild's is. None when lightgbm is not installed."""
    try:
        import lightgbm as lgb
    except ImportError:
        return None
    params = {
        "objective": "binary", "num_leaves": h["max_leaf_nodes"], "learning_rate": h["learning_rate"],
        "max_bin": h["max_bins"], "min_data_in_leaf": h["min_samples_leaf"], "lambda_l2": h["l2"],
        "min_sum_hessian_in_leaf": 1e-3, "deterministic": True, "force_row_wise": True, "verbose": -1,
        "num_threads": threads, "seed": 0,
    }
    if h.get("max_depth"):
        params["max_depth"] = h["max_depth"]
    t = time.perf_counter()
    booster = lgb.train(params, lgb.Dataset(x_train, label=y_train), num_boost_round=h["trees"])
    seconds = time.perf_counter() - t
    return {"auc": roc_auc_score(y_test, booster.predict(x_test)), "seconds": seconds, "version": lgb.__version__}



def main():
    workspace, csv, features, lr_model, gbt_model = sys.argv[1:6]
    threads = os.environ.get("OMP_NUM_THREADS", "all")
    t = time.perf_counter()
    pd.read_csv(csv)
    read_seconds = time.perf_counter() - t

    fdir = os.path.join(workspace, "build", "features", features)
    x_train, y_train = read_matrix(os.path.join(fdir, "train.bin"))
    x_test, y_test = read_matrix(os.path.join(fdir, "test.bin"))

    def mlbuild_auc(model):
        with open(os.path.join(workspace, "build", "model", model, "metrics.json")) as f:
            return json.load(f)["metrics"]["auc"]

    def hyper(model):
        with open(os.path.join(workspace, "build", "model", model, "model.json")) as f:
            return json.load(f)["hyperparameters"]

    lr = logistic_regression(hyper(lr_model))
    t = time.perf_counter()
    lr.fit(x_train, y_train)
    lr_seconds = time.perf_counter() - t
    lr_auc = roc_auc_score(y_test, lr.predict_proba(x_test)[:, 1])

    gbt = gradient_boosting(hyper(gbt_model))
    t = time.perf_counter()
    gbt.fit(x_train, y_train)
    gbt_seconds = time.perf_counter() - t
    gbt_auc = roc_auc_score(y_test, gbt.predict_proba(x_test)[:, 1])

    lgb_threads = int(os.environ.get("BENCH_LGB_THREADS", "2"))
    lightgbm = lightgbm_fit(hyper(gbt_model), x_train, y_train, x_test, y_test, lgb_threads)

    print(json.dumps({
        "read_csv_seconds": read_seconds, "threads": threads,
        "train_rows": int(x_train.shape[0]), "test_rows": int(x_test.shape[0]), "features": int(x_train.shape[1]),
        "logistic": {"sklearn_auc": lr_auc, "sklearn_seconds": lr_seconds, "mlbuild_auc": mlbuild_auc(lr_model)},
        "boosting": {"sklearn_auc": gbt_auc, "sklearn_seconds": gbt_seconds, "mlbuild_auc": mlbuild_auc(gbt_model),
                     "lightgbm": lightgbm},
    }))


if __name__ == "__main__":
    main()
