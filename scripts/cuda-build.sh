#!/usr/bin/env bash
# Builds hebbench with the `cuda` feature on a machine without a GPU: the
# CUDA compiler and headers come from PyPI into a virtual environment, then
#   scripts/cuda-build.sh check   cargo check --release --features cuda (CI)
#   scripts/cuda-build.sh build   cargo build --release --features cuda, and a
#                                 stripped copy at target-cuda/hebbench-cuda
# PyPI's `nvidia-cuda-nvcc-cu12` wheels (12.0–12.9) carry only ptxas, not
# nvcc; the CUDA 13 wheels (`nvidia-cuda-nvcc` …) carry the whole compiler.
# 13.4 is the newest toolkit cudarc 0.19 (candle 0.11's) supports. The PTX
# it writes needs a driver for CUDA 13.4 or newer on the GPU machine.
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-check}"
venv="${HEBBENCH_CUDA_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/hebbench-cuda}"
ver=13.4.92
if [ ! -x "$venv/bin/pip" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install -q --disable-pip-version-check \
  "nvidia-cuda-nvcc==$ver" "nvidia-cuda-runtime==$ver" "nvidia-cuda-crt==$ver" \
  "nvidia-nvvm==$ver" "nvidia-cuda-cccl==13.2.86"
root=$(echo "$venv"/lib/python3*/site-packages/nvidia/cu13)
export CUDA_ROOT="$root" CUDA_PATH="$root" PATH="$root/bin:$PATH"
export CUDA_COMPUTE_CAP="${CUDA_COMPUTE_CAP:-90}"   # Hopper (H100/H200)
export CARGO_TARGET_DIR="${HEBBENCH_CUDA_TARGET:-${XDG_CACHE_HOME:-$HOME/.cache}/hebbench-cuda-target}"
nvcc --version | tail -1
case "$mode" in
  check) cargo check --release --locked --features cuda ;;
  build)
    cargo build --release --locked --features cuda
    mkdir -p target-cuda
    strip -o target-cuda/hebbench-cuda "$CARGO_TARGET_DIR/release/hebbench"
    ls -la target-cuda/hebbench-cuda ;;
  *) echo "usage: $0 [check|build]" >&2; exit 2 ;;
esac
