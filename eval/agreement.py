#!/usr/bin/env python3
"""Agreement between the labels in eval/{dev,test}.jsonl and an independent second pass.

The second pass (eval/second_pass.jsonl) labelled a fifth of the set (every 5th article by id,
starting at the 3rd: 41 of 205) from the text alone, by the rules in taxonomy/README.md,
without seeing the first labels, the ids (shown as b01..b41) or the split.
Prints Cohen's kappa and raw agreement for the primary theme, and micro-F1 between the two
passes' theme sets (each pass as the other's reference: symmetric), the human ceiling next to
bantin's own numbers. Optionally, with a `bantin eval --dump` file of the test set, bantin's
scores on the test articles of the same fifth.

Run from the repository root:  python3 eval/agreement.py [eval/second_pass.jsonl] [out/test-dump.jsonl]
"""
import json, sys
from collections import Counter

second_path = sys.argv[1] if len(sys.argv) > 1 else "eval/second_pass.jsonl"
first = {}
for split in ("dev", "test"):
    for line in open(f"eval/{split}.jsonl", encoding="utf-8"):
        a = json.loads(line)
        first[a["id"]] = (a["primary"], a["themes"], split)
second = [json.loads(l) for l in open(second_path, encoding="utf-8") if l.strip()]

def kappa(pairs):
    n = len(pairs)
    po = sum(a == b for a, b in pairs) / n
    ca, cb = Counter(a for a, _ in pairs), Counter(b for _, b in pairs)
    pe = sum(ca[k] * cb[k] for k in set(ca) | set(cb)) / (n * n)
    return (po - pe) / (1 - pe), po

def set_f1(pairs):
    tp = fp = fn = 0
    for gold, pred in pairs:
        g, p = set(gold), set(pred)
        tp += len(g & p); fp += len(p - g); fn += len(g - p)
    return 2 * tp / (2 * tp + fp + fn)

prim = [(first[s["id"]][0], s["primary"]) for s in second]
sets = [(first[s["id"]][1], s["themes"]) for s in second]
k, po = kappa(prim)
print(f"{len(second)} articles labelled twice ({sum(first[s['id']][2] == 'test' for s in second)} in test)")
print(f"primary: Cohen's kappa {k:.3f}, raw agreement {po:.3f}")
print(f"theme sets: micro-F1 between passes {set_f1(sets):.3f}")
print(f"theme-set size: first pass {sum(len(a) for a, _ in sets) / len(sets):.2f}, "
      f"second pass {sum(len(b) for _, b in sets) / len(sets):.2f}")
if len(sys.argv) > 2:
    dump = {json.loads(l)["id"]: json.loads(l) for l in open(sys.argv[2], encoding="utf-8")}
    ids = [s["id"] for s in second if s["id"] in dump]
    if ids:
        sec = {s["id"]: s for s in second}
        human = sum(sec[i]["primary"] == first[i][0] for i in ids) / len(ids)
        model = sum(dump[i]["predicted"] == first[i][0] for i in ids) / len(ids)
        print(f"on the {len(ids)} of them in the dump: second annotator's primary accuracy {human:.3f}, bantin's {model:.3f}")
        if "predicted_themes" in dump[ids[0]]:
            print(f"  theme-set micro-F1: second annotator {set_f1([(first[i][1], sec[i]['themes']) for i in ids]):.3f}, "
                  f"bantin {set_f1([(first[i][1], dump[i]['predicted_themes']) for i in ids]):.3f}")
