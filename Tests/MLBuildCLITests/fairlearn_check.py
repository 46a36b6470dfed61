"""Compares a model's metrics.json `fairness` with fairlearn's numbers on the same predictions.

    fairlearn_check.py METRICS_JSON SPLIT_JSON DATA_CSV PREDICTIONS_CSV LABEL POSITIVE PREDICTED

DATA_CSV is the dataset the test rows were drawn from (split.json's `test_rows` are 0-based
rows of it); PREDICTIONS_CSV is `mlbuild predict` on DATA_CSV (same rows, same order:
`prediction`, `probability`); a row is positive when its LABEL cell is POSITIVE, and predicted
positive when its `prediction` is PREDICTED (the class `probability` is of). Every group's
count, selection rate, true and false positive rate (fairlearn.metrics), its ROC AUC
(scikit-learn) and each column's demographic_parity_difference, equalized_odds_difference and
demographic_parity_ratio (= disparate_impact_ratio) must agree to 1e-9, and the model's flat
metrics must hold the worst of each over the columns. Prints one line per check; exit 1 on any
mismatch. Needs fairlearn and scikit-learn (scripts/install-test-tools puts them in .venv-tests).
"""
import csv
import json
import math
import sys

from fairlearn.metrics import (
    MetricFrame,
    count,
    demographic_parity_difference,
    demographic_parity_ratio,
    equalized_odds_difference,
    false_positive_rate,
    selection_rate,
    true_positive_rate,
)
from sklearn.metrics import roc_auc_score

TOLERANCE = 1e-9


def main():
    metrics_path, split_path, data_path, predictions_path, label, positive, predicted = sys.argv[1:8]
    metrics = json.load(open(metrics_path))
    test_rows = json.load(open(split_path))["test_rows"]
    with open(data_path, newline="") as f:
        data = list(csv.DictReader(f))
    with open(predictions_path, newline="") as f:
        predictions = list(csv.DictReader(f))
    assert len(data) == len(predictions), (len(data), len(predictions))
    y_true = [1 if data[r][label] == positive else 0 for r in test_rows]
    y_pred = [1 if predictions[r]["prediction"] == predicted else 0 for r in test_rows]
    scores = [float(predictions[r]["probability"]) for r in test_rows]
    failures = []
    checks = 0

    def same(what, ours, theirs):
        nonlocal checks
        checks += 1
        if ours is None or theirs is None or (isinstance(theirs, float) and math.isnan(theirs)):
            ok = (ours is None) and (theirs is None or math.isnan(theirs))
        else:
            ok = abs(float(ours) - float(theirs)) <= TOLERANCE
        print(f"{'ok  ' if ok else 'FAIL'} {what}: mlbuild {ours!r} fairlearn {theirs!r}")
        if not ok:
            failures.append(what)

    fairness = metrics["fairness"]
    worst = {"demographic_parity_difference": [], "equalized_odds_difference": [], "disparate_impact_ratio": []}
    for column, ours in sorted(fairness.items()):
        sensitive = [data[r][column] for r in test_rows]
        frame = MetricFrame(
            metrics={"count": count, "selection_rate": selection_rate,
                     "true_positive_rate": true_positive_rate, "false_positive_rate": false_positive_rate},
            y_true=y_true, y_pred=y_pred, sensitive_features=sensitive)
        by_group = frame.by_group
        groups = {g["group"]: g for g in ours["groups"]}
        theirs_groups = sorted(str(g) for g in by_group.index)
        same(f"{column}: number of groups", len(groups), len(theirs_groups))
        if sorted(groups) != theirs_groups:
            failures.append(f"{column}: groups {sorted(groups)} vs {theirs_groups}")
            continue
        for group in theirs_groups:
            row = by_group.loc[group]
            mine = groups[group]
            for name in ("count", "selection_rate", "true_positive_rate", "false_positive_rate"):
                same(f"{column}={group} {name}", mine[name], float(row[name]))
            members = [i for i, s in enumerate(sensitive) if s == group]
            truth = [y_true[i] for i in members]
            auc = roc_auc_score(truth, [scores[i] for i in members]) if len(set(truth)) == 2 else None
            same(f"{column}={group} auc", mine["auc"], auc)
        dpd = demographic_parity_difference(y_true, y_pred, sensitive_features=sensitive)
        eod = equalized_odds_difference(y_true, y_pred, sensitive_features=sensitive)
        dpr = demographic_parity_ratio(y_true, y_pred, sensitive_features=sensitive)
        same(f"{column} demographic_parity_difference", ours["demographic_parity_difference"], dpd)
        same(f"{column} equalized_odds_difference", ours["equalized_odds_difference"], eod)
        same(f"{column} disparate_impact_ratio", ours["disparate_impact_ratio"], dpr)
        worst["demographic_parity_difference"].append(dpd)
        worst["equalized_odds_difference"].append(eod)
        worst["disparate_impact_ratio"].append(dpr)
    flat = metrics["metrics"]
    same("metrics.demographic_parity_difference (worst)", flat.get("demographic_parity_difference"), max(worst["demographic_parity_difference"]))
    same("metrics.equalized_odds_difference (worst)", flat.get("equalized_odds_difference"), max(worst["equalized_odds_difference"]))
    same("metrics.disparate_impact_ratio (worst)", flat.get("disparate_impact_ratio"), min(worst["disparate_impact_ratio"]))
    print(f"{checks} checks, {len(failures)} failed")
    sys.exit(1 if failures else 0)


main()
