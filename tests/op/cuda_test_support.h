// Shared by the GPU tests (cuda_*.cpp). Plain ATen, no CUDA headers: compiles on a CPU-only build,
// where every [cuda] test skips at run time with a message.
#pragma once

#include <torch/cuda.h>

#include <functional>
#include <random>

#include "op_test_support.h"

namespace tconv_test {

// Every GPU test case starts with this.
#define TCONV_REQUIRE_CUDA()                                                  \
  do {                                                                        \
    if (!torch::cuda::is_available()) TCONV_SKIP("no CUDA device: GPU tests skipped"); \
  } while (0)

inline at::Device cuda_device() { return at::Device(at::kCUDA); }  // the current CUDA device

// Sets torch's switch for TF32 in convolutions (torch.backends.cudnn.allow_tf32) for the scope and
// restores the previous value after, even when a check fails and unwinds.
class AllowTF32Guard {
 public:
  explicit AllowTF32Guard(bool allow) : saved_(at::globalContext().allowTF32CuDNN()) {
    at::globalContext().setAllowTF32CuDNN(allow);
  }
  ~AllowTF32Guard() { at::globalContext().setAllowTF32CuDNN(saved_); }
  AllowTF32Guard(const AllowTF32Guard&) = delete;
  AllowTF32Guard& operator=(const AllowTF32Guard&) = delete;

 private:
  bool saved_;
};

struct SweepConfig {
  at::ScalarType dtype;
  bool tf32;  // float32 only: TF32 allowed (tolerance 1e-3) or strict (1e-5)
  const char* label;
};

// The GPU sweep: `count` argument sets from `next_set`, each compared with torch's op in float64 on
// the GPU, with the caching allocator poisoned with NaN before each call. Entry points rotate as in
// the CPU sweep. Returns the worst relative error seen; `coverage` (optional) records the sets.
inline double cuda_sweep_sets(const SweepConfig& config, const std::function<ArgSet()>& next_set, int count,
                              Coverage* coverage = nullptr) {
  AllowTF32Guard tf32(config.tf32);
  const double tol = tolerance_for(config.dtype, config.tf32);
  int failures = 0;
  double worst = 0.0;
  for (int i = 0; i < count; ++i) {
    const ArgSet a = next_set();
    if (coverage != nullptr) coverage->add(a);
    const Tensors t = make_tensors(a, config.dtype, cuda_device());
    const EntryPoint entry = rotating_entry_point(i);
    std::string why;
    double err = 0.0;
    try {
      const at::Tensor ref = reference(a, t);
      poison_allocator(a.output_sizes(), config.dtype, cuda_device());
      const at::Tensor out = call_tconv(a, t, entry);
      why = check_output(out, ref, t, tol, c10::nullopt, &err);
    } catch (const std::exception& e) {
      why = std::string("threw: ") + e.what();
    }
    worst = std::max(worst, err);
    if (!why.empty() && ++failures <= 20) {
      CATCH_INFO(config.label << " set " << i << " via " << name(entry) << ": " << a.describe());
      CATCH_INFO(why);
      CATCH_CHECK(why.empty());
    }
  }
  CATCH_INFO(config.label << ": " << failures << " of " << count << " sets failed; worst relative error "
                          << worst << " (tolerance " << tol << ")");
  CATCH_CHECK(failures == 0);
  // The switch is restored by the guard; check it is still what this sweep set meanwhile.
  CATCH_CHECK(at::globalContext().allowTF32CuDNN() == config.tf32);
  return worst;
}

// The general sweep: `count` sets drawn from `limits`; each argument kind must appear at least
// `coverage_minimum` times.
inline double cuda_sweep(const SweepConfig& config, uint64_t seed, const Limits& limits, int count,
                         int coverage_minimum) {
  ArgSetGenerator gen(seed, limits);
  Coverage coverage;
  const double worst = cuda_sweep_sets(config, [&] { return gen.next(); }, count, &coverage);
  if (coverage_minimum > 0) coverage.require_all(coverage_minimum);
  return worst;
}

// Random sets for one kernel's geometry: a subclass's next() draws from the general generator and
// narrows the set with uniform() and coin() from a second stream, both seeded from `seed`.
class NarrowedSets {
 protected:
  explicit NarrowedSets(uint64_t seed) : gen_(seed, Limits::small()), rng_(seed ^ 0x9e3779b97f4a7c15ull) {}
  int64_t uniform(int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(rng_); }
  bool coin(double p) { return std::bernoulli_distribution(p)(rng_); }

  ArgSetGenerator gen_;
  std::mt19937_64 rng_;
};

// `count` sets of `Sets` (a NarrowedSets) through the GPU sweep; warns the worst error, naming the
// sets `what`.
template <typename Sets>
void cuda_sweep_narrowed(const SweepConfig& config, uint64_t seed, int count, const char* what) {
  Sets sets(seed);
  const double worst = cuda_sweep_sets(config, [&] { return sets.next(); }, count);
  CATCH_WARN(config.label << ": worst relative error " << worst << " over " << count << " " << what);
}

// One float32 call of `a` on the GPU in the given TF32 mode, output poisoned first, checked against
// the float64 reference `ref` at that mode's bar.
inline void check_float32(const ArgSet& a, const Tensors& t, const at::Tensor& ref, bool allow_tf32) {
  AllowTF32Guard guard(allow_tf32);
  poison_allocator(a.output_sizes(), at::kFloat, cuda_device());
  const at::Tensor out = call_tconv(a, t);
  double err = 0.0;
  const std::string why = check_output(out, ref, t, tolerance_for(at::kFloat, allow_tf32), c10::nullopt, &err);
  CATCH_INFO("TF32 " << (allow_tf32 ? "allowed" : "off") << ": relative error " << err);
  CATCH_CHECK(why.empty());
}

// One call of `a` in `dtype` (float32: in the TF32 mode allow_tf32) on fresh tensors, the output
// poisoned first, checked against the float64 reference at that mode's bar.
inline void check_layer(const ArgSet& a, at::ScalarType dtype, bool allow_tf32) {
  AllowTF32Guard guard(allow_tf32);
  const Tensors t = make_tensors(a, dtype, cuda_device());
  const at::Tensor ref = reference(a, t);
  poison_allocator(a.output_sizes(), dtype, cuda_device());
  const at::Tensor out = call_tconv(a, t);
  double err = 0.0;
  const std::string why = check_output(out, ref, t, tolerance_for(dtype, allow_tf32), c10::nullopt, &err);
  CATCH_INFO(c10::toString(dtype) << (allow_tf32 ? " TF32" : "") << ": relative error " << err);
  CATCH_CHECK(why.empty());
}

}  // namespace tconv_test
