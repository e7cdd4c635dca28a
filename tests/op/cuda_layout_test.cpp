// CUDA: channels_last and non-contiguous inputs and weights, empty batches and unbatched input, in
// every CUDA dtype; the output's memory format follows the input's like torch's own op.
#include "cuda_test_support.h"

using namespace tconv_test;

namespace {

ArgSet base_case() {
  ArgSet a;
  a.batch = 2;
  a.groups = 2;
  a.in_channels_per_group = 6;
  a.out_channels_per_group = 5;
  a.in_h = 9;
  a.in_w = 7;
  a.kernel_h = 3;
  a.kernel_w = 4;
  a.stride = {2, 3};
  a.padding = {1, 2};
  a.output_padding = {1, 0};
  a.dilation = {1, 2};
  a.bias_layout = BiasLayout::Contiguous;
  a.data_seed = 1234;
  return a;
}

// torch's CUDA op follows a channels_last input for float32/16 and bfloat16 (cuDNN); its float64
// path returns contiguous output whatever the input (seen with torch 2.11), so only the contract
// is checked there.
c10::optional<at::MemoryFormat> torch_format(const ArgSet& a, const Tensors& t) {
  if (t.input.scalar_type() == at::kDouble || a.weight_layout == WeightLayout::ChannelsLast)
    return c10::nullopt;
  const at::Tensor torch_out =
      at::conv_transpose2d(t.input, weight_for_torch(t.input, t.weight), t.bias, a.stride_arg(),
                           a.padding_arg(), a.output_padding_arg(), a.groups, a.dilation_arg());
  return batched(torch_out).suggest_memory_format();
}

void check_case(const ArgSet& a, at::ScalarType dtype) {
  AllowTF32Guard tf32(false);
  const Tensors t = make_tensors(a, dtype, cuda_device());
  const at::Tensor ref = reference(a, t);
  poison_allocator(a.output_sizes(), dtype, cuda_device());
  const at::Tensor out = call_tconv(a, t);
  CATCH_INFO(c10::toString(dtype) << ": " << a.describe() << "; input strides " << t.input.strides()
                                  << ", output strides " << out.strides());
  CATCH_CHECK(check_output(out, ref, t, tolerance_for(dtype), torch_format(a, t)) == "");
}

const at::ScalarType kDtypes[] = {at::kFloat, at::kHalf, at::kBFloat16, at::kDouble};

}  // namespace

CATCH_TEST_CASE("CUDA: channels_last input gives channels_last output", "[cuda][layout]") {
  TCONV_REQUIRE_CUDA();
  for (at::ScalarType dtype : kDtypes) {
    ArgSet a = base_case();
    a.input_layout = InputLayout::ChannelsLast;
    check_case(a, dtype);
    a.unbatched = true;  // [H, W, C] memory viewed as [C, H, W]
    check_case(a, dtype);
    a.unbatched = false;
    a.groups = 8;  // depthwise, channels_last
    a.in_channels_per_group = 1;
    a.out_channels_per_group = 2;
    check_case(a, dtype);
  }
}

CATCH_TEST_CASE("CUDA: non-contiguous inputs, weights and biases", "[cuda][layout]") {
  TCONV_REQUIRE_CUDA();
  for (at::ScalarType dtype : kDtypes) {
    for (InputLayout il : {InputLayout::Transposed, InputLayout::Sliced}) {
      for (WeightLayout wl : {WeightLayout::Contiguous, WeightLayout::Transposed, WeightLayout::Sliced,
                              WeightLayout::ChannelsLast}) {
        ArgSet a = base_case();
        a.input_layout = il;
        a.weight_layout = wl;
        a.bias_layout = BiasLayout::Strided;
        check_case(a, dtype);
      }
    }
  }
}

CATCH_TEST_CASE("CUDA: empty batch", "[cuda][layout]") {
  TCONV_REQUIRE_CUDA();
  for (at::ScalarType dtype : kDtypes) {
    for (InputLayout il : {InputLayout::Contiguous, InputLayout::ChannelsLast}) {
      ArgSet a = base_case();
      a.batch = 0;
      a.input_layout = il;
      const Tensors t = make_tensors(a, dtype, cuda_device());
      const at::Tensor out = call_tconv(a, t);
      CATCH_CHECK(out.sizes() == at::IntArrayRef(a.output_sizes()));
      CATCH_CHECK(out.scalar_type() == dtype);
      CATCH_CHECK(out.device() == t.input.device());
    }
  }
}

CATCH_TEST_CASE("CUDA: unbatched (3-D) input", "[cuda][layout]") {
  TCONV_REQUIRE_CUDA();
  for (at::ScalarType dtype : kDtypes) {
    for (InputLayout il : {InputLayout::Contiguous, InputLayout::Transposed, InputLayout::Sliced}) {
      ArgSet a = base_case();
      a.unbatched = true;
      a.input_layout = il;
      check_case(a, dtype);
    }
  }
}

CATCH_TEST_CASE("CUDA: 1x1 input, 1x1 kernel, kernel smaller than stride", "[cuda][layout]") {
  TCONV_REQUIRE_CUDA();
  for (at::ScalarType dtype : kDtypes) {
    ArgSet a = base_case();
    a.in_h = a.in_w = 1;
    a.padding = {0, 0};
    check_case(a, dtype);
    a = base_case();
    a.kernel_h = a.kernel_w = 1;
    a.stride = {4, 5};  // bias-only phases between the taps
    a.padding = {0, 0};
    a.output_padding = {3, 1};
    check_case(a, dtype);
  }
}

CATCH_TEST_CASE("CUDA: stride beyond the one-pass kernel's phase tables", "[cuda][layout]") {
  TCONV_REQUIRE_CUDA();
  for (at::ScalarType dtype : kDtypes) {
    ArgSet a = base_case();
    a.stride = {70, 3};  // per-element fallback: more phases than the tables hold
    a.output_padding = {5, 2};
    check_case(a, dtype);
  }
}

CATCH_TEST_CASE("CUDA: many input channels per group (weights staged in chunks)", "[cuda][layout]") {
  TCONV_REQUIRE_CUDA();
  for (at::ScalarType dtype : kDtypes) {
    ArgSet a = base_case();
    a.groups = 1;
    a.in_channels_per_group = 300;
    a.out_channels_per_group = 5;
    a.kernel_h = a.kernel_w = 4;
    a.in_h = 5;
    a.in_w = 6;
    check_case(a, dtype);
  }
}
