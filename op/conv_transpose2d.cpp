// The op's schema and its public C++ entry point. Kernels live in cpu/, cuda/ and meta/ and are
// reached only through the dispatcher.
#include "conv_transpose2d.h"

#include <ATen/core/dispatch/Dispatcher.h>
#include <torch/library.h>

namespace tconv {

// Same arguments, defaults and meaning as aten::conv_transpose2d.input. The sizes are declared
// int, not SymInt as aten's are in torch 2.x: torch.ops' Python binding broadcasts a bare int
// (stride=2) only for int[2] (seen on torch 1.13 and 2.11), and callers of
// torch.nn.functional.conv_transpose2d pass bare ints all the time.
static constexpr const char* kSchema =
    "conv_transpose2d(Tensor input, Tensor weight, Tensor? bias=None, int[2] stride=1, "
    "int[2] padding=0, int[2] output_padding=0, int groups=1, int[2] dilation=1) -> Tensor";

// FRAGMENT, not LIBRARY: "custom" is a common namespace and two TORCH_LIBRARY blocks for one
// namespace fail at load.
TORCH_LIBRARY_FRAGMENT(custom, m) { m.def(kSchema); }

at::Tensor conv_transpose2d(const at::Tensor& input, const at::Tensor& weight,
                            const c10::optional<at::Tensor>& bias, at::IntArrayRef stride,
                            at::IntArrayRef padding, at::IntArrayRef output_padding,
                            int64_t groups, at::IntArrayRef dilation) {
  static const auto op =
      c10::Dispatcher::singleton()
          .findSchemaOrThrow("custom::conv_transpose2d", "")
          .typed<at::Tensor(const at::Tensor&, const at::Tensor&, const c10::optional<at::Tensor>&,
                            at::IntArrayRef, at::IntArrayRef, at::IntArrayRef, int64_t,
                            at::IntArrayRef)>();
  return op.call(input, weight, bias, stride, padding, output_padding, groups, dilation);
}

const char* version() { return TCONV_VERSION; }

}  // namespace tconv
