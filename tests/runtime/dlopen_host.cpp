// A libtorch program that knows nothing of tconv at link time, like an inference server (Triton's
// PyTorch backend loads custom-op libraries this way):
//   dlopen_host [--plugin LIBTCONV.so] MODEL.pt INPUT.pt EXPECTED.pt
// With --plugin it dlopen()s the library (RTLD_NOW | RTLD_GLOBAL) before loading the model; the
// library's static initialisers register custom::conv_transpose2d. Without it the op must come
// from somewhere else (LD_PRELOAD=libtconv.so), or loading the model fails.
// Exit status: 0 output matches, 1 it does not, 2 loading or running failed.
#include <dlfcn.h>

#include <torch/script.h>
#include <torch/serialize.h>

#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

namespace {

at::Tensor read_tensor(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) throw std::runtime_error("cannot open " + path);
  const std::vector<char> bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  return torch::pickle_load(bytes).toTensor();
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> arguments(argv + 1, argv + argc);
  std::string plugin;
  if (arguments.size() >= 2 && arguments[0] == "--plugin") {
    plugin = arguments[1];
    arguments.erase(arguments.begin(), arguments.begin() + 2);
  }
  if (arguments.size() != 3) {
    std::cerr << "usage: dlopen_host [--plugin LIBTCONV.so] MODEL.pt INPUT.pt EXPECTED.pt\n";
    return 2;
  }
  if (!plugin.empty()) {
    // The handle stays open for the life of the process: the registered op points into the
    // library's code.
    if (!dlopen(plugin.c_str(), RTLD_NOW | RTLD_GLOBAL)) {
      std::cerr << "dlopen_host: dlopen failed: " << dlerror() << "\n";
      return 2;
    }
  }
  try {
    torch::jit::Module module = torch::jit::load(arguments[0]);
    module.eval();
    c10::InferenceMode inference_mode;
    const at::Tensor output = module.forward({read_tensor(arguments[1])}).toTensor();
    const at::Tensor expected = read_tensor(arguments[2]);
    const bool matches = output.sizes() == expected.sizes() &&
                         torch::allclose(output, expected, /*rtol=*/1e-4, /*atol=*/1e-5);
    std::cout << "dlopen_host: output " << output.sizes() << (matches ? " matches" : " DIFFERS")
              << " the expected output\n";
    return matches ? 0 : 1;
  } catch (const std::exception& e) {
    std::cerr << "dlopen_host: " << e.what() << "\n";
    return 2;
  }
}
