// reference_window (op_test_support.h) is what the GPU test of a > 2^31-element output checks its
// slices against. Here, on small CPU problems, it is checked against torch's full output, and the
// op's output windows against it, so the GPU test's yardstick is known to be right.
#include "op_test_support.h"

using namespace tconv_test;

CATCH_TEST_CASE("reference_window equals the matching window of torch's full output",
                "[op][cpu][support]") {
  ArgSetGenerator gen(0x717d, Limits::small());
  int checked = 0;
  while (checked < 150) {
    ArgSet a = gen.next();
    if (a.unbatched || a.batch == 0) continue;
    a.output_padding = {0, 0};  // windows assume none; everything else varies
    a.output_padding_single = false;
    if (a.out_h() < 1 || a.out_w() < 1) continue;
    const Tensors t = make_tensors(a, at::kDouble, at::kCPU);
    const at::Tensor full = reference(a, t);
    const at::Tensor ours = call_tconv(a, t);
    std::mt19937_64& rng = gen.rng();
    for (int k = 0; k < 3; ++k) {
      Window w;
      w.h0 = rng() % a.out_h();
      w.h1 = w.h0 + 1 + rng() % (a.out_h() - w.h0);
      w.w0 = rng() % a.out_w();
      w.w1 = w.w0 + 1 + rng() % (a.out_w() - w.w0);
      CATCH_INFO(a.describe() << " window rows [" << w.h0 << ", " << w.h1 << ") cols [" << w.w0
                              << ", " << w.w1 << ")");
      const at::Tensor expected = full.slice(2, w.h0, w.h1).slice(3, w.w0, w.w1);
      const at::Tensor got = reference_window(t.input, t.weight, t.bias, a.stride, a.padding, a.groups,
                                              a.dilation, w);
      CATCH_REQUIRE(got.sizes() == expected.sizes());
      CATCH_CHECK(relative_error(got, expected) <= Tolerance::kFloat64);
      CATCH_CHECK(relative_error(ours.slice(2, w.h0, w.h1).slice(3, w.w0, w.w1), got) <=
                  Tolerance::kFloat64);
    }
    ++checked;
  }
}
