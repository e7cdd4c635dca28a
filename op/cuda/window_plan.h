// Index math of the window GEMM (window_gemm.cu) and the wgmma kernel's tiles (wgmma_gemm.cu), kept
// free of CUDA so that a host test (tests/cuda_plan/window_plan_test.cpp) checks it against brute
// force: tile -> window origin and size, the window pixel each tap reads, which blocks exit,
// pixel -> output offset, the packed plane, and the host plan that sizes the window kernel's
// shared-memory stages. The kernels call exactly these functions.
//
// Within phase (rh, rw), phase pixel (i, j) (output row H.phase_output_index(rh, i), column
// W.phase_output_index(rw, j)) reads for tap (jh, jw) the input pixel
//   ih = H.phase_first_q(rh) + i - th.input_offset - jh*th.input_step   (same for w).
// A tile of R x C phase pixels with first pixel (i0, j0) therefore reads, over all taps, the input
// window of WR = R + (Th-1)*step_h rows and WC = C + (Tw-1)*step_w columns whose pixel (0, 0) is
// input pixel (origin_h + i0, origin_w + j0), origin = first_q - input_offset - (T-1)*step; tile
// pixel (di, dj) finds tap (jh, jw)'s value at window pixel
//   (di + (Th-1-jh)*step_h) * WC + dj + (Tw-1-jw)*step_w  =  di*WC + dj + tap_offset(jh, jw).
#pragma once

#include <cstdint>

#include "../geometry.h"

namespace tconv {
namespace cuda {
namespace window {

// One phase under a tile shape of R x C phase pixels.
struct PhaseWindow {
  PhaseTaps th, tw;
  int64_t rows = 0, cols = 0;        // phase output pixels per axis
  int64_t taps = 0;                  // th.tap_count * tw.tap_count; 0 for a bias-only phase
  int64_t tiles_r = 0, tiles_c = 0;  // tiles covering rows x cols
  int64_t wr = 0, wc = 0;            // window rows and columns (0 for a bias-only phase)
  int64_t origin_h = 0, origin_w = 0;  // input pixel of window pixel (0, 0) of tile (0, 0)
};

TCONV_HOST_DEVICE PhaseWindow phase_window(const AxisGeometry& H, const AxisGeometry& W, int64_t rh,
                                           int64_t rw, int64_t R, int64_t C) {
  PhaseWindow p;
  p.th = H.taps(rh);
  p.tw = W.taps(rw);
  p.rows = H.phase_output_count(rh);
  p.cols = W.phase_output_count(rw);
  p.tiles_r = (p.rows + R - 1) / R;
  p.tiles_c = (p.cols + C - 1) / C;
  if (p.th.first_tap >= 0 && p.tw.first_tap >= 0) {
    p.taps = p.th.tap_count * p.tw.tap_count;
    p.wr = R + (p.th.tap_count - 1) * p.th.input_step;
    p.wc = C + (p.tw.tap_count - 1) * p.tw.input_step;
    p.origin_h = H.phase_first_q(rh) - p.th.input_offset - (p.th.tap_count - 1) * p.th.input_step;
    p.origin_w = W.phase_first_q(rw) - p.tw.input_offset - (p.tw.tap_count - 1) * p.tw.input_step;
  }
  return p;
}

// Window pixels, rounded up to a multiple of 32 (the A stage rows; a warp's 32 loading lanes then
// always share one 4-word group, see window_gemm.cu).
TCONV_HOST_DEVICE int64_t window_pixels(const PhaseWindow& p) { return p.wr * p.wc; }
TCONV_HOST_DEVICE int64_t window_pixels32(const PhaseWindow& p) { return (p.wr * p.wc + 31) / 32 * 32; }

// Window pixel offset of tap (jh, jw) (0 <= jh < Th, 0 <= jw < Tw): added to di*WC + dj.
TCONV_HOST_DEVICE int64_t tap_offset(const PhaseWindow& p, int64_t jh, int64_t jw) {
  return (p.th.tap_count - 1 - jh) * p.th.input_step * p.wc + (p.tw.tap_count - 1 - jw) * p.tw.input_step;
}
// Window pixel of tile pixel (di, dj) for the tap with the given offset.
TCONV_HOST_DEVICE int64_t tile_window_pixel(const PhaseWindow& p, int64_t di, int64_t dj) {
  return di * p.wc + dj;
}
// Window pixel offset of the kernel's m16 tile d/16 relative to tile 0 of a warp: for C a power of
// two >= 8, M0 (the warp's first tile pixel) a multiple of min(C, 16*MT), d = 16*mt and lr < 16,
// the window pixel of tile pixel M0 + d + lr is that of M0 + lr plus this (checked by plan_test).
TCONV_HOST_DEVICE int64_t mtile_window_offset(const PhaseWindow& p, int64_t C, int log2_c, int64_t d) {
  return (d >> log2_c) * p.wc + (d & (C - 1));
}
// Input pixel held by window pixel (wr, wc) of tile (tile_r, tile_c).
TCONV_HOST_DEVICE int64_t window_input_row(const PhaseWindow& p, int64_t tile_r, int64_t R, int64_t wr) {
  return p.origin_h + tile_r * R + wr;
}
TCONV_HOST_DEVICE int64_t window_input_col(const PhaseWindow& p, int64_t tile_c, int64_t C, int64_t wc) {
  return p.origin_w + tile_c * C + wc;
}

// The wgmma kernel's raw path (row bands, R rows a tile): a tile's window staged as whole 16-byte
// runs of input rows (`vector` values: 8 16-bit or 4 float32) from the aligned column at or before
// the window's first, so window pixel (r, c) is staged pixel r * width + shift + c, and run q of
// the staged window is input row ih0 + q / runs_per_row from column a0 + vector (q % runs_per_row).
struct RawRows {
  int64_t ih0, a0;  // first staged input row and column
  int shift, width, runs_per_row, runs;
};
TCONV_HOST_DEVICE RawRows raw_rows(const PhaseWindow& p, int64_t tile_r, int64_t tile_c, int64_t R, int64_t C,
                                   int vector) {
  RawRows rr;
  rr.ih0 = window_input_row(p, tile_r, R, 0);
  const int64_t iw0 = window_input_col(p, tile_c, C, 0);
  rr.shift = static_cast<int>(iw0 & (vector - 1));  // two's complement: the non-negative residue
  rr.a0 = iw0 - rr.shift;
  rr.width = static_cast<int>((rr.shift + p.wc + vector - 1) / vector * vector);
  rr.runs_per_row = rr.width / vector;
  rr.runs = static_cast<int>(p.wr) * rr.runs_per_row;
  return rr;
}
// The most pixels raw_rows stages for a window of this phase, whatever its alignment (the plan
// sizes the stage's window and the raw buffers by it).
TCONV_HOST_DEVICE int64_t raw_staged_pixels_max(const PhaseWindow& p, int64_t vector) {
  return p.wr * ((p.wc + 2 * vector - 2) / vector * vector);
}

// Packed layout (wgmma kernel, for phases whose images are narrower than a tile: DCGAN's 8-32
// pixels would fill 12-50% of a row-band tile). A phase's pixels of all images are laid out as one
// plane: each image takes `height` = rows + the taps' reach down plane rows of `width` = cols +
// the reach across positions; position (image, y, x) is output pixel (y, x) of the image where y < rows and
// x < cols, else a halo position whose value is computed and dropped. Tile t is the R x C
// consecutive positions from t R C on, and since every tap of a position stays inside its image's
// plane rows, tap (jh, jw) of the position at offset d in the tile reads window position
// d + packed_tap_offset, the window being the positions from t R C on: R C plus the reach. Its
// input pixel is (origin_h + y, origin_w + x) of the position's image (zero outside the input or
// past the last image). A bias-only phase has no reach.
struct PackedPlane {
  int64_t width = 0, height = 0;  // plane row width; plane rows per image
  int64_t positions = 0;          // batch x height x width
  int64_t tiles = 0;              // of R x C positions
  int64_t window = 0;             // positions per tile window (0 for a bias-only phase)
};
TCONV_HOST_DEVICE PackedPlane packed_plane(const PhaseWindow& p, int64_t batch, int64_t R, int64_t C) {
  PackedPlane q;
  const int64_t reach_h = p.taps > 0 ? (p.th.tap_count - 1) * p.th.input_step : 0;
  const int64_t reach_w = p.taps > 0 ? (p.tw.tap_count - 1) * p.tw.input_step : 0;
  q.width = p.cols + reach_w;
  q.height = p.rows + reach_h;
  q.positions = batch * q.height * q.width;
  q.tiles = (q.positions + R * C - 1) / (R * C);
  q.window = p.taps > 0 ? R * C + reach_h * q.width + reach_w : 0;
  return q;
}
TCONV_HOST_DEVICE int64_t packed_tap_offset(const PhaseWindow& p, const PackedPlane& q, int64_t jh, int64_t jw) {
  return (p.th.tap_count - 1 - jh) * p.th.input_step * q.width + (p.tw.tap_count - 1 - jw) * p.tw.input_step;
}
// Position -> (image, plane row, plane column); the kernel computes it in 32 bits (the plan keeps
// every position below 2^31) and steps along a tile row with advance(), no division per pixel.
template <typename Index>
struct PlanePixel {
  Index image, y, x;
  TCONV_HOST_DEVICE void advance(Index by, Index width, Index height) {
    x += by;
    while (x >= width) {
      x -= width;
      if (++y == height) {
        y = 0;
        ++image;
      }
    }
  }
};
template <typename Index = int64_t>
TCONV_HOST_DEVICE PlanePixel<Index> plane_pixel(const PackedPlane& q, int64_t position) {
  const Index width = static_cast<Index>(q.width), per_image = static_cast<Index>(q.height * q.width);
  const Index at = static_cast<Index>(position);
  PlanePixel<Index> px;
  px.image = at / per_image;
  const Index rest = at - px.image * per_image;
  px.y = rest / width;
  px.x = rest - px.y * width;
  return px;
}

// Block index -> (phase, N tile, group, tile column, tile row, image), phase fastest (blocks writing
// interleaved columns of the same output rows run together, as in v6), then the N tiles and
// groups of one input window (the window's second and later reads hit L2), then the tiles of an
// image left to right (neighbours share their halo).
struct BlockDims {
  int64_t phases, n_tiles, groups, tiles_c, tiles_r, batch;  // tiles_*: the largest phase's count
  TCONV_HOST_DEVICE int64_t blocks() const { return phases * n_tiles * groups * tiles_c * tiles_r * batch; }
};
struct BlockCoords {
  int64_t phase, n_tile, group, tile_c, tile_r, image;
};
TCONV_HOST_DEVICE BlockCoords decode_block(int64_t b, const BlockDims& d) {
  BlockCoords c;
  c.phase = b % d.phases; b /= d.phases;
  c.n_tile = b % d.n_tiles; b /= d.n_tiles;
  c.group = b % d.groups; b /= d.groups;
  c.tile_c = b % d.tiles_c; b /= d.tiles_c;
  c.tile_r = b % d.tiles_r;
  c.image = b / d.tiles_r;
  return c;
}
// A block past its phase's tiles (the grid is sized for the largest phase) exits at once.
TCONV_HOST_DEVICE bool block_active(const PhaseWindow& p, const BlockCoords& c) {
  return c.tile_r < p.tiles_r && c.tile_c < p.tiles_c;
}

// Output offset (channel 0) of tile pixel (di, dj), or -1 past the phase's pixels.
TCONV_HOST_DEVICE int64_t tile_output_offset(const AxisGeometry& H, const AxisGeometry& W, int64_t rh,
                                             int64_t rw, const PhaseWindow& p, const BlockCoords& c,
                                             int64_t R, int64_t C, int64_t di, int64_t dj, int64_t os_n,
                                             int64_t os_h, int64_t os_w) {
  const int64_t i = c.tile_r * R + di, j = c.tile_c * C + dj;
  if (i >= p.rows || j >= p.cols) return -1;
  return c.image * os_n + H.phase_output_index(rh, i) * os_h + W.phase_output_index(rw, j) * os_w;
}

// ---------------------------------------------------------------------------------------------
// Host plan: block shape, tile shape, channel chunk, shared-memory layout. Host only.

enum class TileConfig { Small = 0, N64 = 1, N128 = 2 };
// Must match window_gemm.cu's Tile<CFG, Split>: 3xTF32 (split) halves BM of the N64/N128 shapes.
inline int config_bn(TileConfig c) { return c == TileConfig::Small ? 8 : c == TileConfig::N64 ? 64 : 128; }
inline int config_bm(TileConfig c, bool split) {
  const int bm = c == TileConfig::N128 ? 128 : 256;
  return split && c != TileConfig::Small ? bm / 2 : bm;
}
inline int config_min_blocks(TileConfig c) { return c == TileConfig::Small ? 3 : 2; }

constexpr int kMaxTaps = 64;  // static tap table; larger kernels per phase go to v6
constexpr int kThreads = 256;

struct PlanLimits {
  int64_t smem_per_block = 232448;  // opt-in maximum per block (H100: 227 KB)
  int64_t smem_per_sm = 233472;     // per SM (H100: 228 KB)
};

struct WindowPlan {
  bool ok = false;
  const char* why = "";
  TileConfig config = TileConfig::N64;
  int bn = 0, bm = 0, R = 0, C = 0, log2_c = 0, kc = 0;
  bool wide = false;  // int64 offsets
  int64_t cin_words = 0, cout_padded = 0, chunks = 0, group_words = 0;
  BlockDims dims{1, 1, 1, 1, 1, 0};
  int64_t wp32_max = 0, taps_max = 0;           // A stage rows, B stage taps
  int64_t a_bytes = 0, b_bytes = 0;             // per stage
  int64_t stage_bytes = 0, table_offset = 0;    // stage s at s*stage_bytes; pixel table after both
  int64_t epilogue_bytes = 0, smem_bytes = 0;   // dynamic shared memory of the launch
  int64_t static_bytes = 0;                     // the kernel's static shared memory (upper bound)
  int blocks_per_sm = 0;
  double fill = 1.0;                            // useful / computed tile pixels over live phases
};

// Static shared memory of the kernel (upper bound): row_offset[BM] int64, the tap tables
// (kMaxTaps x (int64 + uint32)) and the per-block walk values.
inline int64_t static_smem_bytes(int bm) { return int64_t(bm) * 8 + kMaxTaps * 12 + 128; }

inline int64_t plan_smem(int64_t wp32, int64_t taps, int bn, int bm, int kc, int64_t* a_bytes,
                         int64_t* b_bytes, int64_t* epi) {
  *a_bytes = wp32 * (kc + 4) * 4;       // [pixel][KC + 4 words]
  *b_bytes = taps * bn * kc * 4;        // [tap][n][KC words], XOR-swizzled 16-byte groups
  *epi = int64_t(bn) * (bm + 4) * 4;    // [n][BM + 4] floats
  const int64_t pipeline = 2 * (*a_bytes + *b_bytes) + wp32 * 8;  // + pixel table (int64 bound)
  return pipeline > *epi ? pipeline : *epi;
}

// values_per_word: 1 (float32) or 2 (16-bit); split: 3xTF32. Strides in elements (non-negative,
// as torch's).
inline WindowPlan make_window_plan(const ConvTransposeGeometry& g, int values_per_word, bool split,
                                   int64_t stride_c, int64_t stride_h, int64_t stride_w,
                                   const PlanLimits& lim) {
  WindowPlan pl;
  const AxisGeometry& H = g.h;
  const AxisGeometry& W = g.w;
  const int64_t P = values_per_word;
  if (g.groups <= 0 || g.in_channels % g.groups || g.out_channels % g.groups) {
    pl.why = "groups";
    return pl;
  }
  if (stride_c < 0 || stride_h < 0 || stride_w < 0) {
    pl.why = "negative strides";
    return pl;
  }
  const int64_t cin_g = g.in_channels_per_group(), cout_g = g.out_channels_per_group();
  if (cin_g > 0x7fffffff - 256 || cout_g > 0x7fffffff) {
    pl.why = "channels";
    return pl;
  }
  pl.config = cout_g <= 8 ? TileConfig::Small : cout_g <= 64 ? TileConfig::N64 : TileConfig::N128;
  pl.bn = config_bn(pl.config);
  pl.bm = config_bm(pl.config, split);
  const int64_t phases = H.stride * W.stride;

  // Tile shape: C a power of two >= 8 (each ldmatrix matrix = 8 consecutive pixels of one window
  // row), R = BM / C. Cost per live phase = tiles x (taps x BM + window pixels): the mma work
  // including the fill lost past the phase's edge, plus the window staging including the halo.
  // A narrower C is taken only when it is 3% cheaper (wider tiles write longer output runs).
  double best = -1;
  for (int C = 128; C >= 8; C /= 2) {
    if (C > pl.bm) continue;
    const int R = pl.bm / C;
    double cost = 0, useful = 0, computed = 0;
    int64_t taps_max = 0;
    for (int64_t ph = 0; ph < phases; ++ph) {
      const PhaseWindow p = phase_window(H, W, ph / W.stride, ph % W.stride, R, C);
      if (p.taps == 0) continue;
      cost += double(p.tiles_r * p.tiles_c) * double(p.taps * pl.bm + window_pixels(p));
      useful += double(p.rows * p.cols);
      computed += double(p.tiles_r * p.tiles_c * pl.bm);
      taps_max = p.taps > taps_max ? p.taps : taps_max;
    }
    if (best < 0 || cost < 0.97 * best) {
      best = cost;
      pl.R = R;
      pl.C = C;
      pl.fill = computed > 0 ? useful / computed : 1.0;
    }
  }
  pl.log2_c = 0;
  while ((1 << pl.log2_c) < pl.C) ++pl.log2_c;

  // Maxima over phases: A stage rows and B stage taps (every block uses the same stage layout).
  int64_t tiles_r = 0, tiles_c = 0;
  for (int64_t ph = 0; ph < phases; ++ph) {
    const PhaseWindow p = phase_window(H, W, ph / W.stride, ph % W.stride, pl.R, pl.C);
    tiles_r = p.tiles_r > tiles_r ? p.tiles_r : tiles_r;
    tiles_c = p.tiles_c > tiles_c ? p.tiles_c : tiles_c;
    if (p.taps == 0) continue;
    pl.wp32_max = window_pixels32(p) > pl.wp32_max ? window_pixels32(p) : pl.wp32_max;
    pl.taps_max = p.taps > pl.taps_max ? p.taps : pl.taps_max;
  }
  if (pl.fill < 0.6) {
    pl.why = "tile fill below 60% (small phases: v6 tiles across images)";
    return pl;
  }
  if (pl.taps_max > kMaxTaps) {
    pl.why = "more than 64 taps per phase";
    return pl;
  }

  // Channel chunk KC (words): among 32/16/8 the ones whose shared memory still gives the config's
  // blocks per SM (2, or 3 for the small-N config), the least channel padding, then the largest
  // (fewer barriers); if none gives them, the smallest chunk that fits one block.
  pl.static_bytes = static_smem_bytes(pl.bm);
  const int64_t cin_words = (cin_g + P - 1) / P;
  int chosen = 0;
  int64_t chosen_pad = 0;
  for (int kc = 32; kc >= 8; kc /= 2) {
    int64_t ab, bb, ep;
    const int64_t smem = plan_smem(pl.wp32_max, pl.taps_max, pl.bn, pl.bm, kc, &ab, &bb, &ep);
    const int64_t per_block = smem + pl.static_bytes + 1024;  // + the 1 KB the driver reserves
    if (smem + pl.static_bytes > lim.smem_per_block) continue;
    if (lim.smem_per_sm / per_block < config_min_blocks(pl.config)) continue;
    const int64_t pad = (cin_words + kc - 1) / kc * kc;
    if (chosen == 0 || pad < chosen_pad) {
      chosen = kc;
      chosen_pad = pad;
    }
  }
  if (chosen == 0) {
    for (int kc = 8; kc <= 32 && chosen == 0; kc *= 2) {
      int64_t ab, bb, ep;
      if (plan_smem(pl.wp32_max, pl.taps_max, pl.bn, pl.bm, kc, &ab, &bb, &ep) + pl.static_bytes <=
          lim.smem_per_block)
        chosen = kc;
    }
  }
  if (chosen == 0) {
    pl.why = "window and taps do not fit shared memory";
    return pl;
  }
  pl.kc = chosen;
  pl.smem_bytes = plan_smem(pl.wp32_max, pl.taps_max, pl.bn, pl.bm, pl.kc, &pl.a_bytes, &pl.b_bytes,
                            &pl.epilogue_bytes);
  pl.stage_bytes = pl.a_bytes + pl.b_bytes;
  pl.table_offset = 2 * pl.stage_bytes;
  pl.blocks_per_sm = static_cast<int>(lim.smem_per_sm / (pl.smem_bytes + pl.static_bytes + 1024));

  pl.cin_words = (cin_words + pl.kc - 1) / pl.kc * pl.kc;
  pl.cout_padded = (cout_g + pl.bn - 1) / pl.bn * pl.bn;
  pl.chunks = pl.cin_words / pl.kc;
  pl.group_words = H.kernel * W.kernel * pl.cout_padded * pl.cin_words;
  pl.dims = BlockDims{phases, pl.cout_padded / pl.bn, g.groups, tiles_c, tiles_r, g.batch};
  if (pl.dims.blocks() > 0x7fffffff) {
    pl.why = "grid too large";
    return pl;
  }

  // int32 offsets where they provably fit (as v6): the in-image offset of any staged value
  // ((padded channels + one chunk) x channel stride + the farthest pixel), one group's packed
  // weights, and the axis sizes plus the tap reach (window coordinates).
  const int64_t lim29 = int64_t(1) << 29;
  auto axis_ok = [&](const AxisGeometry& a) {
    return a.in < lim29 && a.out < lim29 && a.stride < lim29 && a.kernel < lim29 && a.dilation < lim29 &&
           a.kernel * a.dilation < lim29 && a.padding < lim29;
  };
  const bool sizes_ok = axis_ok(H) && axis_ok(W) && stride_c < lim29 && stride_h < lim29 && stride_w < lim29;
  pl.wide = !(sizes_ok &&
              (pl.cin_words * P + 64) * stride_c + (H.in - 1) * stride_h + (W.in - 1) * stride_w <=
                  int64_t(0x7fffffff) &&
              pl.group_words <= int64_t(0x7fffffff));
  pl.ok = true;
  return pl;
}

}  // namespace window
}  // namespace cuda
}  // namespace tconv
