#!/usr/bin/env python3
"""Prints the scikit-learn numbers that Tests/MLBuildTrainingTests/Multiclass*Tests.swift expect.

    bench/.venv/bin/python bench/train_multiclass_expected.py

The data set is small and written out in full (3 decimals) so both sides read identical doubles.
SplitMix64 and mlbuild's ValidationSplit are re-implemented here so that early stopping can be
checked against HistGradientBoostingClassifier fitted with the same explicit validation rows.
"""
import math
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.metrics import log_loss

M = (1 << 64) - 1


class SplitMix64:
    def __init__(self, seed):
        self.state = seed & M

    def next(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & M
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M
        return z ^ (z >> 31)

    def next_int(self, bound):
        m = self.next() * bound
        low = m & M
        if low < bound:
            threshold = ((1 << 64) - bound) % bound
            while low < threshold:
                m = self.next() * bound
                low = m & M
        return m >> 64

    def shuffle(self, a):
        for i in range(len(a) - 1, 0, -1):
            j = self.next_int(i + 1)
            a[i], a[j] = a[j], a[i]


def validation_split(y, class_count, fraction, rng):
    n = len(y)
    size = math.ceil(fraction * n)
    held = [False] * n
    if class_count is None:
        rows = list(range(n))
        rng.shuffle(rows)
        for i in rows[:size]:
            held[i] = True
    else:
        members = [[i for i in range(n) if y[i] == c] for c in range(class_count)]
        quota = [size * len(m) // n for m in members]
        missing = size - sum(quota)
        order = sorted(range(class_count), key=lambda c: (-(size * len(members[c]) % n), c))
        for c in order:
            if missing > 0 and quota[c] < len(members[c]):
                quota[c] += 1
                missing -= 1
        for c in range(class_count):
            rows = list(members[c])
            rng.shuffle(rows)
            for i in rows[:quota[c]]:
                held[i] = True
    return [i for i in range(n) if not held[i]], [i for i in range(n) if held[i]]


def stratified_folds(y, class_count, folds, seed):
    """mlbuild's StratifiedFolds: sklearn's allocation, SplitMix64 shuffles of the fold lists."""
    n = len(y)
    members = [[i for i in range(n) if y[i] == c] for c in range(class_count)]
    allocation = [[0] * class_count for _ in range(folds)]
    position = 0
    for c in range(class_count):
        for _ in members[c]:
            allocation[position % folds][c] += 1
            position += 1
    rng = SplitMix64(seed)
    fold_of = [0] * n
    for c in range(class_count):
        assignment = [f for f in range(folds) for _ in range(allocation[f][c])]
        rng.shuffle(assignment)
        for row, fold in zip(members[c], assignment):
            fold_of[row] = fold
    return [[i for i in range(n) if fold_of[i] == f] for f in range(folds)]


def data():
    n, d = 120, 3
    x = np.array([[round(math.sin(0.7 * i + 1.3 * j) + 0.5 * math.cos(0.31 * i * (j + 1)), 3) for j in range(d)] for i in range(n)])
    score = x[:, 0] - x[:, 1] + 0.6 * np.sin(1.7 * np.arange(n))
    y = np.digitize(score, [-0.5, 0.5]).astype(int)
    return x, y


def main():
    x, y = data()
    print("// x (3 decimals), row-major")
    print("[" + ", ".join(f"{v:.3f}" for v in x.ravel()) + "]")
    print("// y")
    print("[" + ", ".join(str(v) for v in y) + "]")
    np.set_printoptions(precision=17)

    # newton-cg: the same objective as the default lbfgs, but it converges to a 1e-16 gradient
    # where lbfgs stops (on scipy's ftol) at ~1e-8, so the coefficients are the optimum's digits.
    lr = LogisticRegression(C=1.0, tol=1e-12, max_iter=100000, solver="newton-cg").fit(x, y)
    print("LR coef", repr(lr.coef_.ravel().tolist()))
    print("LR intercept", repr(lr.intercept_.tolist()))
    print("LR log_loss", repr(log_loss(y, lr.predict_proba(x))))
    lrb = LogisticRegression(C=0.5, tol=1e-12, max_iter=100000, solver="newton-cg", class_weight="balanced").fit(x, y)
    print("LR balanced C=0.5 coef", repr(lrb.coef_.ravel().tolist()))
    print("LR balanced intercept", repr(lrb.intercept_.tolist()))
    yb = (y == 2).astype(int)
    lr2 = LogisticRegression(C=1.0, tol=1e-12, max_iter=100000, solver="newton-cg", class_weight={0: 1.0, 1: 3.0}).fit(x, yb)
    print("LR binary weighted coef", repr(lr2.coef_.ravel().tolist()), repr(lr2.intercept_.tolist()))

    params = dict(max_iter=15, min_samples_leaf=5, max_leaf_nodes=8, early_stopping=False, random_state=0)
    g = HistGradientBoostingClassifier(**params).fit(x, y)
    p = g.predict_proba(x)
    print("GB proba rows 0,1,2,60", repr(p[[0, 1, 2, 60]].ravel().tolist()))
    print("GB log_loss", repr(log_loss(y, p)))
    print("GB baseline", repr(g._baseline_prediction.ravel().tolist()))
    gw = HistGradientBoostingClassifier(class_weight="balanced", **params).fit(x, y)
    print("GB balanced proba rows 0,60", repr(gw.predict_proba(x)[[0, 60]].ravel().tolist()))

    # Early stopping on mlbuild's validation rows (seed 7, fraction 0.2), passed explicitly. Small
    # trees (4 leaves, 10 rows a leaf): with 8 leaves this data has splits on different features
    # that cut the same rows, whose gains tie up to rounding, and sklearn's float32 gradients
    # round them differently.
    for name, target, classes in (("multiclass", y, 3), ("binary", yb, 2)):
        train, val = validation_split(list(target), classes, 0.2, SplitMix64(7))
        es = HistGradientBoostingClassifier(max_iter=200, min_samples_leaf=10, max_leaf_nodes=4, learning_rate=0.3,
                                            early_stopping=True, n_iter_no_change=5, tol=1e-7, random_state=0)
        es.fit(x[train], target[train], X_val=x[val], y_val=target[val])
        print(f"ES {name} val rows", val[:8], "n_iter", es.n_iter_, "last val score", repr(es.validation_score_[-1]))
    yr = x[:, 0] * 2 - x[:, 2] + 0.3 * np.sin(np.arange(len(x)) * 2.1)
    train, val = validation_split(list(yr), None, 0.2, SplitMix64(7))
    er = HistGradientBoostingRegressor(max_iter=200, min_samples_leaf=10, max_leaf_nodes=4, learning_rate=0.3,
                                       early_stopping=True, n_iter_no_change=5, tol=1e-7, random_state=0)
    er.fit(x[train], yr[train], X_val=x[val], y_val=yr[val])
    print("ES regression val rows", val[:8], "n_iter", er.n_iter_, "last val score", repr(er.validation_score_[-1]))

    # StratifiedFolds(seed 11, 5 folds) and TunedThresholdClassifierCV on those folds.
    from sklearn.model_selection import TunedThresholdClassifierCV
    folds = stratified_folds(list(y), 3, 5, 11)
    print("folds multiclass fold0", folds[0])
    bfolds = stratified_folds(list(yb), 2, 5, 11)
    cv = [([i for i in range(len(yb)) if i not in set(f)], f) for f in bfolds]
    tuned = TunedThresholdClassifierCV(LogisticRegression(C=1.0, tol=1e-12, max_iter=100000, solver="newton-cg"), scoring="f1", cv=cv,
                                       thresholds=100).fit(x, yb)
    print("max_f1 threshold", repr(tuned.best_threshold_), "score", repr(tuned.best_score_))


main()
