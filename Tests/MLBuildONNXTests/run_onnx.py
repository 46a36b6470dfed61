"""Scores raw CSV rows with an mlbuild model.onnx in onnxruntime; prints the outputs as JSON.

    run_onnx.py MODEL.onnx MODEL.json ROWS.csv

model.json gives the schema the rows are read with, as `mlbuild predict` reads them: a cell is
null when empty, whitespace-only or one of the dataset's `null_values` (after trimming); bool
cells use the default and the dataset's extra spellings, case-insensitively. Each graph input
(one per feature column) is fed as the ONNX model documents: numbers and bools as float64
[N, 1] (bool 1/0, null NaN), strings and categories as str [N, 1] (null ""). The ONNX model is
also checked with onnx.checker (full check, with shape inference) before it runs.

Output (one JSON object on stdout): {"inputs": [names], "outputs": {name: nested lists},
"producer": "NAME VERSION", "opsets": {domain: version}}.
"""

import csv
import json
import math
import sys

import numpy as np
import onnx
import onnxruntime as ort

TRUE = ["true", "yes", "1", "t", "y"]
FALSE = ["false", "no", "0", "f", "n"]


def main() -> None:
    model_path, json_path, csv_path = sys.argv[1:4]
    with open(json_path, encoding="utf-8") as f:
        artifact = json.load(f)
    transform = artifact["transform"]
    options = transform.get("options", {})
    nulls = set(options.get("null_values", []))
    trues = set(s.lower() for s in TRUE + options.get("true_values", []))
    falses = set(s.lower() for s in FALSE + options.get("false_values", []))
    types = {c["name"]: c["type"] for c in artifact["input"]["columns"]}

    proto = onnx.load(model_path)
    onnx.checker.check_model(proto, full_check=True)

    with open(csv_path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))

    def is_null(cell):
        text = (cell or "").strip(" \t")
        return text == "" or text in nulls

    session = ort.InferenceSession(model_path, providers=["CPUExecutionProvider"])
    feeds = {}
    for graph_input in session.get_inputs():
        name = graph_input.name
        kind = types[name]
        cells = [row.get(name) for row in rows]
        if kind in ("string", "category"):
            values = ["" if is_null(c) else c for c in cells]
            feeds[name] = np.array(values, dtype=object).reshape(-1, 1)
        elif kind == "bool":
            values = []
            for c in cells:
                text = (c or "").strip(" \t").lower()
                values.append(math.nan if is_null(c) else 1.0 if text in trues else 0.0 if text in falses else math.nan)
            feeds[name] = np.array(values, dtype=np.float64).reshape(-1, 1)
        else:
            values = [math.nan if is_null(c) else float(c.strip(" \t")) for c in cells]
            feeds[name] = np.array(values, dtype=np.float64).reshape(-1, 1)

    names = [o.name for o in session.get_outputs()]
    results = session.run(names, feeds)
    outputs = {}
    for name, value in zip(names, results):
        if value.dtype == object:
            outputs[name] = [v if isinstance(v, str) else v.decode("utf-8") for v in value.reshape(-1).tolist()]
        else:
            outputs[name] = value.astype(np.float64).tolist()
    print(json.dumps({
        "inputs": [i.name for i in session.get_inputs()],
        "outputs": outputs,
        "producer": f"{proto.producer_name} {proto.producer_version}",
        "opsets": {o.domain: o.version for o in proto.opset_import},
    }))


if __name__ == "__main__":
    main()
