// CUDA: an output of more than 2^31 elements (32-bit index overflow). bfloat16, N=1, 8 -> 8
// channels, 8200x8200 -> 16400x16400 (2,151,680,000 output elements, 4.3 GB). Checked in windows
// against torch's op on the matching input crop, including the windows past element 2^31.
#include "cuda_test_support.h"

#ifdef TCONV_WITH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#include <cuda_runtime_api.h>
#endif

using namespace tconv_test;

CATCH_TEST_CASE("CUDA: output over 2^31 elements", "[cuda][large]") {
  TCONV_REQUIRE_CUDA();
#ifndef TCONV_WITH_CUDA
  TCONV_SKIP("built without TCONV_WITH_CUDA: cannot query free GPU memory");
#else
  c10::cuda::CUDACachingAllocator::emptyCache();
  size_t free_bytes = 0, total_bytes = 0;
  CATCH_REQUIRE(cudaMemGetInfo(&free_bytes, &total_bytes) == cudaSuccess);
  if (free_bytes < (size_t{20} << 30)) {
    TCONV_SKIP("only " << (free_bytes >> 20) << " MiB of GPU memory free (20 GiB needed): large test skipped");
  }

  const int64_t in = 8200, channels = 8;
  const Pair stride{2, 2}, padding{1, 1}, dilation{1, 1};
  const int64_t out = output_size(in, 4, 2, 1, 1, 0);  // 16400
  const int64_t out_numel = channels * out * out;
  CATCH_REQUIRE(out_numel > (int64_t{1} << 31));

  const auto opts = at::TensorOptions().dtype(at::kBFloat16).device(cuda_device());
  at::Generator gen = at::detail::createCPUGenerator(2024);
  // Weight and bias from the seeded CPU generator; the 0.5-billion-element input is drawn on the GPU.
  const at::Tensor weight = at::randn({channels, channels, 4, 4}, gen, at::kDouble).to(opts);
  const at::Tensor bias = at::randn({channels}, gen, at::kDouble).to(opts);
  const at::Tensor input = at::randn({1, channels, in, in}, opts);

  poison_allocator({1, channels, out, out}, at::kBFloat16, cuda_device());
  const at::Tensor y = tconv::conv_transpose2d(input, weight, bias, stride, padding, {0, 0}, 1, dilation);
  CATCH_REQUIRE(y.sizes() == at::IntArrayRef({1, channels, out, out}));
  CATCH_CHECK(y.scalar_type() == at::kBFloat16);
  CATCH_CHECK(y.is_contiguous());
  // Every element written (the allocator held NaN) and finite.
  CATCH_CHECK(at::isfinite(y).all().item<bool>());

  // Windows: the corners, the middle, and the one holding linear element 2^31 (channel 7, row
  // 16144, column 2048), then a few random ones.
  std::vector<Window> windows = {{0, 24, 0, 24},
                                 {8190, 8214, 8190, 8214},
                                 {out - 24, out, out - 24, out},
                                 {16136, 16160, 2040, 2064},
                                 {0, 24, out - 24, out},
                                 {out - 24, out, 0, 24}};
  std::mt19937_64 rng(7);
  for (int i = 0; i < 6; ++i) {
    const int64_t h0 = rng() % (out - 32), w0 = rng() % (out - 32);
    windows.push_back({h0, h0 + 32, w0, w0 + 32});
  }
  for (const Window& w : windows) {
    CATCH_INFO("window rows [" << w.h0 << ", " << w.h1 << ") cols [" << w.w0 << ", " << w.w1 << ")");
    const at::Tensor expected = reference_window(input, weight, bias, stride, padding, 1, dilation, w);
    const at::Tensor got = y.slice(2, w.h0, w.h1).slice(3, w.w0, w.w1);
    const double err = relative_error(got, expected);
    CATCH_INFO("relative error " << err);
    CATCH_CHECK(err <= Tolerance::kHalf);
  }
#endif
}
