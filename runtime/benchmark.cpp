#include "benchmark.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "device.h"
#include "error.h"

namespace tconv {
namespace runtime {
namespace {

using Clock = std::chrono::steady_clock;

double milliseconds_between(Clock::time_point begin, Clock::time_point end) {
  return std::chrono::duration<double, std::milli>(end - begin).count();
}

// Holds the workers after their warm-up until every one of them is ready, so that the timed
// region starts with all threads running.
class StartGate {
 public:
  explicit StartGate(int workers) : waiting_for_(workers) {}
  void arrive_and_wait() {
    std::unique_lock<std::mutex> lock(mutex_);
    --waiting_for_;
    changed_.notify_all();
    changed_.wait(lock, [this] { return open_; });
  }
  void wait_for_all() {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [this] { return waiting_for_ == 0; });
  }
  void open() {
    std::lock_guard<std::mutex> lock(mutex_);
    open_ = true;
    changed_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  int waiting_for_;
  bool open_ = false;
};

}  // namespace

BenchmarkResult benchmark(const Model& model, const std::vector<at::Tensor>& inputs,
                          const BenchmarkOptions& options) {
  if (options.warmup < 0) throw Error("warmup must be >= 0, got " + std::to_string(options.warmup));
  if (options.iterations < 1) {
    throw Error("iterations must be >= 1, got " + std::to_string(options.iterations));
  }
  if (options.threads < 1) throw Error("threads must be >= 1, got " + std::to_string(options.threads));

  std::vector<at::Tensor> device_inputs;
  for (const auto& input : inputs) device_inputs.push_back(input.to(model.device()));

  const c10::Device device = model.device();
  std::vector<std::vector<double>> latencies(options.threads);
  std::vector<std::exception_ptr> errors(options.threads);
  StartGate gate(options.threads);

  auto worker = [&](int index) {
    bool arrived = false;
    try {
      for (int i = 0; i < options.warmup; ++i) model.forward(device_inputs);
      synchronize(device);
      arrived = true;
      gate.arrive_and_wait();
      latencies[index].reserve(options.iterations);
      for (int i = 0; i < options.iterations; ++i) {
        const auto begin = Clock::now();
        model.forward(device_inputs);
        synchronize(device);
        latencies[index].push_back(milliseconds_between(begin, Clock::now()));
      }
    } catch (...) {
      errors[index] = std::current_exception();
      if (!arrived) gate.arrive_and_wait();  // never leave the others waiting for this thread
    }
  };

  std::vector<std::thread> threads;
  threads.reserve(options.threads);
  for (int i = 0; i < options.threads; ++i) threads.emplace_back(worker, i);
  gate.wait_for_all();
  synchronize(device);
  const auto start = Clock::now();
  gate.open();
  for (auto& thread : threads) thread.join();
  synchronize(device);
  const auto end = Clock::now();

  for (const auto& error : errors) {
    if (error) std::rethrow_exception(error);
  }

  BenchmarkResult result;
  for (const auto& per_thread : latencies) {
    result.latencies_ms.insert(result.latencies_ms.end(), per_thread.begin(), per_thread.end());
  }
  std::sort(result.latencies_ms.begin(), result.latencies_ms.end());
  const auto& sorted = result.latencies_ms;
  const size_t n = sorted.size();
  result.min_ms = sorted.front();
  result.median_ms = n % 2 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
  result.p99_ms = sorted[static_cast<size_t>(std::ceil(0.99 * static_cast<double>(n))) - 1];
  result.wall_seconds = std::chrono::duration<double>(end - start).count();
  result.inferences = static_cast<int64_t>(n);
  result.inferences_per_second = result.wall_seconds > 0 ? n / result.wall_seconds : 0;
  return result;
}

}  // namespace runtime
}  // namespace tconv
