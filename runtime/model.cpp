#include "model.h"

#include <c10/core/InferenceMode.h>
#include <torch/csrc/jit/serialization/import.h>

#include <exception>
#include <sstream>
#include <string>
#include <vector>

#include "archive.h"
#include "conv_transpose2d.h"
#include "device.h"
#include "error.h"
#include "file_bytes.h"

namespace tconv {
namespace runtime {
namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// The operator name after "Unknown builtin op: ", e.g. "custom::conv_transpose2d".
std::string unknown_operator(const std::string& message) {
  const std::string marker = "Unknown builtin op: ";
  const auto at = message.find(marker);
  if (at == std::string::npos) return "";
  const auto begin = at + marker.size();
  const auto end = message.find_first_of(" \t\r\n", begin);
  std::string name = message.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
  while (!name.empty() && name.back() == '.') name.pop_back();
  return name;
}

// Turns whatever torch::jit::load threw (c10::Error for archive problems, torch::jit::ErrorReport,
// a plain std::exception, for script that does not compile) into one line a user can act on.
Error load_error(const std::string& path, const std::string& message) {
  const std::string subject = "model file '" + path + "'";
  const std::string op = unknown_operator(message);
  if (!op.empty()) {
    const std::string remedy = op.rfind("custom::conv_transpose2d", 0) == 0
                                   ? "link or dlopen libtconv.so before loading (see runtime/README.md)"
                                   : "load the library that registers it before loading";
    return Error(subject + " uses the operator " + op +
                     ", which is not registered in this process: " + remedy,
                 message);
  }
  if (is_damaged_archive_message(message)) {
    return Error(subject + " is truncated or corrupt: " + summarize_torch_message(message), message);
  }
  if (contains(message, "constants.pkl") || contains(message, "code/")) {
    return Error(subject + " is a zip archive but not a TorchScript model (a torch.save file? "
                     "models are written by torch.jit.save): " + summarize_torch_message(message),
                 message);
  }
  return Error("cannot load " + subject + ": " + summarize_torch_message(message), message);
}

std::string describe_signature(const c10::FunctionSchema& schema) {
  std::string text = schema.name() + "(";
  // Argument 0 is the module itself.
  for (size_t i = 1; i < schema.arguments().size(); ++i) {
    const auto& argument = schema.arguments()[i];
    text += (i > 1 ? ", " : "") + argument.type()->annotation_str() + " " + argument.name();
    if (argument.default_value()) text += "=...";
  }
  text += ") -> ";
  const auto& returns = schema.returns();
  if (returns.size() == 1) return text + returns[0].type()->annotation_str();
  text += "(";
  for (size_t i = 0; i < returns.size(); ++i) {
    text += (i ? ", " : "") + returns[i].type()->annotation_str();
  }
  return text + ")";
}

}  // namespace

Model::Model(const std::string& path, const LoadOptions& options)
    : path_(path), device_(parse_device(options.device)) {
  const std::vector<char> bytes = read_file_bytes(path, "model file");
  if (!looks_like_zip_archive(bytes)) {
    throw Error("model file '" + path + "' is not a TorchScript archive (" +
                describe_non_archive(bytes) + "); models are written by torch.jit.save");
  }
  try {
    std::istringstream stream(std::string(bytes.begin(), bytes.end()));
    module_ = torch::jit::load(stream, device_);
  } catch (const std::exception& e) {
    throw load_error(path, e.what());
  }

  if (options.freeze) {
    try {
      module_.eval();
      module_ = torch::jit::freeze(module_);
    } catch (const std::exception& e) {
      throw Error("cannot freeze model '" + path + "' (load it without freezing instead): " +
                      summarize_torch_message(e.what()),
                  e.what());
    }
    frozen_ = true;
  }
  if (options.optimize && frozen_) {
    try {
      module_ = torch::jit::optimize_for_inference(module_);
      optimized_ = true;
    } catch (const std::exception& e) {
      optimization_note_ = "optimize_for_inference failed on " + device_.str() + ": " +
                           summarize_torch_message(e.what());
    }
  } else if (options.optimize) {
    optimization_note_ = "optimize_for_inference needs a frozen model";
  }

  const auto method = module_.find_method("forward");
  if (!method) throw Error("model file '" + path + "' has no forward method");
  const c10::FunctionSchema& schema = method->function().getSchema();
  signature_ = describe_signature(schema);
  max_inputs_ = schema.arguments().size() - 1;
  min_inputs_ = 0;
  for (size_t i = 1; i < schema.arguments().size(); ++i) {
    if (!schema.arguments()[i].default_value()) min_inputs_ = i;
  }
}

void Model::check_inputs(const std::vector<c10::IValue>& inputs) const {
  if (inputs.size() < min_inputs_ || inputs.size() > max_inputs_) {
    const std::string expected = min_inputs_ == max_inputs_
                                     ? std::to_string(max_inputs_)
                                     : std::to_string(min_inputs_) + " to " + std::to_string(max_inputs_);
    throw Error("model '" + path_ + "' takes " + expected + " input(s), got " +
                std::to_string(inputs.size()) + ": " + signature_);
  }
  const auto method = module_.find_method("forward");
  const auto& arguments = method->function().getSchema().arguments();
  for (size_t i = 0; i < inputs.size(); ++i) {
    const auto& argument = arguments[i + 1];
    if (!inputs[i].type()->isSubtypeOf(*argument.type())) {
      throw Error("model '" + path_ + "': input " + std::to_string(i) + " (" + argument.name() +
                  ") must be " + argument.type()->annotation_str() + ", got " +
                  inputs[i].type()->annotation_str());
    }
  }
}

c10::IValue Model::forward(const std::vector<at::Tensor>& inputs) const {
  c10::InferenceMode inference_mode;
  std::vector<c10::IValue> stack;
  stack.reserve(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i].defined()) {
      throw Error("model '" + path_ + "': input " + std::to_string(i) + " is an undefined tensor");
    }
    stack.emplace_back(inputs[i].to(device_));
  }
  check_inputs(stack);
  try {
    // A copy of the handle, not of the module: forward is not const in libtorch's API, but
    // running it does not modify the module.
    torch::jit::Module module = module_;
    return module.forward(std::move(stack));
  } catch (const std::exception& e) {
    throw Error("model '" + path_ + "' failed on " + device_.str() + ": " +
                    summarize_torch_message(e.what()),
                e.what());
  }
}

const char* Model::plugin_version() { return tconv::version(); }

std::vector<at::Tensor> output_tensors(const c10::IValue& output) {
  std::vector<at::Tensor> tensors;
  if (output.isTensor()) {
    tensors.push_back(output.toTensor());
  } else if (output.isTuple() || output.isList()) {
    const auto items = output.isTuple() ? output.toTupleRef().elements().vec() : output.toListRef().vec();
    for (const auto& item : items) {
      for (auto& tensor : output_tensors(item)) tensors.push_back(std::move(tensor));
    }
  } else {
    throw Error("model output is a " + output.tagKind() + "; expected a tensor or a tuple or list of tensors");
  }
  return tensors;
}

}  // namespace runtime
}  // namespace tconv
