// CPU kernel of custom::conv_transpose2d: registration and the per-call steps. The work itself is
// planned in cpu_plan.cpp and done by the instruction-set-specific kernels in
// cpu_kernels_<isa>.cpp (design and measurements: docs/cpu-kernel.md).
#include <torch/library.h>

#include <cstdlib>
#include <limits>

#include "../problem.h"
#include "cpu_plan.h"

namespace tconv {
namespace {

// TCONV_CPU_POISON=1 fills the output with NaN before the kernel runs, so a test sees any element
// the kernel failed to write. Off by default (it costs a pass over the output).
bool poison_requested() {
  const char* env = std::getenv("TCONV_CPU_POISON");
  return env != nullptr && env[0] == '1';
}

at::Tensor conv_transpose2d_cpu(const at::Tensor& input, const at::Tensor& weight,
                                const c10::optional<at::Tensor>& bias, at::IntArrayRef stride,
                                at::IntArrayRef padding, at::IntArrayRef output_padding,
                                int64_t groups, at::IntArrayRef dilation) {
  const Problem problem = make_problem(input, weight, bias, stride, padding, output_padding,
                                       groups, dilation, Backend::CPU);
  at::Tensor output = problem.new_output();
  if (output.numel() == 0) return problem.finish(output);
  if (poison_requested()) output.fill_(std::numeric_limits<double>::quiet_NaN());
  cpu::run_conv_transpose2d(problem, output, cpu::select_cpu_kernels());
  return problem.finish(output);
}

}  // namespace

TORCH_LIBRARY_IMPL(custom, CPU, m) { m.impl("conv_transpose2d", &conv_transpose2d_cpu); }

}  // namespace tconv
