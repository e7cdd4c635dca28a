// Phase-row kernel: a CTA computes whole output rows (one image, one group, one output row, every
// output channel of the group), for memory-bound layers with strides: KernelBench 75 and 81, where
// most of the output is bias-only and each live output takes a few dozen multiply-adds.
//
// Why a kernel of its own. Such layers are write-bound (KernelBench 81: 831 MB out from 17 MB in),
// so the goal is stores at the copy rate. The one-pass streaming kernel computes each output pixel
// where it stores it: it pays integer address work for every pixel and tap, and on rows mixing
// live and bias-only phases 40% of its lanes idle (ncu, session 4: 0.68 instructions issued per
// cycle and scheduler, DRAM 32% busy). Here an output row's structure is resolved once per CTA:
//   - The row's phase on the H axis fixes its H taps and their input rows (at most a few). A row
//     none of whose taps lands inside the input is bias-only: the CTA fills it with 16-byte stores.
//   - Otherwise the CTA stages those input rows for every input channel of the group (zero halo on
//     both sides, so no tap tests bounds). Rows of whole 16-byte vectors (NCHW input, widths a
//     multiple of 4 float32 or 8 16-bit values) come by 16-byte cp.async, all in flight at once;
//     bf16/fp16 land raw in the output-row buffer and are paired into operand words there, TF32 is
//     rounded in place. Other inputs (channels_last, views) go through registers in batches.
//   - The weights, packed once per call in the workspace as [group][kh][kw][channel row][out
//     channel], come by 16-byte cp.async: all output channels at once where that holds as many CTAs
//     per SM, else per chunk of output channels, the next chunk's while this one's rows are stored.
//   - Then it walks the W phases. A warp item is a run of 64 positions of one phase x 8 output
//     channels (16 on tensor cores where that costs no CTA per SM and leaves no warp idle); lanes
//     take consecutive positions (conflict-free shared loads of the staged rows).
//   - The channel loop runs on tensor cores where their inputs are exact or allowed (bf16/fp16, and
//     float32 with TF32): per (tap, W tap) 4 m16n8 tiles per 8 channels, M = positions, N =
//     channels, K = input channels as operand words (mma m16n8k16 / m16n8k8; m16n8k8 16-bit for
//     groups of at most 8 input channels, which k16 would pad with zeros), rows of words staged with
//     a pitch of 8 mod 32 so each fragment load hits 32 banks. Strict float32 runs FFMA on float
//     rows: a thread 2 positions x 8 channels, per input channel 2 row loads and 2 broadcast 16-byte
//     weight loads for 16 FMAs. Both accumulate in float32, starting from the bias.
//   - Results, cast, go to a shared row buffer at their output columns, so phases interleave there
//     and not in memory. Where some W phase has no taps (gcd(stride, dilation) > 1, or a kernel
//     narrower than the stride), the buffer rows start as the bias and those phases cost nothing.
//     The buffer is written out row by row with 16-byte streaming stores (each buffer row starts at
//     the same offset modulo 16 bytes as its output row).
// Output channels go through the buffer in chunks sized so that every warp has work per chunk.
// Measured (H100, docs/cuda-kernels.md, benchmark of record, session 12): KernelBench 81 0.392 ms
// strict float32 (cuDNN 1.44), 0.373 TF32 (76% of the copy floor), 0.229 bf16 (cuDNN 0.95, 62%);
// KernelBench 75 0.470 ms float32 and TF32 (cuDNN 6.67; 62%), 0.259 bf16 (cuDNN 1.20, 56%). The
// one-pass kernel took 0.67-0.72 ms.
#include <algorithm>

#include "element.cuh"
#include "launch.h"
#include "phase_table.h"
#include "shared_memory_limit.cuh"
#include "tensor_core.cuh"

namespace tconv {
namespace cuda {
namespace {

using tensor_core::cp_async16;
using tensor_core::cp_async_commit;
using tensor_core::cp_async_wait_all;
using tensor_core::shared_address;

constexpr int kThreads = 128;
constexpr int kWarps = kThreads / 32;
constexpr int kPositions = 2;                   // per thread: q-indices lane and lane + 32 of a run
constexpr int kRun = 32 * kPositions;           // q-indices of one phase per warp item
constexpr int kChannels = 8;                    // output channels per warp item
constexpr int kMaxRowTaps = 16;                 // H taps per output row (tap_count <= kernel_h)
constexpr int64_t kSharedBudget = 100 * 1024;   // two CTAs per SM at least

struct PhaseRowArgs {
  ConvArgs conv;
  Strides4 output_strides;
  PhaseTable h, w;
  int halo_left;     // zero columns staged before input column 0
  int stage_width;   // halo_left + W_in + zero columns after
  int row_taps;      // the most H taps an output row can have
  int channel_rows;  // staged rows per tap: input channels (FFMA) or operand words (tensor cores)
  int step_words;    // tensor cores: operand words per mma k-step, 8, or 4 (m16n8k8 16-bit, see make_plan)
  int item_channels; // output channels per warp item: 8, or on tensor cores 16 (two N tiles)
  bool bias_fill;    // some W phase has no taps: buffer rows start as the bias, those phases are skipped
  int stage_pitch;   // words per staged row: stage_width, or for tensor cores 8 mod 32 (no conflicts)
  int runs;          // kRun-wide runs of the longest W phase
  int chunk;         // output channels per chunk: item_channels, twice that, ... kThreads
  bool resident_weights;  // every chunk's weights staged once (where that costs no CTA per SM),
                          // else one chunk's at a time, the next fetched while this one's rows go out
  int weight_vectors;     // 16-byte vectors per staged weight row: chunk / 4, or cout_padded / 4
  int weight_pitch;       // words per staged weight row: 4 * weight_vectors, or for tensor cores 8 or
                          // 24 mod 32
  int cout_padded;   // output channels per group rounded up to a whole chunk (packed weights)
  const uint32_t* packed_weights;  // [group][kh][kw][channel row][cout_padded] words
  int buffer_stride; // elements of T per buffer row, a multiple of 16 bytes
  int stage_words, weight_words;  // shared-memory regions before the buffer
  bool copy_stage;   // stage by 16-byte cp.async (unit-stride, 16-byte aligned input rows; halo_left
                     // and stage_width whole vectors), else through registers
  int buffer_bytes;  // the output-row buffer, which the 16-bit copy stage also uses for raw rows
};

int64_t round_up(int64_t value, int64_t multiple) { return (value + multiple - 1) / multiple * multiple; }

// Writes output row `dst` (Wo elements) from a source of 16-byte vectors: vector v holds columns
// v*kVector - shift .. + kVector, shift = the row's offset from 16-byte alignment in elements, so
// whole vectors go out as one aligned 16-byte store and the row's ragged ends element by element.
// Streaming stores: the output is written once and not read back by this kernel.
template <typename T, typename VectorAt, typename ElementAt>
__device__ __forceinline__ void store_row(T* dst, int Wo, int shift, int lane, VectorAt vector_at,
                                          ElementAt element_at) {
  constexpr int kVector = 16 / sizeof(T);
  const int vectors = (shift + Wo + kVector - 1) / kVector;
  for (int v = lane; v < vectors; v += 32) {
    const int first = v * kVector - shift;
    if (first >= 0 && first + kVector <= Wo) {
      __stcs(reinterpret_cast<int4*>(dst + first), vector_at(v));
    } else {
      for (int e = max(first, 0); e < min(first + kVector, Wo); ++e) dst[e] = element_at(e);
    }
  }
}

// Scalar stores to shared memory by 32-bit shared address: the epilogue's 16 stores per phase
// otherwise may each rebuild the generic address of the shared window (S2R per store in SASS).
__device__ __forceinline__ void store_shared(uint32_t address, float v) {
  asm volatile("st.shared.f32 [%0], %1;\n" ::"r"(address), "f"(v) : "memory");
}
__device__ __forceinline__ void store_shared(uint32_t address, __half v) {
  asm volatile("st.shared.b16 [%0], %1;\n" ::"r"(address), "h"(__half_as_ushort(v)) : "memory");
}
__device__ __forceinline__ void store_shared(uint32_t address, __nv_bfloat16 v) {
  asm volatile("st.shared.b16 [%0], %1;\n" ::"r"(address), "h"(__bfloat16_as_ushort(v)) : "memory");
}

template <typename T>
__device__ __forceinline__ T bias_value(const PhaseRowArgs& p, int64_t channel) {
  const T* bias = static_cast<const T*>(p.conv.bias);
  return bias != nullptr ? load_readonly(bias + channel) : from_acc<T>(0.0f);
}

// Stages the row's live input rows (tap-major, then input channel) as float rows of stage_width
// values, zero outside the input. A warp takes kStageRows rows at a time, kStageLoads columns per
// lane each, and issues all their loads before the stores; row pointers are computed once per pass
// and unit column strides (NCHW-like rows) index in 32 bits.
template <typename T, bool UnitColumns>
__device__ __forceinline__ void stage_input_rows(const PhaseRowArgs& p, float* stage, const T* x_image, int live,
                                                 const int* row_ih, int warp, int lane) {
  constexpr int kStageRows = 4, kStageLoads = 4;
  const Strides4& xs = p.conv.input_strides;
  const int cin_g = static_cast<int>(p.conv.geometry.in_channels_per_group());
  const unsigned W_in = static_cast<unsigned>(p.conv.geometry.w.in);
  const int rows = live * cin_g;
  for (int row0 = warp; row0 < rows; row0 += kStageRows * kWarps) {
    const T* src[kStageRows];
#pragma unroll
    for (int r = 0; r < kStageRows; ++r) {
      const int row = min(row0 + r * kWarps, rows - 1);
      const int tap = row / cin_g, ci = row - tap * cin_g;
      src[r] = x_image + ci * xs.c + int64_t(row_ih[tap]) * xs.h;
    }
    for (int c0 = lane; c0 < p.stage_width; c0 += 32 * kStageLoads) {
      float v[kStageRows][kStageLoads];
#pragma unroll
      for (int b = 0; b < kStageLoads; ++b) {
        const int iw = c0 + 32 * b - p.halo_left;
        const bool inside = static_cast<unsigned>(iw) < W_in;
#pragma unroll
        for (int r = 0; r < kStageRows; ++r)
          v[r][b] = inside ? to_acc(load_readonly(UnitColumns ? src[r] + iw : src[r] + iw * xs.w)) : 0.0f;
      }
#pragma unroll
      for (int r = 0; r < kStageRows; ++r)
#pragma unroll
        for (int b = 0; b < kStageLoads; ++b)
          if (row0 + r * kWarps < rows && c0 + 32 * b < p.stage_width)
            stage[(row0 + r * kWarps) * p.stage_pitch + c0 + 32 * b] = v[r][b];
    }
  }
}

// The tensor-core path's stage: per live tap, channel_rows rows of 32-bit operand words (a TF32
// value, or the bf16/fp16 pair of input channels 2w and 2w + 1), stage_pitch words apart, zero
// outside the input and past the group's channels. A warp takes kStageRows word rows at a time,
// kStageLoads columns per lane each.
template <typename T, bool UnitColumns>
__device__ __forceinline__ void stage_input_words(const PhaseRowArgs& p, uint32_t* stage, const T* x_image, int live,
                                                  const int* row_ih, int warp, int lane) {
  constexpr int kStageRows = 4, kStageLoads = 4, kValues = tensor_core::WordPack<T>::values;
  const Strides4& xs = p.conv.input_strides;
  const int cin_g = static_cast<int>(p.conv.geometry.in_channels_per_group());
  const unsigned W_in = static_cast<unsigned>(p.conv.geometry.w.in);
  const int rows = live * p.channel_rows;
  for (int row0 = warp; row0 < rows; row0 += kStageRows * kWarps) {
    const T* src[kStageRows][kValues];  // null past the group's channels
#pragma unroll
    for (int r = 0; r < kStageRows; ++r) {
      const int row = min(row0 + r * kWarps, rows - 1);
      const int tap = row / p.channel_rows, word = row - tap * p.channel_rows;
#pragma unroll
      for (int e = 0; e < kValues; ++e) {
        const int ci = word * kValues + e;
        src[r][e] = ci < cin_g ? x_image + ci * xs.c + int64_t(row_ih[tap]) * xs.h : nullptr;
      }
    }
    for (int c0 = lane; c0 < p.stage_width; c0 += 32 * kStageLoads) {
      T v[kStageRows][kStageLoads][2];
#pragma unroll
      for (int b = 0; b < kStageLoads; ++b) {
        const int iw = c0 + 32 * b - p.halo_left;
        const bool inside = static_cast<unsigned>(iw) < W_in;
#pragma unroll
        for (int r = 0; r < kStageRows; ++r)
#pragma unroll
          for (int e = 0; e < 2; ++e)
            v[r][b][e] = e < kValues && inside && src[r][e] != nullptr
                             ? load_readonly(UnitColumns ? src[r][e] + iw : src[r][e] + iw * xs.w)
                             : from_acc<T>(0.0f);
      }
#pragma unroll
      for (int r = 0; r < kStageRows; ++r)
#pragma unroll
        for (int b = 0; b < kStageLoads; ++b)
          if (row0 + r * kWarps < rows && c0 + 32 * b < p.stage_width)
            stage[(row0 + r * kWarps) * p.stage_pitch + c0 + 32 * b] =
                tensor_core::make_word<false>(v[r][b][0], v[r][b][1]);
    }
  }
}

// The copy stage: every live input row of the group straight from global memory by 16-byte
// cp.async, all in flight at once (the register stages above wait for each batch of loads), zero-
// filled outside the input. Row r of `rows` (pitch_bytes apart) is channel r % rows_per_tap of live
// tap r / rows_per_tap; channels past the group's are zero rows. halo_left and stage_width are whole
// vectors here, so each vector is either wholly left of the input or starts inside it.
template <typename T>
__device__ __forceinline__ void copy_input_rows(const PhaseRowArgs& p, uint32_t rows, int pitch_bytes, int rows_per_tap,
                                                const T* x_image, int live, const int* row_ih, int warp, int lane) {
  constexpr int kVector = 16 / sizeof(T);
  const Strides4& xs = p.conv.input_strides;
  const int cin_g = static_cast<int>(p.conv.geometry.in_channels_per_group());
  const int W_in = static_cast<int>(p.conv.geometry.w.in);
  const int vectors = p.stage_width / kVector;
  for (int row = warp; row < live * rows_per_tap; row += kWarps) {
    const int tap = row / rows_per_tap, ci = row - tap * rows_per_tap;
    const bool real = ci < cin_g;
    const T* src = real ? x_image + ci * xs.c + int64_t(row_ih[tap]) * xs.h : x_image;
    for (int v = lane; v < vectors; v += 32) {
      const int iw = v * kVector - p.halo_left;
      const int inside = real && iw >= 0 ? min(W_in - iw, kVector) : 0;
      tensor_core::cp_async16_partial(rows + row * pitch_bytes + v * 16, inside > 0 ? src + iw : x_image,
                                      max(inside, 0) * int(sizeof(T)));
    }
  }
}

// After the copy stage, the tensor cores' operand words in place of raw values: TF32 rounds the
// staged floats in place (round to nearest, as the register stage does); bf16/fp16 pair raw rows
// 2w and 2w + 1 (in `raw`, cin_g rows per tap) into word row w, zero past the group's channels.
template <typename T>
__device__ __forceinline__ void make_stage_words(const PhaseRowArgs& p, uint32_t* stage, const T* raw, int live) {
  const int cin_g = static_cast<int>(p.conv.geometry.in_channels_per_group());
  if constexpr (sizeof(T) == 4) {
    tensor_core::round_to_tf32_in_place(reinterpret_cast<float*>(stage), live * p.channel_rows * p.stage_pitch,
                                        threadIdx.x, kThreads);
  } else {
    const int vectors = p.stage_width / 8;  // 8 columns: one 16-byte raw vector, two of words
    const int items = live * p.channel_rows * vectors;
    for (int i = threadIdx.x; i < items; i += kThreads) {
      const int row = i / vectors, v = i - row * vectors;
      const int tap = row / p.channel_rows, word = row - tap * p.channel_rows;
      const uint4 zero = make_uint4(0, 0, 0, 0);
      const uint4* raw_row = reinterpret_cast<const uint4*>(raw + (tap * cin_g + 2 * word) * p.stage_width) + v;
      const uint4 lo = 2 * word < cin_g ? raw_row[0] : zero;
      const uint4 hi = 2 * word + 1 < cin_g ? raw_row[p.stage_width / 8] : zero;
      uint4* out = reinterpret_cast<uint4*>(stage + row * p.stage_pitch + 8 * v);
      out[0] = make_uint4(__byte_perm(lo.x, hi.x, 0x5410), __byte_perm(lo.x, hi.x, 0x7632),
                          __byte_perm(lo.y, hi.y, 0x5410), __byte_perm(lo.y, hi.y, 0x7632));
      out[1] = make_uint4(__byte_perm(lo.z, hi.z, 0x5410), __byte_perm(lo.z, hi.z, 0x7632),
                          __byte_perm(lo.w, hi.w, 0x5410), __byte_perm(lo.w, hi.w, 0x7632));
    }
  }
}

// One warp item on tensor cores: the run's 64 positions x 8 * kNTiles output channels of every W
// phase, as 4 x kNTiles m16n8 tiles (M = positions, N = channels, K = operand words of input
// channels, kStepWords per step: mma m16n8k8 TF32 or m16n8k16 bf16/fp16 at 8 words, m16n8k8
// bf16/fp16 at 4). Lane (g = lane / 4, t = lane % 4) holds positions g and g + 8 of each tile and
// channels 2t, 2t + 1 of each N tile: the A fragment words are stage rows t (and t + 4) at those
// positions' columns (stage_pitch = 8 mod 32: the 32 lanes hit 32 banks), the B words weight rows t
// (and t + 4) at channel g of the N tile. With two N tiles every A fragment feeds two mma. The
// accumulators start at the bias; W phases without taps were filled with it (see bias_fill).
// kStrideW: the W stride where it is a compile-time constant (0: read at run time); then the
// epilogue's 16-bit stores of a lane sit at immediate offsets from one address per channel.
template <typename T, int kStepWords, int kNTiles, int kStrideW, typename ShiftOf, typename BiasOf>
__device__ __forceinline__ void tensor_core_item(const PhaseRowArgs& p, const uint32_t* stage, const uint32_t* weights,
                                                 uint32_t buffer_address, int live, int run, int co0, int chunk0,
                                                 int weight0, int tap_plane, int lane, ShiftOf shift_of, BiasOf bias_of) {
  static_assert(kStepWords == 8 || (kStepWords == 4 && sizeof(T) == 2), "m16n8k8 on 4 words is 16-bit only");
  constexpr int kTiles = kRun / 16, kHalves = kStepWords / 4;
  const int g = lane / 4, t = lane % 4;
  const ConvTransposeGeometry& geometry = p.conv.geometry;
  const int cout_g = static_cast<int>(geometry.out_channels_per_group());
  const int KW = static_cast<int>(geometry.w.kernel);
  const int Sw = kStrideW > 0 ? kStrideW : static_cast<int>(geometry.w.stride);
  const int pad_w = static_cast<int>(geometry.w.padding);
  float bias[kNTiles][2];
  int buffer_row[kNTiles][2];
#pragma unroll
  for (int n = 0; n < kNTiles; ++n)
#pragma unroll
    for (int e = 0; e < 2; ++e) {
      const int co = co0 + 8 * n + 2 * t + e;
      const bool valid = co < cout_g;
      bias[n][e] = valid ? to_acc(bias_of(co)) : 0.0f;
      buffer_row[n][e] = (co - chunk0) * p.buffer_stride + (valid ? shift_of(co) : 0);
    }
#pragma unroll 1
  for (int rw = 0; rw < Sw; ++rw) {
    const int count = p.w.output_count[rw];
    const TapRun col_phase = p.w.phase[rw];
    if (run * kRun >= count || (p.bias_fill && col_phase.count == 0)) continue;
    const int q0 = p.w.first_q[rw];
    // Stage column of position g of the run (tap 0); the tiles' positions follow at immediate offsets.
    // Positions past the phase read columns past the staged ones (at most kRun - 1 words on, still
    // inside shared memory: the weights and the buffer follow the stage) and store nothing.
    const int column = q0 + run * kRun + g - col_phase.input_offset + p.halo_left;
    float acc[kTiles][kNTiles][4];
#pragma unroll
    for (int m = 0; m < kTiles; ++m)
#pragma unroll
      for (int n = 0; n < kNTiles; ++n)
#pragma unroll
        for (int r = 0; r < 4; ++r) acc[m][n][r] = bias[n][r % 2];
    for (int tap = 0; tap < live; ++tap) {
      for (int jw = 0; jw < col_phase.count; ++jw) {
        const int kw = col_phase.first_tap + jw * p.w.tap_step;
        const uint32_t* x_words = stage + tap * tap_plane + t * p.stage_pitch - jw * p.w.input_step + column;
        const uint32_t* w_words = weights + ((tap * KW + kw) * p.channel_rows + t) * p.weight_pitch + co0 - weight0 + g;
        for (int step = 0; step < p.channel_rows; step += kStepWords) {
          uint32_t b[kNTiles][kHalves];
#pragma unroll
          for (int n = 0; n < kNTiles; ++n)
#pragma unroll
            for (int half = 0; half < kHalves; ++half) b[n][half] = w_words[(step + 4 * half) * p.weight_pitch + 8 * n];
#pragma unroll
          for (int m = 0; m < kTiles; ++m) {
            uint32_t a[kHalves][2];
#pragma unroll
            for (int half = 0; half < kHalves; ++half)
#pragma unroll
              for (int h = 0; h < 2; ++h) a[half][h] = x_words[(step + 4 * half) * p.stage_pitch + 16 * m + 8 * h];
#pragma unroll
            for (int n = 0; n < kNTiles; ++n) {
              if constexpr (kStepWords == 8) {
                const uint32_t a4[4] = {a[0][0], a[0][1], a[kHalves - 1][0], a[kHalves - 1][1]};
                tensor_core::mma(acc[m][n], a4, b[n][0], b[n][kHalves - 1], T());
              } else {
                tensor_core::mma_k8(acc[m][n], a[0][0], a[0][1], b[n][0], T());
              }
            }
          }
        }
      }
    }
    // Position g of the run goes to output column ow0; the tiles' positions follow (16 m + 8 h) Sw
    // columns on.
    const int ow0 = (q0 + run * kRun + g) * Sw + rw - pad_w;
    uint32_t at[kNTiles][2];
#pragma unroll
    for (int n = 0; n < kNTiles; ++n)
#pragma unroll
      for (int e = 0; e < 2; ++e) at[n][e] = buffer_address + (buffer_row[n][e] + ow0) * int(sizeof(T));
#pragma unroll
    for (int m = 0; m < kTiles; ++m)
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        if (run * kRun + 16 * m + g + 8 * h >= count) continue;
        const int offset = (16 * m + 8 * h) * Sw * int(sizeof(T));
#pragma unroll
        for (int n = 0; n < kNTiles; ++n)
#pragma unroll
          for (int e = 0; e < 2; ++e)
            if (co0 + 8 * n + 2 * t + e < cout_g) store_shared(at[n][e] + offset, from_acc<T>(acc[m][n][2 * h + e]));
      }
  }
}

// The item body for the call's W stride: 2 to 5 compiled as constants (store offsets as
// immediates), others read at run time.
template <typename T, int kStepWords, int kNTiles, typename... Args>
__device__ __forceinline__ void tensor_core_item_for_stride(const PhaseRowArgs& p, Args... args) {
  switch (p.conv.geometry.w.stride) {
    case 2: tensor_core_item<T, kStepWords, kNTiles, 2>(p, args...); break;
    case 3: tensor_core_item<T, kStepWords, kNTiles, 3>(p, args...); break;
    case 4: tensor_core_item<T, kStepWords, kNTiles, 4>(p, args...); break;
    case 5: tensor_core_item<T, kStepWords, kNTiles, 5>(p, args...); break;
    default: tensor_core_item<T, kStepWords, kNTiles, 0>(p, args...); break;
  }
}

// The item body for the plan's item width and k-step. 4-word steps exist for 16-bit types only
// (make_plan); float32 instantiates the 8-word body in their place, never called.
template <typename T, typename... Args>
__device__ __forceinline__ void tensor_core_item_for_plan(const PhaseRowArgs& p, Args... args) {
  constexpr int kShortStep = sizeof(T) == 2 ? 4 : 8;
  const bool short_step = p.step_words == 4;
  if (p.item_channels == 2 * kChannels) {
    if (short_step) tensor_core_item_for_stride<T, kShortStep, 2>(p, args...);
    else tensor_core_item_for_stride<T, 8, 2>(p, args...);
  } else {
    if (short_step) tensor_core_item_for_stride<T, kShortStep, 1>(p, args...);
    else tensor_core_item_for_stride<T, 8, 1>(p, args...);
  }
}

// Register caps: float32 at 128 (4 CTAs of kThreads per SM), 16-bit at 96 (5 CTAs where shared
// memory allows). Measured on the H100 (session 10): 16-bit KernelBench 81 0.281 -> 0.264 ms and 75
// 0.448 -> 0.428 at 96, while float32 lost 2-5% there (81 fp32 0.385 -> 0.403); 80 was slower for
// both. The kernel issues 2.8 instructions per cycle and SM (ncu), so more warps help only a little.
template <typename T> constexpr int max_registers() { return sizeof(T) == 2 ? 96 : 128; }

template <typename T, bool kTensorCores>
__global__ void __maxnreg__(max_registers<T>()) phase_row_kernel(const PhaseRowArgs p) {
  constexpr int kVector = 16 / sizeof(T);
  extern __shared__ int4 shared_words[];
  uint32_t* stage = reinterpret_cast<uint32_t*>(shared_words);  // [row tap][channel row][stage_pitch]
  uint32_t* weights = stage + p.stage_words;                     // [row tap][kw][channel row][weight_pitch]
  T* buffer = reinterpret_cast<T*>(weights + p.weight_words);   // [chunk channel][buffer_stride]
  const uint32_t buffer_address = shared_address(buffer);
  __shared__ int row_kh[kMaxRowTaps], row_ih[kMaxRowTaps];

  const ConvTransposeGeometry& g = p.conv.geometry;
  const int Ho = static_cast<int>(g.h.out), Wo = static_cast<int>(g.w.out);
  const int cin_g = static_cast<int>(g.in_channels_per_group());
  const int cout_g = static_cast<int>(g.out_channels_per_group());
  const int KH = static_cast<int>(g.h.kernel), KW = static_cast<int>(g.w.kernel);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;

  int64_t unit = blockIdx.x;
  const int oh = static_cast<int>(unit % Ho);
  unit /= Ho;
  const int group = static_cast<int>(unit % g.groups);
  const int64_t n = unit / g.groups;

  // The row's H taps whose input row exists (the same on every thread).
  const int th = oh + static_cast<int>(g.h.padding);
  const int qh = th / static_cast<int>(g.h.stride);
  const TapRun row_phase = p.h.phase[th % static_cast<int>(g.h.stride)];
  int live = 0;
  for (int j = 0; j < row_phase.count; ++j) {
    const int ih = qh - row_phase.input_offset - j * p.h.input_step;
    if (ih < 0 || ih >= g.h.in) continue;
    if (threadIdx.x == 0) {
      row_kh[live] = row_phase.first_tap + j * p.h.tap_step;
      row_ih[live] = ih;
    }
    ++live;
  }

  T* out = static_cast<T*>(p.conv.output);
  const int64_t first_channel = int64_t(group) * cout_g;
  auto row_start = [&](int co) {
    return n * p.output_strides.n + (first_channel + co) * p.output_strides.c + int64_t(oh) * p.output_strides.h;
  };
  auto row_shift = [&](int64_t start) { return static_cast<int>(start & (kVector - 1)); };

  if (live == 0) {  // bias only
    for (int co = warp; co < cout_g; co += kWarps) {
      const T value = bias_value<T>(p, first_channel + co);
      int4 fill;
      T* lanes = reinterpret_cast<T*>(&fill);
#pragma unroll
      for (int e = 0; e < kVector; ++e) lanes[e] = value;
      const int64_t start = row_start(co);
      store_row(out + start, Wo, row_shift(start), lane, [&](int) { return fill; }, [&](int) { return value; });
    }
    return;
  }
  __syncthreads();  // row_kh, row_ih

  // One chunk's weights for the row's live taps, [tap][kw][channel row][co < chunk], by 16-byte
  // cp.async.
  const int rows_per_tap = KW * p.channel_rows;
  const uint32_t* group_weights = p.packed_weights + int64_t(group) * KH * rows_per_tap * p.cout_padded;
  auto fetch_weights = [&](int chunk0, uint32_t* dst) {
    const int vectors = live * rows_per_tap * p.weight_vectors;
    for (int v = threadIdx.x; v < vectors; v += kThreads) {
      const int row = v / p.weight_vectors, part = v - row * p.weight_vectors;
      const int tap = row / rows_per_tap;
      const uint32_t* src =
          group_weights + (int64_t(row_kh[tap]) * rows_per_tap + row - tap * rows_per_tap) * p.cout_padded + chunk0 +
          4 * part;
      cp_async16(shared_address(dst + row * p.weight_pitch + 4 * part), src);
    }
    cp_async_commit();
  };
  fetch_weights(0, weights);

  // Stage the live input rows of every input channel, zero halo included.
  const T* x_image = static_cast<const T*>(p.conv.input) + n * p.conv.input_strides.n +
                     int64_t(group) * cin_g * p.conv.input_strides.c;
  if (p.copy_stage) {
    // 16-bit words pair two channels, which a copy can't: their raw rows go to the buffer first.
    constexpr bool kRaw = kTensorCores && sizeof(T) == 2;
    const int rows_per_tap = kTensorCores && !kRaw ? p.channel_rows : cin_g;
    const int pitch_bytes = kRaw ? p.stage_width * int(sizeof(T)) : p.stage_pitch * 4;
    copy_input_rows<T>(p, kRaw ? buffer_address : shared_address(stage), pitch_bytes, rows_per_tap, x_image, live,
                       row_ih, warp, lane);
    cp_async_commit();
    if constexpr (kTensorCores) {
      cp_async_wait_all();
      __syncthreads();
      make_stage_words<T>(p, stage, buffer, live);
      if (kRaw && p.bias_fill) __syncthreads();  // the raw rows read before the bias fill below
    }
  } else if constexpr (kTensorCores) {
    if (p.conv.input_strides.w == 1) stage_input_words<T, true>(p, stage, x_image, live, row_ih, warp, lane);
    else stage_input_words<T, false>(p, stage, x_image, live, row_ih, warp, lane);
  } else {
    float* rows = reinterpret_cast<float*>(stage);
    if (p.conv.input_strides.w == 1) stage_input_rows<T, true>(p, rows, x_image, live, row_ih, warp, lane);
    else stage_input_rows<T, false>(p, rows, x_image, live, row_ih, warp, lane);
  }

  // Where some W phase has no taps (KernelBench 81: 2 of 5; see bias_fill), every buffer row starts
  // as its channel's bias: those phases then cost nothing per element, and the items write only the
  // other phases' columns. A warp fills the rows it will store; the next chunk's fill follows each
  // row's store (same lanes, same vectors).
  auto fill_bias_row = [&](int row, int co) {
    const T value = bias_value<T>(p, first_channel + co);
    int4 fill;
    T* lanes = reinterpret_cast<T*>(&fill);
#pragma unroll
    for (int e = 0; e < kVector; ++e) lanes[e] = value;
    int4* vectors = reinterpret_cast<int4*>(buffer + row * p.buffer_stride);
    for (int v = lane; v < p.buffer_stride / kVector; v += 32) vectors[v] = fill;
  };
  if (p.bias_fill)
    for (int c = warp; c < min(p.chunk, cout_g); c += kWarps) fill_bias_row(c, c);

  const int Sw = static_cast<int>(g.w.stride), pad_w = static_cast<int>(g.w.padding);
  const int tap_plane = p.channel_rows * p.stage_pitch;  // stage words per live tap
  for (int chunk0 = 0; chunk0 < cout_g; chunk0 += p.chunk) {
    const int weight0 = p.resident_weights ? 0 : chunk0;  // the staged weights' first channel
    cp_async_wait_all();
    __syncthreads();  // this chunk's weights (and the stage) in, the previous chunk's stores read
    // Warp items: (run of one W phase, item_channels output channels); each walks every phase of
    // its run.
    const int channel_items = (min(p.chunk, cout_g - chunk0) + p.item_channels - 1) / p.item_channels;
    for (int item = warp; item < p.runs * channel_items; item += kWarps) {
      const int run = item / channel_items;
      const int co0 = chunk0 + (item % channel_items) * p.item_channels;
      if constexpr (kTensorCores) {
        tensor_core_item_for_plan<T>(p, stage, weights, buffer_address, live, run, co0, chunk0, weight0, tap_plane, lane,
                                     [&](int co) { return row_shift(row_start(co)); },
                                     [&](int co) { return bias_value<T>(p, first_channel + co); });
      } else {
        const float* stage_rows = reinterpret_cast<const float*>(stage);
        const float* weight_rows = reinterpret_cast<const float*>(weights);
        // Per channel: its bias and where its output row starts in the buffer (the row's shift).
        float bias[kChannels];
        int buffer_row[kChannels];
#pragma unroll
        for (int c = 0; c < kChannels; ++c) {
          const bool valid = co0 + c < cout_g;
          bias[c] = valid ? to_acc(bias_value<T>(p, first_channel + co0 + c)) : 0.0f;
          buffer_row[c] = (co0 - chunk0 + c) * p.buffer_stride + (valid ? row_shift(row_start(co0 + c)) : 0);
        }
        for (int rw = 0; rw < Sw; ++rw) {
          const int count = p.w.output_count[rw];
          const TapRun col_phase = p.w.phase[rw];
          if (run * kRun >= count || (p.bias_fill && col_phase.count == 0)) continue;
          const int q0 = p.w.first_q[rw];
          int k[kPositions], column[kPositions];
#pragma unroll
          for (int j = 0; j < kPositions; ++j) {
            k[j] = run * kRun + lane + 32 * j;
            // Positions past the phase compute on its last one (in the staged row) and store nothing.
            column[j] = q0 + min(k[j], count - 1) - col_phase.input_offset + p.halo_left;
          }
          float acc[kPositions][kChannels];
#pragma unroll
          for (int j = 0; j < kPositions; ++j)
#pragma unroll
            for (int c = 0; c < kChannels; ++c) acc[j][c] = bias[c];
          for (int tap = 0; tap < live; ++tap) {
            for (int jw = 0; jw < col_phase.count; ++jw) {
              const int kw = col_phase.first_tap + jw * p.w.tap_step;
              const float* xrow = stage_rows + tap * tap_plane - jw * p.w.input_step;
              const float* wrow = weight_rows + (tap * KW + kw) * cin_g * p.weight_pitch + co0 - weight0;
#pragma unroll 8
              for (int ci = 0; ci < cin_g; ++ci) {
                float xv[kPositions];
#pragma unroll
                for (int j = 0; j < kPositions; ++j) xv[j] = xrow[ci * p.stage_pitch + column[j]];
                const float4 w0 = *reinterpret_cast<const float4*>(wrow + ci * p.weight_pitch);
                const float4 w1 = *reinterpret_cast<const float4*>(wrow + ci * p.weight_pitch + 4);
                const float wv[kChannels] = {w0.x, w0.y, w0.z, w0.w, w1.x, w1.y, w1.z, w1.w};
#pragma unroll
                for (int j = 0; j < kPositions; ++j)
#pragma unroll
                  for (int c = 0; c < kChannels; ++c) acc[j][c] = fmaf(xv[j], wv[c], acc[j][c]);
              }
            }
          }
#pragma unroll
          for (int j = 0; j < kPositions; ++j) {
            if (k[j] >= count) continue;
            const int ow = (q0 + k[j]) * Sw + rw - pad_w;
#pragma unroll
            for (int c = 0; c < kChannels; ++c)
              if (co0 + c < cout_g)
                store_shared(buffer_address + (buffer_row[c] + ow) * int(sizeof(T)), from_acc<T>(acc[j][c]));
          }
        }
      }
    }
    __syncthreads();
    // One weight buffer (a second one cost KernelBench 75 a CTA per SM): the next chunk's weights
    // arrive while this chunk's rows are stored.
    if (!p.resident_weights && chunk0 + p.chunk < cout_g) fetch_weights(chunk0 + p.chunk, weights);
    const int next_rows = min(p.chunk, cout_g - chunk0 - p.chunk);  // <= 0 after the last chunk
    for (int c = warp; c < min(p.chunk, cout_g - chunk0); c += kWarps) {
      const int64_t start = row_start(chunk0 + c);
      const T* row = buffer + c * p.buffer_stride;
      store_row(out + start, Wo, row_shift(start), lane,
                [&](int v) { return reinterpret_cast<const int4*>(row)[v]; },
                [&](int e) { return row[row_shift(start) + e]; });
      if (p.bias_fill && c < next_rows) fill_bias_row(c, chunk0 + p.chunk + c);
    }
    // The next chunk's items write the buffer only after its barrier.
  }
}

size_t element_size(DType dtype) { return dtype == DType::Float32 ? 4 : 2; }

// Tensor cores where their inputs are exact or allowed: bf16/fp16, and float32 when TF32 is.
bool uses_tensor_cores(const ConvArgs& args) { return args.dtype != DType::Float32 || args.allow_tf32; }

// CTAs of the kernel one SM holds with `bytes` of dynamic shared memory (H100: 228 KB per SM, 1 KB
// of it reserved per CTA) and its register cap.
int64_t ctas_per_sm(int64_t bytes, int registers) {
  return std::min<int64_t>(65536 / (kThreads * registers), 233472 / (bytes + 1024));
}

// The launch plan; returns false where the kernel does not apply (see phase_row_supported).
bool make_plan(const ConvArgs& args, PhaseRowArgs* plan) {
  const ConvTransposeGeometry& g = args.geometry;
  if (args.dtype == DType::Float64 || args.output_channels_last) return false;
  if (reinterpret_cast<uintptr_t>(args.output) % 16 != 0) return false;
  if (g.h.stride > kMaxTableStride || g.w.stride > kMaxTableStride) return false;
  const int64_t limit = int64_t(1) << 30;
  if (g.h.out >= limit || g.w.out >= limit || g.h.in >= limit || g.w.in >= limit || g.h.padding >= limit ||
      g.w.padding >= limit || g.h.kernel > kMaxRowTaps)
    return false;
  if (g.batch * g.groups * g.h.out >= (int64_t(1) << 31)) return false;  // CTAs in one grid dimension

  PhaseRowArgs& p = *plan;
  p.conv = args;
  p.output_strides = output_strides(args);
  p.h = make_phase_table(g.h);
  p.w = make_phase_table(g.w);
  // Staged columns: every (phase, position, tap) reads  first_q + k - input_offset - j*input_step.
  int64_t lowest = 0, highest = g.w.in - 1, longest = 0;
  p.row_taps = 0;
  for (int r = 0; r < g.h.stride; ++r) p.row_taps = std::max(p.row_taps, p.h.phase[r].count);
  for (int r = 0; r < g.w.stride; ++r) {
    const TapRun taps = p.w.phase[r];
    const int64_t count = p.w.output_count[r];
    longest = std::max(longest, count);
    if (count == 0 || taps.count == 0) continue;
    lowest = std::min<int64_t>(lowest, p.w.first_q[r] - taps.input_offset - int64_t(taps.count - 1) * p.w.input_step);
    highest = std::max<int64_t>(highest, p.w.first_q[r] + count - 1 - taps.input_offset);
  }
  if (highest - lowest + 1 > kSharedBudget) return false;  // one staged row alone would not fit
  // The copy stage takes whole 16-byte vectors of unit-stride rows that start 16-byte aligned.
  const int64_t elem = element_size(args.dtype), vector = 16 / elem;
  const Strides4& xs = args.input_strides;
  p.copy_stage = xs.w == 1 && reinterpret_cast<uintptr_t>(args.input) % 16 == 0 && xs.h % vector == 0 &&
                 xs.c % vector == 0 && xs.n % vector == 0;
  const int64_t align = p.copy_stage ? vector : 1;
  p.halo_left = static_cast<int>(round_up(-lowest, align));
  p.stage_width = static_cast<int>(round_up(p.halo_left + highest + 1, align));
  p.runs = static_cast<int>((longest + kRun - 1) / kRun);

  const int64_t cin_g = g.in_channels_per_group(), cout_g = g.out_channels_per_group();
  if (cin_g > 4096) return false;  // could never be staged (and keeps the sizes below in range)
  p.buffer_stride = static_cast<int>(round_up(g.w.out + 16 / elem, 16 / elem));
  // Tensor cores: rows of operand words, zero-padded to whole mma k-steps, pitches of 8 mod 32 words
  // so that a fragment's 4 rows x 8 positions (or channels) fall in 32 different banks. A k-step is
  // 8 words (m16n8k8 TF32, m16n8k16 bf16/fp16), or 4 for 16-bit groups of at most 8 input channels
  // (m16n8k8 bf16/fp16: KernelBench 75's 8 channels would leave half of each k16 step zero).
  const bool tensor_cores = uses_tensor_cores(args);
  const int64_t values = tensor_cores && args.dtype != DType::Float32 ? 2 : 1;
  const int64_t words = (cin_g + values - 1) / values;
  p.step_words = values == 2 && words <= 4 ? 4 : 8;
  p.channel_rows = static_cast<int>(tensor_cores ? round_up(words, p.step_words) : cin_g);
  p.stage_pitch = tensor_cores ? static_cast<int>(round_up(p.stage_width + 24, 32) - 24) : p.stage_width;
  // Weight rows of `columns` words; tensor cores read them 8 columns x 4 rows per fragment, so their
  // pitch is 8 or 24 mod 32 (conflict-free) past the first 8 columns.
  auto weight_pitch = [&](int64_t columns) {
    return tensor_cores && columns > kChannels ? round_up(columns, 16) + 8 : columns;
  };
  const int64_t stage_words = round_up(int64_t(p.row_taps) * p.channel_rows * p.stage_pitch, 4);
  auto weight_words = [&](int64_t columns) {
    return int64_t(p.row_taps) * g.w.kernel * p.channel_rows * weight_pitch(columns);
  };
  // The 16-bit copy stage lands raw rows (cin_g per tap) in the buffer before pairing them.
  const int64_t raw_bytes =
      p.copy_stage && tensor_cores && elem == 2 ? int64_t(p.row_taps) * cin_g * p.stage_width * elem : 0;
  auto buffer_bytes = [&](int64_t chunk) { return round_up(std::max(chunk * p.buffer_stride * elem, raw_bytes), 16); };
  auto bytes = [&](int64_t chunk) { return (stage_words + weight_words(chunk)) * 4 + buffer_bytes(chunk); };
  // Output channels per chunk: a power of two from item_channels to kThreads (so that it divides
  // kThreads), enough for one warp item per warp, fewer where shared memory would hold fewer CTAs.
  // 0 where even one item's chunk does not fit.
  const int registers = args.dtype == DType::Float32 ? max_registers<float>() : max_registers<__half>();
  auto choose_chunk = [&](int64_t item) {
    const int64_t wanted = item * std::max<int64_t>(1, (kWarps + p.runs - 1) / p.runs);
    int64_t chunk = item;
    while (chunk < wanted && chunk < cout_g && chunk < kThreads) chunk *= 2;
    while (chunk > item && bytes(chunk) > kSharedBudget) chunk /= 2;
    return bytes(chunk) <= kSharedBudget ? chunk : 0;
  };
  // Items of 16 channels on tensor cores (each A fragment feeds two mma) where the group has more
  // than 8 and they cost neither a CTA per SM nor busy warps (KernelBench 81: 2 runs per phase, so
  // 4 warps need 32-channel chunks, which hold fewer CTAs).
  int64_t chunk = choose_chunk(kChannels);
  if (chunk == 0) return false;
  p.item_channels = kChannels;
  auto items = [&](int64_t chunk, int64_t item) { return p.runs * ((std::min(chunk, cout_g) + item - 1) / item); };
  if (tensor_cores && cout_g > kChannels) {
    const int64_t wide = choose_chunk(2 * kChannels);
    if (wide != 0 && ctas_per_sm(bytes(wide), registers) >= ctas_per_sm(bytes(chunk), registers) &&
        items(wide, 2 * kChannels) >= std::min<int64_t>(kWarps, items(chunk, kChannels))) {
      chunk = wide;
      p.item_channels = 2 * kChannels;
    }
  }
  p.chunk = static_cast<int>(chunk);
  p.cout_padded = static_cast<int>(round_up(cout_g, chunk));
  // Every chunk's weights at once where that holds as many CTAs per SM: then no chunk waits for a
  // global round trip (which a chunk's short store phase does not cover).
  const int64_t resident = (stage_words + weight_words(p.cout_padded)) * 4 + buffer_bytes(chunk);
  p.resident_weights =
      resident <= kSharedBudget && ctas_per_sm(resident, registers) >= ctas_per_sm(bytes(chunk), registers);
  const int64_t columns = p.resident_weights ? p.cout_padded : chunk;
  p.weight_vectors = static_cast<int>(columns / 4);
  p.weight_pitch = static_cast<int>(weight_pitch(columns));
  p.packed_weights = nullptr;
  p.stage_words = static_cast<int>(stage_words);  // 16-byte aligned regions
  p.weight_words = static_cast<int>(weight_words(columns));
  p.buffer_bytes = static_cast<int>(buffer_bytes(chunk));
  // The bias fill pays where a W phase without taps has outputs (KernelBench 81: stride 5, dilation 2).
  p.bias_fill = false;
  for (int r = 0; r < g.w.stride; ++r) p.bias_fill |= p.w.output_count[r] > 0 && p.w.phase[r].count == 0;
  return true;
}

size_t shared_bytes(const PhaseRowArgs& p) { return (size_t(p.stage_words) + p.weight_words) * 4 + p.buffer_bytes; }

size_t workspace_bytes(const PhaseRowArgs& p) {
  const ConvTransposeGeometry& g = p.conv.geometry;
  return size_t(g.groups) * g.h.kernel * g.w.kernel * p.channel_rows * p.cout_padded * sizeof(uint32_t);
}

// [group*cin_g + ci][co][kh][kw] (any dtype) -> words [group][kh][kw][channel row][cout_padded],
// zero past the group's channels: a row is one input channel as float (FFMA), or one operand word
// (tensor cores: a TF32 value, or the bf16/fp16 pair of input channels 2w and 2w + 1).
template <typename T, bool kTensorCores>
__global__ void pack_weights_kernel(const T* __restrict__ weight, uint32_t* __restrict__ packed,
                                    ConvTransposeGeometry g, int64_t channel_rows, int64_t cout_padded) {
  constexpr int kValues = kTensorCores ? tensor_core::WordPack<T>::values : 1;
  const int64_t cin_g = g.in_channels_per_group(), cout_g = g.out_channels_per_group();
  const int64_t KH = g.h.kernel, KW = g.w.kernel;
  const int64_t total = g.groups * KH * KW * channel_rows * cout_padded;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
    int64_t r = i;
    const int64_t co = r % cout_padded; r /= cout_padded;
    const int64_t row = r % channel_rows; r /= channel_rows;
    const int64_t kw = r % KW; r /= KW;
    const int64_t kh = r % KH;
    const int64_t group = r / KH;
    T v[2] = {from_acc<T>(0.0f), from_acc<T>(0.0f)};
#pragma unroll
    for (int e = 0; e < kValues; ++e) {
      const int64_t ci = row * kValues + e;
      if (ci < cin_g && co < cout_g) v[e] = weight[(((group * cin_g + ci) * cout_g + co) * KH + kh) * KW + kw];
    }
    if constexpr (kTensorCores) packed[i] = tensor_core::make_word<false>(v[0], v[1]);
    else packed[i] = __float_as_uint(to_acc(v[0]));
  }
}

template <typename T, bool kTensorCores>
cudaError_t launch_typed(PhaseRowArgs p, void* workspace, cudaStream_t stream) {
  const int64_t packed_words = static_cast<int64_t>(workspace_bytes(p) / sizeof(uint32_t));
  const unsigned pack_blocks = static_cast<unsigned>(std::min<int64_t>((packed_words + 255) / 256, 1024));
  pack_weights_kernel<T, kTensorCores><<<pack_blocks, 256, 0, stream>>>(
      static_cast<const T*>(p.conv.weight), static_cast<uint32_t*>(workspace), p.conv.geometry, p.channel_rows,
      p.cout_padded);
  cudaError_t e = cudaGetLastError();
  if (e != cudaSuccess) return e;
  p.packed_weights = static_cast<const uint32_t*>(workspace);
  int64_t limit = 0;
  e = raise_dynamic_shared_memory_limit<phase_row_kernel<T, kTensorCores>, true>(&limit);
  if (e != cudaSuccess) return e;
  const size_t bytes = shared_bytes(p);
  if (int64_t(bytes) > limit) return cudaErrorInvalidConfiguration;
  const ConvTransposeGeometry& g = p.conv.geometry;
  const unsigned ctas = static_cast<unsigned>(g.batch * g.groups * g.h.out);
  phase_row_kernel<T, kTensorCores><<<ctas, kThreads, bytes, stream>>>(p);
  return cudaGetLastError();
}

}  // namespace

bool phase_row_supported(const ConvArgs& args) {
  PhaseRowArgs plan;
  return make_plan(args, &plan);
}

// Measured on the GPU (session 5, against the one-pass kernel): faster on KernelBench 75 and 81 and
// on stride 4 and 8 layers with 16-32 channels, slower where a row has little work for its four
// warps (8 output channels, stride 2: 0.059 against 0.048 ms; depthwise: 0.51 against 0.23 ms) or
// the W axis has no phases to resolve (stride 2 x 1: 0.064 against 0.044 ms).
bool phase_row_preferred(const ConvArgs& args) {
  const ConvTransposeGeometry& g = args.geometry;
  return g.h.stride >= 2 && g.h.stride * g.w.stride >= 4 && g.out_channels_per_group() >= 16 &&
         phase_row_supported(args);
}

size_t phase_row_workspace_bytes(const ConvArgs& args) {
  PhaseRowArgs p;
  return make_plan(args, &p) ? workspace_bytes(p) : 0;
}

cudaError_t launch_phase_row(const ConvArgs& args, void* workspace, cudaStream_t stream) {
  PhaseRowArgs p;
  if (!make_plan(args, &p)) return cudaErrorInvalidValue;
  switch (args.dtype) {
    case DType::Float32:
      return uses_tensor_cores(args) ? launch_typed<float, true>(p, workspace, stream)
                                     : launch_typed<float, false>(p, workspace, stream);
    case DType::Float16: return launch_typed<__half, true>(p, workspace, stream);
    case DType::BFloat16: return launch_typed<__nv_bfloat16, true>(p, workspace, stream);
    case DType::Float64: break;
  }
  return cudaErrorInvalidValue;
}

}  // namespace cuda
}  // namespace tconv
