#!/usr/bin/env bash
# Compiles and links bantin with `--features cuda` on a machine that has no GPU and no CUDA install.
#
# The CUDA 13.0 compiler, headers and libraries come from NVIDIA's Python packages, installed once
# into a venv under ~/.cache (about 1.2 GB, one minute). 13.0 and not the newest: the PTX that
# candle-kernels embeds must not be newer than what the GPU's driver understands (driver 580 =
# CUDA 13.0), and the library sonames (libcublas.so.13, libnvrtc.so.13, libcurand.so.10) must
# match the ones a PyTorch cu13 install brings to a GPU machine (see scripts/gpu-check.sh).
#
# No package ships the driver library, which only exists where a GPU driver is installed, so the
# linker gets a stub libcuda.so (soname libcuda.so.1) generated from the driver functions cudarc
# declares: the same trick as the toolkit's own lib64/stubs/libcuda.so. The real driver library
# replaces it at run time.
#
# Output: target/cuda/release/bantin (a separate target dir, so the CPU build in target/release
# keeps running on machines without libcuda). CUDA_COMPUTE_CAP (default 90, Hopper) picks the GPU
# architecture for the statically compiled kernels, since there is no GPU here to ask.
#
#   bash scripts/cuda-build-check.sh            # build
#   bash scripts/cuda-build-check.sh --env      # print the environment for a manual cargo command
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

PKGS=(
  nvidia-cuda-nvcc==13.0.88 nvidia-cuda-crt==13.0.88 nvidia-nvvm==13.0.88
  nvidia-cuda-runtime==13.0.96 nvidia-cuda-cccl==13.0.85 nvidia-cuda-nvrtc==13.0.88
  nvidia-curand==10.4.0.35 nvidia-cublas==13.0.2.14
)
VENV="${BANTIN_CUDA_VENV:-$HOME/.cache/bantin-cuda/venv-13.0}"
SDK="$ROOT/target/cuda-sdk"
TARGET_DIR="$ROOT/target/cuda"

say() { echo "cuda-build-check: $*" >&2; }

stamp="$VENV/.bantin-packages"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "${PKGS[*]}" ]; then
  command -v python3 >/dev/null || { say "python3 is needed to install the CUDA packages"; exit 1; }
  say "installing CUDA 13.0 packages into $VENV"
  [ -x "$VENV/bin/pip" ] || python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "${PKGS[@]}"
  echo "${PKGS[*]}" >"$stamp"
fi
site=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
CU="$site/nvidia/cu13"
[ -x "$CU/bin/nvcc" ] || { say "$CU/bin/nvcc missing after install"; exit 1; }

# One prefix laid out like a toolkit install: nvcc finds cicc and the headers relative to itself,
# and cudarc's build script looks for lib/ and lib/stubs/ under CUDA_ROOT. The wheels ship only
# versioned sonames, while `-lcublas` wants libcublas.so.
mkdir -p "$SDK/lib/stubs"
for d in bin include nvvm; do ln -sfn "$CU/$d" "$SDK/$d"; done
for l in cudart nvrtc curand cublas cublasLt; do
  so=$(ls "$CU/lib/lib$l.so."* 2>/dev/null | grep -v -e '\.alt\.' -e builtins | head -1)
  [ -n "$so" ] || { say "lib$l.so.* missing in $CU/lib"; exit 1; }
  ln -sfn "$so" "$SDK/lib/lib$l.so"
done

if [ ! -f "$SDK/lib/stubs/libcuda.so" ]; then
  cudarc=$(cargo metadata --format-version 1 --features cuda --locked 2>/dev/null |
    python3 -c 'import json,sys; print(next(p["manifest_path"] for p in json.load(sys.stdin)["packages"] if p["name"]=="cudarc"))')
  sys_rs="$(dirname "$cudarc")/src/driver/sys/mod.rs"
  [ -f "$sys_rs" ] || { say "cannot find cudarc's driver bindings ($sys_rs)"; exit 1; }
  grep -oP '^pub unsafe fn \Kcu\w+' "$sys_rs" | sort -u | sed 's/.*/void &(void) {}/' >"$SDK/lib/stubs/cuda_stub.c"
  cc -shared -fPIC -Wl,-soname,libcuda.so.1 -o "$SDK/lib/stubs/libcuda.so" "$SDK/lib/stubs/cuda_stub.c"
  say "stub libcuda.so with $(wc -l <"$SDK/lib/stubs/cuda_stub.c") driver functions"
fi

export CUDA_ROOT="$SDK" CUDA_PATH="$SDK" CUDA_HOME="$SDK"
export PATH="$SDK/bin:$PATH"
export CUDA_COMPUTE_CAP="${CUDA_COMPUTE_CAP:-90}"
export CUDARC_CUDA_VERSION=13000
if [ "${1:-}" = "--env" ]; then
  echo "export CUDA_ROOT=$SDK CUDA_PATH=$SDK CUDA_HOME=$SDK PATH=$SDK/bin:\$PATH CUDA_COMPUTE_CAP=$CUDA_COMPUTE_CAP CUDARC_CUDA_VERSION=13000"
  exit 0
fi

# Seed the separate target dir from the CPU build once: the dependencies that do not change with
# the feature (tokenizers, onig, sqlite...) are then reused instead of compiled a second time.
if [ ! -d "$TARGET_DIR/release" ] && [ -d target/release/deps ]; then
  mkdir -p "$TARGET_DIR/release"
  cp -a target/release/deps target/release/build target/release/.fingerprint "$TARGET_DIR/release/"
fi

start=$(date +%s)
nice -n 5 cargo build --release --locked --features cuda --target-dir "$TARGET_DIR"
say "built $TARGET_DIR/release/bantin in $(($(date +%s) - start)) s"
