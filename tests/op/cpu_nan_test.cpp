// NaN handling on the CPU: output is NaN-free for finite input (the kernel allocates its output
// fresh, so this is its "poisoned output" check), and a NaN input pixel makes exactly the output
// elements NaN that torch's own op makes NaN: the pixel's taps, not a neighbour more or less.
#include "op_test_support.h"

using namespace tconv_test;

CATCH_TEST_CASE("CPU: NaN input pixels give NaN exactly where torch's op gives NaN", "[op][cpu][nan]") {
  ArgSetGenerator gen(0x4a4e, Limits::small());
  int64_t nan_outputs = 0, sets_with_nan = 0;
  for (int i = 0; i < 300; ++i) {
    const ArgSet a = gen.next();
    if (a.batch == 0) continue;
    const at::ScalarType dtype = i % 2 ? at::kFloat : at::kDouble;
    Tensors t = make_tensors(a, dtype, at::kCPU);

    // Finite input: no NaN anywhere in the output, even with the kernel's output NaN-poisoned first.
    const ScopedEnv poison("TCONV_CPU_POISON", "1");
    const at::Tensor clean = tconv::conv_transpose2d(t.input, t.weight, t.bias, a.stride_arg(), a.padding_arg(),
                                                     a.output_padding_arg(), a.groups, a.dilation_arg());
    CATCH_INFO("set " << i << ": " << a.describe());
    CATCH_REQUIRE_FALSE(at::isnan(clean).any().item<bool>());

    // Poison 1..3 input elements (writes go through the view into its base).
    const at::Tensor x4 = batched(t.input);
    std::mt19937_64& rng = gen.rng();
    const int count = 1 + static_cast<int>(rng() % 3);
    for (int k = 0; k < count; ++k) {
      const int64_t n = rng() % x4.size(0), c = rng() % x4.size(1), h = rng() % x4.size(2),
                    w = rng() % x4.size(3);
      x4[n][c][h][w].fill_(std::numeric_limits<double>::quiet_NaN());
    }
    const at::Tensor out = tconv::conv_transpose2d(t.input, t.weight, t.bias, a.stride_arg(), a.padding_arg(),
                                                   a.output_padding_arg(), a.groups, a.dilation_arg());
    const at::Tensor ref = at::conv_transpose2d(t.input, t.weight, t.bias, a.stride_arg(), a.padding_arg(),
                                                a.output_padding_arg(), a.groups, a.dilation_arg());
    CATCH_REQUIRE(out.sizes() == ref.sizes());
    const at::Tensor out_nan = at::isnan(out), ref_nan = at::isnan(ref);
    const int64_t mismatched = (out_nan != ref_nan).sum().item<int64_t>();
    CATCH_INFO("NaN in ours " << out_nan.sum().item<int64_t>() << ", in torch's "
                              << ref_nan.sum().item<int64_t>() << ", positions differing " << mismatched);
    CATCH_CHECK(mismatched == 0);
    // Elsewhere the values still match.
    const at::Tensor finite = ref_nan.logical_not();
    CATCH_CHECK(relative_error(out.masked_select(finite), ref.to(at::kDouble).masked_select(finite)) <=
                tolerance_for(dtype));
    const int64_t n_nan = ref_nan.sum().item<int64_t>();
    nan_outputs += n_nan;
    sets_with_nan += n_nan > 0;
  }
  // The test can fail: plenty of sets had NaN to place.
  CATCH_CHECK(sets_with_nan >= 200);
  CATCH_CHECK(nan_outputs > 1000);
}

// Inf as well as NaN, in the input or in the weights. torch meets a weight only with the input
// values its tap reads, so an infinite weight must not meet the zero padding outside the input
// (0 x Inf = NaN where torch's output stays finite), and an infinite input keeps its sign through
// each product.
CATCH_TEST_CASE("CPU: Inf and NaN in the input or the weights land where torch's op puts them", "[op][cpu][nan]") {
  ArgSetGenerator gen(0x1f1f, Limits::small());
  const double kValues[] = {std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity(),
                            -std::numeric_limits<double>::infinity()};
  int64_t nonfinite_outputs = 0, weight_sets = 0, input_sets = 0;
  for (int i = 0; i < 300; ++i) {
    const ArgSet a = gen.next();
    if (a.batch == 0) continue;
    const at::ScalarType dtype = i % 4 < 2 ? at::kFloat : at::kDouble;
    Tensors t = make_tensors(a, dtype, at::kCPU);
    const bool in_weights = i % 2 == 1;
    const at::Tensor target = in_weights ? t.weight : batched(t.input);  // writes go through views
    std::mt19937_64& rng = gen.rng();
    const int count = 1 + static_cast<int>(rng() % 3);
    for (int k = 0; k < count; ++k) {
      const int64_t a0 = rng() % target.size(0), a1 = rng() % target.size(1), a2 = rng() % target.size(2),
                    a3 = rng() % target.size(3);
      target[a0][a1][a2][a3].fill_(kValues[rng() % 3]);
    }
    const ScopedEnv poison("TCONV_CPU_POISON", "1");
    const at::Tensor out = tconv::conv_transpose2d(t.input, t.weight, t.bias, a.stride_arg(), a.padding_arg(),
                                                   a.output_padding_arg(), a.groups, a.dilation_arg());
    const at::Tensor ref = at::conv_transpose2d(t.input, t.weight, t.bias, a.stride_arg(), a.padding_arg(),
                                                a.output_padding_arg(), a.groups, a.dilation_arg());
    CATCH_REQUIRE(out.sizes() == ref.sizes());
    const double inf = std::numeric_limits<double>::infinity();
    const int64_t nan_differ = (at::isnan(out) != at::isnan(ref)).sum().item<int64_t>();
    const int64_t pos_differ = ((out == inf) != (ref == inf)).sum().item<int64_t>();
    const int64_t neg_differ = ((out == -inf) != (ref == -inf)).sum().item<int64_t>();
    CATCH_INFO("set " << i << (in_weights ? " (weights)" : " (input)") << ": " << a.describe());
    CATCH_INFO("positions differing: NaN " << nan_differ << ", +Inf " << pos_differ << ", -Inf " << neg_differ);
    CATCH_CHECK(nan_differ == 0);
    CATCH_CHECK(pos_differ == 0);
    CATCH_CHECK(neg_differ == 0);
    const at::Tensor finite = at::isfinite(ref);
    CATCH_CHECK(relative_error(out.masked_select(finite), ref.to(at::kDouble).masked_select(finite)) <=
                tolerance_for(dtype));
    const int64_t n = finite.logical_not().sum().item<int64_t>();
    nonfinite_outputs += n;
    (in_weights ? weight_sets : input_sets) += n > 0;
  }
  // The test can fail: both halves had non-finite outputs to place.
  CATCH_CHECK(weight_sets >= 100);
  CATCH_CHECK(input_sets >= 100);
  CATCH_CHECK(nonfinite_outputs > 1000);
}
