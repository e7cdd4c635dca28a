// Phase-block kernel, tensor-core body: the RGB heads of image generators (DCGAN's last 4x4 / s2
// layer: 64 -> 3 channels) in TF32, bf16 and fp16. Geometry in phase_block.cuh.
//
// Why tensor cores on a 3-channel output. The FFMA body (phase_block.cu) runs dcgan_64to3 at
// 0.111 ms in every dtype, FFMA-bound (88% of its channel loop, 0.65 issued instructions per cycle
// and scheduler): 256 multiply-adds per output, 3.2 GFLOP, against a copy floor of 0.053 ms in
// float32 and 0.027 in 16-bit. mma.sync has the rate to spare even with most of its N empty.
//
// The GEMM. Per output row phase e_h, a block row of 16 consecutive blocks is an mma fragment:
// M = the 16 blocks, K = input channels (8 per m16n8k8 TF32 step, 16 per m16n8k16 bf16/fp16 step),
// N = (output column phase e_w, channel co), 2 COUT <= 8 of the 8 columns live. Every tap is the
// staged window at a shifted address, so one A fragment per window row and column offset feeds
// every block row and e_h that reads it: a warp owns 4 block rows x 16 blocks, reads 6 x 3
// fragments per K step (T = 2, P = 1) and issues 48 mma on them. B (weights) is per (e_h, tap row,
// column offset): 12 fragments per K step, packed in fragment order once per stage.
//
// Operands. The stage keeps the input's type, one channel's rows after another (cp.async copies
// rows). float32: a word is one value, rounded to TF32 (round to nearest, as cvt.rna). With 16-byte
// rows the stage holds the raw values and each A fragment load rounds its own (session 17: an
// in-place pass once per stage cost 18% of the shared-memory wavefronts, and the LSU data pipe was
// the busiest unit; without it dcgan_64to3 TF32 ran 0.0926 -> 0.0887 ms, though each value is now
// rounded by each of the up to 9 fragments that read it). The element-by-element copy rounds its
// stage in place after a second barrier (not measured with fragment rounding). bf16 / fp16:
// a word pairs channels c and c + 1 at one pixel, built from two 16-bit loads (channel strides are
// padded so that those loads fall in different banks). Session 9 first ran the 16-bit types on TF32
// mma too (exact: their values are TF32 values), one 16-bit load and a shift per value; the pairs
// halve the mma and cut the warp instructions by 23% (run 84).
//
// Pipeline: two stages of one K step (16-byte cp.async runs where the input rows allow, else the
// element-by-element copy at the top of the stage); the next stage is copied and its B fragments
// loaded into registers during this stage's mma. Epilogue: the accumulators go through shared memory
// so that output rows leave as 16-byte stores, bias added and cast.
//
// Occupancy over depth: the kernel is latency-bound (ncu, run 77: 0.4-0.5 issued instructions per
// scheduler with 4 warps each, DRAM 27-38% busy). 3 CTAs per SM (80 registers, the column offset
// outermost in the mma loop so only its B fragments are live) with two stages ran 10% faster than
// 2 CTAs with three or four stages (runs 77-78). float32 and the element-by-element copy stay at 2
// CTAs: at 3, float32 spills 20 bytes with fragment rounding and ran 8% slower (session 17; with
// the in-place pass it was 3% slower in run 83, 1.7% faster in session 17). 16-channel float32
// stages (half the barriers) gained nothing (session 17).
// Measured (H100, dcgan_64to3, session 17 run 2): TF32 0.0889 ms, bf16 0.0553, fp16 0.0549 (the FFMA
// body: 0.111 in every mode; cuDNN 0.34 / 0.37).
#include <cstdlib>
#include <type_traits>

#include "phase_block.cuh"
#include "shared_memory_limit.cuh"

namespace tconv {
namespace cuda {
namespace phase_block {
namespace {

constexpr int kThreads = 256;
constexpr int kWarpRows = 4;   // block rows per warp
constexpr int kWarpCols = 16;  // block columns per warp: the M of one fragment
using MmaTile = Tile<kMmaTileRows, kMmaTileCols, kThreads>;
static_assert(kMmaTileRows * kMmaTileCols == kWarpRows * kWarpCols * (kThreads / 32), "a warp per 4 x 16 blocks");
constexpr int kWarpsPerRow = kMmaTileCols / kWarpCols;
constexpr int kStages = 2;

// Operand words. float32: one TF32 value per word, mma m16n8k8, K steps of 8 channels; rounded to
// TF32 at each fragment load (16-byte rows) or in place once per stage
// (tensor_core::round_to_tf32_in_place, element-by-element copy). bf16 / fp16: a word pairs the
// values of channels c and c + 1 at one pixel (the low half c), mma m16n8k16, K steps of 16 channels.
template <typename T>
struct Operand {
  static constexpr int pack = std::is_same<T, float>::value ? 1 : 2;  // channels per word
  static constexpr int stage_channels = 8 * pack;                     // one mma's K
  // Channel stride mod 32 words: lane t's channel (pack t) lands 8 t banks from lane 0's.
  static constexpr int spread = 8 / pack;
};

// How an A fragment load rounds float32: not at all (the stage is rounded in place, or 16-bit), to
// TF32 as cvt.rna (the default where the stage holds raw values), or by adding half a TF32 ulp to
// finite values and letting the mma drop the low 13 bits (measurement: TCONV_PB_ROUND_BY_ADD=1).
enum class Rounding { None, Cvt, Add };

// The word of channels c (and c + 1 for 16-bit types) at `at`, channels `cs` elements apart.
template <Rounding R> __device__ __forceinline__ uint32_t operand_word(const float* at, int) {
  const float v = *at;
  const uint32_t bits = __float_as_uint(v);
  if (R == Rounding::Cvt) return tensor_core::to_tf32(v);
  if (R == Rounding::Add) return fabsf(v) < INFINITY ? bits + 0x1000u : bits;
  return bits;
}
template <Rounding R, typename T> __device__ __forceinline__ uint32_t operand_word(const T* at, int cs) {
  return tensor_core::make_word<false>(at[0], at[cs]);
}
// Weight words in two steps: loaded (raw float32 bits, or a 16-bit pair) before the stage's
// barrier, finished (float32 rounded to TF32) when stored after its mma, so that no thread waits
// on its weight loads before the barrier (ncu, session 17: the rounding right after the loads
// held 4% of the stall samples; dcgan_64to3 TF32 0.0946 -> 0.0926 ms).
__device__ __forceinline__ uint32_t loaded_weight_word(float lo, float) { return __float_as_uint(lo); }
template <typename T> __device__ __forceinline__ uint32_t loaded_weight_word(T lo, T hi) { return tensor_core::make_word<false>(lo, hi); }
template <typename T> __device__ __forceinline__ uint32_t finished_weight_word(uint32_t word) {
  return std::is_same<T, float>::value ? tensor_core::to_tf32(__uint_as_float(word)) : word;
}

// float32 with 16-byte rows: the stage holds raw values, rounded at each fragment load.
template <typename T, bool VectorRows>
constexpr bool kRoundAtFragments = std::is_same<T, float>::value && VectorRows;
template <typename T, bool VectorRows>
constexpr Rounding fragment_rounding(bool by_add) {
  return !kRoundAtFragments<T, VectorRows> ? Rounding::None : by_add ? Rounding::Add : Rounding::Cvt;
}

// The B fragments of one stage. Combo (e_h, t_h, d_x): output row phase e_h, tap row t_h, window
// column offset d_x. B[k][n] is the weight of channel k of the stage for output column phase
// e_w = n / COUT and channel co = n % COUT through tap (2 t_h + (e_h xor P), 2 t_w + (e_w xor P)),
// t_w the tap that offset d_x means for e_w; zero where that tap is outside the kernel, n >= 2 COUT
// or the channel past the group. Stored as [combo][lane][2] words, so a lane's b0, b1 are one
// 8-byte load.
template <typename T, int TAPS, int P, int COUT>
struct WeightFragments {
  static constexpr int kOffsets = P + TAPS;  // window offsets per axis
  static constexpr int kCombos = kStride * TAPS * kOffsets;
  static constexpr int kPack = Operand<T>::pack;
  static constexpr int words = kCombos * 64;
  static constexpr int per_thread = (words + kThreads - 1) / kThreads;
  const T* w;  // the group's weights [cin_g][COUT][KH][KW]
  int cin_g, channel_stride;  // channel_stride = COUT KH KW
  // Per word of the thread, fixed for the whole CTA: 16 x (its first weight's offset from the
  // stage's first channel) + that weight's channel in the stage, or -1 for a zero word (one
  // register per word: the 16-bit CTAs run at 80). A stage costs a load per weight.
  int place[per_thread];
  uint32_t held[per_thread];

  static __device__ __forceinline__ constexpr int combo(int eh, int th, int dx) { return (eh * TAPS + th) * kOffsets + dx; }

  __device__ __forceinline__ void plan(int KH, int KW) {
    channel_stride = COUT * KH * KW;
#pragma unroll
    for (int k = 0; k < per_thread; ++k) {
      const int i = threadIdx.x + k * kThreads;
      const int q = i / 64, lane = (i / 2) % 32, j = i % 2;
      const int dx = q % kOffsets, th = (q / kOffsets) % TAPS, eh = q / (kOffsets * TAPS);
      // b0: k = t (TF32) or 2t, 2t + 1 (16-bit); b1: 4 pack further; n = g.
      const int n = lane / 4, channel = kPack * (lane % 4) + 4 * kPack * j;
      const int ew = n / COUT, co = n % COUT, tw = window_offset(ew, dx, TAPS, P);
      const int kh = kStride * th + (eh ^ P), kw = kStride * tw + (ew ^ P);
      const bool live = i < words && n < kStride * COUT && tw >= 0 && tw < TAPS && kh < KH && kw < KW;
      place[k] = live ? 16 * (channel * channel_stride + (co * KH + kh) * KW + kw) + channel : -1;
    }
  }

  // The words of the stage whose first channel is ci0.
  __device__ __forceinline__ void load(int ci0) {
    const T* stage_w = w + int64_t(ci0) * channel_stride;
#pragma unroll
    for (int k = 0; k < per_thread; ++k) {
      const int ci = ci0 + (place[k] & 15);
      const T* at = stage_w + (place[k] >> 4);
      const T lo = place[k] >= 0 && ci < cin_g ? load_readonly(at) : T(0.0f);
      const T hi = kPack == 2 && place[k] >= 0 && ci + 1 < cin_g ? load_readonly(at + channel_stride) : T(0.0f);
      held[k] = loaded_weight_word(lo, hi);
    }
  }
  __device__ __forceinline__ void store(uint32_t* dst) const {
#pragma unroll
    for (int k = 0; k < per_thread; ++k) {
      const int i = threadIdx.x + k * kThreads;
      if (i < words) dst[i] = finished_weight_word<T>(held[k]);
    }
  }
};

template <typename T, int TAPS, int P, int COUT>
struct Layout {
  using Win = Window<T, TAPS, P, MmaTile, Operand<T>::spread>;
  using Weights = WeightFragments<T, TAPS, P, COUT>;
  static constexpr int stage_channels = Operand<T>::stage_channels;
  static constexpr int stage_elements = stage_channels * Win::channel_stride;
  // The output tile after the loop, as float [co][row][column]; planes 8 words apart in the banks.
  static constexpr int out_rows = kStride * MmaTile::rows, out_cols = kStride * MmaTile::cols;
  static constexpr int out_plane = out_rows * out_cols + 8;
  static constexpr size_t ring_bytes = size_t(kStages) * stage_elements * sizeof(T);
  static constexpr size_t weight_bytes = size_t(2) * Weights::words * sizeof(uint32_t);
  static constexpr size_t out_bytes = size_t(COUT) * out_plane * sizeof(float);
  static constexpr size_t weight_offset = ring_bytes > out_bytes ? ring_bytes : out_bytes;  // the ring, then the output tile
  static constexpr size_t bytes = weight_offset + weight_bytes;
};


// acc += one stage. `a`: the lane's A origin in the stage (channel pack t, the warp's first window
// row, column shift + warp column + g); `b_words`: the lane's B words of combo 0. R: how its A
// fragment loads round.
template <typename T, int TAPS, int P, int COUT, Rounding R>
__device__ __forceinline__ void mma_stage(float (&acc)[kWarpRows][kStride][4], const T* a, const uint32_t* b_words) {
  using L = Layout<T, TAPS, P, COUT>;
  using Weights = typename L::Weights;
  constexpr int kOffsets = Weights::kOffsets;
  constexpr int cs = L::Win::channel_stride, rs = L::Win::row_stride;
  // Column offset outermost: only its 2 T B fragments are live (registers bound the CTAs per SM).
#pragma unroll
  for (int dx = 0; dx < kOffsets; ++dx) {
    uint32_t b[kStride][TAPS][2];
#pragma unroll
    for (int eh = 0; eh < kStride; ++eh)
#pragma unroll
      for (int th = 0; th < TAPS; ++th) {
        const uint2 v = *reinterpret_cast<const uint2*>(b_words + Weights::combo(eh, th, dx) * 64);
        b[eh][th][0] = v.x, b[eh][th][1] = v.y;
      }
#pragma unroll
    for (int wr = 0; wr < kWarpRows + kOffsets - 1; ++wr) {  // window row, from the warp's first
      const T* at = a + wr * rs + dx;
      // A, in words: a0 (m = g, k = t), a1 (g + 8, t), a2 (g, t + 4), a3 (g + 8, t + 4); word k holds
      // channel k (TF32) or channels 2k, 2k + 1 (16-bit).
      constexpr int kUpper = 4 * Operand<T>::pack * cs;
      const uint32_t frag[4] = {operand_word<R>(at, cs), operand_word<R>(at + 8, cs), operand_word<R>(at + kUpper, cs),
                                operand_word<R>(at + kUpper + 8, cs)};
#pragma unroll
      for (int r = 0; r < kWarpRows; ++r) {
        const int dy = wr - r;
        if (dy < 0 || dy >= kOffsets) continue;
#pragma unroll
        for (int eh = 0; eh < kStride; ++eh) {
          const int th = window_offset(eh, dy, TAPS, P);  // the tap row that reads offset dy
          if (th < 0 || th >= TAPS) continue;
          tensor_core::mma(acc[r][eh], frag, b[eh][th][0], b[eh][th][1], T());
        }
      }
    }
  }
}

// 3 CTAs per SM (80 registers) for 16-bit types with 16-byte rows; float32 (122 registers with
// fragment rounding) and the element-by-element copy stay at 2.
template <typename T, int TAPS, int P, int COUT, bool VectorRows, Rounding R>
__global__ void __launch_bounds__(kThreads, VectorRows && !std::is_same<T, float>::value ? 3 : 2)
    phase_block_mma_kernel(const __grid_constant__ PhaseBlockArgs p) {
  using L = Layout<T, TAPS, P, COUT>;
  using Win = typename L::Win;
  extern __shared__ __align__(16) unsigned char shared[];
  T* ring = reinterpret_cast<T*>(shared);
  uint32_t* weight_stage = reinterpret_cast<uint32_t*>(shared + L::weight_offset);

  const ConvArgs& a = p.conv;
  const ConvTransposeGeometry& g = a.geometry;
  const TilePlace place = tile_place<MmaTile>(p);
  constexpr int kStageChannels = L::stage_channels;
  auto window = make_window_stager<WindowStager<T, TAPS, P, MmaTile, kStageChannels, Operand<T>::spread>>(p, place);
  if constexpr (VectorRows) window.plan_runs();
  typename L::Weights weights;
  weights.plan(static_cast<int>(g.h.kernel), static_cast<int>(g.w.kernel));
  weights.cin_g = p.cin_g;
  weights.w = static_cast<const T*>(a.weight) + int64_t(place.group) * p.cin_g * weights.channel_stride;

  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, fg = lane / 4, ft = lane % 4;
  const int warp_row0 = (warp / kWarpsPerRow) * kWarpRows, warp_col0 = (warp % kWarpsPerRow) * kWarpCols;
  const int a_origin = Operand<T>::pack * ft * Win::channel_stride + warp_row0 * Win::row_stride + p.shift + warp_col0 + fg;
  // acc[r][e_h]: block row warp_row0 + r, output row phase e_h; C: m = block column, n = (e_w, co).
  float acc[kWarpRows][kStride][4];
#pragma unroll
  for (int r = 0; r < kWarpRows; ++r)
#pragma unroll
    for (int eh = 0; eh < kStride; ++eh)
#pragma unroll
      for (int i = 0; i < 4; ++i) acc[r][eh][i] = 0.0f;

  // Ring: stage s lives in slot s mod kStages; stage s + kStages - 1 is copied (cp.async) while
  // stage s is multiplied. Every thread commits one group per stage, empty or not, so that
  // wait<kStages - 2> means "stage s has landed".
  const int stages = (p.cin_g + kStageChannels - 1) / kStageChannels;
#pragma unroll
  for (int s = 0; s < kStages - 1; ++s) {
    if (VectorRows && s < stages) window.copy_async(ring + s * L::stage_elements, s * kStageChannels);
    tensor_core::cp_async_commit();
  }
  weights.load(0);
  weights.store(weight_stage);
  for (int s = 0; s < stages; ++s) {
    T* stage = ring + (s % kStages) * L::stage_elements;
    if constexpr (VectorRows) {
      tensor_core::cp_async_wait<kStages - 2>();
    } else {
      window.copy(stage, s * kStageChannels);
    }
    const bool next = s + 1 < stages;
    if (next) weights.load((s + 1) * kStageChannels);
    __syncthreads();  // stage s complete for every thread; stage s - 1's slot and B buffer free
    if constexpr (VectorRows) {
      const int ahead = s + kStages - 1;
      if (ahead < stages) window.copy_async(ring + (ahead % kStages) * L::stage_elements, ahead * kStageChannels);
      tensor_core::cp_async_commit();
    }
    if constexpr (std::is_same<T, float>::value && !VectorRows) {
      // Padding included: never read.
      tensor_core::round_to_tf32_in_place(stage, L::stage_elements, threadIdx.x, kThreads);
      __syncthreads();
    }
    mma_stage<T, TAPS, P, COUT, R>(acc, stage + a_origin, weight_stage + (s & 1) * L::Weights::words + 2 * lane);
    if (next) weights.store(weight_stage + ((s + 1) & 1) * L::Weights::words);
  }
  tensor_core::cp_async_wait_all();
  __syncthreads();  // every stage read: the ring takes the output tile

  // The N columns whose tap lies outside the kernel have zero weights and meet every window value:
  // with an Inf or NaN among them the tile is recomputed from each output's own taps (exact_tile).
  // Tested here, where the accumulators are read for the last time, so that the slow path holds
  // none of them; finite tiles pay the test and nothing else.
  const bool nonfinite = any_nonfinite(acc);
  // Fragment element i: m = g + 8 (i / 2), n = 2 t + i % 2.
  float* out_tile = reinterpret_cast<float*>(shared);
#pragma unroll
  for (int r = 0; r < kWarpRows; ++r)
#pragma unroll
    for (int eh = 0; eh < kStride; ++eh)
#pragma unroll
      for (int i = 0; i < 4; ++i) {
        const int n = 2 * ft + i % 2, m = fg + 8 * (i / 2);
        if (n >= kStride * COUT) continue;
        const int ew = n / COUT, co = n % COUT;
        const int row = kStride * (warp_row0 + r) + eh, col = kStride * (warp_col0 + m) + ew;
        out_tile[co * L::out_plane + row * L::out_cols + col] = acc[r][eh][i];
      }
  if (__syncthreads_or(nonfinite)) {
    exact_tile<T, COUT, MmaTile>(p);
    return;
  }

  // Rows of the output tile as runs of kVector outputs: 16-byte stores in NCHW rows of a whole
  // number of runs, element by element otherwise (channels_last, ragged ends).
  constexpr int kVector = 16 / sizeof(T);
  constexpr int kRunsPerRow = L::out_cols / kVector;
  const T* bias = static_cast<const T*>(a.bias);
  const int64_t channel0 = int64_t(place.group) * COUT;
  T* out = static_cast<T*>(a.output) + place.n * p.output_strides.n;
  const Strides4& os = p.output_strides;
  const int Ho = static_cast<int>(g.h.out), Wo = static_cast<int>(g.w.out);
  const int oh0 = kStride * place.block_row0, ow0 = kStride * place.block_col0;
  const bool vector_rows = !a.output_channels_last && Wo % kVector == 0;
  for (int i = threadIdx.x; i < COUT * L::out_rows * kRunsPerRow; i += kThreads) {
    const int run = i % kRunsPerRow, row = (i / kRunsPerRow) % L::out_rows, co = i / (kRunsPerRow * L::out_rows);
    const int oh = oh0 + row, ow = ow0 + run * kVector;
    if (oh >= Ho || ow >= Wo) continue;
    const float bias_v = bias != nullptr ? to_acc(load_readonly(bias + channel0 + co)) : 0.0f;
    const float4* src = reinterpret_cast<const float4*>(out_tile + co * L::out_plane + row * L::out_cols + run * kVector);
    T values[kVector];
#pragma unroll
    for (int k = 0; k < kVector / 4; ++k) {
      const float4 v = src[k];
      values[4 * k] = from_acc<T>(v.x + bias_v), values[4 * k + 1] = from_acc<T>(v.y + bias_v);
      values[4 * k + 2] = from_acc<T>(v.z + bias_v), values[4 * k + 3] = from_acc<T>(v.w + bias_v);
    }
    T* dst = out + (channel0 + co) * os.c + int64_t(oh) * os.h;
    if (vector_rows && ow + kVector <= Wo) {
      *reinterpret_cast<uint4*>(dst + ow) = *reinterpret_cast<const uint4*>(values);
    } else {
#pragma unroll
      for (int k = 0; k < kVector; ++k)
        if (ow + k < Wo) dst[int64_t(ow + k) * os.w] = values[k];
    }
  }
}

template <typename T, int TAPS, int P, int COUT, bool VectorRows>
struct MmaLaunch {
  static cudaError_t run(const PhaseBlockArgs& p, cudaStream_t stream) {
    static const bool by_add = [] {
      const char* v = std::getenv("TCONV_PB_ROUND_BY_ADD");
      return v != nullptr && *v == '1';
    }();
    return by_add ? launch<fragment_rounding<T, VectorRows>(true)>(p, stream)
                  : launch<fragment_rounding<T, VectorRows>(false)>(p, stream);
  }
  template <Rounding R>
  static cudaError_t launch(const PhaseBlockArgs& p, cudaStream_t stream) {
    constexpr auto kernel = phase_block_mma_kernel<T, TAPS, P, COUT, VectorRows, R>;
    int64_t limit = 0;
    const cudaError_t e = raise_dynamic_shared_memory_limit<kernel>(&limit);
    if (e != cudaSuccess) return e;
    constexpr size_t bytes = Layout<T, TAPS, P, COUT>::bytes;
    if (int64_t(bytes) > limit) return cudaErrorInvalidConfiguration;
    const unsigned ctas = static_cast<unsigned>(tiles(p.conv.geometry, MmaTile::rows, MmaTile::cols));
    kernel<<<ctas, kThreads, bytes, stream>>>(p);
    return cudaGetLastError();
  }
};

}  // namespace

cudaError_t launch_mma(const ConvArgs& args, cudaStream_t stream) {
  return dispatch<MmaLaunch>(args, MmaTile::rows, MmaTile::cols, stream);
}

}  // namespace phase_block
}  // namespace cuda
}  // namespace tconv
