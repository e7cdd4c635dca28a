// The CPU kernel against torch's own at::conv_transpose2d (float64 reference) on >= 1,000 seeded
// random argument sets per dtype, through the public header and the dispatcher by name. Every
// other call runs with the kernel's NaN-poisoned output (TCONV_CPU_POISON=1), so an element the
// kernel never writes fails the comparison instead of passing on lucky zeros.
#include "op_test_support.h"

using namespace tconv_test;

namespace {

constexpr int kSetsPerDtype = 1000;
constexpr int kMaxReportedFailures = 20;

// Checks kSetsPerDtype argument sets in `dtype`; every fourth call goes through the dispatcher by
// name (typed, then boxed), the rest through tconv::conv_transpose2d.
void cpu_sweep(at::ScalarType dtype, uint64_t seed) {
  ArgSetGenerator gen(seed, Limits::small());
  Coverage coverage;
  int failures = 0;
  double worst = 0.0;
  for (int i = 0; i < kSetsPerDtype; ++i) {
    const ArgSet a = gen.next();
    coverage.add(a);
    const Tensors t = make_tensors(a, dtype, at::kCPU);
    const EntryPoint entry = rotating_entry_point(i);
    at::Tensor ref;
    std::string why;
    try {
      ref = reference(a, t);
    } catch (const std::exception& e) {
      why = std::string("torch's own op threw (the test needs a workaround): ") + e.what();
    }
    // torch 1.13's CPU op returns contiguous output for channels_last input (2.x follows the input
    // like the op's contract); torch 2.x also goes channels_last for a channels_last *weight*, which
    // the contract does not: compare with torch's format only where both rules agree.
    c10::optional<at::MemoryFormat> torch_format;
    if (TORCH_VERSION_MAJOR >= 2 && ref.defined() &&
        a.weight_layout != WeightLayout::ChannelsLast &&
        t.weight.suggest_memory_format() == at::MemoryFormat::Contiguous)
      torch_format = batched(ref).suggest_memory_format();

    double err = 0.0;
    const ScopedEnv poison("TCONV_CPU_POISON", i % 2 == 0 ? "1" : nullptr);
    if (why.empty()) try {
      const at::Tensor out = call_tconv(a, t, entry);
      why = check_output(out, ref, t, tolerance_for(dtype), torch_format, &err);
    } catch (const std::exception& e) {
      why = std::string("threw: ") + e.what();
    }
    worst = std::max(worst, err);
    if (!why.empty() && ++failures <= kMaxReportedFailures) {
      CATCH_INFO("set " << i << " via " << name(entry) << ": " << a.describe());
      CATCH_INFO(why);
      CATCH_CHECK(why.empty());
    }
  }
  CATCH_INFO(failures << " of " << kSetsPerDtype << " sets failed (first " << kMaxReportedFailures
                      << " reported); worst relative error " << worst);
  CATCH_CHECK(failures == 0);
  coverage.require_all(3);
}

}  // namespace

CATCH_TEST_CASE("CPU sweep float32: 1,000 random argument sets match at::conv_transpose2d",
                "[op][cpu][sweep]") {
  cpu_sweep(at::kFloat, 0x5eed0001);
}

CATCH_TEST_CASE("CPU sweep float64: 1,000 random argument sets match at::conv_transpose2d",
                "[op][cpu][sweep]") {
  cpu_sweep(at::kDouble, 0x5eed0002);
}

CATCH_TEST_CASE("the generator's argument sets are valid and reproducible", "[op][support]") {
  ArgSetGenerator g1(42, Limits::small()), g2(42, Limits::small());
  for (int i = 0; i < 200; ++i) {
    const ArgSet a = g1.next(), b = g2.next();
    CATCH_REQUIRE(a.describe() == b.describe());
    CATCH_REQUIRE(a.out_h() >= 1);
    CATCH_REQUIRE(a.out_w() >= 1);
    for (int axis = 0; axis < 2; ++axis)
      CATCH_REQUIRE((a.output_padding[axis] < a.stride[axis] ||
                     a.output_padding[axis] < a.dilation[axis]));
    const Tensors t = make_tensors(a, at::kFloat, at::kCPU);
    CATCH_INFO(a.describe() << " input strides " << t.input.strides());
    CATCH_REQUIRE(t.input.sizes() == at::IntArrayRef(a.input_sizes()));
    CATCH_REQUIRE(t.weight.sizes() == at::IntArrayRef(a.weight_sizes()));
    if (a.input_layout == InputLayout::Transposed || a.input_layout == InputLayout::Sliced)
      if (a.batch > 0 && a.in_h > 1 && a.in_w > 1) CATCH_REQUIRE_FALSE(t.input.is_contiguous());
    // Same seed, same data.
    const Tensors u = make_tensors(a, at::kFloat, at::kCPU);
    CATCH_REQUIRE(at::equal(t.input, u.input));
    CATCH_REQUIRE(at::equal(t.weight, u.weight));
  }
}

CATCH_TEST_CASE("the error measure fails NaN, Inf, wrong values and wrong shapes", "[op][support]") {
  const at::Tensor ref = at::randn({2, 3, 4, 5}, at::kDouble);
  CATCH_CHECK(relative_error(ref, ref) == 0.0);
  CATCH_CHECK(relative_error(ref.to(at::kFloat), ref) < Tolerance::kFloat32);
  at::Tensor nan = ref.clone();
  nan[1][2][3][4] = std::numeric_limits<double>::quiet_NaN();
  CATCH_CHECK_FALSE(relative_error(nan, ref) <= 1e300);
  at::Tensor inf = ref.clone();
  inf[0][0][0][0] = std::numeric_limits<double>::infinity();
  CATCH_CHECK_FALSE(relative_error(inf, ref) <= 1e300);
  at::Tensor off = ref.clone();
  off[0][1][2][3] += 1e-3 * ref.norm().item<double>();
  CATCH_CHECK(relative_error(off, ref) > Tolerance::kFloat64);

  Tensors t;
  t.input = at::randn({2, 4, 3, 3}, at::kDouble);
  CATCH_CHECK(check_output(ref, ref, t, Tolerance::kFloat64, c10::nullopt).empty());
  CATCH_CHECK_FALSE(check_output(ref.slice(3, 0, 4), ref, t, 1.0, c10::nullopt).empty());
  CATCH_CHECK_FALSE(check_output(ref.to(at::kFloat), ref, t, 1.0, c10::nullopt).empty());
  CATCH_CHECK_FALSE(check_output(nan, ref, t, 1.0, c10::nullopt).empty());
  // Contiguous output for channels_last input breaks the memory-format promise.
  t.input = t.input.contiguous(at::MemoryFormat::ChannelsLast);
  CATCH_CHECK_FALSE(check_output(ref, ref, t, 1.0, c10::nullopt).empty());
  CATCH_CHECK(check_output(ref.contiguous(at::MemoryFormat::ChannelsLast), ref, t, 1e-12,
                           c10::nullopt).empty());
}
