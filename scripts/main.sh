#!/usr/bin/env bash
# The main job, from a fresh Debian 12 machine (or the GPU machine): install what is missing,
# build, export the example models with model_export, and run each through the C++ runtime
# (build/runtime/tconv-run, no Python), which checks the output against stock PyTorch's and
# times it. One block per model as it runs, a summary table last; the exit status is non-zero if
# the export or any check failed.
#
# Settings (environment):
#   TCONV_DEVICE   cpu (default), cuda or cuda:N: where the models are exported and run
#   TCONV_BATCH    batch size of every model (default 2)
#   TCONV_CROP     cap on H and W of the benchmark-case models (default: the exporter's,
#                  32 on the CPU, full size on CUDA)
#   TCONV_ITERS    timed runs per model (default 20, after 3 warm-up runs)
#   TCONV_PYTHON   the Python with torch (default: found by scripts/common.sh)
#   TCONV_BUILD_DIR  build folder (default: build)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/common.sh

device=${TCONV_DEVICE:-cpu}
batch=${TCONV_BATCH:-2}
iters=${TCONV_ITERS:-20}
crop_args=()
[ -n "${TCONV_CROP:-}" ] && crop_args=(--crop "$TCONV_CROP")

build=${TCONV_BUILD_DIR:-build}

tconv_install_packages
echo "== build ($build)"
tconv_build "$build"
py=$(tconv_python)
library=$(cd "$build" && pwd)/op/libtconv.so
run=$build/runtime/tconv-run
out=$build/exported-${device//:/}

echo "== export (device $device, batch $batch) into $out"
export_status=0
PYTHONPATH="$PWD" TCONV_LIBRARY="$library" "$py" -m model_export --out "$out" \
  --device "$device" --batch "$batch" "${crop_args[@]}" --models all || export_status=$?
models=$(PYTHONPATH="$PWD" "$py" -m model_export --list)

# Summary rows: name, check, max abs error, median ms, p99 ms, throughput, result.
rows=()
failed=0
for name in $models; do
  echo "== $name"
  if [ ! -f "$out/$name.pt" ] || [ ! -f "$out/$name.json" ]; then
    echo "not exported"
    rows+=("$name|-|-|-|-|-|NOT EXPORTED")
    failed=$((failed + 1))
    continue
  fi
  read -r rtol atol < <("$py" -c 'import json, sys; d = json.load(open(sys.argv[1])); print(d["rtol"], d["atol"])' "$out/$name.json")
  status=0
  log=$("$run" "$out/$name.pt" --input "$out/$name.input.pt" --expected "$out/$name.expected.pt" \
          --rtol "$rtol" --atol "$atol" --device "$device" --warmup 3 --iters "$iters" 2>&1) || status=$?
  echo "$log" | grep -E '^(input|output|check|latency|throughput|note|tconv-run: error)' || true
  check=$(echo "$log" | sed -n 's/^check: \([A-Z]*\) .*/\1/p')
  max_abs=$(echo "$log" | sed -n 's/^check: .*max_abs_err=\([^ ]*\).*/\1/p')
  median=$(echo "$log" | sed -n 's/^latency: .*median \([0-9.]*\) ms.*/\1/p')
  p99=$(echo "$log" | sed -n 's/^latency: .*p99 \([0-9.]*\) ms.*/\1/p')
  throughput=$(echo "$log" | sed -n 's/^throughput: \([0-9.]*\) .*/\1/p')
  case $status in
    0) result=ok ;;
    1) result="CHECK FAILED" ;;
    *) result="ERROR (exit $status)" ;;
  esac
  [ "$status" = 0 ] || failed=$((failed + 1))
  rows+=("$name|${check:--}|${max_abs:--}|${median:--}|${p99:--}|${throughput:--}|$result")
done

echo
echo "== summary: tconv-run on $device, batch $batch, $iters timed runs each ($(git rev-parse --short HEAD 2>/dev/null || echo unknown))"
format="%-46s %-6s %-11s %11s %11s %12s  %s\n"
printf "$format" model check max_abs_err "median ms" "p99 ms" "inferences/s" result
for row in "${rows[@]}"; do
  IFS='|' read -r name check max_abs median p99 throughput result <<<"$row"
  printf "$format" "$name" "$check" "$max_abs" "$median" "$p99" "$throughput" "$result"
done
count=$(echo "$models" | wc -w)
if [ "$export_status" != 0 ]; then
  echo "export FAILED (exit status $export_status); see its output above"
fi
echo "$((count - failed)) of $count models passed"
[ "$failed" = 0 ] && [ "$export_status" = 0 ]
