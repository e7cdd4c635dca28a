// Output size and phase decomposition of a 2-D transposed convolution, per spatial axis.
//
// Shared by every backend (CPU, CUDA host code, CUDA device code), so it is plain C++ with no torch
// types and every function is usable on the device.
//
// One axis (apply to H and W independently):
//   out = (in - 1)*stride - 2*padding + dilation*(kernel - 1) + output_padding + 1
//   input index ih and tap i land on output index  oh = ih*stride - padding + i*dilation.
// For output index oh let t = oh + padding, phase r = t mod stride, q = t div stride. Tap i reaches
// phase r iff i*dilation = r (mod stride); then ih = q - (i*dilation - r)/stride. With
// g = gcd(stride, dilation) a live phase (r a multiple of g) uses the taps i0, i0 + stride/g, ...,
// and consecutive taps step the input index back by dilation/g: within a phase the op is a
// stride-1 correlation of the original input. Phases without taps receive only the bias.
#pragma once

#include <cstdint>

#if defined(__CUDACC__)
#define TCONV_HOST_DEVICE __host__ __device__ __forceinline__
#else
#define TCONV_HOST_DEVICE inline
#endif

namespace tconv {

TCONV_HOST_DEVICE int64_t gcd64(int64_t a, int64_t b) {
  while (b != 0) {
    const int64_t t = a % b;
    a = b;
    b = t;
  }
  return a;
}

TCONV_HOST_DEVICE int64_t ceil_div_nonneg(int64_t a, int64_t b) { return (a + b - 1) / b; }

TCONV_HOST_DEVICE int64_t transposed_output_size(int64_t in, int64_t kernel, int64_t stride,
                                                 int64_t padding, int64_t dilation,
                                                 int64_t output_padding) {
  return (in - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1;
}

// The taps of one phase on one axis: taps first_tap, first_tap + tap_step, ... (tap_count of them);
// tap number j reads input index  q - input_offset - j*input_step  for output q-index q.
struct PhaseTaps {
  int64_t first_tap;     // -1 when the phase has no taps (bias only)
  int64_t tap_count;
  int64_t tap_step;      // stride / gcd(stride, dilation)
  int64_t input_offset;  // (first_tap*dilation - phase) / stride
  int64_t input_step;    // dilation / gcd(stride, dilation)
};

struct AxisGeometry {
  int64_t in = 1, out = 1, kernel = 1, stride = 1, padding = 0, dilation = 1;

  AxisGeometry() = default;
  TCONV_HOST_DEVICE AxisGeometry(int64_t in_, int64_t kernel_, int64_t stride_, int64_t padding_,
                                 int64_t dilation_, int64_t output_padding_)
      : in(in_), out(transposed_output_size(in_, kernel_, stride_, padding_, dilation_, output_padding_)),
        kernel(kernel_), stride(stride_), padding(padding_), dilation(dilation_) {}

  TCONV_HOST_DEVICE PhaseTaps taps(int64_t phase) const {
    const int64_t g = gcd64(stride, dilation);
    PhaseTaps t{-1, 0, stride / g, 0, dilation / g};
    if (phase % g != 0) return t;
    // Smallest i >= 0 with i*dilation = phase (mod stride): i0 = (phase/g) * inverse(d/g) mod (s/g).
    // tap_step <= stride is small, so a direct search is cheaper than a modular inverse.
    for (int64_t i = 0; i < t.tap_step && i < kernel; ++i) {
      if ((i * dilation) % stride == phase) {
        t.first_tap = i;
        break;
      }
    }
    if (t.first_tap < 0) return t;
    t.tap_count = ceil_div_nonneg(kernel - t.first_tap, t.tap_step);
    t.input_offset = (t.first_tap * dilation - phase) / stride;
    return t;
  }

  // Output indices of phase r are  q*stride + r - padding  for q in [first_q(r), first_q(r) + count(r)).
  TCONV_HOST_DEVICE int64_t phase_first_q(int64_t phase) const {
    const int64_t lo = padding - phase;  // oh >= 0  <=>  q*stride >= padding - phase
    return lo <= 0 ? 0 : ceil_div_nonneg(lo, stride);
  }
  TCONV_HOST_DEVICE int64_t phase_output_count(int64_t phase) const {
    const int64_t q0 = phase_first_q(phase);
    const int64_t last = out - 1 + padding - phase;  // oh <= out-1
    if (last < 0) return 0;
    const int64_t q1 = last / stride;  // inclusive
    return q1 >= q0 ? q1 - q0 + 1 : 0;
  }
  // Output index of the k-th element of phase r.
  TCONV_HOST_DEVICE int64_t phase_output_index(int64_t phase, int64_t k) const {
    return (phase_first_q(phase) + k) * stride + phase - padding;
  }
  // Largest possible phase output count: ceil(out / stride).
  TCONV_HOST_DEVICE int64_t max_phase_output_count() const { return ceil_div_nonneg(out, stride); }
};

// Everything a kernel needs to know about the problem's shape, in plain integers.
struct ConvTransposeGeometry {
  int64_t batch = 0, in_channels = 0, out_channels = 0, groups = 1;
  AxisGeometry h, w;

  TCONV_HOST_DEVICE int64_t in_channels_per_group() const { return in_channels / groups; }
  TCONV_HOST_DEVICE int64_t out_channels_per_group() const { return out_channels / groups; }
  // Useful multiply-adds: every (input pixel, tap, in channel, out channel of its group) once.
  TCONV_HOST_DEVICE int64_t multiply_adds() const {
    return batch * in_channels * out_channels_per_group() * h.in * w.in * h.kernel * w.kernel;
  }
};

}  // namespace tconv
