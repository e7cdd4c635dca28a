// Test material for the runtime, made from C++ so the runtime's tests need no Python: small
// TorchScript models that call custom::conv_transpose2d, their inputs and expected outputs, and
// broken files of every kind the runtime must reject. Shared by the Catch2 tests and by
// make_runtime_fixtures (which writes the same files for the tconv-run and dlopen tests).
#pragma once

#include <ATen/ATen.h>

#include <string>
#include <vector>

namespace tconv_test {

// An upsampling block like DCGAN's: conv_transpose2d 8->4 channels, 4x4 kernel, stride 2,
// padding 1, with bias, then ReLU. Input [2, 8, 5, 5] -> output [2, 4, 10, 10], float32.
struct UpsamplerFiles {
  std::string model;     // UPSAMPLER.pt, saved with torch::jit::Module::save (not frozen)
  std::string input;     // its input, torch.save format
  std::string expected;  // expected output, computed with torch's own conv_transpose2d in float64
  at::Tensor input_tensor;
  at::Tensor expected_tensor;
};

constexpr double kRtol = 1e-4;  // float32 accumulation vs a float64 reference
constexpr double kAtol = 1e-5;

// Writes upsampler.pt, upsampler.input.pt and upsampler.expected.pt into `directory`; the weights
// and input are random (fixed seed).
UpsamplerFiles write_upsampler(const std::string& directory);

// A model calling tconv_test::vanishing, an operator registered only while the model is built and
// saved, so that loading the file later meets an unknown operator (as a process without libtconv
// meets custom::conv_transpose2d).
std::string write_unknown_operator_model(const std::string& directory);

// The first half of `source`'s bytes: an interrupted copy or download.
std::string write_truncated_copy(const std::string& source, const std::string& target);

std::string write_text_file(const std::string& path, const std::string& text);

// Directory helpers on plain POSIX calls. Not std::filesystem: the torch 2.11 wheel's libtorch.so
// exports its own copy of std::filesystem::remove_all, which the dynamic linker binds first and
// which crashed (jump to address 0) on the GPU machine.
void make_directory(const std::string& path);    // one level; throws if it cannot be made
void make_directories(const std::string& path);  // like mkdir -p
bool is_directory(const std::string& path);
std::vector<std::string> directory_entries(const std::string& path);  // names, without . and ..
void remove_tree(const std::string& path);        // like rm -rf; best effort, never throws

// A new empty directory under $TMPDIR (or /tmp), removed with its contents on destruction.
class TemporaryDirectory {
 public:
  TemporaryDirectory();
  ~TemporaryDirectory();
  TemporaryDirectory(const TemporaryDirectory&) = delete;
  TemporaryDirectory& operator=(const TemporaryDirectory&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace tconv_test
