// CUDA: arguments on different devices, and dtypes the CUDA kernels do not take, are rejected
// with a message naming the argument, its device or dtype.
#include "cuda_test_support.h"

using namespace tconv_test;

namespace {

at::Tensor on(at::Device device, at::IntArrayRef sizes, at::ScalarType dtype = at::kFloat) {
  return at::randn(sizes, at::TensorOptions().dtype(at::kDouble)).to(dtype).to(device);
}

void require_error(const std::function<void()>& call, std::initializer_list<std::string> fragments) {
  const std::string message = error_message(call);
  CATCH_INFO("message: " << message);
  CATCH_REQUIRE_FALSE(message.empty());
  CATCH_CHECK_FALSE(contains(message, "<not a c10::Error>"));
  for (const std::string& fragment : fragments) {
    CATCH_INFO("expected in the message: " << fragment);
    CATCH_CHECK(contains(message, fragment));
  }
}

}  // namespace

CATCH_TEST_CASE("CUDA: mixed CPU and CUDA arguments are rejected", "[cuda][errors]") {
  TCONV_REQUIRE_CUDA();
  const at::Device gpu = cuda_device(), cpu = at::kCPU;
  const at::Tensor x_gpu = on(gpu, {2, 4, 5, 6}), x_cpu = on(cpu, {2, 4, 5, 6});
  const at::Tensor w_gpu = on(gpu, {4, 3, 3, 3}), w_cpu = on(cpu, {4, 3, 3, 3});
  const at::Tensor b_gpu = on(gpu, {3}), b_cpu = on(cpu, {3});
  require_error([&] { tconv::conv_transpose2d(x_gpu, w_cpu, b_gpu); }, {"input is on cuda", "weight is on cpu"});
  require_error([&] { tconv::conv_transpose2d(x_cpu, w_gpu, b_cpu); }, {"input is on cpu", "weight is on cuda"});
  require_error([&] { tconv::conv_transpose2d(x_gpu, w_gpu, b_cpu); }, {"input is on cuda", "bias is on cpu"});
}

CATCH_TEST_CASE("CUDA: arguments on two different GPUs are rejected", "[cuda][errors]") {
  TCONV_REQUIRE_CUDA();
  if (torch::cuda::device_count() < 2) TCONV_SKIP("one GPU: two-GPU test skipped");
  const at::Device gpu0(at::kCUDA, 0), gpu1(at::kCUDA, 1);
  require_error([&] { tconv::conv_transpose2d(on(gpu0, {2, 4, 5, 6}), on(gpu1, {4, 3, 3, 3})); },
                {"input is on cuda:0", "weight is on cuda:1"});
}

CATCH_TEST_CASE("CUDA: the op runs on the input's GPU, not the current one", "[cuda][errors]") {
  TCONV_REQUIRE_CUDA();
  if (torch::cuda::device_count() < 2) TCONV_SKIP("one GPU: two-GPU test skipped");
  ArgSet a;
  a.batch = 2;
  a.in_channels_per_group = 16;
  a.out_channels_per_group = 8;
  a.in_h = a.in_w = 12;
  a.kernel_h = a.kernel_w = 3;
  a.stride = {2, 2};
  a.bias_layout = BiasLayout::Contiguous;
  const Tensors t = make_tensors(a, at::kFloat, at::Device(at::kCUDA, 1));  // current device: 0
  const at::Tensor out = call_tconv(a, t);
  CATCH_CHECK(out.device() == at::Device(at::kCUDA, 1));
  CATCH_CHECK(check_output(out, reference(a, t), t, Tolerance::kTF32, c10::nullopt) == "");
}

CATCH_TEST_CASE("CUDA: unsupported dtypes are rejected", "[cuda][errors]") {
  TCONV_REQUIRE_CUDA();
  const std::pair<at::ScalarType, const char*> cases[] = {
      {at::kInt, "Int"}, {at::kLong, "Long"}, {at::kComplexFloat, "ComplexFloat"}};
  for (const auto& c : cases) {
    CATCH_INFO("dtype " << c.second);
    require_error([&] {
      tconv::conv_transpose2d(on(cuda_device(), {2, 4, 5, 6}, c.first), on(cuda_device(), {4, 3, 3, 3}, c.first));
    }, {"input dtype", c.second, "CUDA"});
  }
  // Mixed float dtypes on the GPU.
  require_error([&] {
    tconv::conv_transpose2d(on(cuda_device(), {2, 4, 5, 6}, at::kHalf), on(cuda_device(), {4, 3, 3, 3}, at::kBFloat16));
  }, {"input dtype (Half)", "weight dtype (BFloat16)"});
}
