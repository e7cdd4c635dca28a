// Every rejected input: a c10::Error whose message names the argument and the offending value.
// One test case per error. Messages come from op/problem.cpp (make_problem).
#include "op_test_support.h"

using namespace tconv_test;

namespace {

at::Tensor randn(at::IntArrayRef sizes, at::ScalarType dtype = at::kFloat) {
  return at::randn(sizes, at::TensorOptions().dtype(dtype));
}

// A valid call to start from: input [2, 4, 5, 6], weight [4, 3, 3, 3] (out_channels 3), bias [3].
struct Call {
  at::Tensor input = randn({2, 4, 5, 6});
  at::Tensor weight = randn({4, 3, 3, 3});
  c10::optional<at::Tensor> bias = randn({3});
  std::vector<int64_t> stride{1, 1}, padding{0, 0}, output_padding{0, 0}, dilation{1, 1};
  int64_t groups = 1;

  at::Tensor run() const {
    return tconv::conv_transpose2d(input, weight, bias, stride, padding, output_padding, groups,
                                   dilation);
  }
};

// The call fails with a c10::Error whose message contains every fragment.
void require_error(const Call& call, std::initializer_list<std::string> fragments) {
  const std::string message = error_message([&] { call.run(); });
  CATCH_INFO("message: " << message);
  CATCH_REQUIRE_FALSE(message.empty());
  CATCH_CHECK_FALSE(contains(message, "<not a c10::Error>"));
  CATCH_CHECK(contains(message, "conv_transpose2d"));
  for (const std::string& fragment : fragments) {
    CATCH_INFO("expected in the message: " << fragment);
    CATCH_CHECK(contains(message, fragment));
  }
}

}  // namespace

CATCH_TEST_CASE("the valid base call used by the error tests succeeds", "[op][errors]") {
  Call call;
  CATCH_CHECK(error_message([&] { call.run(); }).empty());
}

CATCH_TEST_CASE("error: input neither 3-D nor 4-D", "[op][errors]") {
  Call call;
  call.input = randn({4, 5});
  require_error(call, {"input", "[4, 5]"});
  call.input = randn({1, 2, 4, 5, 6});
  require_error(call, {"input", "[1, 2, 4, 5, 6]"});
}

CATCH_TEST_CASE("error: weight not 4-D", "[op][errors]") {
  Call call;
  call.weight = randn({4, 3, 3});
  require_error(call, {"weight", "[4, 3, 3]"});
}

CATCH_TEST_CASE("error: input channels differ from weight.size(0)", "[op][errors]") {
  Call call;
  call.input = randn({2, 5, 5, 6});
  require_error(call, {"weight of shape [4, 3, 3, 3]", "4 channels", "got 5", "[2, 5, 5, 6]"});
  // Unbatched input: the message shows the shape the caller passed.
  call.input = randn({5, 5, 6});
  require_error(call, {"got 5", "[5, 5, 6]"});
}

CATCH_TEST_CASE("error: groups < 1", "[op][errors]") {
  Call call;
  call.groups = 0;
  require_error(call, {"groups", "groups=0"});
  call.groups = -2;
  require_error(call, {"groups", "groups=-2"});
}

CATCH_TEST_CASE("error: groups does not divide the input channels", "[op][errors]") {
  Call call;
  call.groups = 3;
  call.bias = randn({9});
  require_error(call, {"groups=3", "[4, 3, 3, 3]"});
}

CATCH_TEST_CASE("error: bias not 1-D", "[op][errors]") {
  Call call;
  call.bias = randn({1, 3});
  require_error(call, {"bias", "[1, 3]", "[3]"});
  call.bias = randn({});
  require_error(call, {"bias", "[]"});
}

CATCH_TEST_CASE("error: bias of the wrong size", "[op][errors]") {
  Call call;
  call.bias = randn({4});
  require_error(call, {"bias", "[4]", "[3]"});
  // With groups the expected size is weight.size(1) * groups.
  call.groups = 2;
  call.bias = randn({3});
  require_error(call, {"bias", "[6]", "[3]", "3 * 2"});
}

CATCH_TEST_CASE("error: stride < 1", "[op][errors]") {
  Call call;
  call.stride = {0, 1};
  require_error(call, {"stride", "stride=[0, 1]"});
  call.stride = {2, -1};
  require_error(call, {"stride", "stride=[2, -1]"});
  call.stride = {0};  // a single value applies to both axes
  require_error(call, {"stride", "stride=[0, 0]"});
}

CATCH_TEST_CASE("error: dilation < 1", "[op][errors]") {
  Call call;
  call.dilation = {1, 0};
  require_error(call, {"dilation", "dilation=[1, 0]"});
  call.dilation = {-3};
  require_error(call, {"dilation", "dilation=[-3, -3]"});
}

CATCH_TEST_CASE("error: padding < 0", "[op][errors]") {
  Call call;
  call.padding = {-1, 0};
  require_error(call, {"padding", "padding=[-1, 0]"});
}

CATCH_TEST_CASE("error: output_padding < 0", "[op][errors]") {
  Call call;
  call.output_padding = {0, -1};
  require_error(call, {"output_padding", "output_padding=[0, -1]"});
}

CATCH_TEST_CASE("error: output_padding not smaller than stride or dilation", "[op][errors]") {
  Call call;
  call.stride = {2, 2};
  call.output_padding = {2, 2};
  require_error(call, {"output_padding", "output_padding=[2, 2]", "stride=[2, 2]", "dilation=[1, 1]"});
  // One axis is enough to fail; dilation alone can allow it (checked as valid below).
  call.output_padding = {1, 3};
  call.dilation = {1, 3};
  require_error(call, {"output_padding=[1, 3]", "stride=[2, 2]", "dilation=[1, 3]"});
  call.dilation = {1, 4};
  CATCH_CHECK(error_message([&] { call.run(); }).empty());
}

CATCH_TEST_CASE("error: computed output size < 1", "[op][errors]") {
  Call call;
  call.input = randn({1, 4, 1, 1});
  call.weight = randn({4, 3, 1, 1});
  call.padding = {1, 1};
  require_error(call, {"output size", "[-1, -1]", "padding [1, 1]"});
  // Exactly zero on one axis only.
  call.weight = randn({4, 3, 2, 3});
  require_error(call, {"output size", "[0, 1]"});
}

CATCH_TEST_CASE("error: argument lists of the wrong length", "[op][errors]") {
  const std::vector<int64_t> three{1, 1, 1}, none{};
  for (const char* arg : {"stride", "padding", "output_padding", "dilation"}) {
    CATCH_INFO("argument: " << arg);
    for (const auto* bad : {&three, &none}) {
      Call call;
      std::vector<int64_t>& target = std::string(arg) == "stride"    ? call.stride
                                     : std::string(arg) == "padding" ? call.padding
                                     : std::string(arg) == "dilation" ? call.dilation
                                                                      : call.output_padding;
      target = *bad;
      const std::string shown = bad->empty() ? "[]" : "[1, 1, 1]";
      require_error(call, {std::string(arg) + "=" + shown});
    }
  }
}

CATCH_TEST_CASE("error: input and weight dtypes differ", "[op][errors]") {
  Call call;
  call.weight = call.weight.to(at::kDouble);
  require_error(call, {"input dtype (Float)", "weight dtype (Double)"});
}

CATCH_TEST_CASE("error: input and bias dtypes differ", "[op][errors]") {
  Call call;
  call.bias = call.bias->to(at::kDouble);
  require_error(call, {"input dtype (Float)", "bias dtype (Double)"});
}

CATCH_TEST_CASE("error: unsupported dtypes on CPU", "[op][errors]") {
  const std::pair<at::ScalarType, const char*> cases[] = {
      {at::kInt, "Int"}, {at::kLong, "Long"}, {at::kComplexFloat, "ComplexFloat"},
      {at::kHalf, "Half"}, {at::kBFloat16, "BFloat16"}};
  for (const auto& c : cases) {
    CATCH_INFO("dtype " << c.second);
    Call call;
    call.input = call.input.to(c.first);
    call.weight = call.weight.to(c.first);
    call.bias = call.bias->to(c.first);
    require_error(call, {"input dtype", c.second, "CPU"});
  }
}

CATCH_TEST_CASE("error: empty spatial input", "[op][errors]") {
  Call call;
  call.input = randn({2, 4, 0, 6});
  require_error(call, {"input spatial size", "[2, 4, 0, 6]"});
  call.input = randn({2, 4, 5, 0});
  require_error(call, {"input spatial size", "[2, 4, 5, 0]"});
  call.input = randn({4, 0, 6});  // unbatched
  require_error(call, {"input spatial size", "[4, 0, 6]"});
}

CATCH_TEST_CASE("error: weight with a zero dimension", "[op][errors]") {
  for (const std::vector<int64_t>& shape :
       {std::vector<int64_t>{4, 0, 3, 3}, {4, 3, 0, 3}, {4, 3, 3, 0}, {0, 3, 3, 3}}) {
    Call call;
    call.weight = randn(shape);
    call.bias = c10::nullopt;
    if (shape[0] == 0) call.input = randn({2, 0, 5, 6});  // channels agree, both zero
    std::ostringstream s;
    s << at::IntArrayRef(shape);
    require_error(call, {"weight", s.str()});
  }
}

CATCH_TEST_CASE("error: input, weight and bias on different devices (CPU and meta)", "[op][errors]") {
  {
    Call call;
    call.weight = call.weight.to(at::kMeta);
    require_error(call, {"input is on cpu", "weight is on meta"});
  }
  {
    Call call;
    call.input = call.input.to(at::kMeta);
    require_error(call, {"input is on meta", "weight is on cpu"});
  }
  {
    Call call;
    call.bias = call.bias->to(at::kMeta);
    require_error(call, {"input is on cpu", "bias is on meta"});
  }
}

CATCH_TEST_CASE("errors come out of the dispatcher by name too", "[op][errors]") {
  ArgSet a;
  a.in_channels_per_group = 4;
  a.out_channels_per_group = 3;
  a.in_h = a.in_w = 5;
  a.kernel_h = a.kernel_w = 3;
  Tensors t = make_tensors(a, at::kFloat, at::kCPU);
  a.stride = {0, 1};
  for (EntryPoint e : {EntryPoint::DispatcherTyped, EntryPoint::DispatcherBoxed}) {
    CATCH_INFO(name(e));
    const std::string message = error_message([&] { call_tconv(a, t, e); });
    CATCH_INFO("message: " << message);
    CATCH_CHECK(contains(message, "stride=[0, 1]"));
  }
}

// Sizes whose output-size arithmetic overflows int64: rejected, not wrapped into a small "valid"
// size (which then sent the CPU kernel into O(stride) allocations) and not undefined behaviour
// (the UBSan build aborts on a plain int64 overflow).
CATCH_TEST_CASE("error: sizes whose output size overflows int64", "[op][errors][overflow]") {
  const int64_t huge = int64_t{1} << 62;
  {
    Call call;
    call.stride = {huge, 1};
    require_error(call, {"stride", "4611686018427387904"});
  }
  {
    Call call;
    call.padding = {huge, 0};
    require_error(call, {"padding", "4611686018427387904"});
  }
  {
    Call call;
    call.dilation = {huge, 1};
    require_error(call, {"dilation", "4611686018427387904"});
  }
}
