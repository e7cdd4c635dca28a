// CUDA backend: the torch-side glue. Checks and geometry come from problem.h (shared with every
// backend); this file picks the device, the stream and the kernel, and hands the kernels plain
// pointers (launch.h), so the kernels themselves stay free of torch types.
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>
#include <torch/library.h>

#include <cstdlib>
#include <cstring>

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

enum class Kernel { Direct, PhaseBlock, PhaseRow, ShuffleGemm, ImageGemm, PhaseGemm, ImplicitGemm, WindowGemm, WgmmaGemm };

// TCONV_CUDA_KERNEL=direct|phase_block|phase_row|shuffle|image|phase_gemm|gemm|window|wgmma|wgmma_packed pins the kernel
// (benchmarks and tests of each path; wgmma_packed the wgmma kernel with packed tiles, launch.h);
// read once. A pinned kernel still declines what it can't do (every one but
// direct float64; phase_block anything but stride 2, dilation 1, kernels to 4x4 and 4 channels
// per group; phase_row channels_last outputs and rows shared memory can't stage; shuffle anything
// but kernel == stride and strict float32; image strict float32, dilation other than 1, images it
// can neither hold whole nor cut into bands, and devices other than compute capability 9.0;
// phase_gemm float32, dilation other than 1, kernels smaller than the stride, inputs TMA can't
// tile (launch.h) and devices other than compute capability 9.0; the window
// kernels shapes their plans can't hold; wgmma also strict float32 and devices other than compute
// capability 9.0), which then goes to the next path: wgmma -> window -> gemm -> direct,
// shuffle, image and phase_gemm -> gemm -> direct, phase_block -> direct, phase_row -> direct.
enum class Override {
  Automatic, Direct, PhaseBlock, PhaseRow, ShuffleGemm, ImageGemm, PhaseGemm, ImplicitGemm, WindowGemm, WgmmaGemm,
  WgmmaPacked
};
Override kernel_override() {
  static const Override choice = [] {
    const char* value = std::getenv("TCONV_CUDA_KERNEL");
    if (value == nullptr || *value == 0) return Override::Automatic;
    if (std::strcmp(value, "direct") == 0) return Override::Direct;
    if (std::strcmp(value, "phase_block") == 0) return Override::PhaseBlock;
    if (std::strcmp(value, "phase_row") == 0) return Override::PhaseRow;
    if (std::strcmp(value, "shuffle") == 0) return Override::ShuffleGemm;
    if (std::strcmp(value, "image") == 0) return Override::ImageGemm;
    if (std::strcmp(value, "phase_gemm") == 0) return Override::PhaseGemm;
    if (std::strcmp(value, "gemm") == 0) return Override::ImplicitGemm;
    if (std::strcmp(value, "window") == 0) return Override::WindowGemm;
    if (std::strcmp(value, "wgmma") == 0) return Override::WgmmaGemm;
    if (std::strcmp(value, "wgmma_packed") == 0) return Override::WgmmaPacked;
    TORCH_CHECK(false,
                "TCONV_CUDA_KERNEL must be 'direct', 'phase_block', 'phase_row', 'shuffle', 'image', "
                "'phase_gemm', 'gemm', 'window', 'wgmma' or 'wgmma_packed', got '",
                value, "'");
  }();
  return choice;
}

// Tensor cores pay once the GEMM's K side has some width (at least 16 input channels per group)
// and each output element takes enough multiply-adds. Thin problems are memory-bound (depthwise,
// few channels) and the one-pass kernel streams them. It also wins where each output element takes
// few multiply-adds (large strides: most of the output is bias-only): measured on the H100,
// KernelBench 81 (about 12 per output) ran 0.67 ms one-pass against 1.64 ms in the TF32 GEMM, and
// 0.70 against 0.79 ms in bf16; the U-Net 2x2/s2 layer (128 per output) is 2.3x faster in the GEMM.
constexpr int64_t kMinTensorCoreChannels = 16;  // input channels per group

bool tensor_cores_pay(const cuda::ConvArgs& args) {
  const ConvTransposeGeometry& g = args.geometry;
  if (g.in_channels_per_group() < kMinTensorCoreChannels) return false;
  const double outputs = double(g.batch) * g.out_channels * g.h.out * g.w.out;
  return double(g.multiply_adds()) / outputs >= 32.0;
}

// The wgmma kernel's tile layout: packed tiles only where pinned.
cuda::WgmmaLayout wgmma_layout() {
  return kernel_override() == Override::WgmmaPacked ? cuda::WgmmaLayout::Packed : cuda::WgmmaLayout::RowBands;
}

// The window kernels' plans loop over every phase and candidate tile width (host work per call:
// thousands of phase windows at strides near 64), so they are asked only where a tensor-core path
// is in question.
Kernel choose_kernel(const cuda::ConvArgs& args) {
  const bool gemm = cuda::implicit_gemm_supported(args);
  switch (kernel_override()) {
    case Override::Direct: return Kernel::Direct;
    case Override::PhaseBlock: return cuda::phase_block_supported(args) ? Kernel::PhaseBlock : Kernel::Direct;
    case Override::PhaseRow: return cuda::phase_row_supported(args) ? Kernel::PhaseRow : Kernel::Direct;
    case Override::ShuffleGemm:
      return cuda::shuffle_gemm_supported(args) ? Kernel::ShuffleGemm : gemm ? Kernel::ImplicitGemm : Kernel::Direct;
    case Override::ImageGemm:
      return cuda::image_gemm_supported(args) ? Kernel::ImageGemm : gemm ? Kernel::ImplicitGemm : Kernel::Direct;
    case Override::PhaseGemm:
      return cuda::phase_gemm_supported(args) ? Kernel::PhaseGemm : gemm ? Kernel::ImplicitGemm : Kernel::Direct;
    case Override::ImplicitGemm: return gemm ? Kernel::ImplicitGemm : Kernel::Direct;
    case Override::WindowGemm:
      return cuda::window_gemm_supported(args) ? Kernel::WindowGemm
             : gemm                            ? Kernel::ImplicitGemm
                                               : Kernel::Direct;
    case Override::WgmmaGemm:
    case Override::WgmmaPacked:
      return cuda::wgmma_gemm_supported(args, wgmma_layout()) ? Kernel::WgmmaGemm
             : cuda::window_gemm_supported(args) ? Kernel::WindowGemm
             : gemm                              ? Kernel::ImplicitGemm
                                                 : Kernel::Direct;
    case Override::Automatic: break;
  }
  // Stride-2 layers with at most 4 output channels per group (RGB heads): every phase of a 2x2
  // block from one shared input window.
  if (cuda::phase_block_preferred(args)) return Kernel::PhaseBlock;
  // Memory-bound: strided layers with whole bias-only rows and a few taps per row go row by row
  // (KernelBench 75, 81), everything else streams one-pass.
  if (!gemm || !tensor_cores_pay(args))
    return cuda::phase_row_preferred(args) ? Kernel::PhaseRow : Kernel::Direct;
  // Kernel == stride (U-Net): one GEMM per image, every operand by cp.async.
  if (cuda::shuffle_gemm_preferred(args)) return Kernel::ShuffleGemm;
  // Hopper, TF32 on small images (DCGAN 8 x 8): whole images per tile, col2im in shared memory.
  if (cuda::image_gemm_preferred(args)) return Kernel::ImageGemm;
  // Hopper, many taps per phase: wgmma straight from the staged window (docs/cuda-kernels.md).
  if (cuda::wgmma_gemm_preferred(args)) return Kernel::WgmmaGemm;
  if (cuda::window_gemm_preferred(args)) return Kernel::WindowGemm;  // implies supported
  // Fewer than 16 output channels per group (RGB heads) stream faster one-pass than on 64-wide
  // GEMM tiles (dcgan_64to3: 0.37 ms one-pass, 0.80 in the GEMM, 0.49 in the window kernel's
  // 8-wide tiles in TF32).
  return args.geometry.out_channels_per_group() >= 16 ? Kernel::ImplicitGemm : Kernel::Direct;
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
  // TF32 only with the channels where tensor cores pay (tensor_cores_pay): on thinner reductions its
  // rounding is not averaged out (measured: 1.02e-3 against the 1e-3 bar for 3 channels and 12
  // outputs in the pinned TF32 GEMM), and the automatic choice runs those one-pass in full float32
  // anyway. A pinned tensor-core kernel then takes its 3xTF32 path there.
  args.allow_tf32 = at::globalContext().allowTF32CuDNN() &&
                    problem.geometry.in_channels_per_group() >= kMinTensorCoreChannels;

  const cudaStream_t stream = at::cuda::getCurrentCUDAStream();
  auto workspace = [&](size_t bytes) {
    return at::empty({static_cast<int64_t>(bytes)}, problem.input.options().dtype(at::kByte));
  };
  switch (choose_kernel(args)) {
    case Kernel::WgmmaGemm: {
      const cuda::WgmmaLayout layout = wgmma_layout();
      const at::Tensor packed = workspace(cuda::wgmma_gemm_workspace_bytes(args, layout));
      C10_CUDA_CHECK(cuda::launch_wgmma_gemm(args, packed.data_ptr(), stream, layout));
      break;
    }
    case Kernel::WindowGemm: {
      const at::Tensor packed = workspace(cuda::window_gemm_workspace_bytes(args));
      C10_CUDA_CHECK(cuda::launch_window_gemm(args, packed.data_ptr(), stream));
      break;
    }
    case Kernel::ShuffleGemm: {
      const at::Tensor packed = workspace(cuda::shuffle_gemm_workspace_bytes(args));
      C10_CUDA_CHECK(cuda::launch_shuffle_gemm(args, packed.data_ptr(), stream));
      break;
    }
    case Kernel::ImageGemm: {
      const at::Tensor packed = workspace(cuda::image_gemm_workspace_bytes(args));
      C10_CUDA_CHECK(cuda::launch_image_gemm(args, packed.data_ptr(), stream));
      break;
    }
    case Kernel::PhaseGemm: {
      const at::Tensor packed = workspace(cuda::phase_gemm_workspace_bytes(args));
      C10_CUDA_CHECK(cuda::launch_phase_gemm(args, packed.data_ptr(), stream));
      break;
    }
    case Kernel::ImplicitGemm: {
      const at::Tensor packed = workspace(cuda::implicit_gemm_workspace_bytes(args));
      C10_CUDA_CHECK(cuda::launch_implicit_gemm(args, packed.data_ptr(), stream));
      break;
    }
    case Kernel::PhaseBlock: C10_CUDA_CHECK(cuda::launch_phase_block(args, stream)); break;
    case Kernel::PhaseRow: {
      const at::Tensor packed = workspace(cuda::phase_row_workspace_bytes(args));
      C10_CUDA_CHECK(cuda::launch_phase_row(args, packed.data_ptr(), stream));
      break;
    }
    case Kernel::Direct: C10_CUDA_CHECK(cuda::launch_direct(args, stream)); break;
  }
  C10_CUDA_KERNEL_LAUNCH_CHECK();
  return problem.finish(output);
}

}  // namespace

TORCH_LIBRARY_IMPL(custom, CUDA, m) { m.impl("conv_transpose2d", &conv_transpose2d_cuda); }

}  // namespace tconv
