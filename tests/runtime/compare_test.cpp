// The allclose-style check tconv-run applies to a model's output.
#include <torch/torch.h>

#include <cmath>
#include <limits>

#include "catch.h"
#include "compare.h"

using tconv::runtime::compare;

CATCH_TEST_CASE("compare applies |out - exp| <= atol + rtol * |exp| per element", "[runtime][compare]") {
  torch::manual_seed(3);
  const at::Tensor expected = torch::randn({4, 5}) + 3.0;  // away from zero: rtol dominates
  const at::Tensor close = expected * (1 + 0.5e-4);
  const at::Tensor far = expected * (1 + 2e-4);

  const auto pass = compare(close, expected, 1e-4, 0);
  CATCH_INFO(pass.summary);
  CATCH_CHECK(pass.passed);
  CATCH_CHECK(pass.mismatched == 0);
  CATCH_CHECK(std::abs(pass.max_rel_error - 0.5e-4) < 1e-6);
  CATCH_CHECK(pass.summary.rfind("PASS", 0) == 0);

  const auto fail = compare(far, expected, 1e-4, 0);
  CATCH_CHECK_FALSE(fail.passed);
  CATCH_CHECK(fail.mismatched == 20);
  CATCH_CHECK(fail.summary.rfind("FAIL", 0) == 0);

  // atol alone carries a zero expected value.
  CATCH_CHECK(compare(torch::full({3}, 1e-6), torch::zeros({3}), 0, 2e-6).passed);
  CATCH_CHECK_FALSE(compare(torch::full({3}, 1e-6), torch::zeros({3}), 0, 0.5e-6).passed);
}

CATCH_TEST_CASE("compare never passes NaN and fails on a shape mismatch", "[runtime][compare]") {
  const at::Tensor expected = torch::randn({3, 3});
  at::Tensor with_nan = expected.clone();
  with_nan[1][1] = std::numeric_limits<float>::quiet_NaN();
  const auto result = compare(with_nan, expected, 1e9, 1e9);
  CATCH_CHECK_FALSE(result.passed);
  CATCH_CHECK(result.nan_outputs == 1);
  CATCH_CHECK(result.mismatched == 1);
  // NaN in both is still a failure: a NaN is never a correct answer here.
  CATCH_CHECK_FALSE(compare(with_nan, with_nan, 1e9, 1e9).passed);

  const auto shapes = compare(torch::randn({9}), expected, 1, 1);
  CATCH_CHECK_FALSE(shapes.passed);
  CATCH_CHECK_FALSE(shapes.shapes_match);
}

CATCH_TEST_CASE("compare treats equal infinities as equal, others as errors", "[runtime][compare]") {
  const float inf = std::numeric_limits<float>::infinity();
  const at::Tensor expected = torch::tensor({1.0f, inf, -inf});
  CATCH_CHECK(compare(expected.clone(), expected, 1e-4, 1e-5).passed);
  CATCH_CHECK_FALSE(compare(torch::tensor({1.0f, inf, inf}), expected, 1e-4, 1e-5).passed);
  CATCH_CHECK_FALSE(compare(torch::tensor({inf, inf, -inf}), expected, 1e-4, 1e-5).passed);
}
