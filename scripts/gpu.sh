#!/usr/bin/env bash
# The GPU machine's one-shot job: build against its CUDA torch, run every test (GPU tests
# included), then the side-by-side benchmark; logs under $OUT (or ./gpu-logs), table last.
#   scripts/gpu.sh [all|build|test|bench]   (default all)
set -uo pipefail
cd "$(dirname "$0")/.."
source scripts/common.sh
stage=${1:-all}
logs=${OUT:-gpu-logs}
mkdir -p "$logs"
export TORCH_CUDA_ARCH_LIST=${TORCH_CUDA_ARCH_LIST:-9.0}
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$logs/gpu.txt"

tconv_build build-gpu -DTCONV_E2E_DEVICE=cuda > "$logs/build.log" 2>&1 || { tail -40 "$logs/build.log"; exit 1; }
echo "== build ok"
[ "$stage" = build ] && exit 0

status=0
if [ "$stage" = all ] || [ "$stage" = test ]; then
  (cd build-gpu && ctest --output-on-failure --timeout 900) > "$logs/ctest.log" 2>&1 || status=1
  grep -E "tests passed|tests failed|\(Failed\)|\(SKIPPED\)|Not Run" "$logs/ctest.log" | tail -20
fi
if [ "$stage" = all ] || [ "$stage" = bench ]; then
  "$(tconv_python)" bench/bench.py --device cuda --library build-gpu/op/libtconv.so \
    --json "$logs/bench.json" > "$logs/bench.log" 2>&1 || status=1
  tail -45 "$logs/bench.log"
fi
exit $status
