#!/usr/bin/env python3
"""Markdown table of `predgen train` runs made with no tuning flags (learning-rate search, 3 epochs, early stopping):
one row per task and method, mean ± sample std [95% interval of the mean] over the seeds found, with the settings the search chose per seed.
usage: scripts/defaults-table.py RUNS_DIR   (reads RUNS_DIR/default-{task}-{method}[-sN]/metrics.json)"""
import json, math, os, re, sys
from collections import defaultdict

runs = sys.argv[1] if len(sys.argv) > 1 else "runs/s30"
groups = defaultdict(list)
for name in sorted(os.listdir(runs)):
    m = re.fullmatch(r"default-(.+)-(predgen|predictor|generator)(?:-s(\d+))?", name)
    path = os.path.join(runs, name, "metrics.json")
    if not m or not os.path.exists(path):
        continue
    d = json.load(open(path))
    groups[(m.group(1), m.group(2))].append(d)

# Student t quantiles t(0.975, n-1) for the 95% interval of a mean over n seeds.
T975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262}

def cell(values, digits, bounds=(-math.inf, math.inf)):
    """mean ± sample std [95% interval of the mean, Student t] over seeds; the mean alone for one seed."""
    if not values:
        return ""
    mean = sum(values) / len(values)
    if len(values) == 1:
        return f"{mean:.{digits}f}"
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))
    half = T975.get(len(values) - 1, 1.96) * sd / math.sqrt(len(values))
    low, high = max(bounds[0], mean - half), min(bounds[1], mean + half)
    return f"{mean:.{digits}f} ± {sd:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"

order = {"predictor": 0, "generator": 1, "predgen": 2}
print("| task | method | seeds | chosen (lr, fine-tuning) per seed | accuracy | macro-F1 | MSE | MAE | train s |")
print("|---|---|---|---|---|---|---|---|---|")
for (task, method) in sorted(groups, key=lambda k: (k[0], order[k[1]])):
    rs = groups[(task, method)]
    chosen = ", ".join(f"{r['settings']['learning_rate']:g} {r['settings']['fine_tuning'].lower()}" for r in rs)
    t = [r["test"] for r in rs]
    acc = [x["accuracy"] for x in t if x.get("accuracy") is not None]
    f1 = [x["macro_f1"] for x in t if x.get("macro_f1") is not None]
    mse = [x["mse"] for x in t if x.get("mse") is not None]
    mae = [x["mae"] for x in t if x.get("mae") is not None]
    secs = sum(r["train_seconds"] for r in rs) / len(rs)
    digits = 1 if mse and max(mse) > 100 else 3
    print(f"| {task} | {method.capitalize() if method != 'predgen' else 'PredGen'} | {len(rs)} | {chosen} | {cell(acc, 3, (0, 1))} | {cell(f1, 3, (0, 1))} | {cell(mse, digits, (0, math.inf))} | {cell(mae, digits, (0, math.inf))} | {secs:.0f} |")
