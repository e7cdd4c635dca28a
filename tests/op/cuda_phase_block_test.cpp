// The phase-block kernel's geometry (op/cuda/phase_block.cu: stride 2 x 2, dilation 1, kernels up to
// 4 x 4, at most 4 output channels per group) in every dtype mode: random sets drawn from the general
// generator and narrowed to that geometry. The op_cuda_phase_block CTest run pins the kernel, so
// every set that fits goes through it there (the automatic choice takes it only for outputs of at
// least 132 tiles, as in the DCGAN test below). Also wide groups (many channel stages), larger
// planes (several tiles) and sets just outside the geometry (5 channels, 5x5 kernels, paddings of
// two parities) that go elsewhere.
#include "cuda_test_support.h"

using namespace tconv_test;

namespace {

class PhaseBlockSets : public NarrowedSets {
 public:
  explicit PhaseBlockSets(uint64_t seed) : NarrowedSets(seed) {}

  ArgSet next() {
    for (;;) {
      ArgSet a = gen_.next();
      a.stride = {2, 2};
      a.dilation = {1, 1};
      a.dilation_single = coin(0.5);
      a.kernel_h = uniform(1, 4);
      a.kernel_w = coin(0.6) ? a.kernel_h : uniform(1, 4);
      a.output_padding = {uniform(0, 1), uniform(0, 1)};
      a.output_padding_single = false;
      if (coin(0.1)) a.padding = {uniform(0, 3), uniform(0, 3)};
      a.padding_single = a.padding_single && a.padding[0] == a.padding[1];
      a.out_channels_per_group = uniform(1, 4);
      if (coin(0.1)) a.in_channels_per_group = uniform(150, 260);
      if (coin(0.15)) {
        a.in_h = uniform(16, 40);
        a.in_w = uniform(16, 70);
      }
      if (coin(0.05)) a.out_channels_per_group = 5;
      if (coin(0.05)) a.kernel_h = a.kernel_w = 5;
      if (a.out_h() >= 1 && a.out_w() >= 1) return a;
    }
  }
};

constexpr int kSets = 200;

void run(const SweepConfig& config, uint64_t seed) {
  cuda_sweep_narrowed<PhaseBlockSets>(config, seed, kSets, "stride-2 sets");
}

}  // namespace

CATCH_TEST_CASE("CUDA: stride-2 layers with few output channels, every dtype mode", "[cuda][sweep]") {
  TCONV_REQUIRE_CUDA();
  run({at::kFloat, true, "float32 TF32"}, 0xb10c0001);
  run({at::kFloat, false, "float32 strict"}, 0xb10c0002);
  run({at::kHalf, false, "float16"}, 0xb10c0003);
  run({at::kBFloat16, false, "bfloat16"}, 0xb10c0004);
}

CATCH_TEST_CASE("CUDA: DCGAN's RGB head (64 -> 3 channels, 4x4, stride 2, padding 1)", "[cuda][sweep]") {
  TCONV_REQUIRE_CUDA();
  // The public benchmark's layer at a batch (36: 144 FFMA tiles, 288 tensor-core tiles) where the
  // automatic choice takes the phase-block kernel, with bias, NCHW and channels_last: the FFMA
  // body in strict float32, the tensor-core body in TF32, bf16 and fp16 (8 channel stages, so the
  // 3-slot ring wraps).
  for (InputLayout layout : {InputLayout::Contiguous, InputLayout::ChannelsLast}) {
    ArgSet a;
    a.batch = 36;
    a.in_channels_per_group = 64;
    a.out_channels_per_group = 3;
    a.in_h = a.in_w = 64;
    a.kernel_h = a.kernel_w = 4;
    a.stride = {2, 2};
    a.padding = {1, 1};
    a.bias_layout = BiasLayout::Contiguous;
    a.input_layout = layout;
    a.data_seed = 64;
    CATCH_INFO(name(layout) << " input");
    check_layer(a, at::kFloat, false);
    check_layer(a, at::kFloat, true);
    check_layer(a, at::kBFloat16, false);
    check_layer(a, at::kHalf, false);
  }
}
