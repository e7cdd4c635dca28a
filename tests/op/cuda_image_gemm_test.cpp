// The image GEMM's geometry (op/cuda/wgmma_image_gemm.cu: dilation 1, TF32/bf16/fp16 on a Hopper
// GPU; whole images of at most 128 pixels, a multiple of 8, or bands of rows of a multiple of 8
// pixels) in TF32 and both 16-bit types: random sets from the general generator narrowed to such
// images (one to several per N tile, batches that leave the last tile part empty, images cut into
// bands), any kernel of 1-5 per axis with any stride, padding (to beyond the kernel) and
// output_padding (col2im over overlapping taps, gaps of bias-only outputs, cropped edges, odd
// output widths that take the element-by-element stores), 1-80 input channels per group (one to
// three K stages, cut short) and 1-40 output channels per group (M tiles cut short), groups, bias.
// The op_cuda_image CTest run pins the kernel, so every set it supports goes through it there; the
// rest are checked on the kernels they fall back to. Also the DCGAN 8 x 8 and 32 x 32 layers of
// the benchmark with fewer images.
#include <tuple>

#include "cuda_test_support.h"

using namespace tconv_test;

namespace {

class ImageSets : public NarrowedSets {
 public:
  explicit ImageSets(uint64_t seed) : NarrowedSets(seed) {}

  ArgSet next() {
    constexpr int64_t kImages[][2] = {{1, 8},  {2, 4},  {4, 2},  {4, 4},   {2, 8},   {8, 8},
                                      {4, 16}, {16, 8}, {8, 12}, {3, 8},   {16, 16}, {8, 24},
                                      {12, 16}, {20, 16}, {32, 24}, {33, 8}, {9, 40}, {4, 6}};
    for (;;) {
      ArgSet a = gen_.next();
      const auto& image = kImages[uniform(0, 17)];
      a.in_h = image[0];
      a.in_w = image[1];
      a.unbatched = false;
      a.batch = uniform(1, 9);
      a.kernel_h = uniform(1, 5);
      a.kernel_w = uniform(1, 5);
      a.stride = {uniform(1, 4), uniform(1, 4)};
      a.stride_single = false;
      a.dilation = {1, 1};
      a.dilation_single = false;
      // Padding up to the kernel + 1 (whole input rows and columns cropped away: session 12's first
      // GPU run found the rows staged from the wrong first row, off 16-byte alignment, there).
      a.padding = {uniform(0, a.kernel_h + 1), uniform(0, a.kernel_w + 1)};
      a.padding_single = false;
      a.output_padding = {uniform(0, a.stride[0] - 1), uniform(0, a.stride[1] - 1)};
      a.output_padding_single = false;
      a.in_channels_per_group = uniform(1, 80);
      a.out_channels_per_group = uniform(1, 40);
      if (coin(0.5)) a.input_layout = InputLayout::Contiguous;
      if (coin(0.5)) a.bias_layout = BiasLayout::Contiguous;
      if (a.out_h() >= 1 && a.out_w() >= 1) return a;
    }
  }
};

constexpr int kSets = 150;

}  // namespace

CATCH_TEST_CASE("CUDA: small images, overlapping taps, TF32 and 16-bit types", "[cuda][sweep]") {
  TCONV_REQUIRE_CUDA();
  cuda_sweep_narrowed<ImageSets>({at::kFloat, true, "float32 TF32"}, 0x1A0003, kSets, "small-image sets");
  cuda_sweep_narrowed<ImageSets>({at::kHalf, false, "float16"}, 0x1A0001, kSets, "small-image sets");
  cuda_sweep_narrowed<ImageSets>({at::kBFloat16, false, "bfloat16"}, 0x1A0002, kSets, "small-image sets");
}

CATCH_TEST_CASE("CUDA: DCGAN 4x4 / s2 layers at a small size", "[cuda][sweep]") {
  TCONV_REQUIRE_CUDA();
  ArgSet dcgan;  // the benchmark's 512 -> 256 on 8 x 8 and 128 -> 64 on 32 x 32, fewer images
  dcgan.batch = 5;
  dcgan.kernel_h = dcgan.kernel_w = 4;
  dcgan.stride = {2, 2};
  dcgan.padding = {1, 1};
  dcgan.data_seed = 64;
  for (const auto& [cin, cout, size] : {std::tuple<int64_t, int64_t, int64_t>{512, 256, 8}, {128, 64, 32}}) {
    dcgan.in_channels_per_group = cin;
    dcgan.out_channels_per_group = cout;
    dcgan.in_h = dcgan.in_w = size;
    CATCH_INFO("DCGAN " << cin << " -> " << cout << ", " << size << " x " << size);
    dcgan.bias_layout = BiasLayout::None;
    check_layer(dcgan, at::kBFloat16, false);
    check_layer(dcgan, at::kHalf, false);
    dcgan.bias_layout = BiasLayout::Contiguous;
    check_layer(dcgan, at::kFloat, true);
    check_layer(dcgan, at::kBFloat16, false);
  }
}

CATCH_TEST_CASE("CUDA: one band whose first staged row is past row 0", "[cuda]") {
  TCONV_REQUIRE_CUDA();
  // Images too large for a tile (bands) whose output has so few rows that one band covers it,
  // with padding beyond the kernel so that its taps start reading at input row 2 (or 1). Session
  // 16's pinned run found that band staged from row 0 (bf16 error 0.49, fp16 0.32): the kernel had
  // taken "one band" for "whole images".
  ArgSet from_row_2;  // 8 x 24 images: output 2 x 73, its taps read rows 2 to 5
  from_row_2.batch = 7;
  from_row_2.in_h = 8;
  from_row_2.in_w = 24;
  from_row_2.kernel_h = 3;
  from_row_2.kernel_w = 4;
  from_row_2.stride = {1, 3};
  from_row_2.padding = {4, 0};
  from_row_2.in_channels_per_group = 64;
  from_row_2.out_channels_per_group = 18;
  from_row_2.bias_layout = BiasLayout::Contiguous;
  from_row_2.data_seed = 145;
  ArgSet from_row_1;  // 10 x 16 images: output 6 x 48, its taps read rows 1 to 8
  from_row_1.batch = 2;
  from_row_1.in_h = 10;
  from_row_1.in_w = 16;
  from_row_1.kernel_h = from_row_1.kernel_w = 3;
  from_row_1.stride = {1, 3};
  from_row_1.padding = {3, 1};
  from_row_1.output_padding = {0, 2};
  from_row_1.in_channels_per_group = from_row_1.out_channels_per_group = 111;
  from_row_1.data_seed = 78;
  for (const ArgSet& band : {from_row_2, from_row_1}) {
    CATCH_INFO("input " << band.in_h << " x " << band.in_w);
    check_layer(band, at::kBFloat16, false);
    check_layer(band, at::kHalf, false);
    check_layer(band, at::kFloat, true);
  }
}
