#!/usr/bin/env python3
"""Writes scikit-learn's bundled breast-cancer set as a CSV plus the matching Mlfile schema.

    python3 bench/export_breast_cancer.py OUT.csv   # prints the schema text on stdout

Columns: the 30 measurements (names with spaces turned into underscores) and `malignant`
(bool: sklearn's target 0 = malignant, so malignant = target == 0).
"""

import sys

from sklearn.datasets import load_breast_cancer

data = load_breast_cancer()
names = [n.replace(" ", "_") for n in data.feature_names]
with open(sys.argv[1], "w", newline="") as f:
    f.write(",".join(names + ["malignant"]) + "\n")
    for row, target in zip(data.data, data.target):
        f.write(",".join(repr(float(v)) for v in row) + "," + ("true" if target == 0 else "false") + "\n")
print(", ".join(f"{n}: float" for n in names) + ", malignant: bool")
