// Shared by the op's tests: a seeded random argument-set generator, tensor construction in every
// layout the op must accept, the reference (torch's own at::conv_transpose2d in float64), the
// norm-wise error measure, the per-dtype tolerances, NaN poisoning and error-message capture.
// Plain ATen only (no CUDA headers), so it compiles against CPU-only libtorch 1.13 and CUDA libtorch 2.x.
#pragma once

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <ATen/core/stack.h>
#include <c10/util/Exception.h>
#include <torch/version.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <limits>
#include <map>
#include <numeric>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "catch.h"
#include "conv_transpose2d.h"

namespace tconv_test {

// ---------------------------------------------------------------------------------------------
// Tolerances: norm-wise ||out - ref|| / ||ref|| against a float64 reference (docs: kernel-design.md).
// NaN or Inf in the output never passes, whatever the tolerance.
struct Tolerance {
  static constexpr double kFloat64 = 1e-10;
  static constexpr double kFloat32 = 1e-5;  // strict float32 (TF32 off, and always on CPU)
  static constexpr double kTF32 = 1e-3;     // float32 on CUDA with TF32 allowed
  static constexpr double kHalf = 1e-2;     // float16 and bfloat16 (float32 accumulation)
};

inline double tolerance_for(at::ScalarType dtype, bool tf32_allowed = false) {
  switch (dtype) {
    case at::kDouble: return Tolerance::kFloat64;
    case at::kFloat: return tf32_allowed ? Tolerance::kTF32 : Tolerance::kFloat32;
    case at::kHalf:
    case at::kBFloat16: return Tolerance::kHalf;
    default: return 0.0;
  }
}

// ---------------------------------------------------------------------------------------------
// One argument set: shapes, hyper-parameters, how each argument is passed and laid out, data seed.

enum class InputLayout { Contiguous, ChannelsLast, Transposed, Sliced };
enum class WeightLayout { Contiguous, ChannelsLast, Transposed, Sliced };
enum class BiasLayout { None, Contiguous, Strided };

inline const char* name(InputLayout l) {
  switch (l) {
    case InputLayout::Contiguous: return "contiguous";
    case InputLayout::ChannelsLast: return "channels_last";
    case InputLayout::Transposed: return "transposed-view";
    case InputLayout::Sliced: return "sliced-view";
  }
  return "?";
}
inline const char* name(WeightLayout l) {
  switch (l) {
    case WeightLayout::Contiguous: return "contiguous";
    case WeightLayout::ChannelsLast: return "channels_last";
    case WeightLayout::Transposed: return "transposed-view";
    case WeightLayout::Sliced: return "sliced-view";
  }
  return "?";
}
inline const char* name(BiasLayout l) {
  switch (l) {
    case BiasLayout::None: return "none";
    case BiasLayout::Contiguous: return "contiguous";
    case BiasLayout::Strided: return "strided-view";
  }
  return "?";
}

using Pair = std::array<int64_t, 2>;

inline int64_t output_size(int64_t in, int64_t kernel, int64_t stride, int64_t padding,
                           int64_t dilation, int64_t output_padding) {
  return (in - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1;
}

struct ArgSet {
  bool unbatched = false;
  int64_t batch = 1;
  int64_t groups = 1;
  int64_t in_channels_per_group = 1;
  int64_t out_channels_per_group = 1;
  int64_t in_h = 1, in_w = 1;
  int64_t kernel_h = 1, kernel_w = 1;
  Pair stride{1, 1}, padding{0, 0}, output_padding{0, 0}, dilation{1, 1};
  // Pass the argument as a single value (an IntArrayRef of one element); only when both axes agree.
  bool stride_single = false, padding_single = false, output_padding_single = false,
       dilation_single = false;
  InputLayout input_layout = InputLayout::Contiguous;
  WeightLayout weight_layout = WeightLayout::Contiguous;
  BiasLayout bias_layout = BiasLayout::None;
  uint64_t data_seed = 0;

  int64_t in_channels() const { return groups * in_channels_per_group; }
  int64_t out_channels() const { return groups * out_channels_per_group; }
  int64_t out_h() const {
    return output_size(in_h, kernel_h, stride[0], padding[0], dilation[0], output_padding[0]);
  }
  int64_t out_w() const {
    return output_size(in_w, kernel_w, stride[1], padding[1], dilation[1], output_padding[1]);
  }
  bool has_bias() const { return bias_layout != BiasLayout::None; }

  static std::vector<int64_t> as_arg(const Pair& p, bool single) {
    return single ? std::vector<int64_t>{p[0]} : std::vector<int64_t>{p[0], p[1]};
  }
  std::vector<int64_t> stride_arg() const { return as_arg(stride, stride_single); }
  std::vector<int64_t> padding_arg() const { return as_arg(padding, padding_single); }
  std::vector<int64_t> output_padding_arg() const {
    return as_arg(output_padding, output_padding_single);
  }
  std::vector<int64_t> dilation_arg() const { return as_arg(dilation, dilation_single); }

  std::vector<int64_t> input_sizes() const {
    if (unbatched) return {in_channels(), in_h, in_w};
    return {batch, in_channels(), in_h, in_w};
  }
  std::vector<int64_t> weight_sizes() const {
    return {in_channels(), out_channels_per_group, kernel_h, kernel_w};
  }
  std::vector<int64_t> output_sizes() const {
    if (unbatched) return {out_channels(), out_h(), out_w()};
    return {batch, out_channels(), out_h(), out_w()};
  }

  // A Python line that rebuilds the call (shapes, arguments, layouts and seed), for failure reports.
  std::string describe() const {
    std::ostringstream s;
    auto list = [&s](const std::vector<int64_t>& v) {
      s << "[";
      for (size_t i = 0; i < v.size(); ++i) s << (i ? ", " : "") << v[i];
      s << "]";
    };
    s << "conv_transpose2d(input" ;
    list(input_sizes());
    s << " " << name(input_layout) << ", weight";
    list(weight_sizes());
    s << " " << name(weight_layout) << ", bias=" << name(bias_layout) << ", stride=";
    list(stride_arg());
    s << ", padding=";
    list(padding_arg());
    s << ", output_padding=";
    list(output_padding_arg());
    s << ", groups=" << groups << ", dilation=";
    list(dilation_arg());
    s << ") -> output";
    list(output_sizes());
    s << ", data_seed=" << data_seed;
    return s.str();
  }
};

// Ranges the generator draws from. small(): the CPU sweep and most of the GPU sweep. real(): GPU
// cases with enough channels and pixels to reach tensor-core paths with big tiles.
struct Limits {
  int64_t max_batch = 3;
  int64_t max_groups = 4;
  int64_t max_depthwise_channels = 8;
  int64_t min_channels_per_group = 1, max_channels_per_group = 4;
  int64_t min_spatial = 1, max_spatial = 7;
  int64_t max_kernel = 5, max_stride = 5, max_padding = 3, max_dilation = 3;
  double p_unbatched = 0.12, p_batch0 = 0.05, p_one_by_one = 0.08, p_spatial_one = 0.08;

  static Limits small() { return Limits{}; }
  static Limits real() {
    Limits l;
    l.max_batch = 2;
    l.max_groups = 2;
    l.max_depthwise_channels = 64;
    l.min_channels_per_group = 32;
    l.max_channels_per_group = 128;
    l.min_spatial = 16;
    l.max_spatial = 64;
    l.max_padding = 2;
    l.p_unbatched = 0.1;
    l.p_batch0 = 0.0;
    l.p_one_by_one = 0.0;
    l.p_spatial_one = 0.0;
    return l;
  }
};

class ArgSetGenerator {
 public:
  ArgSetGenerator(uint64_t seed, Limits limits) : rng_(seed), limits_(limits) {}

  // A random valid argument set (output size >= 1 on both axes; invalid draws are redrawn: those
  // belong to the error tests).
  ArgSet next() {
    for (;;) {
      ArgSet a = draw();
      if (a.out_h() >= 1 && a.out_w() >= 1) return a;
    }
  }

  std::mt19937_64& rng() { return rng_; }

 private:
  int64_t uniform(int64_t lo, int64_t hi) {  // inclusive
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng_);
  }
  bool coin(double p) { return std::uniform_real_distribution<double>(0.0, 1.0)(rng_) < p; }

  ArgSet draw() {
    const Limits& L = limits_;
    ArgSet a;
    a.unbatched = coin(L.p_unbatched);
    a.batch = a.unbatched ? 1 : (coin(L.p_batch0) ? 0 : uniform(1, L.max_batch));

    const double kind = std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
    if (kind < 0.5) {  // ordinary convolution
      a.groups = 1;
      a.in_channels_per_group = uniform(L.min_channels_per_group, L.max_channels_per_group);
      a.out_channels_per_group = uniform(L.min_channels_per_group, L.max_channels_per_group);
    } else if (kind < 0.8) {  // grouped, channel counts per group free (often Cout/g != Cin/g)
      a.groups = uniform(2, L.max_groups);
      a.in_channels_per_group = uniform(L.min_channels_per_group, L.max_channels_per_group);
      a.out_channels_per_group = uniform(L.min_channels_per_group, L.max_channels_per_group);
      if (L.min_channels_per_group > 1) {  // keep "real" grouped cases affordable
        a.in_channels_per_group = std::max<int64_t>(1, a.in_channels_per_group / a.groups);
        a.out_channels_per_group = std::max<int64_t>(1, a.out_channels_per_group / a.groups);
      }
    } else {  // depthwise: groups == in_channels, 1 or 2 output channels per group
      a.groups = uniform(std::min<int64_t>(2, L.max_depthwise_channels), L.max_depthwise_channels);
      a.in_channels_per_group = 1;
      a.out_channels_per_group = uniform(1, 2);
    }

    auto spatial = [&]() { return uniform(L.min_spatial, L.max_spatial); };
    if (coin(L.p_one_by_one)) {
      a.in_h = a.in_w = 1;
    } else {
      a.in_h = coin(L.p_spatial_one) ? 1 : spatial();
      a.in_w = coin(L.p_spatial_one) ? 1 : spatial();
    }
    a.kernel_h = uniform(1, L.max_kernel);
    a.kernel_w = coin(0.3) ? a.kernel_h : uniform(1, L.max_kernel);

    auto pair = [&](int64_t lo, int64_t hi, double p_same) {
      Pair p{uniform(lo, hi), uniform(lo, hi)};
      if (coin(p_same)) p[1] = p[0];
      return p;
    };
    a.stride = pair(1, L.max_stride, 0.35);
    a.dilation = coin(0.4) ? Pair{1, 1} : pair(1, L.max_dilation, 0.35);
    a.padding = coin(0.25) ? Pair{0, 0} : pair(0, L.max_padding, 0.35);
    // torch's rule: output_padding < stride or output_padding < dilation, per axis.
    for (int axis = 0; axis < 2; ++axis) {
      const int64_t limit = std::max(a.stride[axis], a.dilation[axis]) - 1;
      a.output_padding[axis] = (limit > 0 && coin(0.4)) ? uniform(1, limit) : 0;
    }
    if (a.output_padding[0] != a.output_padding[1] && coin(0.2)) {
      const int64_t op = std::min(a.output_padding[0], a.output_padding[1]);
      a.output_padding = {op, op};
    }

    auto single = [&](const Pair& p) { return p[0] == p[1] && coin(0.5); };
    a.stride_single = single(a.stride);
    a.padding_single = single(a.padding);
    a.output_padding_single = single(a.output_padding);
    a.dilation_single = single(a.dilation);

    const double il = std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
    a.input_layout = il < 0.4 ? InputLayout::Contiguous
                     : il < 0.6 ? InputLayout::ChannelsLast
                     : il < 0.8 ? InputLayout::Transposed
                                : InputLayout::Sliced;
    const double wl = std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
    a.weight_layout = wl < 0.55 ? WeightLayout::Contiguous
                      : wl < 0.7 ? WeightLayout::ChannelsLast
                      : wl < 0.85 ? WeightLayout::Transposed
                                  : WeightLayout::Sliced;
    const double bl = std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
    a.bias_layout = bl < 0.3 ? BiasLayout::None : bl < 0.85 ? BiasLayout::Contiguous : BiasLayout::Strided;
    a.data_seed = rng_();
    return a;
  }

  std::mt19937_64 rng_;
  Limits limits_;
};

// ---------------------------------------------------------------------------------------------
// Tensors for one argument set: random data (seeded, drawn in float64 on the CPU, so every device
// and dtype sees the same values up to rounding), cast to dtype, moved to device, then viewed in
// the requested layout.

struct Tensors {
  at::Tensor input, weight;
  c10::optional<at::Tensor> bias;
};

// On the meta device: no data, only shapes and strides.
inline at::Tensor random_tensor(at::IntArrayRef sizes, at::Generator& gen, at::ScalarType dtype,
                                at::Device device) {
  if (device.is_meta()) return at::empty(sizes, at::TensorOptions().dtype(dtype).device(device));
  return at::randn(sizes, gen, at::TensorOptions().dtype(at::kDouble)).to(dtype).to(device);
}

inline Tensors make_tensors(const ArgSet& a, at::ScalarType dtype, at::Device device) {
  at::Generator gen = at::detail::createCPUGenerator(a.data_seed);
  Tensors t;
  const int64_t N = a.batch, C = a.in_channels(), H = a.in_h, W = a.in_w;
  at::Tensor x;
  switch (a.input_layout) {
    case InputLayout::Contiguous:
      x = random_tensor(a.input_sizes(), gen, dtype, device);
      break;
    case InputLayout::ChannelsLast:
      if (a.unbatched) {  // [H, W, C] viewed as [C, H, W]
        x = random_tensor({H, W, C}, gen, dtype, device).permute({2, 0, 1});
      } else {
        x = random_tensor({N, C, H, W}, gen, dtype, device).contiguous(at::MemoryFormat::ChannelsLast);
      }
      break;
    case InputLayout::Transposed:  // H and W swapped in memory
      x = a.unbatched ? random_tensor({C, W, H}, gen, dtype, device).transpose(1, 2)
                      : random_tensor({N, C, W, H}, gen, dtype, device).transpose(2, 3);
      break;
    case InputLayout::Sliced:  // every other row, a channel and a column offset, gaps between images
      if (a.unbatched) {
        x = random_tensor({C + 1, 2 * H, W + 2}, gen, dtype, device)
                .slice(0, 1, C + 1).slice(1, 0, 2 * H, 2).slice(2, 1, W + 1);
      } else {
        x = random_tensor({2 * N + 1, C + 1, 2 * H, W + 2}, gen, dtype, device)
                .slice(0, 0, 2 * N, 2).slice(1, 1, C + 1).slice(2, 0, 2 * H, 2).slice(3, 1, W + 1);
      }
      break;
  }
  const int64_t Ci = a.in_channels(), Co = a.out_channels_per_group, KH = a.kernel_h, KW = a.kernel_w;
  at::Tensor w;
  switch (a.weight_layout) {
    case WeightLayout::Contiguous:
      w = random_tensor({Ci, Co, KH, KW}, gen, dtype, device);
      break;
    case WeightLayout::ChannelsLast:
      w = random_tensor({Ci, Co, KH, KW}, gen, dtype, device).contiguous(at::MemoryFormat::ChannelsLast);
      break;
    case WeightLayout::Transposed:
      w = random_tensor({Ci, Co, KW, KH}, gen, dtype, device).transpose(2, 3);
      break;
    case WeightLayout::Sliced:
      w = random_tensor({Ci, Co + 1, KH, 2 * KW}, gen, dtype, device).slice(1, 1, Co + 1).slice(3, 0, 2 * KW, 2);
      break;
  }
  const int64_t Cout = a.out_channels();
  switch (a.bias_layout) {
    case BiasLayout::None: break;
    case BiasLayout::Contiguous: t.bias = random_tensor({Cout}, gen, dtype, device); break;
    case BiasLayout::Strided: t.bias = random_tensor({2 * Cout}, gen, dtype, device).slice(0, 0, 2 * Cout, 2); break;
  }
  t.input = x;
  t.weight = w;
  return t;
}

// ---------------------------------------------------------------------------------------------
// Calls.

enum class EntryPoint { PublicHeader, DispatcherTyped, DispatcherBoxed };

// The entry point for the i-th call of a sweep: every fourth call through the dispatcher by name
// (typed, then boxed), the rest through the public header.
inline EntryPoint rotating_entry_point(int i) {
  return i % 4 == 1 ? EntryPoint::DispatcherTyped
         : i % 4 == 3 ? EntryPoint::DispatcherBoxed
                      : EntryPoint::PublicHeader;
}

inline const char* name(EntryPoint e) {
  switch (e) {
    case EntryPoint::PublicHeader: return "tconv::conv_transpose2d";
    case EntryPoint::DispatcherTyped: return "dispatcher (typed)";
    case EntryPoint::DispatcherBoxed: return "dispatcher (boxed)";
  }
  return "?";
}

inline at::Tensor batched(const at::Tensor& t) { return t.dim() == 3 ? t.unsqueeze(0) : t; }

inline const c10::OperatorHandle& op_handle() {
  static const c10::OperatorHandle handle =
      c10::Dispatcher::singleton().findSchemaOrThrow("custom::conv_transpose2d", "");
  return handle;
}

inline at::Tensor call_tconv(const ArgSet& a, const Tensors& t,
                             EntryPoint entry = EntryPoint::PublicHeader) {
  const auto stride = a.stride_arg(), padding = a.padding_arg(),
             output_padding = a.output_padding_arg(), dilation = a.dilation_arg();
  switch (entry) {
    case EntryPoint::PublicHeader:
      return tconv::conv_transpose2d(t.input, t.weight, t.bias, stride, padding, output_padding,
                                     a.groups, dilation);
    case EntryPoint::DispatcherTyped: {
      static const auto typed =
          op_handle()
              .typed<at::Tensor(const at::Tensor&, const at::Tensor&,
                                const c10::optional<at::Tensor>&, at::IntArrayRef, at::IntArrayRef,
                                at::IntArrayRef, int64_t, at::IntArrayRef)>();
      return typed.call(t.input, t.weight, t.bias, stride, padding, output_padding, a.groups,
                        dilation);
    }
    case EntryPoint::DispatcherBoxed: {
      torch::jit::Stack stack;
      torch::jit::push(stack, t.input, t.weight, t.bias, stride, padding, output_padding,
                       a.groups, dilation);
      op_handle().callBoxed(&stack);
      CATCH_REQUIRE(stack.size() == 1);
      return stack.back().toTensor();
    }
  }
  return {};
}

// torch 1.13 (CPU and meta) throws "view size is not compatible" for an empty batch with a
// non-contiguous weight (its empty-batch path views the weight); the weight's layout changes no
// value, so give torch a contiguous copy there.
inline at::Tensor weight_for_torch(const at::Tensor& input, const at::Tensor& weight) {
  return batched(input).size(0) == 0 ? weight.contiguous() : weight;
}

// torch's own op on the same data, in float64 on the tensors' device: the reference.
inline at::Tensor reference(const ArgSet& a, const Tensors& t) {
  c10::optional<at::Tensor> bias;
  if (t.bias) bias = t.bias->to(at::kDouble);
  return at::conv_transpose2d(t.input.to(at::kDouble), weight_for_torch(t.input, t.weight).to(at::kDouble), bias,
                              a.stride_arg(), a.padding_arg(), a.output_padding_arg(), a.groups,
                              a.dilation_arg());
}

// ---------------------------------------------------------------------------------------------
// Comparison.

// ||out - ref|| / ||ref|| in float64 (on out's device, so large GPU outputs stay there); +inf when
// out has NaN or Inf (NaN never passes).
inline double relative_error(const at::Tensor& out, const at::Tensor& ref) {
  if (out.numel() == 0 && ref.numel() == 0) return 0.0;
  const at::Tensor o = out.to(at::kDouble);
  const at::Tensor r = ref.to(o.device(), at::kDouble);
  if (!at::isfinite(o).all().item<bool>()) return std::numeric_limits<double>::infinity();
  const double diff = (o - r).norm().item<double>();
  const double norm = r.norm().item<double>();
  return norm > 0 ? diff / norm : diff;
}

// The memory format the op promises (architecture.md): the one torch suggests for the (batched)
// input, as torch's own convolutions do for a contiguous weight.
inline at::MemoryFormat expected_memory_format(const at::Tensor& input) {
  return batched(input).suggest_memory_format();
}

inline const char* name(at::MemoryFormat f) {
  return f == at::MemoryFormat::ChannelsLast ? "channels_last"
         : f == at::MemoryFormat::Contiguous ? "contiguous"
                                            : "other";
}

// Everything that must hold for one call's output. Returns "" when it all holds, otherwise what
// failed. ref: the float64 reference on any device; torch_format: the memory format torch's own op
// produced for this input (pass c10::nullopt where torch is known to differ from the contract).
inline std::string check_output(const at::Tensor& out, const at::Tensor& ref, const Tensors& t,
                                double tol, c10::optional<at::MemoryFormat> torch_format,
                                double* error_out = nullptr) {
  std::ostringstream why;
  if (!out.defined()) return "output undefined";
  if (out.sizes() != ref.sizes()) {
    why << "shape " << out.sizes() << " != reference " << ref.sizes();
    return why.str();
  }
  if (out.scalar_type() != t.input.scalar_type())
    why << "dtype " << out.scalar_type() << " != input dtype " << t.input.scalar_type() << "; ";
  if (out.device() != t.input.device())
    why << "device " << out.device() << " != input device " << t.input.device() << "; ";
  const at::MemoryFormat expected = expected_memory_format(t.input);
  if (!batched(out).is_contiguous(expected))
    why << "output not " << name(expected) << "-contiguous (strides " << out.strides() << "); ";
  if (torch_format && !batched(out).is_contiguous(*torch_format))
    why << "output not " << name(*torch_format) << "-contiguous like torch's (strides "
        << out.strides() << "); ";
  const double err = relative_error(out, ref);
  if (error_out) *error_out = err;
  if (!(err <= tol)) why << "relative error " << err << " > tolerance " << tol << "; ";
  return why.str();
}

// ---------------------------------------------------------------------------------------------
// Poisoning.

inline void fill_nan(at::Tensor& t) { t.fill_(std::numeric_limits<double>::quiet_NaN()); }

// Sets an environment variable for the scope (restoring the previous state after). Used for the
// CPU kernel's test hook TCONV_CPU_POISON=1 (op/cpu: fill the fresh output with NaN before the
// kernel runs, so an element it never writes stays NaN). Not thread-safe: single-threaded tests only.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = std::string(old);
    if (value) ::setenv(name, value, 1); else ::unsetenv(name);
  }
  ~ScopedEnv() {
    if (old_) ::setenv(name_.c_str(), old_->c_str(), 1); else ::unsetenv(name_.c_str());
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  std::string name_;
  c10::optional<std::string> old_;
};

// Fill the caching allocator with NaN: allocate a block of the output's size on the current stream,
// fill it with NaN and free it, so the op's next allocation of that size very likely reuses it and
// any element the kernel fails to write stays NaN.
inline void poison_allocator(at::IntArrayRef output_sizes, at::ScalarType dtype, at::Device device) {
  int64_t numel = 1;
  for (int64_t s : output_sizes) numel *= s;
  if (numel == 0 || device.is_cpu() || device.is_meta()) return;
  at::Tensor block = at::empty({numel}, at::TensorOptions().dtype(dtype).device(device));
  fill_nan(block);
}

// ---------------------------------------------------------------------------------------------
// Feature tally: proves that a sweep covered every kind of argument set it claims to.
struct Coverage {
  std::map<std::string, int> counts;

  void add(const ArgSet& a) {
    auto mark = [this](const char* feature, bool on) {
      if (on) ++counts[feature];
    };
    mark("unbatched (3-D input)", a.unbatched);
    mark("batch 0", !a.unbatched && a.batch == 0);
    mark("groups > 1", a.groups > 1);
    mark("depthwise (groups == in_channels)", a.groups > 1 && a.in_channels_per_group == 1);
    mark("out/groups != in/groups", a.out_channels_per_group != a.in_channels_per_group);
    mark("bias", a.has_bias());
    mark("no bias", !a.has_bias());
    mark("strided bias", a.bias_layout == BiasLayout::Strided);
    mark("asymmetric stride", a.stride[0] != a.stride[1]);
    mark("asymmetric kernel", a.kernel_h != a.kernel_w);
    mark("asymmetric padding", a.padding[0] != a.padding[1]);
    mark("asymmetric dilation", a.dilation[0] != a.dilation[1]);
    mark("stride 5", a.stride[0] == 5 || a.stride[1] == 5);
    mark("padding 3", a.padding[0] == 3 || a.padding[1] == 3);
    mark("dilation 3", a.dilation[0] == 3 || a.dilation[1] == 3);
    mark("kernel 5", a.kernel_h == 5 || a.kernel_w == 5);
    mark("kernel 1", a.kernel_h == 1 || a.kernel_w == 1);
    mark("output_padding > 0", a.output_padding[0] > 0 || a.output_padding[1] > 0);
    mark("output_padding >= stride (allowed by dilation)",
         a.output_padding[0] >= a.stride[0] || a.output_padding[1] >= a.stride[1]);
    mark("1x1 spatial input", a.in_h == 1 && a.in_w == 1);
    mark("kernel smaller than stride", a.kernel_h < a.stride[0] || a.kernel_w < a.stride[1]);
    mark("gcd(stride, dilation) > 1",
         std::gcd(a.stride[0], a.dilation[0]) > 1 || std::gcd(a.stride[1], a.dilation[1]) > 1);
    mark("single-value stride", a.stride_single);
    mark("single-value padding", a.padding_single);
    mark("single-value output_padding", a.output_padding_single);
    mark("single-value dilation", a.dilation_single);
    mark("channels_last input", a.input_layout == InputLayout::ChannelsLast);
    mark("transposed-view input", a.input_layout == InputLayout::Transposed);
    mark("sliced-view input", a.input_layout == InputLayout::Sliced);
    mark("channels_last weight", a.weight_layout == WeightLayout::ChannelsLast);
    mark("transposed-view weight", a.weight_layout == WeightLayout::Transposed);
    mark("sliced-view weight", a.weight_layout == WeightLayout::Sliced);
  }

  // Every feature above was seen at least `minimum` times.
  void require_all(int minimum) const {
    static const char* const kFeatures[] = {
        "unbatched (3-D input)", "batch 0", "groups > 1", "depthwise (groups == in_channels)",
        "out/groups != in/groups", "bias", "no bias", "strided bias", "asymmetric stride",
        "asymmetric kernel", "asymmetric padding", "asymmetric dilation", "stride 5", "padding 3",
        "dilation 3", "kernel 5", "kernel 1", "output_padding > 0",
        "output_padding >= stride (allowed by dilation)", "1x1 spatial input",
        "kernel smaller than stride", "gcd(stride, dilation) > 1", "single-value stride",
        "single-value padding", "single-value output_padding", "single-value dilation",
        "channels_last input", "transposed-view input", "sliced-view input",
        "channels_last weight", "transposed-view weight", "sliced-view weight"};
    for (const char* f : kFeatures) {
      const auto it = counts.find(f);
      const int n = it == counts.end() ? 0 : it->second;
      CATCH_INFO("feature: " << f << " seen " << n << " times");
      CATCH_CHECK(n >= minimum);
    }
  }
};

// ---------------------------------------------------------------------------------------------
// Errors: run f, return the c10::Error message (without backtrace); "" if nothing was thrown.
// Another exception type is reported as such, so a test expecting a c10::Error fails on it.
inline std::string error_message(const std::function<void()>& f) {
  try {
    f();
  } catch (const c10::Error& e) {
    return e.what_without_backtrace();
  } catch (const std::exception& e) {
    return std::string("<not a c10::Error> ") + e.what();
  }
  return "";
}

inline bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// ---------------------------------------------------------------------------------------------
// Windows of a large output: the reference for output rows [h0, h1) x columns [w0, w1) computed
// from only the input rows and columns that reach them (so a 2^31-element output can be checked
// piece by piece). input: 4-D; returns float64 [N, Cout, h1-h0, w1-w0] on the input's device.
struct Window {
  int64_t h0, h1, w0, w1;
};

namespace detail {
inline int64_t floor_div(int64_t a, int64_t b) {
  const int64_t q = a / b;
  return (a % b != 0 && a < 0) ? q - 1 : q;
}
// Input index range [first, last] whose taps reach output indices [o0, o1) on one axis.
inline std::pair<int64_t, int64_t> input_range(int64_t o0, int64_t o1, int64_t in, int64_t kernel,
                                                int64_t stride, int64_t padding, int64_t dilation) {
  // output o = i*stride - padding + k*dilation, 0 <= k < kernel
  const int64_t first = std::max<int64_t>(0, floor_div(o0 + padding - (kernel - 1) * dilation, stride));
  const int64_t last = std::min<int64_t>(in - 1, floor_div(o1 - 1 + padding, stride));
  return {first, last};
}
}  // namespace detail

inline at::Tensor reference_window(const at::Tensor& input, const at::Tensor& weight,
                                   const c10::optional<at::Tensor>& bias, Pair stride, Pair padding,
                                   int64_t groups, Pair dilation, Window win) {
  const int64_t kh = weight.size(2), kw = weight.size(3);
  const auto rh = detail::input_range(win.h0, win.h1, input.size(2), kh, stride[0], padding[0], dilation[0]);
  const auto rw = detail::input_range(win.w0, win.w1, input.size(3), kw, stride[1], padding[1], dilation[1]);
  const int64_t out_c = weight.size(1) * groups;
  at::Tensor window = at::zeros({input.size(0), out_c, win.h1 - win.h0, win.w1 - win.w0},
                                input.options().dtype(at::kDouble));
  if (rh.first <= rh.second && rw.first <= rw.second) {
    const at::Tensor crop = input.slice(2, rh.first, rh.second + 1).slice(3, rw.first, rw.second + 1);
    // Without padding, crop-output index j is global output index first*stride - padding + j.
    at::Tensor y = at::conv_transpose2d(crop.to(at::kDouble), weight.to(at::kDouble), c10::optional<at::Tensor>(), stride,
                                        {0, 0}, {0, 0}, groups, dilation);
    const int64_t j0h = win.h0 - rh.first * stride[0] + padding[0];
    const int64_t j0w = win.w0 - rw.first * stride[1] + padding[1];
    const int64_t j1h = j0h + (win.h1 - win.h0), j1w = j0w + (win.w1 - win.w0);
    TORCH_CHECK(j0h >= 0 && j0w >= 0, "reference_window: window starts before the crop's output");
    // Positions past the crop's output receive no tap from any input row or column: zero.
    y = at::constant_pad_nd(y, {0, std::max<int64_t>(0, j1w - y.size(3)), 0,
                                std::max<int64_t>(0, j1h - y.size(2))});
    window = y.slice(2, j0h, j1h).slice(3, j0w, j1w);
  }
  if (bias && bias->defined()) window = window + bias->to(at::kDouble).view({1, out_c, 1, 1});
  return window;
}

}  // namespace tconv_test
