// Shape-only kernel: lets tracing, torch.compile and torch.export reason about the op's output
// without running it. Same checks as every other backend, so bad input fails here too.
#include <torch/library.h>
#include <torch/version.h>

#include "../problem.h"

namespace tconv {
namespace {

at::Tensor conv_transpose2d_meta(const at::Tensor& input, const at::Tensor& weight,
                                 const c10::optional<at::Tensor>& bias, at::IntArrayRef stride,
                                 at::IntArrayRef padding, at::IntArrayRef output_padding,
                                 int64_t groups, at::IntArrayRef dilation) {
  const Problem problem = make_problem(input, weight, bias, stride, padding, output_padding,
                                       groups, dilation, Backend::Meta);
  return problem.finish(problem.new_output());
}

}  // namespace

TORCH_LIBRARY_IMPL(custom, Meta, m) { m.impl("conv_transpose2d", &conv_transpose2d_meta); }

#if TORCH_VERSION_MAJOR < 2
// torch 1.13 has no autograd fallthrough for meta tensors (2.x does): without this, a meta call
// stops at AutogradMeta before reaching the kernel above.
TORCH_LIBRARY_IMPL(custom, AutogradMeta, m) {
  m.impl("conv_transpose2d", torch::CppFunction::makeFallthrough());
}
#endif

}  // namespace tconv
