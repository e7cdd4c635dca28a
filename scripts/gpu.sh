#!/usr/bin/env bash
# The GPU machine's one-shot job: build against its CUDA torch, run the side-by-side benchmark,
# then every test (the [cuda] ones and the end-to-end runs on cuda included). Logs under $OUT (or
# ./gpu-logs); the benchmark table and the test summary come last.
#   scripts/gpu.sh [all|build|bench|test]   (default all)
set -uo pipefail
cd "$(dirname "$0")/.."
source scripts/common.sh
stage=${1:-all}
logs=${OUT:-gpu-logs}
mkdir -p "$logs"
export TORCH_CUDA_ARCH_LIST=${TORCH_CUDA_ARCH_LIST:-9.0}
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$logs/gpu.txt"

if ! tconv_build build-gpu -DTCONV_E2E_DEVICE=cuda > "$logs/build.log" 2>&1; then
  grep -E "error|Error" "$logs/build.log" | head -30
  exit 1
fi
echo "== build ok"
[ "$stage" = build ] && exit 0

status=0
if [ "$stage" = all ] || [ "$stage" = bench ]; then
  timeout "${TCONV_BENCH_TIMEOUT:-300}" "$(tconv_python)" bench/bench.py --device cuda \
    --library build-gpu/op/libtconv.so --json "$logs/bench.json" > "$logs/bench.log" 2>&1 || status=1
fi
if [ "$stage" = all ] || [ "$stage" = test ]; then
  (cd build-gpu && timeout "${TCONV_TEST_TIMEOUT:-300}" ctest --output-on-failure --timeout 240) \
    > "$logs/ctest.log" 2>&1 || status=1
fi
[ -f "$logs/bench.log" ] && tail -45 "$logs/bench.log"
if [ -f "$logs/ctest.log" ]; then
  grep -E "Test +#|tests passed|tests failed" "$logs/ctest.log" | tail -60
fi
exit $status
