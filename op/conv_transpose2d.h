// Public C++ entry point of tconv: custom::conv_transpose2d, called through the PyTorch dispatcher
// (so the CPU, CUDA or Meta kernel is chosen by the input's device, exactly as from Python or
// TorchScript). Same arguments, defaults and result as torch::nn::functional / at::conv_transpose2d.
#pragma once

#include <ATen/ATen.h>
#include <c10/util/Optional.h>

namespace tconv {

at::Tensor conv_transpose2d(const at::Tensor& input, const at::Tensor& weight,
                            const c10::optional<at::Tensor>& bias = c10::nullopt,
                            at::IntArrayRef stride = 1, at::IntArrayRef padding = 0,
                            at::IntArrayRef output_padding = 0, int64_t groups = 1,
                            at::IntArrayRef dilation = 1);

// The library's version string, e.g. "0.1.0". Linking a program against libtconv and calling this
// also guarantees the library is loaded (and the op registered) under --as-needed linking.
const char* version();

}  // namespace tconv
