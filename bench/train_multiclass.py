#!/usr/bin/env python3
"""bench/train_multiclass's data and scikit-learn side.

    python3 bench/train_multiclass.py export OUT       # iris, wine, digits -> OUT/NAME/{train,test}.csv
    python3 bench/train_multiclass.py sklearn OUT/NAME # fits scikit-learn, prints JSON

One stratified split per data set (train_test_split(test_size=0.25, stratify=y, random_state=0)),
features standardized with the training part's mean and standard deviation (StandardScaler), and
written with 17 significant digits, so both sides read the same doubles. scikit-learn fits
LogisticRegression(C=1, lbfgs, tol=1e-10, max_iter=100000) and
HistGradientBoostingClassifier(early_stopping=False) with mlbuild's defaults.
"""
import json
import os
import sys
import time

import numpy as np
from sklearn.datasets import load_digits, load_iris, load_wine
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, log_loss
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

SETS = {"iris": load_iris, "wine": load_wine, "digits": load_digits}


def write(path, x, y):
    with open(path, "w") as f:
        f.write(",".join(f"x{j}" for j in range(x.shape[1])) + ",label\n")
        for row, label in zip(x, y):
            f.write(",".join(repr(float(v)) for v in row) + f",{int(label)}\n")


def read(path):
    data = np.loadtxt(path, delimiter=",", skiprows=1)
    return data[:, :-1], data[:, -1].astype(int)


def export(out):
    for name, load in SETS.items():
        x, y = load(return_X_y=True)
        x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.25, stratify=y, random_state=0)
        scaler = StandardScaler().fit(x_train)
        os.makedirs(os.path.join(out, name), exist_ok=True)
        write(os.path.join(out, name, "train.csv"), scaler.transform(x_train), y_train)
        write(os.path.join(out, name, "test.csv"), scaler.transform(x_test), y_test)


def sklearn(directory):
    x_train, y_train = read(os.path.join(directory, "train.csv"))
    x_test, y_test = read(os.path.join(directory, "test.csv"))
    out = {"rows": len(y_train) + len(y_test), "classes": int(y_train.max()) + 1, "features": x_train.shape[1]}
    lr = LogisticRegression(C=1.0, tol=1e-10, max_iter=100000)
    t = time.perf_counter()
    lr.fit(x_train, y_train)
    out["logistic_regression_seconds"] = time.perf_counter() - t
    out["logistic_regression_log_loss"] = log_loss(y_test, lr.predict_proba(x_test))
    gb = HistGradientBoostingClassifier(early_stopping=False, random_state=0)
    t = time.perf_counter()
    gb.fit(x_train, y_train)
    out["gradient_boosting_seconds"] = time.perf_counter() - t
    out["gradient_boosting_accuracy"] = accuracy_score(y_test, gb.predict(x_test))
    print(json.dumps(out, sort_keys=True))


if __name__ == "__main__":
    {"export": export, "sklearn": sklearn}[sys.argv[1]](sys.argv[2])
