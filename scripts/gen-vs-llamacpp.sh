#!/usr/bin/env bash
# gemma-3-270m generation speed, bantin against llama.cpp, on the same GGUF file, the same
# Vietnamese prompt, the same number of threads, greedy decoding, side by side in one run.
#
#   bash scripts/gen-vs-llamacpp.sh [NEW_TOKENS=128] [THREADS=2]
#   GEN_ISA=avx2 bash scripts/gen-vs-llamacpp.sh ...   both sides held to AVX2 (+FMA, F16C):
#       bantin with BANTIN_ISA=avx2, llama.cpp built a second time without -DGGML_NATIVE and
#       with AVX-512 off, as an AVX2-only machine (Zen 2/3, Intel before Ice Lake) runs them.
#       candle's own kernels pick their path themselves (AVX2 at most in candle 0.11's
#       quantized code; the f32 prompt products through `gemm` may still use AVX-512).
#
# llama.cpp is built from source once (about 10 minutes on 2 cores) into ~/.cache/bantin-llamacpp:
# the copy vendored in the llama-cpp-python source package on PyPI (the only registry that
# carries it), compiled with CMake from PyPI's `cmake` wheel, `-DGGML_NATIVE=ON` (tuned for this
# CPU, as a user building it would get). Its `llama-completion` runs the prompt and prints
# llama.cpp's own timings; `llama-bench` adds its standard pp/tg figures. bantin's side is
# examples/gemma_speed.rs with the same prompt text.
set -euo pipefail
cd "$(dirname "$0")/.."
NEW=${1:-128}
THREADS=${2:-2}
LLAMA_PY_VERSION=0.3.36
DIR="${BANTIN_LLAMACPP_DIR:-$HOME/.cache/bantin-llamacpp}"
GEN_ISA="${GEN_ISA:-native}"
case "$GEN_ISA" in
  native) SUFFIX=""; ISA_FLAGS="-DGGML_NATIVE=ON" ;;
  avx2) SUFFIX="-avx2"
        ISA_FLAGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON -DGGML_AVX512=OFF -DGGML_AVX_VNNI=OFF"
        export BANTIN_ISA=avx2 ;;
  *) echo "gen-vs-llamacpp: GEN_ISA is native or avx2, not $GEN_ISA" >&2; exit 2 ;;
esac
OUTDIR="${GEN_VS_OUT:-out/gen-vs-llamacpp$SUFFIX}"
mkdir -p "$DIR" "$OUTDIR"
say() { echo "gen-vs-llamacpp: $*" >&2; }

# --- llama.cpp ----------------------------------------------------------------------------
BUILD="$DIR/build-$LLAMA_PY_VERSION$SUFFIX"
BIN="$BUILD/bin"
if [ ! -x "$BIN/llama-completion" ] || [ ! -x "$BIN/llama-bench" ]; then
  [ -x "$DIR/venv/bin/cmake" ] || {
    python3 -m venv "$DIR/venv"
    "$DIR/venv/bin/pip" install --quiet --disable-pip-version-check cmake ninja
  }
  src="$DIR/llama_cpp_python-$LLAMA_PY_VERSION"
  if [ ! -d "$src/vendor/llama.cpp" ]; then
    "$DIR/venv/bin/pip" download --quiet --disable-pip-version-check --no-deps \
      --no-binary llama-cpp-python "llama-cpp-python==$LLAMA_PY_VERSION" -d "$DIR"
    tar -xzf "$DIR/llama_cpp_python-$LLAMA_PY_VERSION.tar.gz" -C "$DIR"
  fi
  say "building llama.cpp (vendored in llama-cpp-python $LLAMA_PY_VERSION)"
  start=$(date +%s)
  # shellcheck disable=SC2086 # ISA_FLAGS is a list of flags
  PATH="$DIR/venv/bin:$PATH" cmake -S "$src/vendor/llama.cpp" -B "$BUILD" -G Ninja \
    -DCMAKE_BUILD_TYPE=Release $ISA_FLAGS -DLLAMA_CURL=OFF -DBUILD_SHARED_LIBS=OFF \
    -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF >"$DIR/cmake$SUFFIX.log"
  PATH="$DIR/venv/bin:$PATH" nice -n 5 cmake --build "$BUILD" \
    --target llama-completion llama-bench -j "$(nproc)" >"$DIR/build$SUFFIX.log"
  say "llama.cpp built in $(($(date +%s) - start)) s"
fi

# --- the model ------------------------------------------------------------------------------
GGUF="${BANTIN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/bantin}/models/gemma-3-270m-q4_k_m-pypi/gemma-3-270m-q4_k_m.gguf"
if [ ! -f "$GGUF" ]; then
  nice -n 5 cargo run --release --quiet -- models fetch gemma-3-270m >/dev/null
fi
[ -f "$GGUF" ] || { say "no $GGUF"; exit 1; }
nice -n 5 cargo build --release --quiet --example gemma_speed

# The prompt: a Vietnamese policy paragraph repeated to about 300 tokens.
PROMPT="$OUTDIR/prompt.txt"
para="Chính phủ vừa ban hành nghị định mới về quản lý đầu tư công, trong đó quy định rõ trách nhiệm của các bộ, ngành và địa phương trong việc giải ngân vốn. Theo nghị định, các dự án chậm tiến độ quá sáu tháng sẽ bị xem xét điều chuyển vốn sang các dự án có khả năng giải ngân tốt hơn. Bộ Tài chính được giao chủ trì, phối hợp với Bộ Kế hoạch và Đầu tư hướng dẫn thực hiện."
printf '%s %s %s %s' "$para" "$para" "$para" "$para" >"$PROMPT"

cpu="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
isa="$(grep -m1 '^flags' /proc/cpuinfo | grep -o -w -E 'avx512_vnni|avx512f|avx_vnni|avx2|fma' | sort -u | tr '\n' ' ')"
say "CPU: $cpu; $isa; $THREADS threads; $NEW new tokens, greedy; paths: $GEN_ISA"

run_bantin() { # precision
  RAYON_NUM_THREADS=$THREADS ./target/release/examples/gemma_speed "$GGUF" "$NEW" "$1" "$PROMPT" \
    >"$OUTDIR/bantin-$1.txt" 2>&1
  python3 - "$OUTDIR/bantin-$1.txt" "$1" <<'EOF'
import re, sys
t = open(sys.argv[1], encoding="utf-8").read()
p = re.search(r"prompt: +(\d+) tokens in [\d.]+ s = ([\d.]+) tok/s", t)
g = re.search(r"generation: +(\d+) tokens in [\d.]+ s = ([\d.]+) tok/s", t)
print(f"bantin ({sys.argv[2]})\t{p.group(1)}\t{p.group(2)}\t{g.group(1)}\t{g.group(2)}")
EOF
}
# On CPUs with AMX (Sapphire Rapids and later) a native build repacks weights for AMX tiles, and
# that crashed (SIGSEGV) in this sandbox: repacking is turned off there, which also turns off
# llama.cpp's AVX-512 repacked Q4_K kernels (attn_output and half of ffn_down in this file).
REPACK_OFF=""
grep -q -w amx_tile /proc/cpuinfo && REPACK_OFF="--no-repack"

run_llama() {
  "$BIN/llama-completion" -m "$GGUF" -f "$PROMPT" -n "$NEW" -t "$THREADS" -tb "$THREADS" \
    -c 2048 -b 2048 -ub 2048 --temp 0 --ignore-eos -no-cnv --no-display-prompt $REPACK_OFF \
    </dev/null >"$OUTDIR/llama-completion.txt" 2>&1
  python3 - "$OUTDIR/llama-completion.txt" <<'EOF'
import re, sys
t = open(sys.argv[1], encoding="utf-8", errors="replace").read()
p = re.search(r"prompt eval time =\s*[\d.]+ ms /\s*(\d+) tokens.*?([\d.]+) tokens per second", t)
g = re.search(r"\n[^\n]*\beval time =\s*[\d.]+ ms /\s*(\d+) runs.*?([\d.]+) tokens per second", t)
print(f"llama.cpp (llama-completion)\t{p.group(1)}\t{p.group(2)}\t{g.group(1)}\t{g.group(2)}")
EOF
}

{
  printf 'engine\tprompt tokens\tprompt tok/s\tnew tokens\tdecode tok/s\n'
  # Alternated, so that a drift in the machine's speed hits both sides alike.
  run_llama
  run_bantin mixed
  run_bantin fast
  run_llama
  run_bantin mixed
  run_bantin fast
} | tee "$OUTDIR/table.tsv"

"$BIN/llama-bench" -m "$GGUF" -t "$THREADS" -p 300 -n "$NEW" -r 3 -o md ${REPACK_OFF:+--repack 0} 2>/dev/null | tee "$OUTDIR/llama-bench.md"
say "logs in $OUTDIR"
