// Tensors in torch.save's file format (a zip archive), read and written without Python:
// torch.save(t, "x.pt") in Python <-> load_tensor("x.pt") here, and save_tensor here <-> torch.load.
#pragma once

#include <ATen/core/Tensor.h>
#include <ATen/core/ivalue.h>

#include <string>

#include "error.h"
#include <vector>

namespace tconv {
namespace runtime {

// Whatever torch.save stored. Throws Error for a missing file, a file that is not a torch.save
// archive, and a truncated or corrupt one. Tensors come back on the device they were saved from.
c10::IValue load_value(const std::string& path);

// A file holding one tensor; Error if it holds anything else.
at::Tensor load_tensor(const std::string& path);

// A file holding one tensor, or a tuple or list of tensors (a model's several inputs), in order.
std::vector<at::Tensor> load_tensors(const std::string& path);

// Saves a copy of `tensor` on the CPU (so a machine without the original device can read it).
// The file is replaced whole or left untouched: Error and no partial file when anything fails.
void save_tensor(const std::string& path, const at::Tensor& tensor);

}  // namespace runtime
}  // namespace tconv
