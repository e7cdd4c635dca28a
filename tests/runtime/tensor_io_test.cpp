// torch.save-format tensor files: round trips, damaged files, and all-or-nothing writes.
#include <sys/stat.h>
#include <unistd.h>

#include <torch/torch.h>

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "catch.h"
#include "runtime_test_support.h"
#include "tensor_io.h"
#include "test_models.h"

using namespace tconv::runtime;
using tconv_test::contains;
using tconv_test::runtime_error_message;
using tconv_test::directory_entries;
using tconv_test::TemporaryDirectory;

namespace {

std::string file_contents(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
}

}  // namespace

CATCH_TEST_CASE("tensors survive a save and load bit for bit", "[runtime][tensor_io]") {
  TemporaryDirectory directory;
  torch::manual_seed(7);
  const std::vector<at::Tensor> tensors = {
      torch::randn({2, 3, 4, 5}),
      torch::randn({3, 7}, torch::kDouble),
      torch::randint(-100, 100, {9}, torch::kLong),
      torch::randn({4, 6}).t(),  // not contiguous
      torch::randn({2, 3, 4, 5}).contiguous(at::MemoryFormat::ChannelsLast),
      torch::randn({0, 3}),       // empty
      torch::randn({}),           // 0-d
  };
  for (size_t i = 0; i < tensors.size(); ++i) {
    CATCH_INFO("tensor " << i << " of shape " << tensors[i].sizes());
    const std::string path = directory.path() + "/t" + std::to_string(i) + ".pt";
    save_tensor(path, tensors[i]);
    const at::Tensor loaded = load_tensor(path);
    CATCH_CHECK(loaded.scalar_type() == tensors[i].scalar_type());
    CATCH_CHECK(loaded.sizes() == tensors[i].sizes());
    CATCH_CHECK(torch::equal(loaded, tensors[i]));
  }
}

CATCH_TEST_CASE("load_tensors reads a tuple of inputs; load_tensor wants one tensor", "[runtime][tensor_io]") {
  TemporaryDirectory directory;
  const at::Tensor a = torch::randn({2, 2});
  const at::Tensor b = torch::randn({3});
  const std::vector<char> bytes =
      torch::pickle_save(c10::ivalue::Tuple::create(c10::IValue(a), c10::IValue(b)));
  const std::string path = directory.path() + "/pair.pt";
  std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));

  const auto loaded = load_tensors(path);
  CATCH_REQUIRE(loaded.size() == 2);
  CATCH_CHECK(torch::equal(loaded[0], a));
  CATCH_CHECK(torch::equal(loaded[1], b));
  const std::string message = runtime_error_message([&] { load_tensor(path); });
  CATCH_INFO(message);
  CATCH_CHECK(contains(message, "holds a Tuple, not a tensor"));
}

CATCH_TEST_CASE("damaged tensor files give a readable Error", "[runtime][tensor_io]") {
  TemporaryDirectory directory;
  const std::string good = directory.path() + "/good.pt";
  save_tensor(good, torch::randn({16, 16}));

  std::string message = runtime_error_message([&] { load_tensor(directory.path() + "/absent.pt"); });
  CATCH_CHECK(contains(message, "cannot open tensor file"));

  const std::string text = tconv_test::write_text_file(directory.path() + "/text.pt", "1 2 3\n");
  message = runtime_error_message([&] { load_tensor(text); });
  CATCH_INFO(message);
  CATCH_CHECK(contains(message, "is not a torch.save archive"));

  const std::string half = tconv_test::write_truncated_copy(good, directory.path() + "/half.pt");
  message = runtime_error_message([&] { load_tensor(half); });
  CATCH_INFO(message);
  CATCH_CHECK(contains(message, "half.pt' is truncated or corrupt"));
  CATCH_CHECK(tconv_test::is_one_line(message));
}

CATCH_TEST_CASE("a failed save leaves no partial file and keeps the old one", "[runtime][tensor_io]") {
  TemporaryDirectory directory;
  const at::Tensor tensor = torch::randn({8, 8});
  const std::string target = directory.path() + "/out.pt";
  save_tensor(target, tensor);
  const std::string original = file_contents(target);

  CATCH_SECTION("the tensor cannot be serialised") {
    // A meta tensor has no data to write.
    const at::Tensor no_data = torch::empty({4}, torch::TensorOptions().device(torch::kMeta));
    const std::string message = runtime_error_message([&] { save_tensor(target, no_data); });
    CATCH_INFO(message);
    CATCH_CHECK(contains(message, "cannot save to '" + target + "'"));
  }
  CATCH_SECTION("the final rename fails after the data was written") {
    // A directory where the file should go: the temporary is written in full, then rename fails.
    const std::string blocked = directory.path() + "/blocked.pt";
    tconv_test::make_directory(blocked);
    const std::string message = runtime_error_message([&] { save_tensor(blocked, tensor); });
    CATCH_INFO(message);
    CATCH_CHECK(contains(message, "cannot write '" + blocked + "'"));
    CATCH_CHECK(tconv_test::is_directory(blocked));
  }
  CATCH_SECTION("the directory does not exist") {
    const std::string message =
        runtime_error_message([&] { save_tensor(directory.path() + "/no/such/dir/out.pt", tensor); });
    CATCH_CHECK(contains(message, "No such file or directory"));
  }
  CATCH_SECTION("the directory is not writable") {
    const std::string locked = directory.path() + "/locked";
    tconv_test::make_directory(locked);
    ::chmod(locked.c_str(), 0555);
    if (::access(locked.c_str(), W_OK) == 0) {
      CATCH_WARN("skipped: running as root, directory permissions do not stop writes");
    } else {
      const std::string message =
          runtime_error_message([&] { save_tensor(locked + "/out.pt", tensor); });
      CATCH_INFO(message);
      CATCH_CHECK(contains(message, "Permission denied"));
      CATCH_CHECK(directory_entries(locked).empty());
    }
    ::chmod(locked.c_str(), 0755);
  }

  // Whatever failed: the old file is untouched and no temporary is left behind.
  CATCH_CHECK(file_contents(target) == original);
  for (const auto& name : directory_entries(directory.path())) {
    CATCH_INFO(name);
    CATCH_CHECK(name.find(".tmp.") == std::string::npos);
  }
}
