#!/usr/bin/env python3
"""Builds eval/dev.jsonl and eval/test.jsonl from the hand-written articles and the seeds.

Split rule (fixed before any model was run, never tuned):
  - the five seeds (corpus/seeds/*.txt, labels in eval/seeds_labels.jsonl) go to dev;
  - the team's articles (eval/articles/*.jsonl) are grouped by primary theme and sorted by id;
    within each theme the 1st, 3rd, 5th and 7th go to test, the 2nd, 4th, 6th and 8th to dev.
Each author wrote a theme's articles in a planned order of structures and lengths, so
alternating keeps both halves balanced in theme, structure, length and furniture.
Run from the repository root: python3 eval/make_split.py
"""
import json, glob, os, unicodedata
from collections import defaultdict

KEYS = ["id", "title", "date", "source", "source_type", "structure", "furniture", "hard_case",
        "text", "primary", "themes", "summary"]

def nfc(s):
    return unicodedata.normalize("NFC", s) if isinstance(s, str) else s

articles = []
for path in sorted(glob.glob("eval/articles/*.jsonl")):
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                articles.append(json.loads(line))

seeds = []
with open("eval/seeds_labels.jsonl", encoding="utf-8") as f:
    for line in f:
        if not line.strip():
            continue
        lab = json.loads(line)
        with open(os.path.join("corpus/seeds", lab["id"] + ".txt"), encoding="utf-8") as t:
            text = t.read()
        first = next(l.strip() for l in text.splitlines() if l.strip())
        seeds.append({"id": lab["id"], "title": first, "date": None, "source": "seed", "source_type": "seed-page",
                      "structure": "event", "furniture": True, "hard_case": None,
                      "text": text, "primary": lab["primary"], "themes": lab["themes"],
                      "summary": lab["summary"]})

by_theme = defaultdict(list)
for a in articles:
    by_theme[a["primary"]].append(a)
dev, test = list(seeds), []
for theme in sorted(by_theme):
    for i, a in enumerate(sorted(by_theme[theme], key=lambda a: a["id"])):
        (test if i % 2 == 0 else dev).append(a)

for name, items in (("dev", dev), ("test", test)):
    with open(f"eval/{name}.jsonl", "w", encoding="utf-8") as f:
        for a in sorted(items, key=lambda a: a["id"]):
            f.write(json.dumps({k: nfc(a.get(k)) for k in KEYS}, ensure_ascii=False) + "\n")
    print(name, len(items))
