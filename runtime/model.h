// A TorchScript model loaded for inference: load once, then call forward from any number of
// threads.
//
// Thread safety: after construction a Model is never modified. forward() runs the module's
// forward method under c10::InferenceMode with a stack of its own; TorchScript's graph executor
// guards its one piece of shared mutable state (the optimised plan it builds on the first calls)
// with its own lock, so concurrent forward() calls on one Model are safe. Nothing else is shared
// between calls. What is NOT safe: mutating the underlying module (module() gives read access
// only) while forward() runs.
#pragma once

#include <ATen/core/ivalue.h>
#include <c10/core/Device.h>
#include <torch/csrc/jit/api/module.h>

#include <string>

#include "error.h"
#include <vector>

namespace tconv {
namespace runtime {

struct LoadOptions {
  // "cpu", "cuda" or "cuda:N": where the weights are loaded and forward runs.
  std::string device = "cpu";
  // torch::jit::freeze: weights become constants and the graph is simplified. A model exported
  // frozen loads the same either way.
  bool freeze = true;
  // torch::jit::optimize_for_inference after freezing (conv-bn folding, and on the CPU oneDNN
  // layouts for torch's own convolutions). Where it fails on a device the frozen model is kept
  // and optimization_note() says why.
  bool optimize = true;
};

class Model {
 public:
  // Loads a file written by torch.jit.save. Throws Error for: a missing or unreadable file, a file
  // that is not a TorchScript archive, a truncated or corrupt archive, an operator this process
  // does not know (custom::conv_transpose2d when libtconv is not loaded), a device that is not
  // available.
  explicit Model(const std::string& path, const LoadOptions& options = LoadOptions());

  // Runs forward on `inputs`, which are first moved to the model's device. Throws Error when the
  // number or kind of inputs does not match forward's signature, or when forward fails (wrong
  // shape or dtype: the message is the failing op's own). Safe to call concurrently.
  c10::IValue forward(const std::vector<at::Tensor>& inputs) const;

  const std::string& path() const { return path_; }
  const c10::Device& device() const { return device_; }
  // forward's signature without `self`, e.g. "forward(Tensor x) -> Tensor".
  const std::string& signature() const { return signature_; }
  size_t min_inputs() const { return min_inputs_; }
  size_t max_inputs() const { return max_inputs_; }
  bool frozen() const { return frozen_; }
  bool optimized() const { return optimized_; }
  // Empty, or why optimize_for_inference was not applied.
  const std::string& optimization_note() const { return optimization_note_; }
  // The version of the linked tconv plugin (see op/conv_transpose2d.h).
  static const char* plugin_version();

  const torch::jit::Module& module() const { return module_; }

 private:
  void check_inputs(const std::vector<c10::IValue>& inputs) const;

  std::string path_;
  c10::Device device_;
  torch::jit::Module module_;
  std::string signature_;
  size_t min_inputs_ = 0;
  size_t max_inputs_ = 0;
  bool frozen_ = false;
  bool optimized_ = false;
  std::string optimization_note_;
};

// The tensors in a forward result: the tensor itself, or those of a (nested) tuple or list, in
// order. Error for anything else (a model returning a dict or a string).
std::vector<at::Tensor> output_tensors(const c10::IValue& output);

}  // namespace runtime
}  // namespace tconv
