// Loading and running models that call custom::conv_transpose2d, alone and from many threads.
#include <torch/torch.h>

#include <algorithm>
#include <thread>
#include <vector>

#include "benchmark.h"
#include "catch.h"
#include "compare.h"
#include "model.h"
#include "tensor_io.h"
#include "test_models.h"

using namespace tconv::runtime;
using tconv_test::TemporaryDirectory;

CATCH_TEST_CASE("a saved model runs and matches torch's own conv_transpose2d", "[runtime]") {
  TemporaryDirectory directory;
  const auto files = tconv_test::write_upsampler(directory.path());
  for (const bool freeze : {true, false}) {
    CATCH_DYNAMIC_SECTION((freeze ? "frozen and optimized" : "as loaded")) {
      LoadOptions options;
      options.freeze = freeze;
      const Model model(files.model, options);
      CATCH_CHECK(model.frozen() == freeze);
      CATCH_CHECK(model.signature() == "forward(Tensor x) -> Tensor");
      CATCH_CHECK(model.min_inputs() == 1);
      CATCH_CHECK(model.max_inputs() == 1);

      const auto outputs = output_tensors(model.forward({load_tensor(files.input)}));
      CATCH_REQUIRE(outputs.size() == 1);
      const Comparison result =
          compare(outputs[0], files.expected_tensor, tconv_test::kRtol, tconv_test::kAtol);
      CATCH_INFO(result.summary);
      CATCH_CHECK(result.passed);
      // ReLU leaves exact zeros; a model that returned the unrectified convolution would differ.
      CATCH_CHECK(outputs[0].min().item<float>() == 0.0f);
      CATCH_CHECK(outputs[0].max().item<float>() > 0.0f);
    }
  }
}

CATCH_TEST_CASE("8 threads sharing one model get the single-threaded result bit for bit", "[runtime]") {
  TemporaryDirectory directory;
  const auto files = tconv_test::write_upsampler(directory.path());
  const Model model(files.model);
  const at::Tensor reference = model.forward({files.input_tensor}).toTensor();

  constexpr int kThreads = 8;
  constexpr int kCallsPerThread = 6;
  std::vector<std::vector<at::Tensor>> results(kThreads);
  std::vector<std::string> errors(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      try {
        for (int i = 0; i < kCallsPerThread; ++i) {
          results[t].push_back(model.forward({files.input_tensor}).toTensor());
        }
      } catch (const std::exception& e) {
        errors[t] = e.what();
      }
    });
  }
  for (auto& thread : threads) thread.join();

  for (int t = 0; t < kThreads; ++t) {
    CATCH_INFO("thread " << t);
    CATCH_CHECK(errors[t].empty());
    CATCH_REQUIRE(results[t].size() == static_cast<size_t>(kCallsPerThread));
    for (const auto& result : results[t]) {
      CATCH_CHECK(torch::equal(result, reference));
      // Each call returns its own tensor, not a buffer shared with other calls.
      CATCH_CHECK(result.data_ptr() != reference.data_ptr());
    }
  }
}

CATCH_TEST_CASE("benchmark times every call of every thread", "[runtime]") {
  TemporaryDirectory directory;
  const auto files = tconv_test::write_upsampler(directory.path());
  const Model model(files.model);
  BenchmarkOptions options;
  options.warmup = 1;
  options.iterations = 5;
  options.threads = 3;
  const BenchmarkResult result = benchmark(model, {files.input_tensor}, options);
  CATCH_CHECK(result.inferences == 15);
  CATCH_REQUIRE(result.latencies_ms.size() == 15);
  CATCH_CHECK(std::is_sorted(result.latencies_ms.begin(), result.latencies_ms.end()));
  CATCH_CHECK(result.min_ms > 0);
  CATCH_CHECK(result.min_ms <= result.median_ms);
  CATCH_CHECK(result.median_ms <= result.p99_ms);
  CATCH_CHECK(result.p99_ms == result.latencies_ms.back());  // nearest rank of 15 samples
  CATCH_CHECK(result.inferences_per_second > 0);

  options.iterations = 0;
  CATCH_CHECK_THROWS_AS(benchmark(model, {files.input_tensor}, options), Error);
}

CATCH_TEST_CASE("an error inside a benchmark thread reaches the caller", "[runtime]") {
  TemporaryDirectory directory;
  const auto files = tconv_test::write_upsampler(directory.path());
  const Model model(files.model);
  BenchmarkOptions options;
  options.threads = 4;
  const at::Tensor wrong_channels = torch::randn({2, 3, 5, 5});
  CATCH_CHECK_THROWS_AS(benchmark(model, {wrong_channels}, options), Error);
}

CATCH_TEST_CASE("output_tensors flattens tuples and lists and rejects other results", "[runtime]") {
  const at::Tensor a = torch::randn({2});
  const at::Tensor b = torch::randn({3});
  const c10::IValue nested =
      c10::ivalue::Tuple::create(c10::IValue(a), c10::IValue(c10::List<at::Tensor>({b, a})));
  const auto tensors = output_tensors(nested);
  CATCH_REQUIRE(tensors.size() == 3);
  CATCH_CHECK(tensors[0].is_same(a));
  CATCH_CHECK(tensors[1].is_same(b));
  CATCH_CHECK(tensors[2].is_same(a));
  CATCH_CHECK_THROWS_AS(output_tensors(c10::IValue(std::string("text"))), Error);
}
