#!/usr/bin/env bash
# The test command: install what is missing, build, run every test under CTest, then run the C++
# tests again in a build with AddressSanitizer + UndefinedBehaviorSanitizer, and compile the CUDA
# sources with nvcc where it is installed (a machine without a GPU can still catch CUDA build breaks).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/common.sh

tconv_install_packages

echo "== build (release)"
tconv_build build
echo "== tests (release)"
(cd build && ctest --output-on-failure --timeout 1500)

if [ "${TCONV_SKIP_SANITIZERS:-0}" != 1 ]; then
  echo "== build (AddressSanitizer + UndefinedBehaviorSanitizer)"
  tconv_build build-sanitize -DTCONV_SANITIZE=ON -DTCONV_BUILD_BENCH=OFF
  echo "== C++ tests (sanitizers)"
  # libtorch keeps global singletons alive to exit on purpose; leak reports would be its, not ours.
  (cd build-sanitize && ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=print_stacktrace=1 \
     ctest --output-on-failure --timeout 2400 -L cpp)
fi

./scripts/compile_cuda.sh
