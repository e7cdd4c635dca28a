// Every way loading or running a model can go wrong ends in a tconv::runtime::Error with one
// readable line that names the problem.
#include <torch/cuda.h>
#include <torch/torch.h>

#include "catch.h"
#include "model.h"
#include "runtime_test_support.h"
#include "test_models.h"

using namespace tconv::runtime;
using tconv_test::contains;
using tconv_test::runtime_error_message;
using tconv_test::TemporaryDirectory;

namespace {

// Loads `path` expecting failure; returns the message.
std::string load_failure(const std::string& path, const std::string& device = "cpu") {
  return runtime_error_message([&] {
    LoadOptions options;
    options.device = device;
    Model model(path, options);
  });
}

}  // namespace

CATCH_TEST_CASE("loading a bad model file gives a readable Error", "[runtime][errors]") {
  TemporaryDirectory directory;
  const auto files = tconv_test::write_upsampler(directory.path());

  CATCH_SECTION("missing file") {
    const std::string message = load_failure(directory.path() + "/absent.pt");
    CATCH_INFO(message);
    CATCH_CHECK(contains(message, "cannot open model file"));
    CATCH_CHECK(contains(message, "absent.pt"));
    CATCH_CHECK(contains(message, "No such file or directory"));
    CATCH_CHECK(tconv_test::is_one_line(message));
  }
  CATCH_SECTION("a directory") {
    const std::string message = load_failure(directory.path());
    CATCH_INFO(message);
    CATCH_CHECK(contains(message, "not a regular file"));
  }
  CATCH_SECTION("a text file") {
    const std::string path = tconv_test::write_text_file(directory.path() + "/notes.pt", "def forward(x):\n");
    const std::string message = load_failure(path);
    CATCH_INFO(message);
    CATCH_CHECK(contains(message, "is not a TorchScript archive"));
    CATCH_CHECK(contains(message, "starts with text"));
    CATCH_CHECK(tconv_test::is_one_line(message));
  }
  CATCH_SECTION("an empty file") {
    const std::string path = tconv_test::write_text_file(directory.path() + "/empty.pt", "");
    const std::string message = load_failure(path);
    CATCH_INFO(message);
    CATCH_CHECK(contains(message, "the file is empty"));
  }
  CATCH_SECTION("a truncated copy of a valid model") {
    const std::string path =
        tconv_test::write_truncated_copy(files.model, directory.path() + "/half.pt");
    const std::string message = load_failure(path);
    CATCH_INFO(message);
    CATCH_CHECK(contains(message, "half.pt' is truncated or corrupt"));
    CATCH_CHECK(tconv_test::is_one_line(message));
  }
  CATCH_SECTION("a tensor file instead of a model") {
    const std::string message = load_failure(files.input);
    CATCH_INFO(message);
    CATCH_CHECK(contains(message, "not a TorchScript model"));
  }
  CATCH_SECTION("a model using an operator nobody registered") {
    const std::string path = tconv_test::write_unknown_operator_model(directory.path());
    const std::string message = load_failure(path);
    CATCH_INFO(message);
    CATCH_CHECK(contains(message, "uses the operator tconv_test::vanishing"));
    CATCH_CHECK(contains(message, "not registered in this process"));
    CATCH_CHECK(tconv_test::is_one_line(message));
  }
}

CATCH_TEST_CASE("an unavailable or unknown device gives a readable Error", "[runtime][errors]") {
  TemporaryDirectory directory;
  const auto files = tconv_test::write_upsampler(directory.path());
  // Without CUDA any CUDA device is unavailable; with it, an index past the last device is.
  const std::string missing_device = torch::cuda::is_available() ? "cuda:99" : "cuda";
  std::string message = load_failure(files.model, missing_device);
  CATCH_INFO(message);
  CATCH_CHECK(contains(message, "device '" + missing_device + "' is not available"));

  message = load_failure(files.model, "tpu");
  CATCH_CHECK(contains(message, "unknown device 'tpu'"));
  message = load_failure(files.model, "cuda:first");
  CATCH_CHECK(contains(message, "unknown device 'cuda:first'"));
}

CATCH_TEST_CASE("running a model on the wrong inputs gives a readable Error", "[runtime][errors]") {
  TemporaryDirectory directory;
  const auto files = tconv_test::write_upsampler(directory.path());
  const Model model(files.model);
  const at::Tensor good = files.input_tensor;

  CATCH_SECTION("too many inputs") {
    const std::string message = runtime_error_message([&] { model.forward({good, good}); });
    CATCH_INFO(message);
    CATCH_CHECK(contains(message, "takes 1 input(s), got 2"));
    CATCH_CHECK(contains(message, "forward(Tensor x) -> Tensor"));
  }
  CATCH_SECTION("no input") {
    const std::string message = runtime_error_message([&] { model.forward({}); });
    CATCH_CHECK(contains(message, "takes 1 input(s), got 0"));
  }
  CATCH_SECTION("an undefined tensor") {
    const std::string message = runtime_error_message([&] { model.forward({at::Tensor()}); });
    CATCH_CHECK(contains(message, "input 0 is an undefined tensor"));
  }
  CATCH_SECTION("wrong number of channels") {
    const std::string message =
        runtime_error_message([&] { model.forward({torch::randn({2, 3, 5, 5})}); });
    CATCH_INFO(message);
    // The op's own message, without TorchScript's traceback around it.
    CATCH_CHECK(contains(message, "expects input with 8 channels, got 3"));
    CATCH_CHECK(tconv_test::is_one_line(message));
  }
  CATCH_SECTION("wrong number of dimensions") {
    const std::string message =
        runtime_error_message([&] { model.forward({torch::randn({8, 5})}); });
    CATCH_INFO(message);
    CATCH_CHECK(contains(message, "failed on cpu: conv_transpose2d"));
    CATCH_CHECK(tconv_test::is_one_line(message));
  }
  CATCH_SECTION("wrong dtype") {
    const std::string message =
        runtime_error_message([&] { model.forward({good.to(torch::kDouble)}); });
    CATCH_INFO(message);
    CATCH_CHECK(contains(message, "dtype"));
    CATCH_CHECK(contains(message, "Double"));
    CATCH_CHECK(tconv_test::is_one_line(message));
  }
}
