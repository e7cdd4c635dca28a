// The shuffle GEMM's geometry (op/cuda/shuffle_gemm.cu: kernel == stride, dilation 1, no
// output_padding) in every dtype mode: random sets drawn from the general generator and narrowed to
// kernels of 1, 2 or 4 per axis with that stride (also 3, which the kernel declines), any padding
// (cropped outputs), 1-48 channels per group (K and M tiles cut short, channels off the 16-bit word
// pairs and the 128-row M tile), images from a few pixels to several 128-pixel N tiles, rows whose
// width is or is not a whole 16-byte vector (cp.async chunks cut short at the image's end), bias.
// The op_cuda_shuffle CTest run pins the kernel, so every set it supports goes through it there;
// the rest (channels_last and view inputs, strict float32, 3 x 3) go on to the implicit GEMM and
// are checked all the same. Also the U-Net layers of the benchmark at batch 1 with fewer channels.
#include <tuple>

#include "cuda_test_support.h"

using namespace tconv_test;

namespace {

class ShuffleSets : public NarrowedSets {
 public:
  explicit ShuffleSets(uint64_t seed) : NarrowedSets(seed) {}

  ArgSet next() {
    constexpr int64_t kSizes[] = {1, 2, 4, 2, 3};
    for (;;) {
      ArgSet a = gen_.next();
      a.kernel_h = kSizes[uniform(0, 4)];
      a.kernel_w = coin(0.7) ? a.kernel_h : kSizes[uniform(0, 3)];
      a.stride = {a.kernel_h, a.kernel_w};
      a.stride_single = false;
      a.dilation = {1, 1};
      a.dilation_single = false;
      a.output_padding = {0, 0};
      a.output_padding_single = false;
      a.padding = {uniform(0, a.kernel_h - 1), uniform(0, a.kernel_w - 1)};
      a.padding_single = false;
      if (coin(0.5)) a.in_channels_per_group = uniform(5, 48);
      if (coin(0.5)) a.out_channels_per_group = uniform(5, 48);
      if (coin(0.3)) {  // several N tiles
        a.in_h = uniform(8, 24);
        a.in_w = uniform(8, 40);
      }
      if (coin(0.5)) a.in_w = (a.in_w + 7) / 8 * 8;  // whole 16-byte vectors per row
      if (coin(0.5)) a.bias_layout = BiasLayout::Contiguous;
      if (a.out_h() >= 1 && a.out_w() >= 1) return a;
    }
  }
};

constexpr int kSets = 200;

void run(const SweepConfig& config, uint64_t seed) {
  cuda_sweep_narrowed<ShuffleSets>(config, seed, kSets, "kernel == stride sets");
}

}  // namespace

CATCH_TEST_CASE("CUDA: kernel == stride layers, every dtype mode", "[cuda][sweep]") {
  TCONV_REQUIRE_CUDA();
  run({at::kFloat, true, "float32 TF32"}, 0x5A0001);
  run({at::kFloat, false, "float32 strict"}, 0x5A0002);
  run({at::kHalf, false, "float16"}, 0x5A0003);
  run({at::kBFloat16, false, "bfloat16"}, 0x5A0004);
}

CATCH_TEST_CASE("CUDA: U-Net 2x2 / s2 layers at a small size", "[cuda][sweep]") {
  TCONV_REQUIRE_CUDA();
  ArgSet unet;  // 2x2, stride 2, bias: the benchmark's layers with fewer channels and pixels
  unet.batch = 2;
  unet.kernel_h = unet.kernel_w = 2;
  unet.stride = {2, 2};
  unet.bias_layout = BiasLayout::Contiguous;
  unet.data_seed = 52;
  for (const auto& [cin, cout, size] : {std::tuple<int64_t, int64_t, int64_t>{512, 256, 16}, {128, 64, 40}}) {
    unet.in_channels_per_group = cin;
    unet.out_channels_per_group = cout;
    unet.in_h = unet.in_w = size;
    CATCH_INFO("U-Net " << cin << " -> " << cout << ", " << size << " x " << size);
    check_layer(unet, at::kFloat, false);
    check_layer(unet, at::kFloat, true);
    check_layer(unet, at::kBFloat16, false);
    check_layer(unet, at::kHalf, false);
  }
}
