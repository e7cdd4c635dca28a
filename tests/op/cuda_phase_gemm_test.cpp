// The phase GEMM's geometry (op/cuda/wgmma_phase_gemm.cu: TF32/bf16/fp16, dilation 1, kernel >=
// stride, a Hopper GPU, input rows TMA can tile): random sets from the general generator narrowed
// to it, in TF32 and both 16-bit types. They cover every stride of 1-4 with kernels up to 6
// (phases with different tap counts and output counts), padding and output_padding (tap blocks
// whose corners lie outside the input, read through windows that start inside it; cropped phase
// rows), phase grids of 1 to 60 pixels a side (8 x 8 boxes, several per row, cut at the grid's
// edges), 1-130 input channels (channel blocks cut short, read as zeros past the tensor) or two
// groups of 64 (two 32-channel blocks in TF32), 1-160 output channels (tiles of 256 and wide tiles
// of 64, cut short), 3-D inputs, bias.
// The op_cuda_phase_gemm CTest run pins the kernel, so every set it supports goes through it
// there; the rest check the kernels they fall back to. Also a stride-1 layer whose 16 taps and 3
// channel blocks wrap the stage ring.
#include "cuda_test_support.h"

using namespace tconv_test;

namespace {

class PhaseGemmSets : public NarrowedSets {
 public:
  explicit PhaseGemmSets(uint64_t seed) : NarrowedSets(seed) {}

  ArgSet next() {
    for (;;) {
      ArgSet a = gen_.next();
      a.unbatched = coin(0.1);
      a.batch = uniform(1, 5);
      a.in_h = uniform(1, 20);
      a.in_w = 8 * uniform(1, 5);  // rows of whole 16-byte runs: TMA's row stride
      a.stride = {uniform(1, 4), uniform(1, 4)};
      a.stride_single = false;
      a.kernel_h = uniform(a.stride[0], 6);
      a.kernel_w = uniform(a.stride[1], 6);
      a.dilation = {1, 1};
      a.dilation_single = false;
      a.padding = {uniform(0, a.kernel_h), uniform(0, a.kernel_w)};
      a.padding_single = false;
      a.output_padding = {uniform(0, a.stride[0] - 1), uniform(0, a.stride[1] - 1)};
      a.output_padding_single = false;
      a.groups = coin(0.2) ? 2 : 1;
      a.in_channels_per_group = a.groups > 1 ? 64 : uniform(1, 130);
      a.out_channels_per_group = uniform(1, 160);
      if (coin(0.6)) a.input_layout = InputLayout::Contiguous;
      a.bias_layout = coin(0.5) ? BiasLayout::Contiguous : BiasLayout::None;
      if (a.out_h() >= 1 && a.out_w() >= 1) return a;
    }
  }
};

constexpr int kSets = 80;

}  // namespace

CATCH_TEST_CASE("CUDA: phase GEMM geometry, TF32 and 16-bit types", "[cuda][sweep]") {
  TCONV_REQUIRE_CUDA();
  cuda_sweep_narrowed<PhaseGemmSets>({at::kFloat, true, "float32 TF32"}, 0x9A5E03, kSets, "phase-GEMM sets");
  cuda_sweep_narrowed<PhaseGemmSets>({at::kBFloat16, false, "bfloat16"}, 0x9A5E01, kSets, "phase-GEMM sets");
  cuda_sweep_narrowed<PhaseGemmSets>({at::kHalf, false, "float16"}, 0x9A5E02, kSets, "phase-GEMM sets");
}

// The DCGAN layers themselves: cuda_image_gemm_test.cpp's DCGAN case, which the op_cuda_phase_gemm
// run also sends through this kernel.
CATCH_TEST_CASE("CUDA: phase GEMM on a long K", "[cuda]") {
  TCONV_REQUIRE_CUDA();
  ArgSet long_k;  // 4x4 stride 1: 16 taps x 3 (TF32: 5) channel blocks per tile, one channel tile
  long_k.batch = 3;
  long_k.in_channels_per_group = 150;
  long_k.out_channels_per_group = 200;
  long_k.in_h = 15;
  long_k.in_w = 40;
  long_k.kernel_h = long_k.kernel_w = 4;
  long_k.padding = {2, 1};
  long_k.bias_layout = BiasLayout::Contiguous;
  long_k.data_seed = 66;
  check_layer(long_k, at::kBFloat16, false);
  check_layer(long_k, at::kHalf, false);
  check_layer(long_k, at::kFloat, true);
}
