"""Writes tests/reference/tiny_t5/: a tiny random T5 saved by Hugging Face transformers as both
model.safetensors and pytorch_model.bin, plus reference logits computed by transformers itself
(an implementation independent of candle). Run from the repository root:

    python tests/reference/make_tiny_t5.py

Needs torch and transformers; the Rust tests only read the files this writes.
"""
import json
import os

import torch
from transformers import T5Config, T5ForConditionalGeneration

OUT = os.path.join(os.path.dirname(__file__), "tiny_t5")
os.makedirs(OUT, exist_ok=True)
torch.manual_seed(1234)
cfg = T5Config(
    vocab_size=40,
    d_model=16,
    d_kv=4,
    d_ff=32,
    num_layers=2,
    num_decoder_layers=2,
    num_heads=4,
    relative_attention_num_buckets=32,
    relative_attention_max_distance=128,
    feed_forward_proj="relu",  # ViT5-base is a relu T5
    tie_word_embeddings=True,  # ViT5 ties them (and rescales by d_model^-0.5)
    decoder_start_token_id=0,
    pad_token_id=0,
    eos_token_id=1,
    n_positions=512,
)
model = T5ForConditionalGeneration(cfg).eval()
with torch.no_grad():
    for p in model.parameters():
        p.normal_(0.0, 0.5)
model.save_pretrained(OUT, safe_serialization=True)
# The same weights as a pickle checkpoint, the form older ViT5 repos ship.
torch.save(model.state_dict(), os.path.join(OUT, "pytorch_model.bin"))

prompt = [4, 9, 17, 23, 5, 31, 1]
cases = []
for decoder in ([0], [0, 7, 12], [0, 7, 12, 3, 30, 8, 21, 14, 2, 19, 25, 6]):
    with torch.no_grad():
        out = model(
            input_ids=torch.tensor([prompt]),
            decoder_input_ids=torch.tensor([decoder]),
        )
    cases.append({"decoder": decoder, "logits": out.logits[0, -1].tolist()})
with open(os.path.join(OUT, "reference.json"), "w") as f:
    json.dump({"prompt": prompt, "cases": cases}, f, indent=1)
print("wrote", sorted(os.listdir(OUT)))
