#!/usr/bin/env python3
"""Chooses the gate's margin from `bantin eval ... --summarizer hybrid` output on eval/dev.jsonl.

Reads DIR/summaries.jsonl (one line per article: flags, encoder cosine of the generated text and
of the extract to the article centroid, ROUGE of each) and prints, for each margin m, the mean
ROUGE-1/2 of "as shown" when a generated summary is shown iff it has no flags and
cos(generated) >= cos(extract) + m. Run it on dev only; the chosen m goes into the generator's
manifest (models/generators/NAME.toml, `gate_margin`). The summaries' own gate decisions do not
matter: coverage is recorded for every summary that passes the checks.

    python3 eval/choose_gate.py out/eval-dev
"""
import json
import sys


def main(path):
    rows = [json.loads(l) for l in open(f"{path}/summaries.jsonl", encoding="utf-8")]
    n = len(rows)
    ex1 = sum(r["rouge_extract"]["r1"] for r in rows) / n
    ex2 = sum(r["rouge_extract"]["r2"] for r in rows) / n
    print(f"{n} articles; extract ROUGE-1/2 {ex1:.2f}/{ex2:.2f}")
    clean = [r for r in rows if not r["flags"] and r["coverage"]]
    print(f"{len(clean)} generated summaries pass every check")
    for r in clean:
        c = r["coverage"]
        d1 = r["rouge_generated"]["r1"] - r["rouge_extract"]["r1"]
        print(f"  {r['id']}: cos gen {c['generated']:.3f} ext {c['extract']:.3f} "
              f"(diff {c['generated'] - c['extract']:+.3f}); ROUGE-1 gen - ext {d1:+.1f}")
    print("margin  shown  ROUGE-1  ROUGE-2")
    for k in range(-10, 11):
        m = k / 100
        s1 = s2 = 0.0
        shown = 0
        for r in rows:
            c = r["coverage"]
            ok = not r["flags"] and c and c["generated"] >= c["extract"] + m
            pick = r["rouge_generated"] if ok else r["rouge_extract"]
            shown += bool(ok)
            s1 += pick["r1"]
            s2 += pick["r2"]
        print(f"{m:+.2f}  {shown:5d}  {s1 / n:7.2f}  {s2 / n:7.2f}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "out/eval-dev")
