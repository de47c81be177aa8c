"""Writes tests/reference/tiny_spm/: a tiny T5-style sentencepiece unigram model trained by the
real sentencepiece library (pad 0, </s> 1, <unk> 2, no BOS, nmt_nfkc normaliser) and the ids
that library gives for some awkward strings. Run from the repository root with sentencepiece
installed (pip install sentencepiece):

    python tests/reference/make_tiny_spm.py

The Rust test compares bantin's tokenizer_from_spm against these ids; it needs no Python.
"""
import json
import os
import tempfile

import sentencepiece as spm

OUT = os.path.join(os.path.dirname(__file__), "tiny_spm")
os.makedirs(OUT, exist_ok=True)
SENTENCES = [
    "Chính phủ ban hành nghị quyết về chuyển đổi số quốc gia.",
    "Bộ Tài chính đề xuất giảm thuế giá trị gia tăng 2% đến hết năm.",
    "Quốc hội thông qua Luật Đất đai sửa đổi với đa số đại biểu tán thành.",
    "Ngân hàng Nhà nước điều chỉnh lãi suất điều hành để hỗ trợ doanh nghiệp.",
    "Thủ tướng yêu cầu các bộ, ngành đẩy nhanh giải ngân vốn đầu tư công.",
    "Tỉnh Quảng Ninh triển khai chính sách hỗ trợ người lao động mất việc.",
    "Bộ Y tế hướng dẫn tiêm chủng mở rộng cho trẻ em dưới 5 tuổi.",
    "Giá xăng dầu trong nước tăng nhẹ từ 15 giờ chiều nay.",
    "Hà Nội và Thành phố Hồ Chí Minh thí điểm cơ chế đặc thù về đô thị.",
    "Kinh tế Việt Nam tăng trưởng 6,5% trong quý III.",
]
with tempfile.TemporaryDirectory() as tmp:
    corpus = os.path.join(tmp, "corpus.txt")
    with open(corpus, "w", encoding="utf-8") as f:
        for _ in range(20):
            f.write("\n".join(SENTENCES) + "\n")
    spm.SentencePieceTrainer.train(
        input=corpus,
        model_prefix=os.path.join(OUT, "spiece"),
        model_type="unigram",
        vocab_size=160,
        pad_id=0,
        eos_id=1,
        unk_id=2,
        bos_id=-1,
        normalization_rule_name="nmt_nfkc",
        character_coverage=1.0,
        hard_vocab_limit=False,
    )
os.remove(os.path.join(OUT, "spiece.vocab"))
sp = spm.SentencePieceProcessor(model_file=os.path.join(OUT, "spiece.model"))
STRINGS = [
    "Chính phủ ban hành nghị quyết.",
    "  Bộ   Tài chính  ",
    "Quo\u0302\u0301c ho\u0323\u0302i",  # decomposed (NFD) Vietnamese
    "Ｇiá xăng ＡＢＣ",  # fullwidth letters (NFKC)
    "Dòng một\nDòng hai\tcột",
    "6,5% năm 2025 — €100",
    "thành phố hồ chí minh",
    "",
]
cases = [{"text": s, "ids": sp.encode(s)} for s in STRINGS]
with open(os.path.join(OUT, "reference.json"), "w", encoding="utf-8") as f:
    json.dump({"sentencepiece": spm.__version__, "cases": cases}, f, ensure_ascii=False, indent=1)
print(sp.get_piece_size(), os.path.getsize(os.path.join(OUT, "spiece.model")))
