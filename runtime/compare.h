// Checking a model output against an expected tensor, allclose-style.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>

namespace tconv {
namespace runtime {

struct Comparison {
  bool passed = false;
  bool shapes_match = false;
  double max_abs_error = 0;  // max |out - expected|
  double max_rel_error = 0;  // max |out - expected| / |expected| over elements with |expected| > atol
  int64_t elements = 0;
  int64_t mismatched = 0;    // elements outside tolerance, NaN included
  int64_t nan_outputs = 0;   // NaN in the output (always a failure)
  std::string summary;       // one line: "PASS max_abs_err=... " or "FAIL ..."
};

// Element-wise |out - expected| <= atol + rtol * |expected| (torch.allclose's rule, in float64 on
// the CPU), where an output equal to the expected value (infinities included) always passes and a
// NaN never does. Different shapes fail without comparing values.
Comparison compare(const at::Tensor& output, const at::Tensor& expected, double rtol, double atol);

}  // namespace runtime
}  // namespace tconv
