#include "tensor_io.h"

#include <torch/serialize.h>

#include <exception>
#include <string>
#include <vector>

#include "archive.h"
#include "error.h"
#include "file_bytes.h"

namespace tconv {
namespace runtime {

c10::IValue load_value(const std::string& path) {
  const std::vector<char> bytes = read_file_bytes(path, "tensor file");
  if (!looks_like_zip_archive(bytes)) {
    throw Error("tensor file '" + path + "' is not a torch.save archive (" +
                describe_non_archive(bytes) + ")");
  }
  try {
    return torch::pickle_load(bytes);
  } catch (const std::exception& e) {
    const std::string problem = is_damaged_archive_message(e.what())
                                    ? "' is truncated or corrupt: "
                                    : "' is not a readable torch.save file: ";
    throw Error("tensor file '" + path + problem + summarize_torch_message(e.what()), e.what());
  }
}

at::Tensor load_tensor(const std::string& path) {
  const c10::IValue value = load_value(path);
  if (!value.isTensor()) {
    throw Error("tensor file '" + path + "' holds a " + value.tagKind() + ", not a tensor");
  }
  return value.toTensor();
}

std::vector<at::Tensor> load_tensors(const std::string& path) {
  const c10::IValue value = load_value(path);
  std::vector<c10::IValue> items;
  if (value.isTensor()) {
    items.push_back(value);
  } else if (value.isTuple()) {
    items = value.toTupleRef().elements().vec();
  } else if (value.isList()) {
    items = value.toListRef().vec();
  } else {
    throw Error("tensor file '" + path + "' holds a " + value.tagKind() +
                ", not a tensor or a tuple or list of tensors");
  }
  std::vector<at::Tensor> tensors;
  for (size_t i = 0; i < items.size(); ++i) {
    if (!items[i].isTensor()) {
      throw Error("tensor file '" + path + "': item " + std::to_string(i) + " is a " +
                  items[i].tagKind() + ", not a tensor");
    }
    tensors.push_back(items[i].toTensor());
  }
  return tensors;
}

void save_tensor(const std::string& path, const at::Tensor& tensor) {
  if (!tensor.defined()) {
    throw Error("cannot save to '" + path + "': the tensor is undefined");
  }
  // Serialise completely in memory first: a tensor that cannot be pickled fails here, before any
  // file exists.
  std::vector<char> bytes;
  try {
    bytes = torch::pickle_save(tensor.cpu());
  } catch (const std::exception& e) {
    throw Error("cannot save to '" + path + "': " + summarize_torch_message(e.what()), e.what());
  }
  write_file_atomically(path, bytes);
}

}  // namespace runtime
}  // namespace tconv
