#include "test_models.h"

#include <dirent.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ATen/core/op_registration/op_registration.h>
#include <torch/csrc/jit/api/module.h>
#include <torch/csrc/jit/frontend/resolver.h>
#include <torch/torch.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "tensor_io.h"

namespace tconv_test {
namespace {

// Module::define's default resolver knows only `torch` (as aten); code defined from C++ reaches the
// operators of other namespaces through the names resolved here: `custom.conv_transpose2d(...)`.
// (Saved models spell it ops.custom.conv_transpose2d, as Python-scripted ones do.)
struct OperatorNamespaceResolver : torch::jit::Resolver {
  std::shared_ptr<torch::jit::SugaredValue> resolveValue(const std::string& name,
                                                         torch::jit::GraphFunction&,
                                                         const torch::jit::SourceRange&) override {
    if (name == "torch") return std::make_shared<torch::jit::BuiltinModule>("aten");
    if (name == "custom" || name == "tconv_test") {
      return std::make_shared<torch::jit::BuiltinModule>(name);
    }
    return nullptr;
  }
  c10::TypePtr resolveType(const std::string&, const torch::jit::SourceRange&) override {
    return nullptr;
  }
};

void write_bytes(const std::string& path, const std::vector<char>& bytes) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!file) throw std::runtime_error("test setup: cannot write " + path);
}

}  // namespace

UpsamplerFiles write_upsampler(const std::string& directory) {
  torch::manual_seed(20240611);
  const at::Tensor weight = torch::randn({8, 4, 4, 4});
  const at::Tensor bias = torch::randn({4});
  const at::Tensor input = torch::randn({2, 8, 5, 5});

  torch::jit::Module module("tconv_test.Upsampler");
  module.register_parameter("weight", weight, /*is_buffer=*/false);
  module.register_parameter("bias", bias, /*is_buffer=*/false);
  module.define(R"JIT(
def forward(self, x: Tensor) -> Tensor:
    y = custom.conv_transpose2d(x, self.weight, self.bias, [2, 2], [1, 1], [0, 0], 1, [1, 1])
    return torch.relu(y)
)JIT",
                std::make_shared<OperatorNamespaceResolver>());

  UpsamplerFiles files;
  files.model = directory + "/upsampler.pt";
  files.input = directory + "/upsampler.input.pt";
  files.expected = directory + "/upsampler.expected.pt";
  module.save(files.model);

  // The reference is torch's own operator, in float64, so the op under test is not its own judge.
  files.input_tensor = input;
  files.expected_tensor =
      at::relu(at::conv_transpose2d(input.to(at::kDouble), weight.to(at::kDouble),
                                    bias.to(at::kDouble), {2, 2}, {1, 1}))
          .to(at::kFloat);
  tconv::runtime::save_tensor(files.input, files.input_tensor);
  tconv::runtime::save_tensor(files.expected, files.expected_tensor);
  return files;
}

std::string write_unknown_operator_model(const std::string& directory) {
  const std::string path = directory + "/unknown_operator.pt";
  // The registration lives only in this scope: the module compiles and saves against it, and
  // once it is gone the saved code refers to an operator nobody provides.
  auto registration = c10::RegisterOperators().op(
      "tconv_test::vanishing(Tensor x) -> Tensor", [](const at::Tensor& x) { return x.clone(); });
  torch::jit::Module module("tconv_test.UsesVanishingOp");
  module.define(R"JIT(
def forward(self, x: Tensor) -> Tensor:
    return tconv_test.vanishing(x)
)JIT",
                std::make_shared<OperatorNamespaceResolver>());
  module.save(path);
  return path;
}

std::string write_truncated_copy(const std::string& source, const std::string& target) {
  std::ifstream file(source, std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  if (bytes.size() < 2) throw std::runtime_error("test setup: cannot read " + source);
  bytes.resize(bytes.size() / 2);
  write_bytes(target, bytes);
  return target;
}

std::string write_text_file(const std::string& path, const std::string& text) {
  write_bytes(path, std::vector<char>(text.begin(), text.end()));
  return path;
}

TemporaryDirectory::TemporaryDirectory() {
  const char* base = std::getenv("TMPDIR");
  std::string pattern = std::string(base && *base ? base : "/tmp") + "/tconv_runtime_test.XXXXXX";
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  if (!mkdtemp(buffer.data())) throw std::runtime_error("test setup: mkdtemp failed for " + pattern);
  path_ = buffer.data();
}

void make_directory(const std::string& path) {
  if (::mkdir(path.c_str(), 0755) != 0 && !is_directory(path))
    throw std::runtime_error("test setup: cannot create directory " + path);
}

void make_directories(const std::string& path) {
  for (size_t slash = path.find('/', 1); slash != std::string::npos; slash = path.find('/', slash + 1))
    ::mkdir(path.substr(0, slash).c_str(), 0755);  // existing parents are fine
  make_directory(path);
}

bool is_directory(const std::string& path) {
  struct stat info;
  return ::stat(path.c_str(), &info) == 0 && S_ISDIR(info.st_mode);
}

std::vector<std::string> directory_entries(const std::string& path) {
  std::vector<std::string> names;
  if (DIR* dir = ::opendir(path.c_str())) {
    while (const dirent* entry = ::readdir(dir)) {
      const std::string name = entry->d_name;
      if (name != "." && name != "..") names.push_back(name);
    }
    ::closedir(dir);
  }
  return names;
}

void remove_tree(const std::string& path) {
  // Depth-first, without following links: files and empty directories alike go through remove().
  ::nftw(path.c_str(),
         [](const char* item, const struct stat*, int, FTW*) {
           ::remove(item);  // keep going past an item that will not go
           return 0;
         },
         16, FTW_DEPTH | FTW_PHYS);
}

TemporaryDirectory::~TemporaryDirectory() {
  remove_tree(path_);  // best effort: a destructor must not throw; a leftover directory is harmless
}

}  // namespace tconv_test
