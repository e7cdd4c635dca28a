#!/bin/bash
# Times the CPU kernel alone (output allocated once, outside the timing) on the shrunk benchmark
# shapes that bench_vs_torch.py runs. Usage, from the repository root after building build-cpu:
#   op/cpu/dev/kernel_bench.sh [THREADS [CASE...]]      e.g.  op/cpu/dev/kernel_bench.sh 1 kb57 dc512
# TCONV_CPU_ISA=avx2 (or sse2) times another instruction-set variant.
set -euo pipefail
root=$(cd "$(dirname "$0")/../../.." && pwd)
lib=${TCONV_LIB_DIR:-$root/build-cpu/op}
exe=$lib/../tconv_kernel_bench
if [ ! -x "$exe" ] || [ "$exe" -ot "$root/op/cpu/dev/kernel_bench.cpp" ]; then
  g++ -O2 -std=gnu++17 -I"$root/op" -isystem /usr/include/torch/csrc/api/include \
    "$root/op/cpu/dev/kernel_bench.cpp" -o "$exe" -L"$lib" -Wl,--no-as-needed -ltconv -ltorch \
    -ltorch_cpu -lc10 -Wl,-rpath,"$lib" 2>&1 | grep -v -i warning || true
fi
# name: N Cin Cout H W kh kw sh sw ph pw dh dw oph opw groups
kb57="1 64 64 112 112 3 3 1 1 0 0 1 1 0 0 1"
kb65="1 64 64 72 72 3 7 1 1 0 0 1 1 0 0 1"
kb75="1 32 64 128 256 3 5 2 3 1 2 2 1 0 0 4"
kb81="3 32 64 64 128 3 3 5 5 1 1 2 2 0 0 1"
dc512="3 512 256 8 8 4 4 2 2 1 1 1 1 0 0 1"
dc128="3 128 64 32 32 4 4 2 2 1 1 1 1 0 0 1"
dc64="39 64 3 64 64 4 4 2 2 1 1 1 1 0 0 1"
un512="1 512 256 24 24 2 2 2 2 0 0 1 1 0 0 1"
un128="1 128 64 120 120 2 2 2 2 0 0 1 1 0 0 1"
big1="4 512 64 40 40 3 3 1 1 1 1 1 1 0 0 1"
big2="1 512 256 32 32 4 4 2 2 1 1 1 1 0 0 1"
big3="1 1024 256 16 16 3 3 1 1 1 1 1 1 0 0 1"
threads=${1:-1}; shift || true
for c in ${@:-kb57 kb65 kb75 kb81 dc512 dc128 dc64 un512 un128}; do
  printf "%-6s " "$c"; "$exe" ${!c} 15 "$threads"
done
