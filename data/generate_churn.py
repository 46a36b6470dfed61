#!/usr/bin/env python3
"""Generates mlbuild's example churn data (python3 standard library only).

    python3 data/generate_churn.py                  # writes data/churn.csv and data/churn_recent.csv
    python3 data/generate_churn.py --rows 1000000 --numeric 20 --categorical 3 --out /tmp/big.csv

Example mode (no --rows): a synthetic telco-churn table in the shape of the well-known Telco
Customer Churn data, 5,000 customers (seed 20240601) plus a later time window of 1,500 customers
(seed 20240901) with mild drift (shorter tenures, more fiber, higher charges). Churn is drawn from
a logistic model of contract, tenure, internet service, payment method, add-ons and charges plus
noise, so a logistic regression reaches a ROC AUC of about 0.85. total_charges is blank for
customers with tenure 0 (as in the real data). Output is byte-for-byte reproducible.

Benchmark mode (--rows N): N rows of `id`, N numeric columns x01.. (floats, about 0.5% blanks),
categorical columns c1.. (5 levels each) and a Yes/No `label`; seed 7. Not committed.
"""

import argparse
import math
import os
import random

CONTRACTS = ["month-to-month", "one_year", "two_year"]
INTERNET = ["DSL", "Fiber optic", "No"]
PAYMENTS = ["Electronic check", "Mailed check", "Bank transfer (automatic)", "Credit card (automatic)"]
HEADER = [
    "customer_id", "tenure", "contract", "monthly_charges", "total_charges", "internet_service",
    "online_security", "tech_support", "paperless_billing", "payment_method", "senior_citizen", "churned",
]


def pick(rng, values, weights):
    return rng.choices(values, weights=weights, k=1)[0]


def customer(rng, index, prefix, drift):
    contract = pick(rng, CONTRACTS, [0.55, 0.21, 0.24])
    if contract == "month-to-month":
        tenure = min(72, 1 + int(rng.expovariate(1 / (18 - 4 * drift))))
    elif contract == "one_year":
        tenure = min(72, max(0, int(rng.gauss(38 - 3 * drift, 18))))
    else:
        tenure = min(72, max(0, int(rng.gauss(55 - 3 * drift, 15))))
    if rng.random() < 0.003:  # signed up this month: no bill yet, so total_charges is blank
        tenure = 0
    internet = pick(rng, INTERNET, [0.34, 0.44 + 0.08 * drift, 0.22])
    if internet == "No":
        security = support = "No internet service"
    else:
        security = "Yes" if rng.random() < 0.35 else "No"
        support = "Yes" if rng.random() < 0.35 else "No"
    paperless = "Yes" if rng.random() < 0.59 else "No"
    payment = pick(rng, PAYMENTS, [0.34, 0.23, 0.22, 0.21])
    senior = 1 if rng.random() < 0.16 else 0
    base = {"DSL": 45.0, "Fiber optic": 75.0, "No": 20.0}[internet]
    addons = 5.0 * (security == "Yes") + 5.0 * (support == "Yes")
    monthly = max(18.25, min(118.75, base + addons + rng.gauss(3 * drift, 8)))
    monthly = round(monthly, 2)
    total = "" if tenure == 0 else "%.2f" % (monthly * tenure * rng.uniform(0.95, 1.05))

    logit = (-1.6
             + 1.1 * (contract == "month-to-month") - 1.1 * (contract == "two_year")
             - 0.035 * tenure
             + 0.7 * (internet == "Fiber optic") - 0.5 * (internet == "No")
             + 0.5 * (payment == "Electronic check")
             + 0.35 * senior
             - 0.45 * (security == "Yes") - 0.4 * (support == "Yes")
             + 0.3 * (paperless == "Yes")
             + 0.012 * (monthly - 65)
             + rng.gauss(0, 0.6))
    churned = "Yes" if rng.random() < 1 / (1 + math.exp(-logit)) else "No"
    return ["%s%05d" % (prefix, index), str(tenure), contract, "%.2f" % monthly, total, internet,
            security, support, paperless, payment, str(senior), churned]


def quote(field):
    if any(c in field for c in ',"\n\r'):
        return '"' + field.replace('"', '""') + '"'
    return field


def write_csv(path, header, rows):
    tmp = path + ".tmp"
    with open(tmp, "w", newline="") as f:
        f.write(",".join(header) + "\n")
        for row in rows:
            f.write(",".join(quote(v) for v in row) + "\n")
    os.replace(tmp, path)


def example(directory):
    rng = random.Random(20240601)
    write_csv(os.path.join(directory, "churn.csv"), HEADER, [customer(rng, i, "C", 0.0) for i in range(5000)])
    rng = random.Random(20240901)
    write_csv(os.path.join(directory, "churn_recent.csv"), HEADER,
              [customer(rng, i, "R", 1.0) for i in range(1500)])


def benchmark(path, rows, numeric, categorical):
    rng = random.Random(7)
    header = ["id"] + ["x%02d" % (j + 1) for j in range(numeric)] + ["c%d" % (j + 1) for j in range(categorical)] + ["label"]
    levels = ["alpha", "beta", "gamma", "delta", "epsilon"]
    scales = [10 ** (j % 4) for j in range(numeric)]
    tmp = path + ".tmp"
    with open(tmp, "w", newline="") as f:
        f.write(",".join(header) + "\n")
        lines = []
        for i in range(rows):
            xs = [rng.gauss(0, 1) for _ in range(numeric)]
            cells = ["" if rng.random() < 0.005 else "%.4f" % (x * scales[j]) for j, x in enumerate(xs)]
            cats = [levels[rng.randrange(5)] for _ in range(categorical)]
            logit = 0.8 * xs[0] - 0.5 * xs[1] + 0.3 * (cats[0] == "alpha") if numeric >= 2 else 0.0
            label = "Yes" if rng.random() < 1 / (1 + math.exp(-logit)) else "No"
            lines.append(",".join(["B%07d" % i] + cells + cats + [label]))
            if len(lines) == 10000:
                f.write("\n".join(lines) + "\n")
                lines = []
        if lines:
            f.write("\n".join(lines) + "\n")
    os.replace(tmp, path)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, help="benchmark mode: number of rows")
    parser.add_argument("--numeric", type=int, default=20)
    parser.add_argument("--categorical", type=int, default=3)
    parser.add_argument("--out", help="benchmark output path (default: churn_big.csv in the current directory)")
    args = parser.parse_args()
    if args.rows is None:
        example(os.path.dirname(os.path.abspath(__file__)))
    else:
        benchmark(args.out or "churn_big.csv", args.rows, args.numeric, args.categorical)


if __name__ == "__main__":
    main()
