// Hand-picked CPU cases outside the random sweep's ranges: strides and dilations far larger than the
// kernel (almost every output element bias-only), output_padding near its limit, padding that
// crops most of the output, long thin inputs.
#include "op_test_support.h"

using namespace tconv_test;

namespace {

ArgSet make(std::vector<int64_t> in, std::vector<int64_t> k, Pair stride, Pair padding, Pair output_padding,
            Pair dilation, int64_t groups = 1) {
  ArgSet a;
  a.batch = 2;
  a.groups = groups;
  a.in_channels_per_group = 3;
  a.out_channels_per_group = 2;
  a.in_h = in[0];
  a.in_w = in[1];
  a.kernel_h = k[0];
  a.kernel_w = k[1];
  a.stride = stride;
  a.padding = padding;
  a.output_padding = output_padding;
  a.dilation = dilation;
  a.bias_layout = BiasLayout::Contiguous;
  a.data_seed = 77;
  return a;
}

}  // namespace

CATCH_TEST_CASE("CPU edge cases: large strides, dilations, paddings and output_padding", "[op][cpu][edge]") {
  const std::vector<ArgSet> cases = {
      make({1, 1}, {3, 3}, {64, 1000}, {0, 0}, {0, 0}, {1, 1}),        // k << s, 1x1 input
      make({2, 3}, {2, 3}, {97, 33}, {5, 1}, {96, 32}, {1, 1}),        // output_padding = stride - 1
      make({3, 2}, {3, 2}, {2, 1}, {0, 0}, {40, 0}, {41, 1}),          // output_padding < dilation only
      make({4, 4}, {3, 3}, {1, 1}, {50, 50}, {0, 0}, {50, 50}),        // padding crops to the middle
      make({1, 40}, {1, 5}, {7, 1}, {0, 3}, {6, 0}, {1, 9}, 2),        // long thin, grouped
      make({33, 1}, {5, 1}, {1, 6}, {2, 0}, {0, 5}, {3, 1}),           // tall thin
      make({5, 5}, {5, 5}, {6, 4}, {3, 2}, {2, 3}, {6, 4}),            // s == d, gcd(s, d) = s
      // Huge strides on a tiny input: a valid 3x3 output; work and memory must not grow with the
      // stride (an earlier CPU kernel allocated per phase and ran out of memory here).
      make({1, 1}, {3, 3}, {100000, 1000000}, {0, 0}, {0, 0}, {1, 1}),
      make({2, 1}, {2, 3}, {65536, 7}, {1, 1}, {0, 0}, {1, 1}),
  };
  for (const ArgSet& a : cases) {
    for (at::ScalarType dtype : {at::kFloat, at::kDouble}) {
      CATCH_INFO(c10::toString(dtype) << " " << a.describe());
      CATCH_REQUIRE(a.out_h() >= 1);
      CATCH_REQUIRE(a.out_w() >= 1);
      const Tensors t = make_tensors(a, dtype, at::kCPU);
      const ScopedEnv poison("TCONV_CPU_POISON", "1");
      const at::Tensor out = call_tconv(a, t);
      CATCH_CHECK(check_output(out, reference(a, t), t, tolerance_for(dtype), c10::nullopt) == "");
    }
  }
}
