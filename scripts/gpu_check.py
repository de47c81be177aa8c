#!/usr/bin/env python3
"""Helpers of scripts/gpu-check.sh (NumPy and the standard library only).

  model DIR --tokenizer TOKENIZER.json[.gz] [--seed N]
      An encoder shaped like multilingual-e5-small (BERT: 12 layers, 384 wide, 12 heads, 1536 in
      the feed-forward block, 512 positions) with random weights, for a GPU machine the real
      weights cannot travel to. The weights are scaled so that every part of the network does
      work (unit-variance activations, attention that is far from uniform): with the usual 0.02
      initialisation the sentence vectors would all be nearly the same and any two runs would
      agree, right or wrong.
  compare REF.jsonl OTHER.jsonl
      Cosine of each text's vector between two `bantin embed` outputs (JSON lines); prints JSON.
  spread FILE.jsonl
      Mean and max cosine between the vectors of different texts (how far apart they are).
  sentences BENCH_CORPUS.json OUT.txt
      The sentences of a `bantin bench` corpus, one per line.
"""

import gzip
import json
import math
import shutil
import struct
import sys
from pathlib import Path


def cmd_model(args):
    import numpy as np

    out = Path(args[0])
    tok = Path(args[args.index("--tokenizer") + 1])
    seed = int(args[args.index("--seed") + 1]) if "--seed" in args else 12
    out.mkdir(parents=True, exist_ok=True)
    opener = gzip.open if tok.suffix == ".gz" else open
    with opener(tok, "rb") as src, open(out / "tokenizer.json", "wb") as dst:
        shutil.copyfileobj(src, dst)
    vocab = json.loads((out / "tokenizer.json").read_text(encoding="utf-8"))["model"]["vocab"]
    vocab_size = len(vocab) if isinstance(vocab, (list, dict)) else int(vocab)
    # Tokens the post-processor adds may sit past the model's vocabulary list.
    added = json.loads((out / "tokenizer.json").read_text(encoding="utf-8")).get("added_tokens", [])
    vocab_size = max([vocab_size] + [t["id"] + 1 for t in added])
    hidden, layers, heads, ffn, positions = 384, 12, 12, 1536, 512
    config = {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "hidden_size": hidden,
        "intermediate_size": ffn,
        "num_attention_heads": heads,
        "num_hidden_layers": layers,
        "max_position_embeddings": positions,
        "type_vocab_size": 2,
        "vocab_size": vocab_size,
        "layer_norm_eps": 1e-12,
        "pad_token_id": 0,
        "position_embedding_type": "absolute",
        "initializer_range": 0.02,
        "torch_dtype": "float32",
    }
    (out / "config.json").write_text(json.dumps(config, indent=2))

    rng = np.random.default_rng(seed)
    tensors = {}

    def normal(name, shape, std):
        tensors[name] = rng.standard_normal(shape, dtype=np.float32) * np.float32(std)

    def norm(prefix):
        tensors[prefix + ".weight"] = (1.0 + 0.05 * rng.standard_normal(hidden)).astype(np.float32)
        normal(prefix + ".bias", (hidden,), 0.02)

    def linear(prefix, rows, cols):
        normal(prefix + ".weight", (rows, cols), 1.0 / math.sqrt(cols))
        normal(prefix + ".bias", (rows,), 0.02)

    normal("embeddings.word_embeddings.weight", (vocab_size, hidden), 0.5)
    normal("embeddings.position_embeddings.weight", (positions, hidden), 0.1)
    normal("embeddings.token_type_embeddings.weight", (2, hidden), 0.1)
    norm("embeddings.LayerNorm")
    for i in range(layers):
        p = f"encoder.layer.{i}."
        for part in ("query", "key", "value"):
            linear(p + "attention.self." + part, hidden, hidden)
        linear(p + "attention.output.dense", hidden, hidden)
        norm(p + "attention.output.LayerNorm")
        linear(p + "intermediate.dense", ffn, hidden)
        linear(p + "output.dense", hidden, ffn)
        norm(p + "output.LayerNorm")
    write_safetensors(out / "model.safetensors", tensors)
    print(json.dumps({"dir": str(out), "vocab_size": vocab_size, "seed": seed,
                      "params": int(sum(t.size for t in tensors.values()))}))


def write_safetensors(path, tensors):
    header, offset = {}, 0
    for name in sorted(tensors):
        t = tensors[name]
        header[name] = {"dtype": "F32", "shape": list(t.shape),
                        "data_offsets": [offset, offset + t.nbytes]}
        offset += t.nbytes
    blob = json.dumps(header, separators=(",", ":")).encode()
    blob += b" " * (-len(blob) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(blob)))
        f.write(blob)
        for name in sorted(tensors):
            f.write(tensors[name].astype("<f4").tobytes())


def read_vectors(path):
    import numpy as np

    texts, vecs = [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                row = json.loads(line)
                texts.append(row["text"])
                vecs.append(row["vector"])
    return texts, np.asarray(vecs, dtype=np.float64)


def unit(v):
    import numpy as np

    return v / np.linalg.norm(v, axis=1, keepdims=True)


def cmd_compare(args):
    (ta, a), (tb, b) = read_vectors(args[0]), read_vectors(args[1])
    if ta != tb:
        sys.exit(f"{args[0]} and {args[1]} do not hold the same texts in the same order")
    cos = (unit(a) * unit(b)).sum(axis=1)
    worst = int(cos.argmin())
    print(json.dumps({"texts": len(ta), "min_cosine": float(cos.min()),
                      "mean_cosine": float(cos.mean()),
                      "max_abs_diff": float(abs(a - b).max()), "worst_text": ta[worst][:80]}))


def cmd_spread(args):
    import numpy as np

    _, v = read_vectors(args[0])
    u = unit(v)
    sim = u @ u.T
    off = sim[~np.eye(len(u), dtype=bool)]
    print(json.dumps({"texts": len(u), "mean_pairwise_cosine": float(off.mean()),
                      "max_pairwise_cosine": float(off.max())}))


def cmd_sentences(args):
    corpus = json.loads(Path(args[0]).read_text(encoding="utf-8"))
    lines = [" ".join(s.split()) for s in corpus["sentences"]]
    Path(args[1]).write_text("".join(s + "\n" for s in lines if s), encoding="utf-8")
    print(len(lines))


if __name__ == "__main__":
    commands = {"model": cmd_model, "compare": cmd_compare, "spread": cmd_spread,
                "sentences": cmd_sentences}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        sys.exit(__doc__)
    commands[sys.argv[1]](sys.argv[2:])
