#!/usr/bin/env python3
"""Makes a large input for the end-to-end speed test by repeating and perturbing the eval set.

Each generated article is an eval article (dev and test, seeds included) with one sentence
changed (a number rewritten, or two words swapped), a new id, title suffix and date, so that
most sentences repeat across copies the way agency copy repeats across outlets.
Usage: python3 eval/make_scale_corpus.py N OUT.jsonl
"""
import json, random, re, sys

n, out = int(sys.argv[1]), sys.argv[2]
rng = random.Random(20241123)
base = []
for path in ("eval/dev.jsonl", "eval/test.jsonl"):
    with open(path, encoding="utf-8") as f:
        base += [json.loads(l) for l in f if l.strip()]

def perturb(text):
    paras = text.split("\n")
    idx = [i for i, p in enumerate(paras) if len(p.split()) > 12]
    if not idx:
        return text
    i = rng.choice(idx)
    nums = list(re.finditer(r"\d+", paras[i]))
    if nums:
        m = rng.choice(nums)
        paras[i] = paras[i][:m.start()] + str(int(m.group()) + rng.randint(1, 9)) + paras[i][m.end():]
    else:
        w = paras[i].split()
        j = rng.randrange(len(w) - 1)
        w[j], w[j + 1] = w[j + 1], w[j]
        paras[i] = " ".join(w)
    return "\n".join(paras)

with open(out, "w", encoding="utf-8") as f:
    for k in range(n):
        a = base[k % len(base)]
        f.write(json.dumps({
            "id": f"scale-{k:05d}",
            "title": (a.get("title") or "") + f" ({k // len(base) + 1})",
            "date": f"2024-{1 + k % 12:02d}-{1 + k % 28:02d}",
            "source": "scale-test",
            "text": perturb(a["text"]),
        }, ensure_ascii=False) + "\n")
print(out, n)
