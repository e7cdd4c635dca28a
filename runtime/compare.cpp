#include "compare.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cstdio>
#include <sstream>
#include <string>

namespace tconv {
namespace runtime {
namespace {

std::string shape_text(const at::Tensor& tensor) {
  std::ostringstream text;
  text << tensor.sizes();
  return text.str();
}

std::string format_error(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.3g", value);
  return buffer;
}

}  // namespace

Comparison compare(const at::Tensor& output, const at::Tensor& expected, double rtol, double atol) {
  Comparison result;
  result.elements = output.numel();
  result.shapes_match = output.sizes().equals(expected.sizes());
  if (!result.shapes_match) {
    result.summary = "FAIL output shape " + shape_text(output) + " differs from expected shape " +
                     shape_text(expected);
    return result;
  }
  const at::Tensor out = output.detach().to(at::kCPU, at::kDouble);
  const at::Tensor exp = expected.detach().to(at::kCPU, at::kDouble);
  const at::Tensor difference = (out - exp).abs();
  // An infinite expected value must be matched exactly: the tolerance atol + rtol*inf would
  // accept anything, even the opposite infinity.
  const at::Tensor within =
      (exp.isfinite() & (difference <= atol + rtol * exp.abs())) | (out == exp);
  result.mismatched = result.elements - within.sum().item<int64_t>();
  result.nan_outputs = out.isnan().sum().item<int64_t>();
  if (result.elements > 0) {
    // NaN differences (a NaN output, or inf - inf where both are the same infinity) are counted
    // above; the maxima describe the others.
    const at::Tensor finite = difference.masked_fill(difference.isnan(), 0.0);
    result.max_abs_error = finite.max().item<double>();
    // Relative error where it means something: elements small enough for atol to cover them
    // (|expected| <= atol, zeros included) would only report noise divided by almost nothing.
    const at::Tensor significant = exp.abs() > std::max(atol, 0.0);
    if (significant.any().item<bool>()) {
      result.max_rel_error =
          (finite.masked_select(significant) / exp.abs().masked_select(significant)).max().item<double>();
    }
  }
  result.passed = result.mismatched == 0 && result.nan_outputs == 0;

  std::string summary = std::string(result.passed ? "PASS" : "FAIL") +
                        " max_abs_err=" + format_error(result.max_abs_error) +
                        " max_rel_err=" + format_error(result.max_rel_error) + " (rtol=" +
                        format_error(rtol) + " atol=" + format_error(atol) + "; " +
                        std::to_string(result.mismatched) + " of " +
                        std::to_string(result.elements) + " elements out of tolerance";
  if (result.nan_outputs) summary += ", " + std::to_string(result.nan_outputs) + " NaN";
  result.summary = summary + ")";
  return result;
}

}  // namespace runtime
}  // namespace tconv
