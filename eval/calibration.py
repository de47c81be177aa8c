#!/usr/bin/env python3
"""Reliability of the shipped head's theme-set probabilities on a labelled set.

The head's set model gives, per article and theme, the probability that the theme belongs in
the set; bantin includes a theme at >= 0.5 for every theme alike. That is only fair if the
probabilities are calibrated: of the pairs given ~0.7, about 70% should be in the gold set.
This recomputes the head's probabilities from `bantin eval --dump` evidence (same formula as
src/classify.rs `Head::predict`) and prints a reliability table, the expected calibration
error (ECE, 10 bins) and the Brier score, overall and per theme.

  bantin eval --labels eval/test.jsonl --dump out/test-dump.jsonl --out out/eval
  python3 eval/calibration.py out/test-dump.jsonl [models/heads/multilingual-e5-small.json]
"""
import json, math, sys

dump = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
head = json.load(open(sys.argv[2] if len(sys.argv) > 2 else "models/heads/multilingual-e5-small.json"))
themes = head["themes"]

def z(v, t):
    n = len(v); m = sum(v) / n
    sd = max(math.sqrt(sum((x - m) ** 2 for x in v) / n), 1e-6)
    return (v[t] - m) / sd

def rows(f):
    return [[z(f["score"], t), f["share"][t] * 5.0, z(f["lexical"], t), f["lexical"][t] / 3.0, 1.0]
            for t in range(len(themes))]

def sigmoid(x): return 1 / (1 + math.exp(-x))

pairs = []  # (probability, in gold set, theme)
for a in dump:
    r = rows(a["features"])
    if head.get("primary_rule", "head") == "prototypes":
        primary = max(range(len(themes)), key=lambda t: a["features"]["score"][t])
    else:
        logits = [sum(w * x for w, x in zip(head["primary_w"], r[t])) + head["primary_bias"][t] for t in range(len(themes))]
        primary = max(range(len(themes)), key=lambda t: logits[t])
    k = len(head["primary_w"])
    for t in range(len(themes)):
        if t == primary:
            continue  # the primary is always in the set: its probability decides nothing
        x = sum(w * v for w, v in zip(head["set_w"][:k], r[t])) + head["set_w"][k] * 0 + head["set_bias"][t]
        pairs.append((sigmoid(x), themes[t] in a["themes"], themes[t]))

def report(ps, label):
    bins = [[] for _ in range(10)]
    for p, y, _ in ps:
        bins[min(int(p * 10), 9)].append((p, y))
    ece = sum(len(b) / len(ps) * abs(sum(p for p, _ in b) / len(b) - sum(y for _, y in b) / len(b)) for b in bins if b)
    brier = sum((p - y) ** 2 for p, y, _ in ps) / len(ps)
    return ece, brier, bins

ece, brier, bins = report(pairs, "all")
print(f"{len(dump)} articles, {len(pairs)} (article, non-primary theme) pairs")
print("| predicted | pairs | mean predicted | observed in gold set |\n|---|---|---|---|")
for i, b in enumerate(bins):
    if b:
        print(f"| {i/10:.1f}–{(i+1)/10:.1f} | {len(b)} | {sum(p for p, _ in b)/len(b):.2f} | {sum(y for _, y in b)/len(b):.2f} |")
print(f"ECE {ece:.3f} · Brier {brier:.3f}")
print("per theme (ECE / Brier / pairs):")
for t in themes:
    ps = [p for p in pairs if p[2] == t]
    e, b, _ = report(ps, t)
    print(f"  {t}: {e:.3f} / {b:.3f} / {len(ps)}")
