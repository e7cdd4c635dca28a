// Layers for the Hopper wgmma kernel (op/cuda/wgmma_gemm.cu; elsewhere the other tensor-core
// kernels take them): stride-1 layers with many taps, which the automatic choice sends to its
// row-band tiles, and DCGAN-like stride-2 layers on small images, which it sends to the implicit
// GEMM and the op_cuda_wgmma_packed run to the packed tiles. Each has more tiles than the GPU has
// SMs, so that each persistent CTA walks several tiles and its stage ring wraps, two 64-channel
// tiles, several channel chunks, bias, TF32 and both 16-bit types. (Channel counts that leave a
// chunk partial go to the mma.sync kernels; the pinned suites cover that fallback.)
#include "cuda_test_support.h"

using namespace tconv_test;

namespace {

// 2 images x 26 tile rows x 3 tile columns x 2 channel tiles: 312 tiles. With the raw path on
// (op_cuda_wgmma_raw), rows of 296 values (whole 16-byte runs) are staged by cp.async and
// transposed in shared memory, each window starting inside a run; rows of 300 go through the
// producer's registers in 16-bit types (float32 rows of 300 are whole runs too).
ArgSet many_tile_layer(int kernel_h, int kernel_w, int64_t in_w) {
  ArgSet a;
  a.batch = 2;
  a.in_channels_per_group = 48;  // 6 float32 chunks of 8 channels, 3 16-bit chunks of 16
  a.out_channels_per_group = 70;
  a.in_h = 100;
  a.in_w = in_w;
  a.kernel_h = kernel_h;
  a.kernel_w = kernel_w;
  a.padding = {1, (kernel_w - 1) / 2};
  a.padding_single = false;
  a.bias_layout = BiasLayout::Contiguous;
  a.data_seed = 57;
  return a;
}

// 4x4 / stride 2 / padding 1 (2 x 2 taps per phase) on small images: packed tiles run across
// images, so tile rows, and some pixel pairs, straddle plane rows and images.
ArgSet dcgan_layer(int64_t batch, int64_t side) {
  ArgSet a;
  a.batch = batch;
  a.in_channels_per_group = 48;
  a.out_channels_per_group = 70;
  a.in_h = side;
  a.in_w = side;
  a.kernel_h = 4;
  a.kernel_w = 4;
  a.stride = {2, 2};
  a.stride_single = false;
  a.padding = {1, 1};
  a.padding_single = false;
  a.bias_layout = BiasLayout::Contiguous;
  a.data_seed = 64;
  return a;
}

}  // namespace

CATCH_TEST_CASE("CUDA: many-tile stride-1 layers with 3x7 and 3x3 kernels", "[cuda]") {
  TCONV_REQUIRE_CUDA();
  for (const auto& kernel : {std::pair<int, int>{3, 7}, std::pair<int, int>{3, 3}})
    for (const int64_t in_w : {300, 296}) {
      const ArgSet a = many_tile_layer(kernel.first, kernel.second, in_w);
      CATCH_INFO("kernel " << kernel.first << "x" << kernel.second << ", width " << in_w);
      check_layer(a, at::kFloat, true);
      check_layer(a, at::kBFloat16, false);
      check_layer(a, at::kHalf, false);
    }
}

CATCH_TEST_CASE("CUDA: packed-tile stride-2 layers on 8x8 and 13x13 images", "[cuda]") {
  TCONV_REQUIRE_CUDA();
  // Per phase, 96 images of 8x8 are 7,776 plane positions (31 tiles of 256), 24 of 13x13 4,704
  // (plane rows of 14).
  for (const auto& shape : {std::pair<int64_t, int64_t>{96, 8}, std::pair<int64_t, int64_t>{24, 13}}) {
    const ArgSet a = dcgan_layer(shape.first, shape.second);
    CATCH_INFO(shape.first << " images of " << shape.second << "x" << shape.second);
    check_layer(a, at::kFloat, true);
    check_layer(a, at::kBFloat16, false);
    check_layer(a, at::kHalf, false);
  }
}
