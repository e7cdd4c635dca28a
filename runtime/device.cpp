#include "device.h"

#include <torch/cuda.h>

#include <cctype>
#include <string>

#include "error.h"

namespace tconv {
namespace runtime {
namespace {

// "7" -> 7; anything but a plain decimal index -> -1.
int parse_index(const std::string& text) {
  if (text.empty() || text.size() > 6) return -1;
  for (char c : text) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return -1;
  }
  return std::stoi(text);
}

}  // namespace

c10::Device parse_device(const std::string& name) {
  if (name == "cpu") return c10::Device(c10::kCPU);

  const std::string prefix = "cuda";
  const bool is_cuda = name.compare(0, prefix.size(), prefix) == 0 &&
                       (name.size() == prefix.size() || name[prefix.size()] == ':');
  if (!is_cuda) {
    throw Error("unknown device '" + name + "': expected cpu, cuda or cuda:N");
  }
  int index = -1;  // -1: the current CUDA device, as torch means by "cuda"
  if (name.size() > prefix.size()) {
    index = parse_index(name.substr(prefix.size() + 1));
    if (index < 0) {
      throw Error("unknown device '" + name + "': the CUDA index must be a number, as in cuda:0");
    }
  }
  if (!torch::cuda::is_available()) {
    throw Error("device '" + name + "' is not available: this libtorch build or this machine has no "
                "usable CUDA device");
  }
  const auto count = static_cast<int>(torch::cuda::device_count());
  if (index >= count) {
    throw Error("device '" + name + "' is not available: this machine has " +
                std::to_string(count) + " CUDA device(s), cuda:0 to cuda:" +
                std::to_string(count - 1));
  }
  return c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(index));
}

void synchronize(const c10::Device& device) {
  if (device.is_cuda()) torch::cuda::synchronize(device.has_index() ? device.index() : -1);
}

}  // namespace runtime
}  // namespace tconv
