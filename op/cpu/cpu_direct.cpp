#include "cpu_direct.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <vector>

namespace tconv {
namespace cpu {
namespace {

// Output columns per step: the accumulator tile is [kColumns][cout_g].
constexpr int64_t kColumns = 64;

template <typename T>
void run_direct_typed(const Problem& problem, at::Tensor& output) {
  const ConvTransposeGeometry& g = problem.geometry;
  const AxisGeometry& H = g.h;
  const AxisGeometry& W = g.w;
  const int64_t cin_g = g.in_channels_per_group(), cout_g = g.out_channels_per_group();
  const T* x = problem.input.data_ptr<T>();
  const auto xs = problem.input.strides();
  // [group][ci][kh][kw][co]: the innermost loop runs over contiguous output channels.
  const at::Tensor weight = problem.weight.reshape({g.groups, cin_g, cout_g, H.kernel, W.kernel})
                                .permute({0, 1, 3, 4, 2})
                                .contiguous();
  const T* w = weight.data_ptr<T>();
  const at::Tensor bias_t = problem.bias ? problem.bias->contiguous() : at::Tensor();
  const T* bias = bias_t.defined() ? bias_t.data_ptr<T>() : nullptr;
  T* y = output.data_ptr<T>();
  const auto ys = output.strides();

  // Per output column: its phase's taps and phase-space index (the taps of the column's phase
  // only, so huge strides cost nothing).
  std::vector<PhaseTaps> col_taps(W.out);
  std::vector<int64_t> col_q(W.out);
  for (int64_t ow = 0; ow < W.out; ++ow) {
    col_taps[ow] = W.taps((ow + W.padding) % W.stride);
    col_q[ow] = (ow + W.padding) / W.stride;
  }

  at::parallel_for(0, g.batch * g.groups * H.out, 1, [&](int64_t begin, int64_t end) {
    std::vector<T> acc(kColumns * cout_g);
    for (int64_t row = begin; row < end; ++row) {
      const int64_t oh = row % H.out;
      const int64_t grp = (row / H.out) % g.groups;
      const int64_t n = row / (H.out * g.groups);
      const PhaseTaps ht = H.taps((oh + H.padding) % H.stride);
      const int64_t qh = (oh + H.padding) / H.stride;
      for (int64_t ow0 = 0; ow0 < W.out; ow0 += kColumns) {
        const int64_t cols = std::min(kColumns, W.out - ow0);
        for (int64_t c = 0; c < cols; ++c)
          for (int64_t co = 0; co < cout_g; ++co)
            acc[c * cout_g + co] = bias ? bias[grp * cout_g + co] : T(0);
        for (int64_t jh = 0; jh < ht.tap_count; ++jh) {
          const int64_t ih = qh - ht.input_offset - jh * ht.input_step;
          if (ih < 0 || ih >= H.in) continue;
          const int64_t kh = ht.first_tap + jh * ht.tap_step;
          for (int64_t ci = 0; ci < cin_g; ++ci) {
            const T* x_row = x + n * xs[0] + (grp * cin_g + ci) * xs[1] + ih * xs[2];
            const T* w_row = w + ((grp * cin_g + ci) * H.kernel + kh) * W.kernel * cout_g;
            for (int64_t c = 0; c < cols; ++c) {
              const PhaseTaps& wt = col_taps[ow0 + c];
              T* a = acc.data() + c * cout_g;
              for (int64_t jw = 0; jw < wt.tap_count; ++jw) {
                const int64_t iw = col_q[ow0 + c] - wt.input_offset - jw * wt.input_step;
                if (iw < 0 || iw >= W.in) continue;
                const T xv = x_row[iw * xs[3]];
                const T* wv = w_row + (wt.first_tap + jw * wt.tap_step) * cout_g;
                for (int64_t co = 0; co < cout_g; ++co) a[co] += xv * wv[co];
              }
            }
          }
        }
        T* y_row = y + n * ys[0] + grp * cout_g * ys[1] + oh * ys[2] + ow0 * ys[3];
        for (int64_t c = 0; c < cols; ++c)
          for (int64_t co = 0; co < cout_g; ++co)
            y_row[co * ys[1] + c * ys[3]] = acc[c * cout_g + co];
      }
    }
  });
}

}  // namespace

void run_direct(const Problem& problem, at::Tensor& output) {
  AT_DISPATCH_FLOATING_TYPES(problem.input.scalar_type(), "tconv_conv_transpose2d_cpu_direct",
                             [&] { run_direct_typed<scalar_t>(problem, output); });
}

}  // namespace cpu
}  // namespace tconv
