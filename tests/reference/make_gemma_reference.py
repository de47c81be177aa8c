"""Independent reference for tests/real_gemma.rs: Hugging Face transformers (PyTorch, fp32)
loading the same gemma-3-270m Q4_K_M GGUF file (`gguf_file=`: transformers dequantizes every
weight to fp32 and builds its own tokenizer from the GGUF metadata). Neither candle nor bantin is
involved.

How gemma_270m_vi.json was made:
    pip install --target /tmp/gemma-ref-pkgs --no-deps gguf==0.19.0 accelerate psutil
    PYTHONPATH=/tmp/gemma-ref-pkgs python tests/reference/make_gemma_reference.py \
        PATH/TO/gemma-3-270m-q4_k_m.gguf tests/reference/gemma_270m_vi.json
with transformers 5.23.0 and torch 2.15.0 (CPU). The GGUF file's sha256 is
a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818 (the catalogue's mirror entry).
Greedy decoding, no repetition penalty, 16 new tokens per prompt.
"""

import json
import os
import sys

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

PROMPTS = [
    "Xin chào, tôi là một mô hình ngôn ngữ.",
    "Chính phủ vừa ban hành nghị định mới về quản lý đầu tư công, trong đó quy định rõ trách "
    "nhiệm của các bộ, ngành và địa phương trong việc giải ngân vốn. Tóm lại,",
    "Hà Nội là thủ đô của Việt Nam. Thành phố nằm bên bờ sông",
]
NEW_TOKENS = 16


def main():
    path, out = sys.argv[1], sys.argv[2]
    d, f = os.path.split(os.path.abspath(path))
    tok = AutoTokenizer.from_pretrained(d, gguf_file=f)
    model = AutoModelForCausalLM.from_pretrained(d, gguf_file=f, dtype=torch.float32)
    model.eval()
    items = []
    for text in PROMPTS:
        ids = tok(text, add_special_tokens=True, return_tensors="pt").input_ids
        with torch.no_grad():
            logits = model(ids).logits[0, -1]
            top = torch.topk(logits, 5)
            gen = model.generate(
                ids,
                max_new_tokens=NEW_TOKENS,
                do_sample=False,
                repetition_penalty=1.0,
                min_new_tokens=NEW_TOKENS,
            )
        new = gen[0, ids.shape[1]:].tolist()
        items.append(
            {
                "text": text,
                "prompt_ids": ids[0].tolist(),
                "greedy_ids": new,
                "greedy_text": tok.decode(new, skip_special_tokens=True),
                "top5_ids": top.indices.tolist(),
                "top5_logits": [round(float(x), 4) for x in top.values],
            }
        )
    meta = {
        "made_by": "tests/reference/make_gemma_reference.py",
        "transformers": __import__("transformers").__version__,
        "torch": torch.__version__,
        "gguf_sha256": "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
        "items": items,
    }
    with open(out, "w", encoding="utf-8") as fh:
        json.dump(meta, fh, ensure_ascii=False, indent=1)
        fh.write("\n")


if __name__ == "__main__":
    main()
