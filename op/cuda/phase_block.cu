// Phase-block kernel: stride 2 x 2, dilation 1, kernels up to 4 x 4, at most 4 output channels per
// group (the RGB heads of image generators: DCGAN's last 4x4/s2 layer and its kin). This file: the
// public entry points and the FFMA body, which runs float32 at full accuracy (TF32 off, or fewer than
// 16 input channels per group) and 16-bit groups of fewer than 8 input channels; TF32 and the other
// 16-bit layers go to the tensor-core body (phase_block_mma.cu). The window geometry both share is
// in phase_block.cuh.
//
// Why a kernel of its own. With stride 2 and dilation 1, output o = 2b + e (block b, e in {0, 1})
// is phase r = (e + p) mod 2 and reads input i = b + floor((e + p) / 2) - t through tap
// k = 2t + r, t < T = ceil(kernel / 2). So the 2 x 2 outputs of a block read one small input
// window, of T + (p mod 2) values per axis, and one thread computes all four phases of a block from
// it: each input value it loads feeds 4 phases x COUT outputs (12 FMAs for RGB). The one-pass
// streaming kernel computes one phase per thread and loads each value once per phase, its 4- or
// 8-wide channel vectors mostly empty for 3 channels (dcgan_64to3: 0.39 ms there, cuDNN 0.34;
// the problem's FFMA floor is about 0.05 ms, its copy floor 0.053 ms).
//
// Tiles. A CTA owns 16 x 64 blocks (32 x 128 outputs) of one image and group and runs the group's
// input channels in stages of 4. Per stage, shared memory holds the tile's input window
// ((16 + P + T - 1) x (64 + P + T - 1) values, P = p mod 2) in the input's type and the weights as
// float, zero-padded to T x T taps per phase. Two buffers: stage s + 1's window is copied by
// cp.async in 16-byte runs (NCHW-like rows; other layouts element by element at the top of their
// own stage) and its weights loaded into registers while stage s is computed.
// A thread owns 4 consecutive blocks of one block row: per channel it reads P + T window rows of
// 4 + P + T - 1 values (float32: aligned 16-byte loads) and the weights as COUT 16-byte vectors per
// window value, at one address for the whole warp (a broadcast). Its 8 consecutive outputs per row
// and channel start 8-aligned: NCHW rows whose width is a multiple of 16 bytes get 16-byte stores.
// Accuracy: float32 FMAs (the strict float32 bar) in every dtype.
// Measured (H100, dcgan_64to3, docs/cuda-kernels.md): 0.111 ms (cuDNN 0.34; the streaming kernel
// 0.39), also in bf16/fp16 until session 9 gave those and TF32 the tensor-core body.
#include <type_traits>

#include "phase_block.cuh"

namespace tconv {
namespace cuda {
namespace {

using namespace phase_block;

constexpr int kThreads = 256;
constexpr int kBlocksPerThread = 4;  // consecutive, one block row
using FmaTile = Tile<kThreads / 16, 16 * kBlocksPerThread, kThreads>;  // 16 x 64 blocks: 16 threads per row
constexpr int kStageChannels = 4;

// What a thread reads per channel: P + T window rows of its 4 blocks' 4 + P + T - 1 columns.
template <int TAPS, int P>
struct ThreadWindow {
  static constexpr int rows = P + TAPS;
  static constexpr int cols = kBlocksPerThread + P + TAPS - 1;
};

// The weights of one stage as [channel][t_h][t_w][e_h][e_w][co]: output e of a block takes tap
// k = 2t + (e xor P); zero where k >= kernel or the channel is past the group.
template <typename T, int TAPS, int P, int COUT>
struct WeightStager {
  static constexpr int per_channel = TAPS * TAPS * kPhases * COUT;
  static constexpr int values = kStageChannels * per_channel;
  static constexpr int per_thread = (values + kThreads - 1) / kThreads;
  const T* w;  // the group's weights [cin_g][COUT][KH][KW]
  int KH, KW, cin_g;

  float held[per_thread];

  // Into registers (a few values per thread), stored to the stage after the current one's FMAs.
  __device__ __forceinline__ void load(int ci0) {
#pragma unroll
    for (int k = 0; k < per_thread; ++k) {
      const int i = threadIdx.x + k * kThreads;
      const int co = i % COUT, e = (i / COUT) % kPhases, t = (i / (COUT * kPhases)) % (TAPS * TAPS);
      const int ci = ci0 + i / per_channel;
      const int kh = kStride * (t / TAPS) + ((e / kStride) ^ P), kw = kStride * (t % TAPS) + ((e % kStride) ^ P);
      held[k] = i < values && ci < cin_g && kh < KH && kw < KW
                    ? to_acc(load_readonly(w + ((int64_t(ci) * COUT + co) * KH + kh) * KW + kw))
                    : 0.0f;
    }
  }
  __device__ __forceinline__ void store(float* dst) const {
#pragma unroll
    for (int k = 0; k < per_thread; ++k) {
      const int i = threadIdx.x + k * kThreads;
      if (i < values) dst[i] = held[k];
    }
  }
};

// acc += one stage's channels for the thread's 4 blocks. `win`: the thread's first window row at
// column 4 tx of the stage; its values start `shift` further. SHIFT >= 0 (float32 only): the
// shift known at compile time and the rows read as aligned 16-byte vectors; SHIFT < 0: scalar.
template <typename T, int TAPS, int P, int COUT, int SHIFT>
__device__ __forceinline__ void accumulate_stage(float (&acc)[kBlocksPerThread][kPhases][COUT], const T* win,
                                                 int shift, const float* wst) {
  using Win = Window<T, TAPS, P, FmaTile>;
  constexpr int kRows = ThreadWindow<TAPS, P>::rows, kCols = ThreadWindow<TAPS, P>::cols;
  constexpr int kPerChannel = TAPS * TAPS * kPhases * COUT;  // staged weights per channel
  // Not unrolled: hoisting the next channel's shared loads would spill the accumulators.
#pragma unroll 1
  for (int c = 0; c < kStageChannels; ++c) {
    float v[kRows][kCols];
    const T* channel = win + c * Win::channel_stride;
#pragma unroll
    for (int r = 0; r < kRows; ++r) {
      if constexpr (SHIFT >= 0) {
        constexpr int kVectors = (SHIFT + kCols + 3) / 4;
        float u[4 * kVectors];
#pragma unroll
        for (int k = 0; k < kVectors; ++k) {
          const float4 q = reinterpret_cast<const float4*>(channel + r * Win::row_stride)[k];
          u[4 * k] = q.x, u[4 * k + 1] = q.y, u[4 * k + 2] = q.z, u[4 * k + 3] = q.w;
        }
#pragma unroll
        for (int col = 0; col < kCols; ++col) v[r][col] = u[SHIFT + col];
      } else {
#pragma unroll
        for (int col = 0; col < kCols; ++col) v[r][col] = to_acc(channel[r * Win::row_stride + shift + col]);
      }
    }
    const float4* wv = reinterpret_cast<const float4*>(wst + c * kPerChannel);
#pragma unroll
    for (int th = 0; th < TAPS; ++th)
#pragma unroll
      for (int tw = 0; tw < TAPS; ++tw) {
        float w[kPhases * COUT];
#pragma unroll
        for (int q = 0; q < COUT; ++q) {
          const float4 w4 = wv[(th * TAPS + tw) * COUT + q];
          w[4 * q] = w4.x, w[4 * q + 1] = w4.y, w[4 * q + 2] = w4.z, w[4 * q + 3] = w4.w;
        }
#pragma unroll
        for (int e = 0; e < kPhases; ++e) {
          // Output e's window row and column for tap (th, tw), relative to the thread's first.
          const int row = window_offset(e / kStride, th, TAPS, P), col = window_offset(e % kStride, tw, TAPS, P);
#pragma unroll
          for (int co = 0; co < COUT; ++co)
#pragma unroll
            for (int x = 0; x < kBlocksPerThread; ++x)
              acc[x][e][co] = fmaf(v[row][col + x], w[e * COUT + co], acc[x][e][co]);
        }
      }
  }
}

template <typename T, int TAPS, int P, int COUT, bool VectorRows>
__global__ void __launch_bounds__(kThreads, 2) phase_block_kernel(const __grid_constant__ PhaseBlockArgs p) {
  using Win = Window<T, TAPS, P, FmaTile>;
  using Weights = WeightStager<T, TAPS, P, COUT>;
  __shared__ __align__(16) T window_stage[2][kStageChannels * Win::channel_stride];
  __shared__ __align__(16) float weight_stage[2][Weights::values];

  const ConvArgs& a = p.conv;
  const ConvTransposeGeometry& g = a.geometry;
  const TilePlace place = tile_place<FmaTile>(p);
  const int block_row0 = place.block_row0, block_col0 = place.block_col0, group = place.group;
  const int64_t n = place.n;
  const int ty = threadIdx.x / (FmaTile::cols / kBlocksPerThread), tx = threadIdx.x % (FmaTile::cols / kBlocksPerThread);

  auto window = make_window_stager<WindowStager<T, TAPS, P, FmaTile, kStageChannels>>(p, place);
  if constexpr (VectorRows) window.plan_runs();
  Weights weights;
  weights.KH = static_cast<int>(g.h.kernel);
  weights.KW = static_cast<int>(g.w.kernel);
  weights.cin_g = p.cin_g;
  weights.w = static_cast<const T*>(a.weight) + int64_t(group) * p.cin_g * COUT * weights.KH * weights.KW;

  // acc[x][e][co]: block x of the thread's four, output e = 2 e_h + e_w, channel co.
  float acc[kBlocksPerThread][kPhases][COUT];
#pragma unroll
  for (int x = 0; x < kBlocksPerThread; ++x)
#pragma unroll
    for (int e = 0; e < kPhases; ++e)
#pragma unroll
      for (int co = 0; co < COUT; ++co) acc[x][e][co] = 0.0f;

  // Pipeline, two buffers: stage s + 1's window is copied (cp.async) and its weights loaded into
  // registers while stage s is computed. Rows that can't go by 16-byte runs are copied
  // synchronously at the top of their own stage.
  const int stages = (p.cin_g + kStageChannels - 1) / kStageChannels;
  if constexpr (VectorRows) window.copy_async(window_stage[0], 0);
  tensor_core::cp_async_commit();
  weights.load(0);
  weights.store(weight_stage[0]);
  for (int s = 0; s < stages; ++s) {
    const bool next = s + 1 < stages;
    if constexpr (VectorRows) {
      if (next) window.copy_async(window_stage[(s + 1) & 1], (s + 1) * kStageChannels);
      tensor_core::cp_async_commit();
      tensor_core::cp_async_wait<1>();  // this thread's copies of stage s have landed
    } else {
      window.copy(window_stage[s & 1], s * kStageChannels);
    }
    if (next) weights.load((s + 1) * kStageChannels);
    __syncthreads();  // stage s complete for every thread
    // The thread's window rows start at column shift + 4 tx of the stage. float32 with 16-byte rows
    // reads them as aligned 16-byte vectors, one compiled loop per shift (scalar loads at 16-byte
    // lane strides conflict 4-way in the banks: ncu, L1/shared 72% busy on dcgan_64to3).
    const T* win = window_stage[s & 1] + ty * Win::row_stride + tx * kBlocksPerThread;
    const float* wst = weight_stage[s & 1];
    if constexpr (std::is_same<T, float>::value && VectorRows) {
      switch (p.shift) {
        case 0: accumulate_stage<T, TAPS, P, COUT, 0>(acc, win, 0, wst); break;
        case 1: accumulate_stage<T, TAPS, P, COUT, 1>(acc, win, 1, wst); break;
        case 2: accumulate_stage<T, TAPS, P, COUT, 2>(acc, win, 2, wst); break;
        default: accumulate_stage<T, TAPS, P, COUT, 3>(acc, win, 3, wst); break;
      }
    } else {
      accumulate_stage<T, TAPS, P, COUT, -1>(acc, win, p.shift, wst);
    }
    if (next) weights.store(weight_stage[(s + 1) & 1]);
    __syncthreads();  // stage s no longer read: its buffers take stage s + 2
  }
  // The padded taps' zero weights met every window value: with an Inf or NaN among them the
  // tile is recomputed from each output's own taps (exact_tile) once the epilogue has stored it,
  // where none of the accumulators is live any more.
  const bool nonfinite = any_nonfinite(acc);

  // Epilogue: bias, cast; the thread's 8 consecutive outputs per row and channel.
  const T* bias = static_cast<const T*>(a.bias);
  const int64_t channel0 = int64_t(group) * COUT;
  float bias_v[COUT];
#pragma unroll
  for (int co = 0; co < COUT; ++co) bias_v[co] = bias != nullptr ? to_acc(load_readonly(bias + channel0 + co)) : 0.0f;
  T* out = static_cast<T*>(a.output);
  const Strides4& os = p.output_strides;
  const int Ho = static_cast<int>(g.h.out), Wo = static_cast<int>(g.w.out);
  const int ow0 = kStride * (block_col0 + tx * kBlocksPerThread);
  constexpr int kRun = kStride * kBlocksPerThread;  // outputs per row and channel
  constexpr int kVector = 16 / sizeof(T);
  const bool vector_rows = !a.output_channels_last && Wo % kVector == 0 && ow0 + kRun <= Wo;
#pragma unroll
  for (int eh = 0; eh < kStride; ++eh) {
    const int oh = kStride * (block_row0 + ty) + eh;
    if (oh >= Ho) break;
#pragma unroll
    for (int co = 0; co < COUT; ++co) {
      T run[kRun];
#pragma unroll
      for (int x = 0; x < kBlocksPerThread; ++x)
#pragma unroll
        for (int ew = 0; ew < kStride; ++ew)
          run[x * kStride + ew] = from_acc<T>(acc[x][eh * kStride + ew][co] + bias_v[co]);
      T* dst = out + n * os.n + (channel0 + co) * os.c + int64_t(oh) * os.h;
      if (vector_rows) {
#pragma unroll
        for (int k = 0; k < kRun / kVector; ++k)
          reinterpret_cast<uint4*>(dst + ow0)[k] = reinterpret_cast<const uint4*>(run)[k];
      } else {
#pragma unroll
        for (int k = 0; k < kRun; ++k)
          if (ow0 + k < Wo) dst[int64_t(ow0 + k) * os.w] = run[k];
      }
    }
  }
  if (__syncthreads_or(nonfinite)) exact_tile<T, COUT, FmaTile>(p);  // after every thread's stores
}

template <typename T, int TAPS, int P, int COUT, bool VectorRows>
struct FmaLaunch {
  static cudaError_t run(const PhaseBlockArgs& p, cudaStream_t stream) {
    const unsigned ctas = static_cast<unsigned>(tiles(p.conv.geometry, FmaTile::rows, FmaTile::cols));
    phase_block_kernel<T, TAPS, P, COUT, VectorRows><<<ctas, kThreads, 0, stream>>>(p);
    return cudaGetLastError();
  }
};

// The FFMA body: float32 at full accuracy, and thin groups (use_mma).
cudaError_t launch_fma(const ConvArgs& args, cudaStream_t stream) {
  return dispatch<FmaLaunch>(args, FmaTile::rows, FmaTile::cols, stream);
}

// The tensor-core body's K steps are 8 (TF32) or 16 (bf16/fp16) channels: thinner groups multiply
// mostly zero channels. Measured in bf16 (H100, run 86, `.device/pb_cases2.json`): a depthwise
// 4x4 / s2 layer ran 0.097 ms there against 0.043 in the FFMA body, an RGB head from 8 channels
// 0.022 against 0.024. float32 goes to tensor cores only where TF32 is allowed, which the caller
// allows from 16 channels (conv_transpose2d_cuda.cpp).
constexpr int64_t kMinMmaChannels16Bit = 8;
bool use_mma(const ConvArgs& args) {
  if (args.dtype == DType::Float32) return args.allow_tf32;
  return args.geometry.in_channels_per_group() >= kMinMmaChannels16Bit;
}

}  // namespace

bool phase_block_supported(const ConvArgs& args) {
  const ConvTransposeGeometry& g = args.geometry;
  if (args.dtype == DType::Float64) return false;
  if (g.h.stride != kStride || g.w.stride != kStride || g.h.dilation != 1 || g.w.dilation != 1) return false;
  if (g.h.kernel > kStride * kMaxTaps || g.w.kernel > kStride * kMaxTaps) return false;
  // One padding parity for both axes: it decides the window's shape (a template parameter).
  if (g.h.padding % 2 != g.w.padding % 2) return false;
  if (g.out_channels_per_group() > kMaxChannels) return false;
  // 32-bit row and column arithmetic; CTAs in one grid dimension (the tensor-core body's tiles are
  // the smaller).
  const int64_t limit = int64_t(1) << 30;
  return g.h.out < limit && g.w.out < limit && g.h.in < limit && g.w.in < limit && g.h.padding < limit &&
         g.w.padding < limit && tiles(g, kMmaTileRows, kMmaTileCols) < (int64_t(1) << 31);
}

// Zero-padded taps cost FMAs: a 4x4 or 2x2 kernel pads none, 3x3 pads 16 - 9, 1x1 (4 padded taps
// for one) streams better one-pass. A CTA of the FFMA body is a 32 x 128 output tile, and its
// stages run the whole group's input channels: fewer tiles than about one wave of 132 SMs leave the
// GPU idle (measured: 32 x 3 x 64 x 64 outputs from 256 channels, 64 tiles, ran 0.26 ms in the
// first phase-block kernel against 0.17 one-pass).
bool phase_block_preferred(const ConvArgs& args) {
  if (!phase_block_supported(args)) return false;
  const ConvTransposeGeometry& g = args.geometry;
  const int64_t padded_taps = int64_t(window_taps(g)) * window_taps(g) * kPhases;
  return 2 * g.h.kernel * g.w.kernel >= padded_taps && tiles(g, FmaTile::rows, FmaTile::cols) >= 132;
}

// Tensor cores for bf16/fp16 groups of at least 8 input channels and for float32 where TF32 is
// allowed; FFMA for full float32 accuracy and thinner groups.
cudaError_t launch_phase_block(const ConvArgs& args, cudaStream_t stream) {
  return use_mma(args) ? phase_block::launch_mma(args, stream) : launch_fma(args, stream);
}

}  // namespace cuda
}  // namespace tconv
