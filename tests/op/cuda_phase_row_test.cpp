// The phase-row kernel's geometry (op/cuda/phase_row.cu: strides in H, any W phases, NCHW output,
// few input channels) in every dtype mode: random sets drawn from the general generator and
// narrowed to strided layers with rows of bias-only phases, a few taps per row, 1-40 output channels
// per group (several buffer chunks, channel counts off the 8- and 16-wide items), 1-24 input
// channels per group (both mma k-steps) and some up to 300, wide rows (several runs per phase) and
// bias. The op_cuda_phase_row CTest run pins the kernel, so every set that fits goes
// through it there; sets it declines (channels_last outputs, too many channels to stage) and the
// automatic choice go elsewhere and are checked all the same. Half the sets have input rows of
// whole 16-byte vectors (the cp.async copy stage), half not (the register stage). Also KernelBench
// 75's and 81's layers at a small batch in every dtype mode.
#include "cuda_test_support.h"

using namespace tconv_test;

namespace {

class PhaseRowSets : public NarrowedSets {
 public:
  explicit PhaseRowSets(uint64_t seed) : NarrowedSets(seed) {}

  ArgSet next() {
    for (;;) {
      ArgSet a = gen_.next();
      a.stride = {uniform(2, 6), uniform(1, 6)};
      a.stride_single = false;
      a.dilation = {uniform(1, 3), uniform(1, 3)};
      a.dilation_single = false;
      a.kernel_h = uniform(1, 5);
      a.kernel_w = uniform(1, 5);
      a.padding = {uniform(0, 3), uniform(0, 3)};
      a.padding_single = false;
      a.output_padding = {uniform(0, a.stride[0] - 1), uniform(0, a.stride[1] - 1)};
      a.output_padding_single = false;
      a.out_channels_per_group = coin(0.3) ? uniform(9, 40) : uniform(1, 8);
      // Input channels: 1-4 from the generator (16-bit: m16n8k8 steps up to 8 channels), 9-24
      // (m16n8k16 steps), or up to past what the stage holds.
      if (coin(0.2)) a.in_channels_per_group = uniform(9, 24);
      else if (coin(0.1)) a.in_channels_per_group = uniform(20, 300);
      if (coin(0.2)) a.in_w = uniform(60, 300);                    // several 64-wide runs per phase
      // Rows of whole 16-byte vectors take the copy stage (cp.async), the rest the register stage.
      if (coin(0.5)) a.in_w = (a.in_w + 7) / 8 * 8;
      if (coin(0.5)) a.bias_layout = BiasLayout::Contiguous;
      if (a.out_h() >= 1 && a.out_w() >= 1) return a;
    }
  }
};

constexpr int kSets = 200;

void run(const SweepConfig& config, uint64_t seed) {
  cuda_sweep_narrowed<PhaseRowSets>(config, seed, kSets, "strided sets");
}

// A public benchmark layer at batch 2, with bias, in every dtype mode (its rows are whole 16-byte
// vectors: the copy stage).
void check_public_layer(ArgSet a) {
  a.batch = 2;
  a.bias_layout = BiasLayout::Contiguous;
  a.data_seed = 81;
  check_layer(a, at::kFloat, false);
  check_layer(a, at::kFloat, true);
  check_layer(a, at::kBFloat16, false);
  check_layer(a, at::kHalf, false);
}

}  // namespace

CATCH_TEST_CASE("CUDA: strided layers with bias-only rows, every dtype mode", "[cuda][sweep]") {
  TCONV_REQUIRE_CUDA();
  run({at::kFloat, true, "float32 TF32"}, 0x2070001);
  run({at::kFloat, false, "float32 strict"}, 0x2070002);
  run({at::kHalf, false, "float16"}, 0x2070003);
  run({at::kBFloat16, false, "bfloat16"}, 0x2070004);
}

CATCH_TEST_CASE("CUDA: KernelBench 75's and 81's layers at batch 2", "[cuda][sweep]") {
  TCONV_REQUIRE_CUDA();
  ArgSet l81;  // 32 -> 64 channels, 3x3, stride 5, padding 1, dilation 2, 64 x 128
  l81.in_channels_per_group = 32;
  l81.out_channels_per_group = 64;
  l81.in_h = 64;
  l81.in_w = 128;
  l81.kernel_h = l81.kernel_w = 3;
  l81.stride = {5, 5};
  l81.padding = {1, 1};
  l81.dilation = {2, 2};
  CATCH_INFO("KernelBench 81");
  check_public_layer(l81);

  ArgSet l75;  // 4 groups of 8 -> 16 channels, 3x5, stride (2, 3), padding (1, 2), dilation (2, 1)
  l75.groups = 4;
  l75.in_channels_per_group = 8;
  l75.out_channels_per_group = 16;
  l75.in_h = 128;
  l75.in_w = 256;
  l75.kernel_h = 3;
  l75.kernel_w = 5;
  l75.stride = {2, 3};
  l75.padding = {1, 2};
  l75.dilation = {2, 1};
  CATCH_INFO("KernelBench 75");
  check_public_layer(l75);
}
