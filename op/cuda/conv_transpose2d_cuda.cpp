// CUDA backend: the torch-side glue. Checks and geometry come from problem.h (shared with every
// backend); this file picks the device, the stream and the kernel, and hands the kernels plain
// pointers (launch.h), so the kernels themselves stay free of torch types.
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>
#include <torch/library.h>

#include "../problem.h"
#include "launch.h"

namespace tconv {
namespace {

cuda::DType to_kernel_dtype(at::ScalarType type) {
  switch (type) {
    case at::kFloat: return cuda::DType::Float32;
    case at::kDouble: return cuda::DType::Float64;
    case at::kHalf: return cuda::DType::Float16;
    case at::kBFloat16: return cuda::DType::BFloat16;
    default: TORCH_CHECK(false, "conv_transpose2d: unsupported CUDA dtype ", type);
  }
}

at::Tensor conv_transpose2d_cuda(const at::Tensor& input, const at::Tensor& weight,
                                 const c10::optional<at::Tensor>& bias, at::IntArrayRef stride,
                                 at::IntArrayRef padding, at::IntArrayRef output_padding,
                                 int64_t groups, at::IntArrayRef dilation) {
  const Problem problem = make_problem(input, weight, bias, stride, padding, output_padding,
                                       groups, dilation, Backend::CUDA);
  const c10::cuda::CUDAGuard device_guard(problem.input.device());
  at::Tensor output = problem.new_output();
  if (output.numel() == 0) return problem.finish(output);

  // Weight and bias are small; the kernels read them contiguous (a copy only for unusual views).
  const at::Tensor weight_c = problem.weight.contiguous();
  const at::Tensor bias_c = problem.bias ? problem.bias->contiguous() : at::Tensor();

  cuda::ConvArgs args;
  args.input = problem.input.data_ptr();
  args.input_strides = {problem.input.stride(0), problem.input.stride(1), problem.input.stride(2),
                        problem.input.stride(3)};
  args.weight = weight_c.data_ptr();
  args.bias = bias_c.defined() ? bias_c.data_ptr() : nullptr;
  args.output = output.data_ptr();
  args.output_channels_last = problem.output_memory_format() == at::MemoryFormat::ChannelsLast;
  args.geometry = problem.geometry;
  args.dtype = to_kernel_dtype(problem.input.scalar_type());

  const cudaStream_t stream = at::cuda::getCurrentCUDAStream();
  C10_CUDA_CHECK(cuda::launch_direct(args, stream));
  C10_CUDA_KERNEL_LAUNCH_CHECK();
  return problem.finish(output);
}

}  // namespace

TORCH_LIBRARY_IMPL(custom, CUDA, m) { m.impl("conv_transpose2d", &conv_transpose2d_cuda); }

}  // namespace tconv
