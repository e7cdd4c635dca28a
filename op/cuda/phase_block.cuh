// Stride-2 phase blocks, shared by the phase-block kernel's two bodies: FFMA (phase_block.cu) and
// tensor cores (phase_block_mma.cu). Both compute all four phases of 2 x 2 output blocks from the
// input window the block shares; this header holds that window's geometry, its copy into shared
// memory and the host-side plan.
//
// With stride 2 and dilation 1, output o = 2b + e (block b, e in {0, 1}) is phase r = (e + p) mod 2
// and reads input i = b + floor((e + p) / 2) - t through tap k = 2t + r, t < T = ceil(kernel / 2).
// In window coordinates (window index j of a tile whose first block is B0 holds input
// B0 + floor(p / 2) - T + 1 + j), block m's output e reads tap t at j = m + offset(e, t) with
//   offset(e, t) = e P + T - 1 - t,  P = p mod 2,  tap k = 2t + (e xor P),
// so a tile of blocks reads a window of T + P - 1 more rows and columns than it has blocks.
#pragma once

#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "element.cuh"
#include "exact_output.cuh"
#include "launch.h"
#include "tensor_core.cuh"

namespace tconv {
namespace cuda {
namespace phase_block {

constexpr int kStride = 2;  // per axis: blocks of 2 x 2 outputs, one per phase
constexpr int kPhases = kStride * kStride;
constexpr int kMaxTaps = 2;  // T per axis: kernels up to 4 x 4
constexpr int kMaxChannels = 4;

// Window offset of phase e's tap t (see above).
__host__ __device__ constexpr int window_offset(int e, int t, int taps, int parity) {
  return e * parity + taps - 1 - t;
}

// A CTA's tile: ROWS x COLS blocks, THREADS threads.
template <int ROWS, int COLS, int THREADS>
struct Tile {
  static constexpr int rows = ROWS, cols = COLS, threads = THREADS;
};

// The tile's input window in shared memory, per channel, in the input's type. Its rows start
// `shift` (< kVector) elements before the window so that 16-byte runs of aligned input rows land
// 16-byte aligned (shift = 0 where rows are copied element by element). Channels are
// channel_stride elements apart, padded to SPREAD mod 32 words: the tensor-core body's fragments
// read 8 consecutive columns of 4 channels 32 / SPREAD apart (8: channels t, 4: channels 2t, 2t + 1
// of 16-bit pairs), which then fall in different banks.
template <typename T, int TAPS, int P, typename TILE, int SPREAD = 8>
struct Window {
  static constexpr int kVector = 16 / sizeof(T);
  static constexpr int rows = TILE::rows + P + TAPS - 1;
  static constexpr int cols = TILE::cols + P + TAPS - 1;
  static constexpr int vectors = (cols + kVector - 1) / kVector + 1;  // 16-byte runs per row, shifted
  static constexpr int row_stride = vectors * kVector;
  static constexpr int unpadded_words = rows * row_stride * int(sizeof(T)) / 4;
  static constexpr int channel_words = unpadded_words + (SPREAD - unpadded_words % 32 + 32) % 32;
  static constexpr int channel_stride = channel_words * 4 / int(sizeof(T));
};

struct PhaseBlockArgs {
  ConvArgs conv;
  Strides4 output_strides;
  int tiles_w, tiles_h;          // per image and group
  int offset_h, offset_w;        // floor(p / 2) - T + 1: the window's first input index, per axis
  int shift;                     // Window's shift: offset_w mod kVector with vector rows, else 0
  bool vector_rows;              // NCHW-like input rows, 16-byte aligned: copied in 16-byte runs
  int cin_g;
};

// Copies CHANNELS channels of the tile's input window into shared memory. Values outside the input
// and channels past the group are zero, so the math needs no bounds.
template <typename T, int TAPS, int P, typename TILE, int CHANNELS, int SPREAD = 8>
struct WindowStager {
  using Element = T;
  using Win = Window<T, TAPS, P, TILE, SPREAD>;
  static constexpr int kThreads = TILE::threads;
  static constexpr int kRowsPerStage = CHANNELS * Win::rows;
  static constexpr int kWarps = kThreads / 32;
  static constexpr int kRowsPerWarp = (kRowsPerStage + kWarps - 1) / kWarps;
  static constexpr int kSlots = (Win::cols + 31) / 32;  // values per lane and row
  const T* x;  // the tile's window origin in channel 0 of the group (may lie outside the input)
  Strides4 xs;
  int ih0, iw0, Hin, Win_, cin_g, shift;

  // Aligned rows (unit column stride, every stride and the row length multiples of 16 bytes): the
  // 16-byte runs that cover the window rows, by cp.async (zero-filled outside the input; a run lies
  // entirely inside or outside an input row). A thread owns the same (row, run) places of every
  // channel of every stage, so their offsets and bounds are computed once (plan_runs) and a stage
  // costs one address add per run and channel. (One warp per row instead left most lanes idle with
  // 10 runs per 16-bit row: dcgan_64to3 bf16 0.118 -> 0.160 ms.)
  static constexpr int kPlaces = Win::rows * Win::vectors;
  static constexpr int kPlacesPerThread = (kPlaces + kThreads - 1) / kThreads;
  int64_t run_source[kPlacesPerThread];  // input offset of the run's first element, channel 0
  int run_target[kPlacesPerThread];      // stage offset, channel 0
  bool run_inside[kPlacesPerThread];     // inside the input (and a place at all)

  __device__ __forceinline__ void plan_runs() {
#pragma unroll
    for (int k = 0; k < kPlacesPerThread; ++k) {
      const int place = threadIdx.x + k * kThreads;
      const int r = place / Win::vectors, v = place % Win::vectors;
      const int col = v * Win::kVector - shift;  // window column of the run's first element
      run_source[k] = int64_t(r) * xs.h + col;
      run_target[k] = r * Win::row_stride + v * Win::kVector;
      run_inside[k] = place < kPlaces && ih0 + r >= 0 && ih0 + r < Hin && iw0 + col >= 0 && iw0 + col < Win_;
    }
  }

  // The source address advances by a channel stride per channel; a run outside the input or past
  // the group's channels is zero-filled (src-size 0: nothing is read at its address).
  __device__ __forceinline__ void copy_async(T* dst, int ci0) const {
#pragma unroll
    for (int k = 0; k < kPlacesPerThread; ++k) {
      if (kPlaces % kThreads != 0 && threadIdx.x + k * kThreads >= kPlaces) break;
      const T* source = x + int64_t(ci0) * xs.c + run_source[k];
      const uint32_t target = tensor_core::shared_address(dst + run_target[k]);
      const int channels = cin_g - ci0;  // CHANNELS or more except in a group's last stage
#pragma unroll
      for (int c = 0; c < CHANNELS; ++c) {
        tensor_core::cp_async16_zfill(target + c * Win::channel_stride * int(sizeof(T)), source,
                                      run_inside[k] && c < channels);
        source += xs.c;
      }
    }
  }

  // Any strides: a warp copies whole window rows (lane l takes columns l, l + 32, ...), the row's
  // address and bounds warp-uniform; per batch of up to kBatchRows rows every load first, then every
  // store (one memory latency per batch; more rows held at once spilled in the 8-channel stages).
  static constexpr int kBatchRows = 9;
  static constexpr int kBatches = (kRowsPerWarp + kBatchRows - 1) / kBatchRows;
  __device__ __forceinline__ void copy(T* dst, int ci0) const {
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
#pragma unroll 1
    for (int batch = 0; batch < kBatches; ++batch) {
      T held[kBatchRows][kSlots];
#pragma unroll
      for (int m = 0; m < kBatchRows; ++m) {
        const int job = warp + (batch * kBatchRows + m) * kWarps, c = job / Win::rows, r = job % Win::rows;
        const bool row_inside = job < kRowsPerStage && ci0 + c < cin_g && ih0 + r >= 0 && ih0 + r < Hin;
        const T* row = x + int64_t(ci0 + c) * xs.c + int64_t(r) * xs.h;
#pragma unroll
        for (int slot = 0; slot < kSlots; ++slot) {
          const int col = lane + 32 * slot;
          const bool inside = row_inside && col < Win::cols && iw0 + col >= 0 && iw0 + col < Win_;
          held[m][slot] = inside ? load_readonly(row + int64_t(col) * xs.w) : T(0.0f);
        }
      }
#pragma unroll
      for (int m = 0; m < kBatchRows; ++m) {
        const int job = warp + (batch * kBatchRows + m) * kWarps, c = job / Win::rows, r = job % Win::rows;
#pragma unroll
        for (int slot = 0; slot < kSlots; ++slot) {
          const int col = lane + 32 * slot;
          if (job < kRowsPerStage && col < Win::cols)
            dst[c * Win::channel_stride + r * Win::row_stride + col] = held[m][slot];
        }
      }
    }
  }
};

// A CTA's place: its tile's first block row and column, group and image (CTAs run tile column
// fastest, then tile row, group, image).
struct TilePlace {
  int block_row0, block_col0, group;
  int64_t n;
};

template <typename TILE>
__device__ __forceinline__ TilePlace tile_place(const PhaseBlockArgs& p) {
  // 32-bit: supported() keeps the CTA count below 2^31.
  uint32_t cta = blockIdx.x;
  const uint32_t tiles_w = p.tiles_w, tiles_h = p.tiles_h, groups = static_cast<uint32_t>(p.conv.geometry.groups);
  const int tile_c = static_cast<int>(cta % tiles_w);
  cta /= tiles_w;
  const int tile_r = static_cast<int>(cta % tiles_h);
  cta /= tiles_h;
  return {tile_r * TILE::rows, tile_c * TILE::cols, static_cast<int>(cta % groups), int64_t(cta / groups)};
}

// The CTA's window stager, set up for its tile.
template <typename Stager>
__device__ __forceinline__ Stager make_window_stager(const PhaseBlockArgs& p, const TilePlace& place) {
  const int64_t n = place.n;
  const int group = place.group, block_row0 = place.block_row0, block_col0 = place.block_col0;
  const ConvArgs& a = p.conv;
  Stager window;
  window.xs = a.input_strides;
  window.ih0 = block_row0 + p.offset_h;
  window.iw0 = block_col0 + p.offset_w;
  window.Hin = static_cast<int>(a.geometry.h.in);
  window.Win_ = static_cast<int>(a.geometry.w.in);
  window.cin_g = p.cin_g;
  window.shift = p.shift;
  window.x = static_cast<const typename Stager::Element*>(a.input) + n * window.xs.n + int64_t(group) * p.cin_g * window.xs.c +
             int64_t(window.ih0) * window.xs.h + int64_t(window.iw0) * window.xs.w;
  return window;
}

// The CTA's tile recomputed output by output from each output's own taps (exact_output.cuh): the
// bodies' fallback for tiles with a non-finite sum. Both bodies give zero weights to taps outside
// the kernel (padded phases, N columns), so an Inf or NaN in the window would otherwise reach
// outputs whose taps never read it (0 x Inf = NaN). Slow, and only for such tiles. Called by every
// thread of the CTA once none of its accumulators is live, and not inlined: inlined, its registers
// entered the bodies' allocation (ptxas: new spills in 31 of the 96 FFMA variants).
template <typename T, int COUT, typename TILE>
__device__ __noinline__ void exact_tile(const PhaseBlockArgs& p) {
  const TilePlace place = tile_place<TILE>(p);
  const ConvTransposeGeometry& g = p.conv.geometry;
  const Strides4& os = p.output_strides;
  static_assert(kStride == 2, "one PhaseTaps per phase below");
  const PhaseTaps h0 = g.h.taps(0), h1 = g.h.taps(1), w0 = g.w.taps(0), w1 = g.w.taps(1);
  constexpr int kRows = kStride * TILE::rows, kCols = kStride * TILE::cols;
  T* out = static_cast<T*>(p.conv.output);
#pragma unroll 1
  for (int i = threadIdx.x; i < COUT * kRows * kCols; i += TILE::threads) {
    const int oh = kStride * place.block_row0 + (i / kCols) % kRows, ow = kStride * place.block_col0 + i % kCols;
    if (oh >= g.h.out || ow >= g.w.out) continue;
    const int co = i / (kCols * kRows);
    const int th = oh + static_cast<int>(g.h.padding), tw = ow + static_cast<int>(g.w.padding);
    const float v =
        exact_output<T>(p.conv, place.n, place.group, co, th % 2 ? h1 : h0, th / 2, tw % 2 ? w1 : w0, tw / 2);
    out[place.n * os.n + (int64_t(place.group) * COUT + co) * os.c + int64_t(oh) * os.h + int64_t(ow) * os.w] =
        from_acc<T>(v);
  }
}

// Whether any of a thread's accumulators is Inf or NaN: !(|v| < Inf) holds for both.
template <int A, int B, int C>
__device__ __forceinline__ bool any_nonfinite(const float (&acc)[A][B][C]) {
  bool any = false;
#pragma unroll
  for (int a = 0; a < A; ++a)
#pragma unroll
    for (int b = 0; b < B; ++b)
#pragma unroll
      for (int c = 0; c < C; ++c) any |= !(fabsf(acc[a][b][c]) < INFINITY);
  return any;
}

// Host side.

// The tensor-core body's tile (phase_block_mma.cu), in blocks, and its launch: bf16, fp16, and
// float32 in TF32.
constexpr int kMmaTileRows = 16, kMmaTileCols = 32;
cudaError_t launch_mma(const ConvArgs& args, cudaStream_t stream);

inline int window_taps(const ConvTransposeGeometry& g) {
  return static_cast<int>(std::max((g.h.kernel + kStride - 1) / kStride, (g.w.kernel + kStride - 1) / kStride));
}

inline int64_t block_count(const AxisGeometry& axis) { return (axis.out + kStride - 1) / kStride; }

// CTAs for tiles of tile_rows x tile_cols blocks: one per tile, group and image.
inline int64_t tiles(const ConvTransposeGeometry& g, int tile_rows, int tile_cols) {
  return g.batch * g.groups * ((block_count(g.h) + tile_rows - 1) / tile_rows) *
         ((block_count(g.w) + tile_cols - 1) / tile_cols);
}

// The launch arguments for elements of type T and tiles of tile_rows x tile_cols blocks.
template <typename T>
PhaseBlockArgs make_args(const ConvArgs& args, int tile_rows, int tile_cols) {
  const ConvTransposeGeometry& g = args.geometry;
  PhaseBlockArgs p;
  p.conv = args;
  p.output_strides = output_strides(args);
  p.tiles_w = static_cast<int>((block_count(g.w) + tile_cols - 1) / tile_cols);
  p.tiles_h = static_cast<int>((block_count(g.h) + tile_rows - 1) / tile_rows);
  const int taps = window_taps(g);
  p.offset_h = static_cast<int>(g.h.padding / kStride) - taps + 1;
  p.offset_w = static_cast<int>(g.w.padding / kStride) - taps + 1;
  p.cin_g = static_cast<int>(g.in_channels_per_group());
  // 16-byte runs: unit column stride, every other stride, the row length and the base in whole runs.
  constexpr int kVector = 16 / sizeof(T);
  const Strides4& xs = args.input_strides;
  p.vector_rows = xs.w == 1 && xs.h % kVector == 0 && xs.c % kVector == 0 && xs.n % kVector == 0 &&
                  g.w.in % kVector == 0 && reinterpret_cast<uintptr_t>(args.input) % 16 == 0;
  p.shift = p.vector_rows ? ((p.offset_w % kVector) + kVector) % kVector : 0;
  return p;
}

// Runs Launch<T, TAPS, P, COUT, VECTOR_ROWS>::run(p, stream), p = make_args<T>(args, tile_rows,
// tile_cols): the call's element type, window taps per axis, padding parity, output channels per
// group and row layout picked at run time from the compile-time variants every body builds.
template <template <typename, int, int, int, bool> class Launch, typename T, int TAPS, int P>
cudaError_t dispatch_channels(const PhaseBlockArgs& p, cudaStream_t stream) {
  auto run = [&](auto cout) {
    constexpr int COUT = decltype(cout)::value;
    return p.vector_rows ? Launch<T, TAPS, P, COUT, true>::run(p, stream) : Launch<T, TAPS, P, COUT, false>::run(p, stream);
  };
  switch (p.conv.geometry.out_channels_per_group()) {
    case 1: return run(std::integral_constant<int, 1>());
    case 2: return run(std::integral_constant<int, 2>());
    case 3: return run(std::integral_constant<int, 3>());
    case 4: return run(std::integral_constant<int, 4>());
  }
  return cudaErrorInvalidValue;
}

template <template <typename, int, int, int, bool> class Launch, typename T>
cudaError_t dispatch_typed(const ConvArgs& args, int tile_rows, int tile_cols, cudaStream_t stream) {
  const PhaseBlockArgs p = make_args<T>(args, tile_rows, tile_cols);
  const bool odd_padding = args.geometry.h.padding % 2 == 1;
  if (window_taps(args.geometry) == 1)
    return odd_padding ? dispatch_channels<Launch, T, 1, 1>(p, stream) : dispatch_channels<Launch, T, 1, 0>(p, stream);
  return odd_padding ? dispatch_channels<Launch, T, 2, 1>(p, stream) : dispatch_channels<Launch, T, 2, 0>(p, stream);
}

template <template <typename, int, int, int, bool> class Launch>
cudaError_t dispatch(const ConvArgs& args, int tile_rows, int tile_cols, cudaStream_t stream) {
  switch (args.dtype) {
    case DType::Float32: return dispatch_typed<Launch, float>(args, tile_rows, tile_cols, stream);
    case DType::Float16: return dispatch_typed<Launch, __half>(args, tile_rows, tile_cols, stream);
    case DType::BFloat16: return dispatch_typed<Launch, __nv_bfloat16>(args, tile_rows, tile_cols, stream);
    case DType::Float64: break;
  }
  return cudaErrorInvalidValue;
}

}  // namespace phase_block
}  // namespace cuda
}  // namespace tconv
