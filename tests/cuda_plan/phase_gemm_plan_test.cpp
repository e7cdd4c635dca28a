// Host test of op/cuda/phase_gemm_plan.h (the phase GEMM's boxes, tap corners, tap kernel indices
// and the input windows its boxes are loaded into) against a brute-force transposed convolution;
// plain C++, so CI checks the kernel's index math without a GPU. CTest runs
// `test_phase_gemm_plan 300`; the argument is the number of random geometries (default 1000).
// For random geometries the phase GEMM supports (dilation 1, kernel >= stride: strides 1-4,
// kernels up to 7, paddings up to the kernel, output padding, groups, batch, sizes 1-21) it
// computes the layer the kernel's way, in exact integer arithmetic: per group, phase and 8 x 8 box
// of the phase grid (box_grid, box_origin), per tap (phase_axis: tap_count, kernel_index) the
// input block at the tap's corner (input_corner) read through the tap's input window
// (input_window: boxes that start inside the input, zero past its end, filled in TMA's box order
// and read where the kernel reads them, window_offset; an unloaded box holds a poison value;
// pixels outside the input read zero), times the tap's weights; each box pixel then stored to its
// output pixel (geometry.h's phase_output_index) when it lies in the phase and the batch. It checks
// that every in-input pixel lies in its window and that every output element is written exactly
// once and equals the brute-force result. A second walk (walk_shifted) computes each layer the way
// session 18's design would, every tap a shift of one K-major window (shift_span), with the same
// checks.
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "phase_gemm_plan.h"
#include "plan_check.h"

using namespace tconv;
using namespace tconv::cuda::phase_gemm;

struct Layer {
  ConvTransposeGeometry g;
  std::vector<int64_t> x, w, y;  // NCHW input, [cin][cout_g][kh][kw] weights, NCHW output
};

static int64_t uniform(std::mt19937_64& rng, int64_t lo, int64_t hi) {
  return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
}

static AxisGeometry random_axis(std::mt19937_64& rng) {
  for (;;) {
    const int64_t stride = uniform(rng, 1, 4), kernel = uniform(rng, stride, 7);
    const int64_t in = uniform(rng, 1, 21), padding = uniform(rng, 0, kernel);
    const int64_t output_padding = uniform(rng, 0, stride - 1);
    const AxisGeometry a(in, kernel, stride, padding, 1, output_padding);
    if (a.out >= 1) return a;
  }
}

// Brute force: every (input pixel, tap) adds to the output pixel it reaches.
static std::vector<int64_t> reference(const Layer& L) {
  const ConvTransposeGeometry& g = L.g;
  const int64_t cin_g = g.in_channels_per_group(), cout_g = g.out_channels_per_group();
  std::vector<int64_t> y(g.batch * g.out_channels * g.h.out * g.w.out, 0);
  for (int64_t n = 0; n < g.batch; ++n)
    for (int64_t ci = 0; ci < g.in_channels; ++ci)
      for (int64_t ih = 0; ih < g.h.in; ++ih)
        for (int64_t iw = 0; iw < g.w.in; ++iw)
          for (int64_t co = 0; co < cout_g; ++co)
            for (int64_t kh = 0; kh < g.h.kernel; ++kh)
              for (int64_t kw = 0; kw < g.w.kernel; ++kw) {
                const int64_t oh = ih * g.h.stride - g.h.padding + kh, ow = iw * g.w.stride - g.w.padding + kw;
                if (oh < 0 || oh >= g.h.out || ow < 0 || ow >= g.w.out) continue;
                const int64_t group = ci / cin_g;
                y[((n * g.out_channels + group * cout_g + co) * g.h.out + oh) * g.w.out + ow] +=
                    L.x[((n * g.in_channels + ci) * g.h.in + ih) * g.w.in + iw] *
                    L.w[((ci * cout_g + co) * g.h.kernel + kh) * g.w.kernel + kw];
              }
  return y;
}

// What an unloaded box would hold: far above any sum of products of the test's values.
constexpr int64_t kPoison = int64_t(1) << 40;

// The kernel's way: phases, boxes, taps, channels; the epilogue's stores counted.
static void walk(const Layer& L, std::vector<int64_t>* y, std::vector<int>* writes) {
  const ConvTransposeGeometry& g = L.g;
  const int64_t cin_g = g.in_channels_per_group(), cout_g = g.out_channels_per_group();
  const BoxGrid grid = box_grid(g);
  const int boxes = static_cast<int>(g.batch) * grid.rows * grid.cols;
  for (int64_t group = 0; group < g.groups; ++group)
    for (int64_t phase_h = 0; phase_h < g.h.stride; ++phase_h)
      for (int64_t phase_w = 0; phase_w < g.w.stride; ++phase_w) {
        const PhaseAxis ah = phase_axis(g.h, phase_h), aw = phase_axis(g.w, phase_w);
        CHECK(ah.tap_count >= 1 && aw.tap_count >= 1, "phase (%lld, %lld) without taps", (long long)phase_h,
              (long long)phase_w);
        for (int box = 0; box < boxes; ++box) {
          const BoxOrigin o = box_origin(grid, box);
          for (int64_t co = 0; co < cout_g; ++co) {
            int64_t acc[kBoxPixels] = {};
            for (int j_h = 0; j_h < ah.tap_count; ++j_h)
              for (int j_w = 0; j_w < aw.tap_count; ++j_w) {
                const int y0 = ah.input_corner(o.k_h, j_h), x0 = aw.input_corner(o.k_w, j_w);
                const int kh = ah.kernel_index(j_h), kw = aw.kernel_index(j_w);
                CHECK(kh >= 0 && kh < g.h.kernel && kw >= 0 && kw < g.w.kernel, "tap (%d, %d)", kh, kw);
                const InputWindow win =
                    input_window(x0, y0, static_cast<int>(g.w.in), static_cast<int>(g.h.in));
                CHECK(win.x >= 0 && win.x % kBoxSide == 0 && win.x < g.w.in && win.y >= 0 && win.y < g.h.in,
                      "window (%d, %d) of corner (%d, %d)", win.x, win.y, x0, y0);
                // The window as TMA fills it, box by box in the box's own order (column fastest,
                // then channel, then row: the (W, C, H, N) map): past the input's end zero, an
                // unloaded second box a poison value. The pixels then read it where the kernel does
                // (window_offset).
                const int channels = static_cast<int>(cin_g);
                std::vector<int64_t> window(2 * kBoxPixels * channels, kPoison);
                for (int box = 0; box < 2; ++box) {
                  if (o.image >= g.batch || (box == 1 && !win.second_box)) continue;
                  for (int r = 0; r < kBoxSide; ++r)
                    for (int c = 0; c < channels; ++c)
                      for (int col = 0; col < kBoxSide; ++col) {
                        const int64_t ih = win.y + r, iw = win.x + box * kBoxSide + col;
                        const int64_t ci = group * cin_g + c;
                        window[(box * kBoxPixels * channels) + (r * channels + c) * kBoxSide + col] =
                            ih >= g.h.in || iw >= g.w.in
                                ? 0
                                : L.x[((o.image * g.in_channels + ci) * g.h.in + ih) * g.w.in + iw];
                      }
                }
                for (int c = 0; c < channels; ++c) {
                  const int64_t ci = group * cin_g + c;
                  const int64_t wv = L.w[((ci * cout_g + co) * g.h.kernel + kh) * g.w.kernel + kw];
                  for (int q = 0; q < kBoxPixels; ++q) {
                    // The consumer's predicate: outside the input (or the batch) reads 0.
                    const int64_t ih = y0 + q / kBoxSide, iw = x0 + q % kBoxSide;
                    if (o.image >= g.batch || ih < 0 || ih >= g.h.in || iw < 0 || iw >= g.w.in) continue;
                    const int wy = static_cast<int>(ih - win.y), wx = static_cast<int>(iw - win.x);
                    CHECK(wy >= 0 && wy < kBoxSide && wx >= 0 && wx < 2 * kBoxSide,
                          "pixel (%lld, %lld) outside its window (%d, %d)", (long long)ih, (long long)iw, win.y,
                          win.x);
                    if (wy < 0 || wy >= kBoxSide || wx < 0 || wx >= 2 * kBoxSide) continue;
                    acc[q] += window[window_offset(wy, wx, c, channels)] * wv;
                  }
                }
              }
            for (int q = 0; q < kBoxPixels; ++q) {
              const int64_t k_h = o.k_h + q / kBoxSide, k_w = o.k_w + q % kBoxSide;
              if (o.image >= g.batch || k_h >= g.h.phase_output_count(phase_h) ||
                  k_w >= g.w.phase_output_count(phase_w))
                continue;
              const int64_t oh = g.h.phase_output_index(phase_h, k_h), ow = g.w.phase_output_index(phase_w, k_w);
              CHECK(oh >= 0 && oh < g.h.out && ow >= 0 && ow < g.w.out, "output (%lld, %lld)", (long long)oh,
                    (long long)ow);
              if (oh < 0 || oh >= g.h.out || ow < 0 || ow >= g.w.out) continue;
              const int64_t at = ((o.image * g.out_channels + group * cout_g + co) * g.h.out + oh) * g.w.out + ow;
              (*y)[at] = acc[q];
              ++(*writes)[at];
            }
          }
        }
      }
}

// Session 18's design, taps as shifts of one window (shift_span): per group and box, the window
// of every phase's taps, one copy per column shift (zero outside the input), as a transposing
// producer would store it K-major (slot = row * kBoxSide + column); each phase's tap then reads the
// 64 consecutive slots from its start, as a wgmma descriptor would. Checks that every tap's slots
// lie in the window and the layer against brute force, like walk.
static void walk_shifted(const Layer& L, std::vector<int64_t>* y, std::vector<int>* writes) {
  const ConvTransposeGeometry& g = L.g;
  const int64_t cin_g = g.in_channels_per_group(), cout_g = g.out_channels_per_group();
  const BoxGrid grid = box_grid(g);
  const ShiftSpan span_h = shift_span(g.h), span_w = shift_span(g.w);
  const int rows = kBoxSide + span_h.count - 1, slots = rows * kBoxSide;
  for (int64_t group = 0; group < g.groups; ++group)
    for (int box = 0; box < static_cast<int>(g.batch) * grid.rows * grid.cols; ++box) {
      const BoxOrigin o = box_origin(grid, box);
      // copies[(shift_w - first_w) * slots * cin_g + slot * cin_g + c]
      std::vector<int64_t> copies(span_w.count * slots * cin_g);
      for (int dx = 0; dx < span_w.count; ++dx)
        for (int slot = 0; slot < slots; ++slot)
          for (int64_t c = 0; c < cin_g; ++c) {
            const int64_t ih = o.k_h + span_h.first + slot / kBoxSide;
            const int64_t iw = o.k_w + span_w.first + dx + slot % kBoxSide;
            const int64_t ci = group * cin_g + c;
            copies[(dx * slots + slot) * cin_g + c] =
                ih < 0 || ih >= g.h.in || iw < 0 || iw >= g.w.in
                    ? 0
                    : L.x[((o.image * g.in_channels + ci) * g.h.in + ih) * g.w.in + iw];
          }
      for (int64_t phase_h = 0; phase_h < g.h.stride; ++phase_h)
        for (int64_t phase_w = 0; phase_w < g.w.stride; ++phase_w) {
          const PhaseAxis ah = phase_axis(g.h, phase_h), aw = phase_axis(g.w, phase_w);
          for (int64_t co = 0; co < cout_g; ++co) {
            int64_t acc[kBoxPixels] = {};
            for (int j_h = 0; j_h < ah.tap_count; ++j_h)
              for (int j_w = 0; j_w < aw.tap_count; ++j_w) {
                const int start = (ah.input_corner(0, j_h) - span_h.first) * kBoxSide;
                const int copy = aw.input_corner(0, j_w) - span_w.first;
                CHECK(start >= 0 && start + kBoxPixels <= slots && copy >= 0 && copy < span_w.count,
                      "tap (%d, %d): slots %d.. of %d, copy %d of %d", j_h, j_w, start, slots, copy, span_w.count);
                if (start < 0 || start + kBoxPixels > slots || copy < 0 || copy >= span_w.count) continue;
                const int kh = ah.kernel_index(j_h), kw = aw.kernel_index(j_w);
                for (int64_t c = 0; c < cin_g; ++c) {
                  const int64_t ci = group * cin_g + c;
                  const int64_t wv = L.w[((ci * cout_g + co) * g.h.kernel + kh) * g.w.kernel + kw];
                  for (int m = 0; m < kBoxPixels; ++m) acc[m] += copies[(copy * slots + start + m) * cin_g + c] * wv;
                }
              }
            for (int m = 0; m < kBoxPixels; ++m) {
              const int64_t k_h = o.k_h + m / kBoxSide, k_w = o.k_w + m % kBoxSide;
              if (k_h >= g.h.phase_output_count(phase_h) || k_w >= g.w.phase_output_count(phase_w)) continue;
              const int64_t oh = g.h.phase_output_index(phase_h, k_h), ow = g.w.phase_output_index(phase_w, k_w);
              const int64_t at = ((o.image * g.out_channels + group * cout_g + co) * g.h.out + oh) * g.w.out + ow;
              (*y)[at] = acc[m];
              ++(*writes)[at];
            }
          }
        }
    }
}

int main(int argc, char** argv) {
  const int count = argc > 1 ? std::atoi(argv[1]) : 1000;
  std::mt19937_64 rng(0x9A5E);
  for (int i = 0; i < count; ++i) {
    Layer L;
    ConvTransposeGeometry& g = L.g;
    g.batch = uniform(rng, 1, 3);
    g.groups = uniform(rng, 1, 2);
    g.in_channels = g.groups * uniform(rng, 1, 3);
    g.out_channels = g.groups * uniform(rng, 1, 3);
    g.h = random_axis(rng);
    g.w = random_axis(rng);
    CHECK(axis_supported(g.h) && axis_supported(g.w), "geometry %d", i);
    L.x.resize(g.batch * g.in_channels * g.h.in * g.w.in);
    L.w.resize(g.in_channels * g.out_channels_per_group() * g.h.kernel * g.w.kernel);
    for (auto& v : L.x) v = uniform(rng, -9, 9);
    for (auto& v : L.w) v = uniform(rng, -9, 9);
    const std::vector<int64_t> ref = reference(L);
    for (auto* walker : {&walk, &walk_shifted}) {
      std::vector<int64_t> y(ref.size(), 0);
      std::vector<int> writes(ref.size(), 0);
      walker(L, &y, &writes);
      long bad_writes = 0, bad_values = 0;
      for (size_t e = 0; e < ref.size(); ++e) {
        bad_writes += writes[e] != 1;
        bad_values += writes[e] == 1 && y[e] != ref[e];
      }
      CHECK(bad_writes == 0 && bad_values == 0,
            "geometry %d, %s: %ld outputs not written once, %ld wrong (in %lldx%lld, k %lldx%lld, s %lldx%lld, "
            "p %lldx%lld, out %lldx%lld)",
            i, walker == &walk ? "boxes" : "shifted window", bad_writes, bad_values, (long long)g.h.in,
            (long long)g.w.in, (long long)g.h.kernel, (long long)g.w.kernel, (long long)g.h.stride,
            (long long)g.w.stride, (long long)g.h.padding, (long long)g.w.padding, (long long)g.h.out,
            (long long)g.w.out);
    }
  }
  // DCGAN's k4 s2 p1: shifts -1, 0 and +1 on each axis, so 3 copies of a 10-row window.
  const ShiftSpan dcgan = shift_span(AxisGeometry(8, 4, 2, 1, 1, 0));
  CHECK(dcgan.first == -1 && dcgan.count == 3, "DCGAN span %d + %d", dcgan.first, dcgan.count);
  // Unsupported axes are refused: dilation 2, kernel below the stride.
  CHECK(!axis_supported(AxisGeometry(8, 3, 1, 0, 2, 0)), "dilation 2 accepted");
  CHECK(!axis_supported(AxisGeometry(8, 1, 2, 0, 1, 0)), "kernel 1 < stride 2 accepted");
  std::printf("%ld checks, %ld failures over %d geometries\n", g_checks, g_failures, count);
  return g_failures == 0 ? 0 : 1;
}
