// One output element computed from its own taps only: the fallback of kernels whose fast path
// multiplies input values by zero weights.
//
// The phase-block kernels pad every phase to the same taps (FFMA body) or give the mma N columns
// whose tap lies outside the kernel (tensor-core body), with zero weights. For finite input that
// adds exact zeros; for Inf or NaN it does not (0 x Inf = NaN), so a non-finite input value would
// reach outputs whose taps never read it. torch meets each input value only with the weights of
// its own taps, and so does exact_output. A kernel that sees a non-finite sum recomputes its tile
// with it (slow, and only where the data holds Inf or NaN); where the exact sum is non-finite too
// the result is what torch gives.
#pragma once

#include "element.cuh"
#include "launch.h"

namespace tconv {
namespace cuda {

// One output as torch defines it: bias plus the products of its own taps, accumulated in the
// kernels' accumulator type. The output is channel co_in_group of `group` in image n, at q-indices
// (qh, qw) of the phases whose taps are taps_h and taps_w: per axis (geometry.h), output index o
// has phase (o + padding) mod stride and q = (o + padding) div stride, and the phase's tap j reads
// input index q - input_offset - j * input_step. The caller finds the taps (divisions), so that
// the loops here only multiply and add; they stay rolled: this is a slow path, where few registers
// matter more than speed.
template <typename T>
__device__ __forceinline__ typename Accumulator<T>::type exact_output(const ConvArgs& args, int64_t n, int64_t group,
                                                                      int64_t co_in_group, const PhaseTaps& taps_h,
                                                                      int64_t qh, const PhaseTaps& taps_w, int64_t qw) {
  const ConvTransposeGeometry& g = args.geometry;
  const int64_t cin_g = g.in_channels_per_group(), cout_g = g.out_channels_per_group();
  const Strides4& xs = args.input_strides;
  const T* x = static_cast<const T*>(args.input) + n * xs.n + group * cin_g * xs.c;
  // [in_channels][cout_g][kh][kw]: the group's first input channel, this output channel.
  const T* w = static_cast<const T*>(args.weight) + (group * cin_g * cout_g + co_in_group) * g.h.kernel * g.w.kernel;
  const int64_t w_channel_step = cout_g * g.h.kernel * g.w.kernel;
  const T* bias = static_cast<const T*>(args.bias);
  using Acc = typename Accumulator<T>::type;
  Acc sum = bias != nullptr ? to_acc(load_readonly(bias + group * cout_g + co_in_group)) : Acc(0);
#pragma unroll 1
  for (int64_t jh = 0; jh < taps_h.tap_count; ++jh) {
    const int64_t ih = qh - taps_h.input_offset - jh * taps_h.input_step;
    if (ih < 0 || ih >= g.h.in) continue;
    const int64_t kh = taps_h.first_tap + jh * taps_h.tap_step;
#pragma unroll 1
    for (int64_t jw = 0; jw < taps_w.tap_count; ++jw) {
      const int64_t iw = qw - taps_w.input_offset - jw * taps_w.input_step;
      if (iw < 0 || iw >= g.w.in) continue;
      const int64_t kw = taps_w.first_tap + jw * taps_w.tap_step;
      const T* xc = x + ih * xs.h + iw * xs.w;
      const T* wc = w + kh * g.w.kernel + kw;
#pragma unroll 1
      for (int64_t c = 0; c < cin_g; ++c)
        sum = fma(to_acc(load_readonly(xc + c * xs.c)), to_acc(load_readonly(wc + c * w_channel_step)), sum);
    }
  }
  return sum;
}

}  // namespace cuda
}  // namespace tconv
