// Validated arguments of one conv_transpose2d call, shared by every backend.
//
// Each backend kernel starts with make_problem(...): it checks every argument (raising c10::Error
// with a message that names the argument and its value), adds the batch dimension to unbatched
// input and computes the geometry. finish() removes that dimension again. Backends never repeat
// these checks, so CPU, CUDA and Meta reject exactly the same inputs with the same messages.
#pragma once

#include <ATen/ATen.h>
#include <c10/util/Optional.h>

#include "geometry.h"

namespace tconv {

struct Problem {
  at::Tensor input;                // 4-D (a batch dimension added for unbatched input)
  at::Tensor weight;               // [in_channels, out_channels / groups, kh, kw]
  c10::optional<at::Tensor> bias;  // [out_channels] or none
  ConvTransposeGeometry geometry;
  bool unbatched = false;

  std::vector<int64_t> output_sizes() const;
  // The memory format the output takes: the input's suggested one, as torch's convolutions do.
  at::MemoryFormat output_memory_format() const;
  // An uninitialised output of the right shape, dtype, device and memory format.
  at::Tensor new_output() const;
  // Drops the batch dimension again for unbatched input.
  at::Tensor finish(at::Tensor output) const;
};

// Which dtypes a backend accepts; everything else is rejected with a message naming the dtype.
enum class Backend { CPU, CUDA, Meta };

Problem make_problem(const at::Tensor& input, const at::Tensor& weight,
                     const c10::optional<at::Tensor>& bias, at::IntArrayRef stride,
                     at::IntArrayRef padding, at::IntArrayRef output_padding, int64_t groups,
                     at::IntArrayRef dilation, Backend backend);

}  // namespace tconv
