#!/usr/bin/env bash
# Compiles the CUDA kernels (op/cuda/*.cu: plain CUDA, no torch types) with nvcc for sm_80 and
# sm_90, so a machine without a GPU or a CUDA libtorch still catches device-code build breaks.
set -euo pipefail
cd "$(dirname "$0")/.."
NVCC=${NVCC:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}
shopt -s nullglob
sources=(op/cuda/*.cu)
if [ ! -x "$NVCC" ]; then
  echo "== CUDA compile check skipped: nvcc not found (set NVCC)"
  exit 0
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
echo "== CUDA compile check: ${#sources[@]} file(s) with $("$NVCC" --version | tail -1)"
for src in "${sources[@]}"; do
  # wgmma_*.cu hold Hopper-only (sm_90a) code; CMake builds them for that target alone too.
  case "$(basename "$src")" in
    wgmma_*) archs=(-gencode arch=compute_90a,code=sm_90a) ;;
    *) archs=(-gencode arch=compute_80,code=sm_80 -gencode arch=compute_90,code=sm_90) ;;
  esac
  "$NVCC" -std=c++17 -O3 -Iop "${archs[@]}" -c "$src" -o "$out/$(basename "$src").o"
  echo "   ok  $src"
done
