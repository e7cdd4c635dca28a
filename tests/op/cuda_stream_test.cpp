// CUDA streams and repeated calls: the op runs on the caller's current stream (so synchronising
// that stream alone is enough), two host threads with their own streams run it concurrently, and a
// call with new shapes straight after another (plan or cache reuse) is still right.
#include <thread>

#include "cuda_test_support.h"

#ifdef TCONV_WITH_CUDA
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#endif

using namespace tconv_test;

namespace {

ArgSet medium_case(int64_t cin, int64_t cout, int64_t hw, Pair stride, uint64_t seed) {
  ArgSet a;
  a.batch = 2;
  a.in_channels_per_group = cin;
  a.out_channels_per_group = cout;
  a.in_h = hw;
  a.in_w = hw + 3;
  a.kernel_h = 3;
  a.kernel_w = 4;
  a.stride = stride;
  a.padding = {1, 1};
  a.bias_layout = BiasLayout::Contiguous;
  a.data_seed = seed;
  return a;
}

}  // namespace

CATCH_TEST_CASE("CUDA: the op runs on the current (non-default) stream", "[cuda][stream]") {
  TCONV_REQUIRE_CUDA();
#ifndef TCONV_WITH_CUDA
  TCONV_SKIP("built without TCONV_WITH_CUDA: stream tests need c10/cuda headers");
#else
  AllowTF32Guard tf32(false);
  const ArgSet a = medium_case(64, 48, 40, {2, 2}, 11);
  const Tensors source = make_tensors(a, at::kFloat, cuda_device());
  const at::Tensor ref = reference(a, source);
  torch::cuda::synchronize();

  c10::cuda::CUDAStream side = c10::cuda::getStreamFromPool();
  CATCH_REQUIRE(side != c10::cuda::getDefaultCUDAStream());
  at::Tensor out;
  {
    c10::cuda::CUDAStreamGuard guard(side);
    // Queue a few milliseconds of work on the side stream, then make the input there: a kernel
    // launched on any other stream would read the input before it exists (poisoned memory).
    const at::Tensor busy = at::randn({4096, 4096}, at::TensorOptions().device(cuda_device()));
    for (int i = 0; i < 8; ++i) at::mm(busy, busy);
    poison_allocator(source.input.sizes(), at::kFloat, cuda_device());
    Tensors t = source;
    t.input = source.input.clone();
    poison_allocator(a.output_sizes(), at::kFloat, cuda_device());
    out = call_tconv(a, t);
    side.synchronize();  // this stream only
  }
  CATCH_CHECK(check_output(out, ref, source, Tolerance::kFloat32, c10::nullopt) == "");
#endif
}

CATCH_TEST_CASE("CUDA: two host threads on their own streams, 50 calls each", "[cuda][stream]") {
  TCONV_REQUIRE_CUDA();
#ifndef TCONV_WITH_CUDA
  TCONV_SKIP("built without TCONV_WITH_CUDA: stream tests need c10/cuda headers");
#else
  AllowTF32Guard tf32(false);
  constexpr int kCalls = 50;
  // Different shapes per thread and per call; inputs made up front so the threads only run the op.
  std::vector<std::vector<ArgSet>> cases(2);
  std::vector<std::vector<Tensors>> inputs(2);
  for (int thread = 0; thread < 2; ++thread) {
    for (int i = 0; i < kCalls; ++i) {
      const ArgSet a = thread == 0 ? medium_case(16 + i % 5 * 8, 24, 12 + i % 7, {2, 2}, 100 + i)
                                   : medium_case(40, 8 + i % 4 * 16, 20 + i % 3, {3, 1}, 200 + i);
      cases[thread].push_back(a);
      inputs[thread].push_back(make_tensors(a, at::kFloat, cuda_device()));
    }
  }
  torch::cuda::synchronize();

  // Four rounds: a race between the threads (e.g. on a kernel attribute set per call) shows up
  // in only some runs.
  const c10::DeviceIndex device = c10::cuda::current_device();
  for (int round = 0; round < 4; ++round) {
    std::vector<std::vector<at::Tensor>> outputs(2);
    std::vector<std::string> errors(2);
    auto worker = [&](int thread) {
      try {
        c10::cuda::CUDAGuard device_guard(device);
        c10::cuda::CUDAStream stream = c10::cuda::getStreamFromPool(false, device);
        c10::cuda::CUDAStreamGuard stream_guard(stream);
        for (int i = 0; i < kCalls; ++i) {
          poison_allocator(cases[thread][i].output_sizes(), at::kFloat, cuda_device());
          outputs[thread].push_back(call_tconv(cases[thread][i], inputs[thread][i]));
        }
        stream.synchronize();
      } catch (const std::exception& e) {
        errors[thread] = e.what();
      }
    };
    std::thread t0(worker, 0), t1(worker, 1);
    t0.join();
    t1.join();
    torch::cuda::synchronize();

    for (int thread = 0; thread < 2; ++thread) {
      CATCH_INFO("round " << round << ", thread " << thread);
      CATCH_REQUIRE(errors[thread] == "");
      CATCH_REQUIRE(outputs[thread].size() == static_cast<size_t>(kCalls));
      for (int i = 0; i < kCalls; ++i) {
        const ArgSet& a = cases[thread][i];
        CATCH_INFO("call " << i << ": " << a.describe());
        CATCH_CHECK(check_output(outputs[thread][i], reference(a, inputs[thread][i]),
                                 inputs[thread][i], Tolerance::kFloat32, c10::nullopt) == "");
      }
    }
  }
#endif
}

CATCH_TEST_CASE("CUDA: a call with new shapes right after another", "[cuda][stream]") {
  TCONV_REQUIRE_CUDA();
  AllowTF32Guard tf32(false);
  // No synchronisation between the calls: A, B (other shapes, stride, groups), A again, then B in
  // another dtype; every result compared afterwards.
  ArgSet a = medium_case(32, 32, 24, {2, 2}, 1);
  ArgSet b = medium_case(8, 12, 17, {3, 2}, 2);
  b.groups = 4;
  b.dilation = {2, 1};
  b.output_padding = {1, 1};
  b.input_layout = InputLayout::ChannelsLast;
  const Tensors ta = make_tensors(a, at::kFloat, cuda_device());
  const Tensors tb = make_tensors(b, at::kFloat, cuda_device());
  const Tensors tb16 = make_tensors(b, at::kHalf, cuda_device());
  const at::Tensor ra = reference(a, ta), rb = reference(b, tb), rb16 = reference(b, tb16);

  poison_allocator(a.output_sizes(), at::kFloat, cuda_device());
  const at::Tensor oa1 = call_tconv(a, ta);
  poison_allocator(b.output_sizes(), at::kFloat, cuda_device());
  const at::Tensor ob = call_tconv(b, tb);
  poison_allocator(a.output_sizes(), at::kFloat, cuda_device());
  const at::Tensor oa2 = call_tconv(a, ta);
  poison_allocator(b.output_sizes(), at::kHalf, cuda_device());
  const at::Tensor ob16 = call_tconv(b, tb16);

  CATCH_CHECK(check_output(oa1, ra, ta, Tolerance::kFloat32, c10::nullopt) == "");
  CATCH_CHECK(check_output(ob, rb, tb, Tolerance::kFloat32, c10::nullopt) == "");
  CATCH_CHECK(check_output(oa2, ra, ta, Tolerance::kFloat32, c10::nullopt) == "");
  CATCH_CHECK(check_output(ob16, rb16, tb16, Tolerance::kHalf, c10::nullopt) == "");
}
