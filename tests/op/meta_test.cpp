// The Meta kernel: shape, dtype, device and memory format only, for every kind of argument set.
#include "op_test_support.h"

using namespace tconv_test;

CATCH_TEST_CASE("Meta kernel: output shape, dtype and layout match torch's for random argument sets",
                "[op][meta]") {
  ArgSetGenerator gen(0x3e7a, Limits::small());
  Coverage coverage;
  const at::ScalarType dtypes[] = {at::kFloat, at::kDouble, at::kHalf, at::kBFloat16};
  for (int i = 0; i < 400; ++i) {
    const ArgSet a = gen.next();
    coverage.add(a);
    const at::ScalarType dtype = dtypes[i % 4];
    const Tensors t = make_tensors(a, dtype, at::kMeta);
    CATCH_INFO("set " << i << " " << c10::toString(dtype) << ": " << a.describe());
    at::Tensor out;
    const std::string error = error_message([&] {
      out = call_tconv(a, t, i % 3 == 0 ? EntryPoint::DispatcherBoxed : EntryPoint::PublicHeader);
    });
    CATCH_REQUIRE(error.empty());
    CATCH_CHECK(out.is_meta());
    CATCH_CHECK(out.scalar_type() == dtype);
    CATCH_CHECK(out.sizes() == at::IntArrayRef(a.output_sizes()));
    CATCH_CHECK(batched(out).is_contiguous(expected_memory_format(t.input)));
    // torch's own op agrees on the shape. (torch has no C++ meta convolution: its meta kernels for
    // convolution are registered from Python, so the shape comes from the same problem on the CPU.)
    const at::Tensor torch_out = reference(a, make_tensors(a, at::kDouble, at::kCPU));
    CATCH_CHECK(out.sizes() == torch_out.sizes());
  }
  coverage.require_all(1);
}

CATCH_TEST_CASE("Meta kernel rejects what the CPU kernel rejects, with the same message", "[op][meta]") {
  struct Case {
    const char* what;
    std::function<at::Tensor(at::Device)> call;
  };
  auto opts = [](at::Device d) { return at::TensorOptions().dtype(at::kFloat).device(d); };
  const std::vector<Case> cases = {
      {"stride 0",
       [&](at::Device d) {
         return tconv::conv_transpose2d(at::empty({1, 4, 5, 5}, opts(d)), at::empty({4, 2, 3, 3}, opts(d)),
                                        c10::nullopt, {0, 1});
       }},
      {"output size < 1",
       [&](at::Device d) {
         return tconv::conv_transpose2d(at::empty({1, 4, 1, 1}, opts(d)), at::empty({4, 2, 1, 1}, opts(d)),
                                        c10::nullopt, 1, 1);
       }},
      {"channel mismatch",
       [&](at::Device d) {
         return tconv::conv_transpose2d(at::empty({1, 3, 5, 5}, opts(d)), at::empty({4, 2, 3, 3}, opts(d)));
       }},
      {"int32",
       [&](at::Device d) {
         return tconv::conv_transpose2d(at::empty({1, 4, 5, 5}, opts(d).dtype(at::kInt)),
                                        at::empty({4, 2, 3, 3}, opts(d).dtype(at::kInt)));
       }},
  };
  for (const Case& c : cases) {
    CATCH_INFO(c.what);
    const std::string on_cpu = error_message([&] { c.call(at::kCPU); });
    const std::string on_meta = error_message([&] { c.call(at::kMeta); });
    CATCH_INFO("cpu: " << on_cpu << "\nmeta: " << on_meta);
    CATCH_CHECK_FALSE(on_cpu.empty());
    CATCH_CHECK_FALSE(on_meta.empty());
    if (std::string(c.what) != "int32") {
      CATCH_CHECK(on_cpu == on_meta);
    } else {  // the message names the backend
      CATCH_CHECK(contains(on_cpu, "Int"));
      CATCH_CHECK(contains(on_meta, "Int"));
    }
  }
}
