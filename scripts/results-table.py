#!/usr/bin/env python3
"""Builds docs/RESULTS.md's comparison table from the run folders `predgen bench paper` leaves behind
(runs/.../{task}/{method}/lr{lr}/seed{n}/result.json and {task}/baseline/metrics.json), when one table comes from
bench invocations with different settings (seeds, learning-rate grids). The selection rule is the bench's own: per
(task, method), the learning rate with the best seed-1 validation score (ties: the lower rate), then every seed at it.
Usage: scripts/results-table.py runs/bench-paper-v2 spam syllables sotu-party sotu-year"""
import glob, json, math, os, statistics, sys

T975 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228]

def cell(values, fmt):
    if not values: return ""
    m = statistics.mean(values)
    if len(values) < 2: return format(m, fmt)
    s = statistics.stdev(values)
    h = T975[len(values) - 2] * s / math.sqrt(len(values))
    return f"{format(m, fmt)} ± {format(s, fmt)} [{format(m - h, fmt)}, {format(m + h, fmt)}]"

def reference(root, task):
    rows = lambda split: [json.loads(l) for l in open(os.path.join(root, task, "data", split + ".jsonl"))]
    train, test = rows("train"), rows("test")
    if isinstance(train[0]["label"], str):
        top = max(set(r["label"] for r in train), key=[r["label"] for r in train].count)
        return f"majority class ({top}) accuracy {sum(r['label'] == top for r in test) / len(test):.3f}"
    mean = statistics.mean(float(r["label"]) for r in train)
    return f"predicting the training mean: MSE {statistics.mean((float(r['label']) - mean) ** 2 for r in test):.4g}"

root, tasks = sys.argv[1], sys.argv[2:]
print("| task | method | lr | seeds | accuracy | macro-F1 | MSE | MAE | train s | latency ms |")
print("|---|---|---|---|---|---|---|---|---|---|")
notes = []
for task in tasks:
    methods = sorted(d for d in os.listdir(os.path.join(root, task)) if d not in ("data", "baseline"))
    order = {"predictor": 0, "predictor-last": 1, "generator": 2, "predgen": 3}
    for method in sorted(methods, key=lambda m: order.get(m, 9)):
        runs = [json.load(open(p)) for p in glob.glob(os.path.join(root, task, method, "lr*", "seed*", "result.json"))]
        first = [r for r in runs if r["seed"] == 1]
        if not first: continue
        best = sorted(first, key=lambda r: (-r["validation_score"], r["learning_rate"]))[0]
        chosen = sorted([r for r in runs if r["learning_rate"] == best["learning_rate"]], key=lambda r: r["seed"])
        t = [r["test"] for r in chosen]
        pick = lambda k: [x[k] for x in t if x.get(k) is not None]
        print(f"| {task} | {chosen[0]['method']} | {best['learning_rate']:g} | {len(chosen)} | {cell(pick('accuracy'), '.3f')} | "
              f"{cell(pick('macro_f1'), '.3f')} | {cell(pick('mse'), '.4g')} | {cell(pick('mae'), '.4g')} | "
              f"{statistics.mean(r['train_seconds'] for r in chosen):.0f} | {statistics.mean(r['latency_ms'] for r in chosen):.1f} |")
    base = os.path.join(root, task, "baseline", "metrics.json")
    if os.path.exists(base):
        b = json.load(open(base))["test"]
        print(f"| {task} | *baseline (classical floor)* | — | — | {cell([b['accuracy']], '.3f') if b.get('accuracy') is not None else ''} | "
              f"{cell([b['macro_f1']], '.3f') if b.get('macro_f1') is not None else ''} | {cell([b['mse']], '.4g') if b.get('mse') is not None else ''} | "
              f"{cell([b['mae']], '.4g') if b.get('mae') is not None else ''} | — | — |")
    notes.append(f"- {task}: {reference(root, task)}")
print()
print("Trivial references on the same test rows:")
print()
print("\n".join(notes))
