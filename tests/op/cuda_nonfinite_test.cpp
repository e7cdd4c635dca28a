// CUDA: a non-finite input value (NaN, +Inf or -Inf) reaches exactly the outputs that its taps
// reach, with the sign torch gives them, in every CUDA dtype mode. The reference is torch's op in
// float64 on the CPU, where a value meets only the weights of its own taps.
//
// Why the finite sweeps can't catch this: the tensor-core kernels pad with zeros (window
// positions outside the input, weights of taps outside the kernel or the phase, channels past
// the group). A zero weight that meets a real input value leaves finite outputs unchanged, but
// 0 x Inf is NaN, and 0 x NaN spreads a NaN to an output whose taps never read it (the phase-block
// bodies recompute such tiles exactly: exact_tile). Strict float32's 3xTF32 split has a hazard of
// its own: Inf - tf32(Inf) is NaN (split_tf32 gives an infinity a zero small part). The CTest runs
// that pin each kernel (tests/op/CMakeLists.txt) take this test through every kernel; the
// "heads" below are shapes the phase-block kernel's tensor-core body takes when pinned.
#include "cuda_test_support.h"

using namespace tconv_test;

namespace {

// RGB-head-like layers: many input channels, few output channels, 3x3 / 4x4 kernels at stride 2.
ArgSet head_case(int i) {
  ArgSet a;
  a.batch = 2;
  a.groups = 1;
  a.in_channels_per_group = i % 2 ? 32 : 64;
  a.out_channels_per_group = 1 + i % 4;
  a.in_h = 12 + i;
  a.in_w = 16 + 4 * (i % 3);
  a.kernel_h = a.kernel_w = i % 3 ? 4 : 3;
  a.stride = {2, 2};
  a.padding = {i % 2, 1};
  a.bias_layout = i % 2 ? BiasLayout::Contiguous : BiasLayout::None;
  a.data_seed = 0x4ead + i;
  return a;
}

// Tensor-core-sized sets, kept small enough for a float64 reference on the CPU.
Limits mid_limits() {
  Limits l = Limits::real();
  l.max_channels_per_group = 64;
  l.max_spatial = 24;
  return l;
}

struct Tally {
  int64_t sets_with_nonfinite = 0, nonfinite_outputs = 0;
};

// One set: 1-3 input values replaced by NaN, +Inf or -Inf, then ours against the reference.
void check_set(const ArgSet& a, const SweepConfig& config, std::mt19937_64& rng, int i, Tally& tally) {
  if (a.batch == 0) return;
  Tensors t = make_tensors(a, config.dtype, cuda_device());
  const at::Tensor x4 = batched(t.input);  // writes go through the view into its base
  const double kValues[] = {std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity(),
                            -std::numeric_limits<double>::infinity()};
  const int count = 1 + static_cast<int>(rng() % 3);
  for (int k = 0; k < count; ++k) {
    const int64_t n = rng() % x4.size(0), c = rng() % x4.size(1), h = rng() % x4.size(2), w = rng() % x4.size(3);
    x4[n][c][h][w].fill_(kValues[rng() % 3]);
  }
  Tensors on_cpu{t.input.cpu(), t.weight.cpu(), c10::nullopt};
  if (t.bias) on_cpu.bias = t.bias->cpu();
  const at::Tensor ref = reference(a, on_cpu);

  poison_allocator(a.output_sizes(), config.dtype, cuda_device());
  const at::Tensor out = call_tconv(a, t, rotating_entry_point(i)).cpu().to(at::kDouble);
  CATCH_REQUIRE(out.sizes() == ref.sizes());

  const double inf = std::numeric_limits<double>::infinity();
  const at::Tensor ref_nan = at::isnan(ref), out_nan = at::isnan(out);
  const at::Tensor ref_pos = ref == inf, out_pos = out == inf;
  const at::Tensor ref_neg = ref == -inf, out_neg = out == -inf;
  const int64_t nan_differ = (ref_nan != out_nan).sum().item<int64_t>();
  const int64_t pos_differ = (ref_pos != out_pos).sum().item<int64_t>();
  const int64_t neg_differ = (ref_neg != out_neg).sum().item<int64_t>();
  CATCH_INFO(config.label << " set " << i << ": " << a.describe());
  CATCH_INFO("NaN: ours " << out_nan.sum().item<int64_t>() << ", torch's " << ref_nan.sum().item<int64_t>()
                          << ", differing " << nan_differ << "; +Inf differing " << pos_differ
                          << "; -Inf differing " << neg_differ);
  CATCH_CHECK(nan_differ == 0);
  CATCH_CHECK(pos_differ == 0);
  CATCH_CHECK(neg_differ == 0);

  // Everywhere else the values still match.
  const at::Tensor finite = at::isfinite(ref);
  CATCH_CHECK(relative_error(out.masked_select(finite), ref.masked_select(finite)) <=
              tolerance_for(config.dtype, config.tf32));
  const int64_t nonfinite = finite.logical_not().sum().item<int64_t>();
  tally.nonfinite_outputs += nonfinite;
  tally.sets_with_nonfinite += nonfinite > 0;
}

void check_mode(const SweepConfig& config, uint64_t seed) {
  AllowTF32Guard tf32(config.tf32);
  std::mt19937_64 rng(seed);
  Tally tally;
  ArgSetGenerator small(seed, Limits::small()), mid(seed + 1, mid_limits());
  int i = 0;
  for (int k = 0; k < 120; ++k, ++i) check_set(small.next(), config, rng, i, tally);
  for (int k = 0; k < 6; ++k, ++i) check_set(mid.next(), config, rng, i, tally);
  for (int k = 0; k < 6; ++k, ++i) check_set(head_case(k), config, rng, i, tally);
  // The test can fail: most sets had non-finite outputs to place.
  CATCH_CHECK(tally.sets_with_nonfinite >= 100);
  CATCH_CHECK(tally.nonfinite_outputs > 1000);
}

}  // namespace

CATCH_TEST_CASE("CUDA: NaN and Inf inputs reach exactly their taps' outputs, float32 with TF32", "[cuda][nan]") {
  TCONV_REQUIRE_CUDA();
  check_mode({at::kFloat, true, "TF32"}, 0x7f32);
}

CATCH_TEST_CASE("CUDA: NaN and Inf inputs reach exactly their taps' outputs, strict float32", "[cuda][nan]") {
  TCONV_REQUIRE_CUDA();
  check_mode({at::kFloat, false, "float32"}, 0xf32);
}

CATCH_TEST_CASE("CUDA: NaN and Inf inputs reach exactly their taps' outputs, bfloat16", "[cuda][nan]") {
  TCONV_REQUIRE_CUDA();
  check_mode({at::kBFloat16, false, "bfloat16"}, 0xbf16);
}

CATCH_TEST_CASE("CUDA: NaN and Inf inputs reach exactly their taps' outputs, float16", "[cuda][nan]") {
  TCONV_REQUIRE_CUDA();
  check_mode({at::kHalf, false, "float16"}, 0xf16);
}
