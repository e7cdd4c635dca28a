// Latency and throughput of a Model: `threads` threads share one Model, each runs `warmup`
// untimed calls, then all start together and each runs `iterations` timed calls.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

#include "model.h"

namespace tconv {
namespace runtime {

struct BenchmarkOptions {
  int warmup = 2;
  int iterations = 10;
  int threads = 1;
};

struct BenchmarkResult {
  std::vector<double> latencies_ms;  // one per timed call, all threads, sorted ascending
  double min_ms = 0;
  double median_ms = 0;
  double p99_ms = 0;                 // nearest-rank 99th percentile
  double wall_seconds = 0;           // from the common start to the last thread's end
  int64_t inferences = 0;            // threads * iterations
  double inferences_per_second = 0;  // inferences / wall_seconds
};

// Inputs are moved to the model's device once, before timing. On CUDA each timed call ends with
// a device synchronisation, so a latency is the call's real duration and not its launch time
// (with several threads that wait includes the other threads' queued work). Throws Error for bad
// options and rethrows the first error any thread hit.
BenchmarkResult benchmark(const Model& model, const std::vector<at::Tensor>& inputs,
                          const BenchmarkOptions& options);

}  // namespace runtime
}  // namespace tconv
