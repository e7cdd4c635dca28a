// Host test of op/cuda/window_plan.h (the window GEMM's index math) against brute force; plain C++,
// so CI checks the kernel's addressing without a GPU. CTest runs `test_window_plan 400`; the
// argument is the number of random geometries (default 2000).
// For random geometries (strides 1-6, dilations 1-4, kernels 1-7 per axis, paddings, output
// padding, groups, batch) and every tile shape of every block config (N64/N128/Small, TF32/16-bit
// and 3xTF32 block heights, every column count C), it walks the launch grid as the kernel does and
// checks:
//   - every output element is written by exactly one (block, tile pixel), by the phase it belongs to,
//     and blocks past their phase's tiles exit;
//   - for every tap of the phase, the window pixel the kernel reads (lane row + m16 tile offset +
//     tap offset, computed exactly as the kernel computes them) holds exactly the input pixel the
//     brute-force transposed convolution multiplies with that weight, or lies outside the input
//     (staged as zero) exactly when that input pixel does; and the phase's taps are exactly the
//     kernel taps that reach the output pixel;
//   - every index computed lies inside what the plan allocates (window rows < WP32 <= wp32_max,
//     taps <= taps_max, stage/table/epilogue bytes, packed-weight offsets, channel indices).
// And for the plan make_window_plan chooses: smem within the device limits.
// The wgmma kernel's packed tiles (packed_plane) get the same walk for R = 4 and several C: every
// output element written once, each tap's window position inside the tile's window and holding the
// brute-force input pixel of the same image (or none), the 32-bit plane_pixel and its advance()
// agreeing with the 64-bit decomposition.
// The wgmma kernel's raw path (raw_rows) for R = 4, several C and both run widths: every tile's
// staged window starts at an aligned column, covers the window within one run, holds each window
// pixel at r * width + shift + c as the copy of its run places it, stays within the plan's bound,
// and (with rows of whole runs) each run lies entirely inside or outside its input row.
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "window_plan.h"
#include "plan_check.h"

using namespace tconv;
using namespace tconv::cuda::window;

struct Shape {
  int bm, bn, mt;  // block tile and m16 tiles per warp (the kernel's Tile<>)
};
// window_gemm.cu Tile<CFG, Split>: (BM, BN, MT).
static const Shape kShapes[] = {
    {256, 8, 2},    // Small (both)
    {256, 64, 4},   // N64
    {128, 64, 4},   // N64 3xTF32
    {128, 128, 4},  // N128
    {64, 128, 2},   // N128 3xTF32
};

static std::string describe(const ConvTransposeGeometry& g) {
  char b[512];
  std::snprintf(b, sizeof b,
                "N=%lld Cin=%lld Cout=%lld groups=%lld H: in=%lld k=%lld s=%lld p=%lld d=%lld out=%lld  W: in=%lld "
                "k=%lld s=%lld p=%lld d=%lld out=%lld",
                (long long)g.batch, (long long)g.in_channels, (long long)g.out_channels, (long long)g.groups,
                (long long)g.h.in, (long long)g.h.kernel, (long long)g.h.stride, (long long)g.h.padding,
                (long long)g.h.dilation, (long long)g.h.out, (long long)g.w.in, (long long)g.w.kernel,
                (long long)g.w.stride, (long long)g.w.padding, (long long)g.w.dilation, (long long)g.w.out);
  return b;
}

// Brute force: the kernel taps that reach output pixel (oh, ow).
static int taps_reaching(const ConvTransposeGeometry& g, int64_t oh, int64_t ow) {
  int reach = 0;
  for (int64_t kh = 0; kh < g.h.kernel; ++kh)
    for (int64_t kw = 0; kw < g.w.kernel; ++kw) {
      const int64_t th_ = oh + g.h.padding - kh * g.h.dilation, tw_ = ow + g.w.padding - kw * g.w.dilation;
      if (th_ % g.h.stride == 0 && tw_ % g.w.stride == 0) ++reach;
    }
  return reach;
}

// Brute force: kernel tap (kh, kw) reaches output pixel (oh, ow) from input pixel (ih, iw).
static void check_tap_input(const ConvTransposeGeometry& g, int64_t oh, int64_t ow, int64_t kh, int64_t kw,
                            int64_t ih, int64_t iw, const char* layout) {
  const int64_t th_ = oh + g.h.padding - kh * g.h.dilation, tw_ = ow + g.w.padding - kw * g.w.dilation;
  CHECK(th_ % g.h.stride == 0 && tw_ % g.w.stride == 0, "%s: tap reaches pixel", layout);
  CHECK(ih * g.h.stride == th_ && iw * g.w.stride == tw_, "%s: input pixel of tap (%lld,%lld): got (%lld,%lld)", layout,
        (long long)kh, (long long)kw, (long long)ih, (long long)iw);
}

// Walks the grid of one (shape, C) as the kernel does. kc, cin_words, cout_padded and the stage
// sizes come from a plan-like computation for this shape (sizes checked against indices).
static void check_shape(const ConvTransposeGeometry& g, const Shape& sh, int C, int kc, int P) {
  const AxisGeometry& H = g.h;
  const AxisGeometry& W = g.w;
  const int R = sh.bm / C;
  int log2_c = 0;
  while ((1 << log2_c) < C) ++log2_c;
  const int64_t phases = H.stride * W.stride;
  // Sizes as make_window_plan computes them.
  int64_t tiles_r = 0, tiles_c = 0, wp32_max = 0, taps_max = 0;
  for (int64_t ph = 0; ph < phases; ++ph) {
    const PhaseWindow p = phase_window(H, W, ph / W.stride, ph % W.stride, R, C);
    tiles_r = std::max(tiles_r, p.tiles_r);
    tiles_c = std::max(tiles_c, p.tiles_c);
    if (p.taps == 0) continue;
    wp32_max = std::max(wp32_max, window_pixels32(p));
    taps_max = std::max(taps_max, p.taps);
  }
  int64_t a_bytes, b_bytes, epi;
  const int64_t smem = plan_smem(wp32_max, taps_max, sh.bn, sh.bm, kc, &a_bytes, &b_bytes, &epi);
  const int64_t cin_g = g.in_channels_per_group(), cout_g = g.out_channels_per_group();
  const int64_t cin_words = ((cin_g + P - 1) / P + kc - 1) / kc * kc;
  const int64_t cout_padded = (cout_g + sh.bn - 1) / sh.bn * sh.bn;
  const int64_t group_words = H.kernel * W.kernel * cout_padded * cin_words;
  const int64_t chunks = cin_words / kc;
  // Stage layout bounds.
  CHECK(2 * (a_bytes + b_bytes) + wp32_max * 8 <= smem, "stages");
  CHECK(int64_t(sh.bn) * (sh.bm + 4) * 4 <= smem, "epilogue");
  CHECK(a_bytes % 16 == 0 && b_bytes % 16 == 0, "16-byte aligned stage parts");

  // Coverage of the (image, oh, ow) of one group and N tile; decode over the full grid with 2 N tiles
  // and the real group count (each (n_tile, group) combination must see every pixel once).
  const int64_t n_tiles = 2;
  const BlockDims dims{phases, n_tiles, g.groups, tiles_c, tiles_r, g.batch};
  const int64_t Ho = H.out, Wo = W.out;
  std::vector<int> written(size_t(g.batch * Ho * Wo * n_tiles * g.groups), 0);
  const int64_t blocks = dims.blocks();
  const int G = kc / 4, VPU = 4 * P, PSTEP = 256 / G;
  for (int64_t b = 0; b < blocks; ++b) {
    const BlockCoords bc = decode_block(b, dims);
    CHECK(bc.phase < phases && bc.n_tile < n_tiles && bc.group < g.groups && bc.tile_c < tiles_c &&
              bc.tile_r < tiles_r && bc.image < g.batch,
          "decode range");
    const int64_t rh = bc.phase / W.stride, rw = bc.phase % W.stride;
    const PhaseWindow pw = phase_window(H, W, rh, rw, R, C);
    if (!block_active(pw, bc)) continue;
    const int64_t WP = window_pixels(pw), WP32 = window_pixels32(pw);
    if (pw.taps > 0) {
      CHECK(WP32 <= wp32_max && WP32 % 32 == 0 && WP <= WP32 && WP >= sh.bm, "window rows");
      CHECK(pw.taps <= taps_max && pw.taps <= kMaxTaps, "taps");
      // Load units: pixel p0 + k*PSTEP guarded by p < WP32; group ug < G; channel bounds.
      const int64_t units = (WP32 + PSTEP - 1) / PSTEP;
      CHECK((units - 1) * PSTEP < WP32 + PSTEP, "units");
      CHECK(int64_t(chunks) * kc * P <= cin_words * P && (chunks - 1) * kc * P + (G - 1) * VPU + VPU <= cin_words * P,
            "channels");
      // B: packed offsets of the block's rows stay inside the group's packed weights.
      const int64_t co_base = bc.n_tile % (cout_padded / sh.bn) * sh.bn;
      for (int64_t t = 0; t < pw.taps; ++t) {
        const int64_t jh = t / pw.tw.tap_count, jw = t % pw.tw.tap_count;
        const int64_t kh = pw.th.first_tap + jh * pw.th.tap_step, kw = pw.tw.first_tap + jw * pw.tw.tap_step;
        CHECK(kh >= 0 && kh < H.kernel && kw >= 0 && kw < W.kernel, "tap in kernel");
        const int64_t last = (kh * W.kernel + kw) * cout_padded * cin_words + co_base * cin_words +
                             (sh.bn - 1) * cin_words + (chunks - 1) * kc + 4 * (G - 1) + 3;
        CHECK(last < group_words, "packed weight offset");
        const int64_t toff = tap_offset(pw, jh, jw);
        CHECK(toff >= 0 && toff + tile_window_pixel(pw, R - 1, C - 1) < WP, "tap offset");
      }
    }
    for (int m = 0; m < sh.bm; ++m) {
      const int64_t di = m >> log2_c, dj = m & (C - 1);
      const int64_t off = tile_output_offset(H, W, rh, rw, pw, bc, R, C, di, dj, Ho * Wo, Wo, 1);
      const int64_t i = bc.tile_r * R + di, j = bc.tile_c * C + dj;
      if (i >= pw.rows || j >= pw.cols) {
        CHECK(off == -1, "pixel past the phase");
        continue;
      }
      CHECK(off >= 0 && off < g.batch * Ho * Wo, "offset range %lld", (long long)off);
      if (off < 0 || off >= g.batch * Ho * Wo) continue;
      const int64_t oh = (off % (Ho * Wo)) / Wo, ow = off % Wo;
      CHECK((oh + H.padding) % H.stride == rh && (ow + W.padding) % W.stride == rw, "phase of pixel");
      written[size_t((off * n_tiles + bc.n_tile) * g.groups + bc.group)]++;
      if (pw.taps == 0) {
        // Bias only: no kernel tap may reach this output pixel.
        for (int64_t kh = 0; kh < H.kernel; ++kh)
          for (int64_t kw = 0; kw < W.kernel; ++kw) {
            const int64_t th_ = oh + H.padding - kh * H.dilation, tw_ = ow + W.padding - kw * W.dilation;
            CHECK(!(th_ % H.stride == 0 && tw_ % W.stride == 0), "bias-only phase reached by a tap");
          }
        continue;
      }
      // The kernel's A address: lane row lr of warp_m's tile 0, plus the m16 tile offset.
      const int warp_rows = sh.mt * 16;
      const int warp_m = m / warp_rows, mt = (m % warp_rows) / 16, lr = m % 16;
      const int m0 = warp_m * warp_rows + lr;
      const int64_t wp_kernel = tile_window_pixel(pw, m0 >> log2_c, m0 & (C - 1)) +
                                mtile_window_offset(pw, C, log2_c, int64_t(mt) * 16);
      CHECK(wp_kernel == tile_window_pixel(pw, di, dj), "m16 tile offset (C=%d m=%d)", C, m);
      // Each phase tap: window pixel -> input pixel == brute force.
      int taps_seen = 0;
      for (int64_t jh = 0; jh < pw.th.tap_count; ++jh)
        for (int64_t jw = 0; jw < pw.tw.tap_count; ++jw) {
          const int64_t kh = pw.th.first_tap + jh * pw.th.tap_step, kw = pw.tw.first_tap + jw * pw.tw.tap_step;
          const int64_t wp = wp_kernel + tap_offset(pw, jh, jw);
          CHECK(wp >= 0 && wp < WP, "window pixel in range");
          const int64_t ih = window_input_row(pw, bc.tile_r, R, wp / pw.wc);
          const int64_t iw = window_input_col(pw, bc.tile_c, C, wp % pw.wc);
          check_tap_input(g, oh, ow, kh, kw, ih, iw, "row bands");
          ++taps_seen;
        }
      // Completeness: the number of kernel taps reaching (oh, ow) equals the phase's taps.
      const int reach = taps_reaching(g, oh, ow);
      CHECK(reach == taps_seen, "taps reaching pixel %d vs %d", reach, taps_seen);
    }
  }
  for (size_t k = 0; k < written.size(); ++k) CHECK(written[k] == 1, "output element %zu written %d times", k, written[k]);
}

// The wgmma kernel's packed layout (wgmma_gemm.cu: producer, consumer and epilogue index math).
static void check_packed(const ConvTransposeGeometry& g, int C) {
  const AxisGeometry& H = g.h;
  const AxisGeometry& W = g.w;
  const int64_t R = 4, phases = H.stride * W.stride;
  const int64_t Ho = H.out, Wo = W.out;
  int64_t tiles_max = 0;
  for (int64_t ph = 0; ph < phases; ++ph)
    tiles_max = std::max(tiles_max, packed_plane(phase_window(H, W, ph / W.stride, ph % W.stride, R, C), g.batch, R, C).tiles);
  const BlockDims dims{phases, 1, g.groups, tiles_max, 1, 1};
  std::vector<int> written(size_t(g.batch * Ho * Wo * g.groups), 0);
  for (int64_t b = 0; b < dims.blocks(); ++b) {
    const BlockCoords bc = decode_block(b, dims);
    CHECK(bc.image == 0 && bc.tile_r == 0, "packed decode");
    const int64_t rh = bc.phase / W.stride, rw = bc.phase % W.stride;
    const PhaseWindow pw = phase_window(H, W, rh, rw, R, C);
    const PackedPlane q = packed_plane(pw, g.batch, R, C);
    if (bc.tile_c >= q.tiles) continue;
    const int64_t first = bc.tile_c * R * C;
    const int64_t pixel00 = H.phase_output_index(rh, 0) * Wo + W.phase_output_index(rw, 0);
    for (int64_t row = 0; row < R; ++row) {
      // The epilogue's cursor: plane_pixel once per row, then advance() by 8 and by 1.
      PlanePixel<uint32_t> at = plane_pixel<uint32_t>(q, first + row * C);
      for (int64_t n = 0; n < C; ++n) {
        const int64_t position = first + row * C + n;
        if (n > 0) at.advance(1, uint32_t(q.width), uint32_t(q.height));
        const PlanePixel<int64_t> px = plane_pixel(q, position);
        CHECK(at.image == px.image && at.y == px.y && at.x == px.x, "cursor at %lld", (long long)position);
        if (px.image >= g.batch || px.y >= pw.rows || px.x >= pw.cols) continue;
        const int64_t off = pixel00 + px.image * Ho * Wo + px.y * H.stride * Wo + px.x * W.stride;
        const int64_t oh = H.phase_output_index(rh, px.y), ow = W.phase_output_index(rw, px.x);
        CHECK(off == (px.image * Ho + oh) * Wo + ow, "packed output offset");
        CHECK(oh >= 0 && oh < Ho && ow >= 0 && ow < Wo, "packed pixel in the output");
        if (oh < 0 || oh >= Ho || ow < 0 || ow >= Wo) continue;
        written[size_t(((px.image * Ho + oh) * Wo + ow) * g.groups + bc.group)]++;
        int taps_seen = 0;
        for (int64_t jh = 0; jh < pw.th.tap_count && pw.taps > 0; ++jh)
          for (int64_t jw = 0; jw < pw.tw.tap_count; ++jw) {
            const int64_t kh = pw.th.first_tap + jh * pw.th.tap_step, kw = pw.tw.first_tap + jw * pw.tw.tap_step;
            const int64_t d = row * C + n + packed_tap_offset(pw, q, jh, jw);
            CHECK(d >= 0 && d < q.window, "packed window position %lld of %lld", (long long)d, (long long)q.window);
            const PlanePixel<int64_t> src = plane_pixel(q, first + d);
            CHECK(src.image == px.image, "tap stays in the image");
            check_tap_input(g, oh, ow, kh, kw, pw.origin_h + src.y, pw.origin_w + src.x, "packed");
            ++taps_seen;
          }
        const int reach = taps_reaching(g, oh, ow);
        CHECK(reach == taps_seen, "packed taps reaching pixel %d vs %d", reach, taps_seen);
      }
    }
  }
  for (size_t k = 0; k < written.size(); ++k)
    CHECK(written[k] == 1, "packed: output element %zu written %d times", k, written[k]);
}

static void check_raw(const ConvTransposeGeometry& g, int C, int vector) {
  const AxisGeometry& H = g.h;
  const AxisGeometry& W = g.w;
  const int64_t R = 4;
  for (int64_t ph = 0; ph < H.stride * W.stride; ++ph) {
    const PhaseWindow pw = phase_window(H, W, ph / W.stride, ph % W.stride, R, C);
    if (pw.taps == 0) continue;
    for (int64_t tr = 0; tr < pw.tiles_r; ++tr)
      for (int64_t tc = 0; tc < pw.tiles_c; ++tc) {
        const RawRows rr = raw_rows(pw, tr, tc, R, C, vector);
        const int64_t iw0 = window_input_col(pw, tc, C, 0);
        CHECK(rr.shift >= 0 && rr.shift < vector && rr.a0 + rr.shift == iw0 && ((rr.a0 % vector) + vector) % vector == 0,
              "raw origin: iw0 %lld a0 %lld shift %d", (long long)iw0, (long long)rr.a0, rr.shift);
        CHECK(rr.width % vector == 0 && rr.width >= rr.shift + pw.wc && rr.width < rr.shift + pw.wc + vector,
              "raw width %d for %lld columns", rr.width, (long long)pw.wc);
        CHECK(rr.runs == pw.wr * rr.runs_per_row && int64_t(pw.wr) * rr.width <= raw_staged_pixels_max(pw, vector),
              "raw bound");
        CHECK(rr.ih0 == window_input_row(pw, tr, R, 0), "raw first row");
        // Window pixel (r, c) at staged pixel r * width + shift + c: the run q that holds it copies
        // input row ih0 + q / runs_per_row from column a0 + vector (q % runs_per_row).
        for (int64_t r = 0; r < pw.wr; ++r)
          for (int64_t c = 0; c < pw.wc; ++c) {
            const int64_t staged = r * rr.width + rr.shift + c, q = staged / vector;
            const int64_t ih = rr.ih0 + q / rr.runs_per_row, iw = rr.a0 + vector * (q % rr.runs_per_row) + staged % vector;
            CHECK(ih == window_input_row(pw, tr, R, r) && iw == window_input_col(pw, tc, C, c),
                  "raw pixel (%lld, %lld) staged from (%lld, %lld)", (long long)r, (long long)c, (long long)ih, (long long)iw);
          }
        // Rows of whole runs: a run's values are all inside the input row or all outside.
        if (W.in % vector == 0)
          for (int q = 0; q < rr.runs_per_row; ++q) {
            const int64_t first = rr.a0 + int64_t(vector) * q, last = first + vector - 1;
            CHECK((first >= 0 && last < W.in) || last < 0 || first >= W.in, "raw run straddles the row");
          }
      }
  }
}

static int64_t rnd(std::mt19937_64& r, int64_t lo, int64_t hi) {
  return lo + int64_t(r() % uint64_t(hi - lo + 1));
}

static AxisGeometry random_axis(std::mt19937_64& r, int64_t max_in) {
  for (;;) {
    const int64_t in = rnd(r, 1, max_in), k = rnd(r, 1, 7), s = rnd(r, 1, 6), d = rnd(r, 1, 4);
    const int64_t reach = d * (k - 1);
    const int64_t pad = rnd(r, 0, reach);  // torch allows any padding with a positive output
    const int64_t op = rnd(r, 0, std::max(s, d) - 1);
    AxisGeometry a(in, k, s, pad, d, op);
    if (a.out >= 1) return a;
  }
}

int main(int argc, char** argv) {
  const int count = argc > 1 ? std::atoi(argv[1]) : 2000;
  std::mt19937_64 r(12345);
  long shapes_checked = 0, plans_ok = 0;
  for (int it = 0; it < count; ++it) {
    ConvTransposeGeometry g;
    const int64_t max_in = it % 10 == 0 ? 40 : 14;
    g.h = random_axis(r, max_in);
    g.w = it % 3 == 0 ? g.h : random_axis(r, max_in);
    g.batch = rnd(r, 1, 2);
    g.groups = rnd(r, 1, 3);
    g.in_channels = g.groups * rnd(r, 1, 40);
    g.out_channels = g.groups * rnd(r, 1, 140);
    const long before = g_failures;
    for (const Shape& sh : kShapes)
      for (int C = 128; C >= 8; C /= 2) {
        if (C > sh.bm) continue;
        const int P = int(rnd(r, 1, 2));
        const int kc = 8 << rnd(r, 0, 2);
        check_shape(g, sh, C, kc, P);
        ++shapes_checked;
      }
    for (int C : {128, 64, 8, 1}) check_packed(g, C);
    for (int C : {128, 104, 64})
      for (int vector : {8, 4}) check_raw(g, C, vector);
    // The plan itself, for each operand mode, on H100 and A100 limits.
    for (int mode = 0; mode < 3; ++mode) {
      const int P = mode == 2 ? 2 : 1;
      const bool split = mode == 1;
      for (int dev = 0; dev < 2; ++dev) {
        PlanLimits lim;
        if (dev == 1) lim = PlanLimits{166912, 167936};
        const WindowPlan pl = make_window_plan(g, P, split, g.in_channels_per_group() * g.h.in * g.w.in,
                                               g.w.in, 1, lim);
        if (!pl.ok) continue;
        ++plans_ok;
        CHECK(pl.smem_bytes + pl.static_bytes <= lim.smem_per_block, "plan smem");
        CHECK(pl.bm == config_bm(pl.config, split) && pl.bn == config_bn(pl.config), "plan shape");
        CHECK(pl.R * pl.C == pl.bm && (1 << pl.log2_c) == pl.C, "plan tile");
        CHECK(pl.cin_words % pl.kc == 0 && pl.chunks * pl.kc == pl.cin_words, "plan chunks");
        CHECK(pl.cout_padded % pl.bn == 0 && pl.dims.n_tiles * pl.bn == pl.cout_padded, "plan N tiles");
        const Shape sh{pl.bm, pl.bn, pl.config == TileConfig::Small ? 2 : (split && pl.config == TileConfig::N128 ? 2 : 4)};
        check_shape(g, sh, pl.C, pl.kc, P);
      }
    }
    if (g_failures != before) std::printf("  in geometry %d: %s\n", it, describe(g).c_str());
  }

  // The brief's cases: the plan chosen on an H100 (NCHW contiguous input).
  struct Case {
    const char* name;
    int64_t n, cin, cout, h, w, kh, kw, s, p, d;
  };
  const Case cases[] = {
      {"kernelbench_l1_57", 8, 64, 64, 1024, 1024, 3, 3, 1, 0, 1},
      {"kernelbench_l1_65", 8, 64, 64, 512, 512, 3, 7, 1, 0, 1},
      {"k3x7_s1_512x512", 16, 64, 64, 512, 512, 3, 7, 1, 0, 1},
      {"unet_128to64", 8, 128, 64, 256, 256, 2, 2, 2, 0, 1},
      {"unet_512to256", 8, 512, 256, 64, 64, 2, 2, 2, 0, 1},
      {"dcgan_128to64", 128, 128, 64, 32, 32, 4, 4, 2, 1, 1},
      {"dcgan_64to3", 128, 64, 3, 64, 64, 4, 4, 2, 1, 1},
      {"dcgan_512to256", 128, 512, 256, 8, 8, 4, 4, 2, 1, 1},
      {"kernelbench_l1_81", 16, 32, 64, 64, 128, 3, 3, 5, 1, 2},
  };
  std::printf("\nplans on H100 limits (227 KB/block, 228 KB/SM):\n");
  std::printf("%-20s %-5s %6s %4s %4s %4s %3s %3s %8s %8s %8s %4s %6s %5s %s\n", "case", "mode", "config", "BM",
              "BN", "R", "C", "KC", "A/stage", "B/stage", "smem", "blk", "fill", "wide", "grid");
  for (const Case& c : cases) {
    ConvTransposeGeometry g;
    g.batch = c.n;
    g.in_channels = c.cin;
    g.out_channels = c.cout;
    g.groups = 1;
    g.h = AxisGeometry(c.h, c.kh, c.s, c.p, c.d, 0);
    g.w = AxisGeometry(c.w, c.kw, c.s, c.p, c.d, 0);
    const char* modes[] = {"tf32", "fp32", "bf16"};
    for (int mode = 0; mode < 3; ++mode) {
      const WindowPlan pl = make_window_plan(g, mode == 2 ? 2 : 1, mode == 1, c.h * c.w, c.w, 1, PlanLimits{});
      if (!pl.ok) {
        std::printf("%-20s %-5s unsupported: %s\n", c.name, modes[mode], pl.why);
        continue;
      }
      const char* cfg = pl.config == TileConfig::Small ? "small" : pl.config == TileConfig::N64 ? "n64" : "n128";
      std::printf("%-20s %-5s %6s %4d %4d %4d %3d %3d %8lld %8lld %8lld %4d %6.3f %5d %lld\n", c.name, modes[mode], cfg,
                  pl.bm, pl.bn, pl.R, pl.C, pl.kc, (long long)pl.a_bytes, (long long)pl.b_bytes,
                  (long long)pl.smem_bytes, pl.blocks_per_sm, pl.fill, int(pl.wide), (long long)pl.dims.blocks());
    }
  }

  std::printf("\n%d geometries, %ld tile shapes walked, %ld plans checked, %ld checks, %ld failures\n", count,
              shapes_checked, plans_ok, g_checks, g_failures);
  return g_failures == 0 ? 0 : 1;
}
