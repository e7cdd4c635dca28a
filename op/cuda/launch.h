// The CUDA kernels' interface: plain pointers, sizes and a cudaStream_t, no torch types, so the
// .cu files compile with nvcc alone (scripts/compile_cuda.sh does that on machines without a
// CUDA libtorch). The torch-side glue is conv_transpose2d_cuda.cpp.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "../geometry.h"

namespace tconv {
namespace cuda {

enum class DType { Float32, Float64, Float16, BFloat16 };

struct Strides4 {
  int64_t n, c, h, w;  // in elements
};

struct ConvArgs {
  const void* input;      // any strides (NCHW, channels_last, views)
  Strides4 input_strides;
  const void* weight;     // contiguous [in_channels, out_channels/groups, kh, kw]
  const void* bias;       // contiguous [out_channels], or null
  void* output;           // freshly allocated: contiguous NCHW, or channels_last when output_channels_last
  bool output_channels_last;
  ConvTransposeGeometry geometry;
  DType dtype;
  // float32 math, torch's switch (allowTF32CuDNN): true = TF32 tensor cores, false = full float32
  // accuracy (FFMA, or the tensor cores' 3xTF32 split).
  bool allow_tf32 = true;
};

// Strides of the freshly allocated output: contiguous NCHW, or channels_last.
inline Strides4 output_strides(const ConvArgs& args) {
  const ConvTransposeGeometry& g = args.geometry;
  const int64_t Ho = g.h.out, Wo = g.w.out, C = g.out_channels;
  return args.output_channels_last ? Strides4{Ho * Wo * C, 1, Wo * C, C} : Strides4{C * Ho * Wo, Ho * Wo, Wo, 1};
}

// One-pass kernel: every output element (bias-only phases included) written exactly once by the
// same launch, coalesced stores, FFMA (float64 FMA for float64) accumulation. Correct for every
// shape; the fast path for memory-bound shapes, thin layers and float64.
cudaError_t launch_direct(const ConvArgs& args, cudaStream_t stream);

// Phase-block kernel (phase_block.cu, phase_block_mma.cu): stride 2 x 2, dilation 1, kernels up to
// 4 x 4, at most 4 output channels per group, float32/16-bit. All four phases of 2 x 2 output
// blocks come from the input window they share: mma.sync for float32 when args.allow_tf32 (TF32)
// and for bf16/fp16 groups of at least 8 input channels, FFMA otherwise. preferred(): supported, at
// most half of the zero-padded taps wasted (2x2, 3x3, 4x4 kernels; not 1x1) and at least one wave
// of 132 FFMA tiles.
bool phase_block_supported(const ConvArgs& args);
bool phase_block_preferred(const ConvArgs& args);
cudaError_t launch_phase_block(const ConvArgs& args, cudaStream_t stream);

// Phase-row kernel (phase_row.cu): a CTA computes one output row of one image and group, every
// output channel, from that row's input rows staged in shared memory; bias-only rows are filled.
// float32/16-bit (mma for bf16/fp16 and for float32 when args.allow_tf32, FFMA otherwise), NCHW
// output; supported() also needs strides up to 64 and the row's input rows, weights and one
// output-row buffer of 8 channels in 100 KB of shared memory. preferred(): stride of at least 2 in
// H and 4 phases, at least 16 output channels per group (rows of bias-only phases and few taps per
// row make such layers write-bound). `workspace` holds phase_row_workspace_bytes(args) bytes (the
// weights packed per call as 32-bit words).
bool phase_row_supported(const ConvArgs& args);
bool phase_row_preferred(const ConvArgs& args);
size_t phase_row_workspace_bytes(const ConvArgs& args);
cudaError_t launch_phase_row(const ConvArgs& args, void* workspace, cudaStream_t stream);

// Shuffle GEMM (shuffle_gemm.cu): kernel == stride on both axes, dilation 1, no output_padding
// (U-Net's 2x2 / s2 up-convolutions): each output pixel takes one tap, so per image and group the
// layer is one GEMM, (output channel, tap) x input channels x input pixels, its result the output
// pixel-shuffled. mma.sync: TF32 for float32 when args.allow_tf32, bf16/fp16 with float32
// accumulators; supported() also needs KH * KW a power of two up to 128, NCHW output, and input
// channels of contiguous, 16-byte aligned pixel rows (NCHW). `workspace` holds
// shuffle_gemm_workspace_bytes(args) bytes (the weights packed per call). preferred(): supported,
// at least 16 output channels per group, and for TF32 at most 256 input channels per group.
bool shuffle_gemm_supported(const ConvArgs& args);
bool shuffle_gemm_preferred(const ConvArgs& args);
size_t shuffle_gemm_workspace_bytes(const ConvArgs& args);
cudaError_t launch_shuffle_gemm(const ConvArgs& args, void* workspace, cudaStream_t stream);

// Image GEMM (wgmma_image_gemm.cu, sm_90a): dilation 1, TF32 (when args.allow_tf32) / bf16 / fp16,
// input images held whole (at most 128 pixels, a multiple of 8) or cut into bands of rows (W a
// multiple of 8): per group one wgmma GEMM, (output channel, tap) x input channels x whole images,
// and col2im of each CTA's images in shared memory. supported() also needs a compute capability 9.0
// device, KH * KW <= 128, NCHW output and input channels of contiguous, 16-byte aligned pixel rows
// (NCHW). `workspace` holds image_gemm_workspace_bytes(args) bytes (the weights packed per call).
// preferred(): TF32, whole images, at least 256 input channels per group (where it was faster:
// DCGAN 512 -> 256 on 8 x 8).
bool image_gemm_supported(const ConvArgs& args);
bool image_gemm_preferred(const ConvArgs& args);
size_t image_gemm_workspace_bytes(const ConvArgs& args);
cudaError_t launch_image_gemm(const ConvArgs& args, void* workspace, cudaStream_t stream);

// Phase GEMM (wgmma_phase_gemm.cu, sm_90a): TF32 (when args.allow_tf32) / bf16 / fp16, dilation 1,
// kernel >= stride on both axes: per group and phase one wgmma GEMM, output channels x the
// phase's pixels x (taps, input channels), the input by TMA boxes that start inside the tensor,
// each thread moving its pixels by the tap (zeros outside the input).
// supported() also needs a compute capability 9.0 device, the driver's tensor-map encoder, input
// rows of unit stride with the other strides multiples of 16 bytes, a 16-byte aligned input, and
// input channels per group a multiple of 64 (TF32: 32) when there are several groups.
// `workspace` holds phase_gemm_workspace_bytes(args) bytes (the weights packed per call).
bool phase_gemm_supported(const ConvArgs& args);
size_t phase_gemm_workspace_bytes(const ConvArgs& args);
cudaError_t launch_phase_gemm(const ConvArgs& args, void* workspace, cudaStream_t stream);

// Tensor-core implicit GEMM (mma.sync: TF32 for float32 when TF32 is allowed, 3xTF32 when it is
// not, bf16/fp16 with float32 accumulators). `workspace` holds implicit_gemm_workspace_bytes(args)
// bytes for the weights packed per call.
bool implicit_gemm_supported(const ConvArgs& args);
size_t implicit_gemm_workspace_bytes(const ConvArgs& args);
cudaError_t launch_implicit_gemm(const ConvArgs& args, void* workspace, cudaStream_t stream);

// Window implicit GEMM (window_gemm.cu): the implicit GEMM with the input staged once per channel
// chunk as the window a tile of R x C pixels of one phase reads over all its taps, each tap's A
// fragments read from that window at a shifted offset. mma.sync like the implicit GEMM: TF32 for
// float32 when args.allow_tf32, 3xTF32 when not, bf16/fp16 with float32 accumulators; no float64.
// supported(): dtype, and the geometry: the window and all taps of a chunk fit shared memory (on
// the current device), at most 64 taps per phase, tile fill >= 60%; else the implicit GEMM.
// `workspace` holds window_gemm_workspace_bytes(args) bytes (the packed weights).
bool window_gemm_supported(const ConvArgs& args);
// Where the window kernel measured faster than the implicit GEMM (H100, session 3): phases with 9 or
// more taps whose plan keeps 2 blocks per SM (KernelBench 57, 3x3: TF32 6.22 -> 5.50 ms, bf16
// 4.30 -> 3.49 ms). With 21 taps (3x7) its weight stage leaves one block per SM and it lost (TF32
// 3.27 -> 3.60 ms); with 1-4 taps per phase (U-Net, DCGAN) the window saves little and v6 was as
// fast or faster; its 3xTF32 runs half-height tiles and lost to v6's everywhere.
bool window_gemm_preferred(const ConvArgs& args);
size_t window_gemm_workspace_bytes(const ConvArgs& args);
cudaError_t launch_window_gemm(const ConvArgs& args, void* workspace, cudaStream_t stream);

// Hopper window GEMM (wgmma_gemm.cu, sm_90a): warp-specialized and persistent, one producer
// warpgroup (two for packed tiles) stages each tile's input window and weights, two consumer warpgroups run wgmma with
// every tap's operand read from the window at a shifted address. TF32 (when allowed), bf16, fp16;
// supported() also needs a compute capability 9.0 device, input channels per group filling whole
// chunks (8 float32, 16 16-bit), a window of at most 768 pixels (packed: 384) and 32 taps per phase.
// preferred() (row bands): tiles at least 90% full, at least 16 output channels per group and at
// least 9 taps per phase in TF32, 16 in bf16/fp16 (3x7 and 5x5 layers, and 3x3 in TF32).
// Tiles are row bands (R x C pixels of one phase of one image), or packed: R x C consecutive
// positions of the phase's pixels of all images laid out as one plane (window_plan.h), for images
// narrower than a tile. Packed tiles measured slower than the implicit GEMM on the DCGAN layers
// they were built for (wgmma_gemm.cu), so only a pinned run (tests, benchmarks) takes them.
enum class WgmmaLayout { RowBands, Packed };
// Whether the current device runs the sm_90a (wgmma) kernels: compute capability 9.0.
bool wgmma_device();
bool wgmma_gemm_supported(const ConvArgs& args, WgmmaLayout layout);
bool wgmma_gemm_preferred(const ConvArgs& args);
size_t wgmma_gemm_workspace_bytes(const ConvArgs& args, WgmmaLayout layout);
cudaError_t launch_wgmma_gemm(const ConvArgs& args, void* workspace, cudaStream_t stream, WgmmaLayout layout);

}  // namespace cuda
}  // namespace tconv
