// CPU kernel: phase-decomposed transposed convolution.
//
// Work is split over (batch, group, output row). For one output row the vertical phase fixes which
// kernel rows (taps) contribute and from which input rows; every horizontal phase likewise fixes the
// kernel columns. A row accumulator starts at the bias, gathers tap * input products for the taps
// that exist (never multiplying inserted zeros) and is then written to the output once, so
// bias-only phases and every other element are written exactly one time.
#include <ATen/Parallel.h>
#include <torch/library.h>

#include <vector>

#include "../problem.h"

namespace tconv {
namespace {

template <typename scalar_t>
void run_cpu(const Problem& problem, at::Tensor& output) {
  const ConvTransposeGeometry& g = problem.geometry;
  const AxisGeometry& H = g.h;
  const AxisGeometry& W = g.w;
  const int64_t cin_g = g.in_channels_per_group();
  const int64_t cout_g = g.out_channels_per_group();

  const scalar_t* x = problem.input.data_ptr<scalar_t>();
  const auto xs = problem.input.strides();
  // Weight packed as [group][ci][kh][kw][co] so the innermost loop runs over contiguous channels.
  const at::Tensor weight_packed =
      problem.weight.view({g.groups, cin_g, cout_g, H.kernel, W.kernel})
          .permute({0, 1, 3, 4, 2})
          .contiguous();
  const scalar_t* wp = weight_packed.data_ptr<scalar_t>();
  const at::Tensor bias = problem.bias ? problem.bias->contiguous() : at::Tensor();
  const scalar_t* b = bias.defined() ? bias.data_ptr<scalar_t>() : nullptr;
  scalar_t* y = output.data_ptr<scalar_t>();
  const auto ys = output.strides();

  // Per horizontal phase, its taps: loop bounds that the row loop reuses.
  std::vector<PhaseTaps> w_taps(W.phase_count());
  for (int64_t r = 0; r < W.phase_count(); ++r) w_taps[r] = W.taps(r);

  const int64_t rows = g.batch * g.groups * H.out;
  at::parallel_for(0, rows, 1, [&](int64_t begin, int64_t end) {
    // Accumulator for one output row: [Wo][cout_g], channel-innermost.
    std::vector<scalar_t> acc(W.out * cout_g);
    for (int64_t row = begin; row < end; ++row) {
      const int64_t oh = row % H.out;
      const int64_t group = (row / H.out) % g.groups;
      const int64_t n = row / (H.out * g.groups);

      for (int64_t ow = 0; ow < W.out; ++ow)
        for (int64_t co = 0; co < cout_g; ++co)
          acc[ow * cout_g + co] = b ? b[group * cout_g + co] : scalar_t(0);

      const int64_t th = oh + H.padding;
      const PhaseTaps ht = H.taps(th % H.stride);
      for (int64_t jh = 0; jh < ht.tap_count; ++jh) {
        const int64_t ih = th / H.stride - ht.input_offset - jh * ht.input_step;
        if (ih < 0 || ih >= H.in) continue;
        const int64_t kh = ht.first_tap + jh * ht.tap_step;
        for (int64_t ci = 0; ci < cin_g; ++ci) {
          const scalar_t* x_row = x + n * xs[0] + (group * cin_g + ci) * xs[1] + ih * xs[2];
          const scalar_t* w_ci = wp + ((group * cin_g + ci) * H.kernel + kh) * W.kernel * cout_g;
          for (int64_t rw = 0; rw < W.stride; ++rw) {
            const PhaseTaps& wt = w_taps[rw];
            const int64_t count = W.phase_output_count(rw);
            const int64_t q0 = W.phase_first_q(rw);
            for (int64_t jw = 0; jw < wt.tap_count; ++jw) {
              const int64_t kw = wt.first_tap + jw * wt.tap_step;
              const scalar_t* w_tap = w_ci + kw * cout_g;
              const int64_t shift = wt.input_offset + jw * wt.input_step;  // iw = q - shift
              // Valid k: 0 <= q0 + k - shift < W.in.
              const int64_t k_begin = std::max<int64_t>(0, shift - q0);
              const int64_t k_end = std::min<int64_t>(count, W.in + shift - q0);
              for (int64_t k = k_begin; k < k_end; ++k) {
                const int64_t ow = (q0 + k) * W.stride + rw - W.padding;
                const scalar_t xv = x_row[(q0 + k - shift) * xs[3]];
                scalar_t* a = acc.data() + ow * cout_g;
                for (int64_t co = 0; co < cout_g; ++co) a[co] += xv * w_tap[co];
              }
            }
          }
        }
      }

      scalar_t* y_row = y + n * ys[0] + group * cout_g * ys[1] + oh * ys[2];
      for (int64_t ow = 0; ow < W.out; ++ow)
        for (int64_t co = 0; co < cout_g; ++co) y_row[co * ys[1] + ow * ys[3]] = acc[ow * cout_g + co];
    }
  });
}

at::Tensor conv_transpose2d_cpu(const at::Tensor& input, const at::Tensor& weight,
                                const c10::optional<at::Tensor>& bias, at::IntArrayRef stride,
                                at::IntArrayRef padding, at::IntArrayRef output_padding,
                                int64_t groups, at::IntArrayRef dilation) {
  const Problem problem = make_problem(input, weight, bias, stride, padding, output_padding,
                                       groups, dilation, Backend::CPU);
  at::Tensor output = problem.new_output();
  if (output.numel() == 0) return problem.finish(output);
  AT_DISPATCH_FLOATING_TYPES(problem.input.scalar_type(), "tconv_conv_transpose2d_cpu",
                             [&] { run_cpu<scalar_t>(problem, output); });
  return problem.finish(output);
}

}  // namespace

TORCH_LIBRARY_IMPL(custom, CPU, m) { m.impl("conv_transpose2d", &conv_transpose2d_cpu); }

}  // namespace tconv
