#include <torch/torch.h>

#include "catch.h"
#include "conv_transpose2d.h"

CATCH_TEST_CASE("conv_transpose2d matches torch on one small case", "[op]") {
  torch::manual_seed(0);
  auto x = torch::randn({2, 4, 5, 6}, torch::kDouble);
  auto w = torch::randn({4, 3, 3, 2}, torch::kDouble);
  auto b = torch::randn({6}, torch::kDouble);
  auto ours = tconv::conv_transpose2d(x, w, b, {2, 1}, {1, 0}, {1, 0}, 2, {1, 2});
  auto ref = at::conv_transpose2d(x, w, b, {2, 1}, {1, 0}, {1, 0}, 2, {1, 2});
  CATCH_REQUIRE(ours.sizes() == ref.sizes());
  CATCH_CHECK(torch::allclose(ours, ref, 1e-10, 1e-10));
}
