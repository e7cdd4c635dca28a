// One-pass transposed convolution for memory-bound shapes (and the FFMA path for strict float32
// and float64): each output element computed once, from the taps of its phase only, and written
// once, bias-only positions included.
//
// Work split: a block owns one image, one group, COB output channels and a run of output pixels in
// row-major order; a thread owns one pixel at a time and all COB channels of it, so a warp covers
// 32 consecutive pixels of a row and every store it makes (one per channel for NCHW, COB
// consecutive channels per pixel for channels_last) is coalesced. No stage, no barrier after the
// weights are in shared memory: threads whose pixel has no taps (bias-only phases: most of the
// output when the kernel is smaller than the stride) store and move on instead of waiting at a
// barrier for the others, which is what limited the previous tiled kernel (ncu: 37% of its cycles
// at barriers, 18% occupancy from 64 accumulators per thread).
//
// Weights are staged once per block as [input channel][kh][kw][COB] (COB a multiple of 16 bytes),
// so one 16-byte shared load feeds 4 float FMAs; for groups with many input channels they are
// staged in chunks (then a thread keeps one pixel's accumulators across the chunks). Phase taps
// come from small host-computed tables and pixel -> (row, column, phase) from multiply-shift
// division, so a bias-only pixel costs a few integer instructions and its stores.
#include <algorithm>

#include "element.cuh"
#include "launch.h"

namespace tconv {
namespace cuda {
namespace {

constexpr int kThreads = 256;
constexpr int kMaxTableStride = 64;          // per axis; larger strides use per_element_kernel
constexpr size_t kWeightStageBytes = 48 * 1024;  // the default dynamic shared-memory limit

// n / d and n % d for 0 <= n < 2^31 by multiply and shift (Granlund-Montgomery), d >= 1.
struct FastDivmod {
  uint32_t divisor = 1, magic = 0, shift = 0;
  FastDivmod() = default;
  explicit FastDivmod(uint32_t d) : divisor(d) {
    while ((uint64_t(1) << shift) < d) ++shift;
    magic = static_cast<uint32_t>(((uint64_t(1) << 32) * ((uint64_t(1) << shift) - d)) / d + 1);
  }
  __device__ __forceinline__ uint32_t div(uint32_t n) const {
    return (__umulhi(n, magic) + n) >> shift;
  }
};

// One phase's taps on one axis, narrowed to what the kernel reads (geometry.h's PhaseTaps).
struct TapRun {
  int first_tap, count, input_offset;
};

struct AxisTable {
  TapRun phase[kMaxTableStride];
  int tap_step, input_step;
  FastDivmod stride;
};

struct StreamPlan {
  AxisTable h, w;
  FastDivmod out_w;          // pixel index -> (row, column)
  int64_t pixels;            // Ho * Wo
  int64_t pixel_tiles;       // blocks per (image, group, channel chunk)
  int pixels_per_block;      // a multiple of kThreads
  int co_chunks;
  int ci_chunk;              // input channels per weight stage
  size_t smem_bytes;
};

AxisTable make_axis_table(const AxisGeometry& axis) {
  AxisTable t{};
  for (int64_t r = 0; r < axis.stride; ++r) {
    const PhaseTaps taps = axis.taps(r);
    t.phase[r] = {static_cast<int>(taps.first_tap), static_cast<int>(taps.tap_count),
                  static_cast<int>(taps.input_offset)};
    t.tap_step = static_cast<int>(taps.tap_step);
    t.input_step = static_cast<int>(taps.input_step);
  }
  t.stride = FastDivmod(static_cast<uint32_t>(axis.stride));
  return t;
}

// Shared-memory weights of one chunk: [ci][kh][kw][COB], zero past the group's channels.
template <int COB, typename T, typename Acc>
__device__ __forceinline__ void stage_weights(Acc* smem, const T* w, int ci0, int chunk, int co0,
                                              int co_count, int cout_g, int taps_hw) {
  const int total = chunk * taps_hw * COB;
  for (int i = threadIdx.x; i < total; i += blockDim.x) {
    const int co = i % COB, tap = (i / COB) % taps_hw, ci = i / (COB * taps_hw);
    smem[i] = co < co_count ? to_acc(load_readonly(w + (int64_t(ci0 + ci) * cout_g + co0 + co) * taps_hw + tap))
                            : Acc(0);
  }
}

// acc[co] += x * w[co] for one input channel's COB weights (16-byte shared-memory loads).
template <typename Acc, int COB>
__device__ __forceinline__ void fma_channel(Acc (&acc)[COB], Acc x, const Acc* w) {
  constexpr int kVecAcc = 16 / sizeof(Acc);
  static_assert(COB % kVecAcc == 0, "COB must fill whole 16-byte vectors");
#pragma unroll
  for (int v = 0; v < COB / kVecAcc; ++v) {
    const uint4 bits = reinterpret_cast<const uint4*>(w)[v];
    const Acc* wv = reinterpret_cast<const Acc*>(&bits);
#pragma unroll
    for (int e = 0; e < kVecAcc; ++e) acc[v * kVecAcc + e] = fma(x, wv[e], acc[v * kVecAcc + e]);
  }
}

// acc[co] += sum over the pixel's taps and the chunk's input channels.
template <typename T, typename Acc, int COB>
__device__ __forceinline__ void accumulate_pixel(Acc (&acc)[COB], const T* x_group, const Strides4& xs,
                                                 const AxisGeometry& H, const AxisGeometry& W,
                                                 const StreamPlan& p, const TapRun& th, const TapRun& tw,
                                                 int qh, int qw, const Acc* smem, int chunk) {
  constexpr int kBatch = 4;
  const int KW = static_cast<int>(W.kernel);
  for (int jh = 0; jh < th.count; ++jh) {
    const int ih = qh - th.input_offset - jh * p.h.input_step;
    if (ih < 0 || ih >= H.in) continue;
    const int kh = th.first_tap + jh * p.h.tap_step;
    for (int jw = 0; jw < tw.count; ++jw) {
      const int iw = qw - tw.input_offset - jw * p.w.input_step;
      if (iw < 0 || iw >= W.in) continue;
      const int kw = tw.first_tap + jw * p.w.tap_step;
      const T* xp = x_group + ih * xs.h + iw * xs.w;
      const Acc* wp = smem + (kh * KW + kw) * COB;
      const int w_step = static_cast<int>(H.kernel) * KW * COB;
      // A batch of input channels' loads is issued before their FMAs: the loads are the latency.
      int ci = 0;
      for (; ci + kBatch <= chunk; ci += kBatch, xp += kBatch * xs.c, wp += kBatch * w_step) {
        Acc xv[kBatch];
#pragma unroll
        for (int u = 0; u < kBatch; ++u) xv[u] = to_acc(load_readonly(xp + u * xs.c));
#pragma unroll
        for (int u = 0; u < kBatch; ++u) fma_channel<Acc, COB>(acc, xv[u], wp + u * w_step);
      }
      for (; ci < chunk; ++ci, xp += xs.c, wp += w_step) fma_channel<Acc, COB>(acc, to_acc(load_readonly(xp)), wp);
    }
  }
}

template <typename T, int COB>
__global__ void __launch_bounds__(kThreads, 3) streaming_kernel(const ConvArgs a, const __grid_constant__ StreamPlan p) {
  using Acc = typename Accumulator<T>::type;
  extern __shared__ __align__(16) unsigned char smem_raw[];
  Acc* smem = reinterpret_cast<Acc*>(smem_raw);

  const ConvTransposeGeometry& g = a.geometry;
  const AxisGeometry& H = g.h;
  const AxisGeometry& W = g.w;
  const int cin_g = static_cast<int>(g.in_channels_per_group());
  const int cout_g = static_cast<int>(g.out_channels_per_group());
  const int taps_hw = static_cast<int>(H.kernel * W.kernel);

  // Channel chunk fastest: the blocks that read the same input pixels run together.
  int64_t b = blockIdx.x;
  const int co_chunk = static_cast<int>(b % p.co_chunks); b /= p.co_chunks;
  const int64_t tile = b % p.pixel_tiles; b /= p.pixel_tiles;
  const int group = static_cast<int>(b % g.groups);
  const int64_t n = b / g.groups;
  const int co0 = co_chunk * COB;
  const int co_count = min(COB, cout_g - co0);
  const int64_t channel0 = int64_t(group) * cout_g + co0;
  const int64_t first_pixel = tile * p.pixels_per_block;
  const int64_t end_pixel = min(first_pixel + p.pixels_per_block, p.pixels);

  const T* x_group = static_cast<const T*>(a.input) + n * a.input_strides.n +
                     int64_t(group) * cin_g * a.input_strides.c;
  const T* w_group = static_cast<const T*>(a.weight) + int64_t(group) * cin_g * cout_g * taps_hw;
  const T* bias = static_cast<const T*>(a.bias);
  T* out = static_cast<T*>(a.output);
  const int64_t Cout = g.out_channels;
  const int pad_h = static_cast<int>(H.padding), pad_w = static_cast<int>(W.padding);
  const int Wo = static_cast<int>(W.out);

  // Bias is re-read per pixel (the same address across the warp: one broadcast load) rather than
  // held in COB registers through the tap loop.
  auto store_pixel = [&](int64_t pixel, const Acc (&acc)[COB]) {
    Acc bias_v[COB];
#pragma unroll
    for (int co = 0; co < COB; ++co) bias_v[co] = Acc(0);
    if (bias != nullptr) {
#pragma unroll
      for (int co = 0; co < COB; ++co)
        if (co < co_count) bias_v[co] = to_acc(load_readonly(bias + channel0 + co));
    }
    if (!a.output_channels_last) {
      T* dst = out + (n * Cout + channel0) * p.pixels + pixel;
#pragma unroll
      for (int co = 0; co < COB; ++co)
        if (co < co_count) dst[co * p.pixels] = from_acc<T>(acc[co] + bias_v[co]);
    } else {
      T* dst = out + (n * p.pixels + pixel) * Cout + channel0;
      constexpr int V = 16 / sizeof(T);
      if (COB % V == 0 && co_count == COB && reinterpret_cast<uintptr_t>(dst) % 16 == 0) {
#pragma unroll
        for (int v = 0; v < COB / V; ++v) {
          T packed[V];
#pragma unroll
          for (int e = 0; e < V; ++e) packed[e] = from_acc<T>(acc[v * V + e] + bias_v[v * V + e]);
          reinterpret_cast<uint4*>(dst)[v] = *reinterpret_cast<const uint4*>(packed);
        }
      } else {
#pragma unroll
        for (int co = 0; co < COB; ++co)
          if (co < co_count) dst[co] = from_acc<T>(acc[co] + bias_v[co]);
      }
    }
  };
  // Output row and column of a pixel, and the q-index and phase of each.
  struct Place { int qh, qw; TapRun th, tw; };
  auto place = [&](int64_t pixel) {
    const int oh = static_cast<int>(p.out_w.div(static_cast<uint32_t>(pixel)));
    const int ow = static_cast<int>(pixel) - oh * Wo;
    const int th_ = oh + pad_h, tw_ = ow + pad_w;
    Place pl;
    pl.qh = static_cast<int>(p.h.stride.div(th_));
    pl.qw = static_cast<int>(p.w.stride.div(tw_));
    pl.th = p.h.phase[th_ - pl.qh * static_cast<int>(H.stride)];
    pl.tw = p.w.phase[tw_ - pl.qw * static_cast<int>(W.stride)];
    return pl;
  };

  // A block whose rows all lie in bias-only phases skips the weights altogether.
  bool row_live = false;
  {
    const int first_row = static_cast<int>(first_pixel / Wo), last_row = static_cast<int>((end_pixel - 1) / Wo);
    for (int row = first_row + threadIdx.x; row <= last_row && !row_live; row += blockDim.x) {
      const int t = row + pad_h;
      row_live = p.h.phase[t - static_cast<int>(p.h.stride.div(t)) * static_cast<int>(H.stride)].count > 0;
    }
  }
  if (!__syncthreads_or(row_live)) {
    Acc zero[COB];
#pragma unroll
    for (int co = 0; co < COB; ++co) zero[co] = Acc(0);
    for (int64_t pixel = first_pixel + threadIdx.x; pixel < end_pixel; pixel += blockDim.x) store_pixel(pixel, zero);
    return;
  }

  if (p.ci_chunk >= cin_g) {
    // Every input channel's weights fit: stage once, then stream the block's pixels.
    stage_weights<COB>(smem, w_group, 0, cin_g, co0, co_count, cout_g, taps_hw);
    __syncthreads();
    for (int64_t pixel = first_pixel + threadIdx.x; pixel < end_pixel; pixel += blockDim.x) {
      const Place pl = place(pixel);
      Acc acc[COB];
#pragma unroll
      for (int co = 0; co < COB; ++co) acc[co] = Acc(0);
      accumulate_pixel<T, Acc, COB>(acc, x_group, a.input_strides, H, W, p, pl.th, pl.tw, pl.qh, pl.qw, smem, cin_g);
      store_pixel(pixel, acc);
    }
  } else {
    // Weights in chunks of input channels: one pixel per thread (pixels_per_block == blockDim.x),
    // its accumulators kept across the chunks.
    const int64_t pixel = first_pixel + threadIdx.x;
    const bool valid = pixel < end_pixel;
    Place pl{0, 0, {0, 0, 0}, {0, 0, 0}};
    if (valid) pl = place(pixel);
    Acc acc[COB];
#pragma unroll
    for (int co = 0; co < COB; ++co) acc[co] = Acc(0);
    for (int ci0 = 0; ci0 < cin_g; ci0 += p.ci_chunk) {
      const int chunk = min(p.ci_chunk, cin_g - ci0);
      __syncthreads();  // the previous chunk is no longer read
      stage_weights<COB>(smem, w_group, ci0, chunk, co0, co_count, cout_g, taps_hw);
      __syncthreads();
      if (valid)
        accumulate_pixel<T, Acc, COB>(acc, x_group + int64_t(ci0) * a.input_strides.c, a.input_strides, H, W,
                                      p, pl.th, pl.tw, pl.qh, pl.qw, smem, chunk);
    }
    if (valid) store_pixel(pixel, acc);
  }
}

// Fallback for shapes outside the streaming kernel's tables (a stride above kMaxTableStride, an
// output plane of 2^31 pixels or more, one input channel's weights over the stage): one thread per
// output element, same phase arithmetic, no shared memory.
template <typename T>
__global__ void per_element_kernel(const ConvArgs a) {
  using Acc = typename Accumulator<T>::type;
  const ConvTransposeGeometry& g = a.geometry;
  const int64_t total = g.batch * g.out_channels * g.h.out * g.w.out;
  const int64_t cin_g = g.in_channels_per_group(), cout_g = g.out_channels_per_group();
  const T* x = static_cast<const T*>(a.input);
  const T* w = static_cast<const T*>(a.weight);
  const T* bias = static_cast<const T*>(a.bias);
  T* out = static_cast<T*>(a.output);
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total;
       i += int64_t(gridDim.x) * blockDim.x) {
    // i enumerates the output in its memory order, so consecutive threads store consecutively.
    int64_t n, c, oh, ow;
    if (a.output_channels_last) {
      c = i % g.out_channels; int64_t r = i / g.out_channels;
      ow = r % g.w.out; r /= g.w.out;
      oh = r % g.h.out; n = r / g.h.out;
    } else {
      ow = i % g.w.out; int64_t r = i / g.w.out;
      oh = r % g.h.out; r /= g.h.out;
      c = r % g.out_channels; n = r / g.out_channels;
    }
    const int64_t group = c / cout_g, co = c % cout_g;
    const int64_t th_ = oh + g.h.padding, tw_ = ow + g.w.padding;
    const PhaseTaps th = g.h.taps(th_ % g.h.stride), tw = g.w.taps(tw_ % g.w.stride);
    Acc sum = bias ? to_acc(bias[c]) : Acc(0);
    for (int64_t jh = 0; jh < th.tap_count; ++jh) {
      const int64_t ih = th_ / g.h.stride - th.input_offset - jh * th.input_step;
      if (ih < 0 || ih >= g.h.in) continue;
      const int64_t kh = th.first_tap + jh * th.tap_step;
      for (int64_t jw = 0; jw < tw.tap_count; ++jw) {
        const int64_t iw = tw_ / g.w.stride - tw.input_offset - jw * tw.input_step;
        if (iw < 0 || iw >= g.w.in) continue;
        const int64_t kw = tw.first_tap + jw * tw.tap_step;
        for (int64_t ci = group * cin_g; ci < (group + 1) * cin_g; ++ci) {
          const Acc xv = to_acc(load_readonly(x + n * a.input_strides.n + ci * a.input_strides.c +
                                              ih * a.input_strides.h + iw * a.input_strides.w));
          const Acc wv = to_acc(load_readonly(w + ((ci * cout_g + co) * g.h.kernel + kh) * g.w.kernel + kw));
          sum = fma(xv, wv, sum);
        }
      }
    }
    out[i] = from_acc<T>(sum);
  }
}

// Chooses the streaming kernel's plan; false when the problem is outside its tables (then
// per_element_kernel runs).
bool plan_streaming(const ConvArgs& a, int cob, size_t acc_bytes, StreamPlan& p) {
  const ConvTransposeGeometry& g = a.geometry;
  if (g.h.stride > kMaxTableStride || g.w.stride > kMaxTableStride) return false;
  p.pixels = g.h.out * g.w.out;
  // 32-bit pixel, row and q arithmetic (FastDivmod needs operands below 2^31).
  if (p.pixels >= (int64_t(1) << 31) || g.h.out + g.h.padding >= (int64_t(1) << 31) ||
      g.w.out + g.w.padding >= (int64_t(1) << 31) || g.h.in >= (int64_t(1) << 31) || g.w.in >= (int64_t(1) << 31))
    return false;
  const size_t per_channel = size_t(g.h.kernel * g.w.kernel) * cob * acc_bytes;
  if (per_channel > kWeightStageBytes) return false;
  p.h = make_axis_table(g.h);
  p.w = make_axis_table(g.w);
  p.out_w = FastDivmod(static_cast<uint32_t>(g.w.out));
  p.ci_chunk = static_cast<int>(std::min<int64_t>(g.in_channels_per_group(), kWeightStageBytes / per_channel));
  p.smem_bytes = per_channel * p.ci_chunk;
  p.co_chunks = static_cast<int>((g.out_channels_per_group() + cob - 1) / cob);
  // Several pixels per thread amortise the weight stage, as long as the grid keeps every SM busy
  // (about 4 waves of 8 resident blocks on 132 SMs); chunked weights keep one pixel per thread.
  int per_thread = 1;
  if (p.ci_chunk >= g.in_channels_per_group()) {
    const int64_t streams = g.batch * g.groups * p.co_chunks;
    while (per_thread < 8 && streams * ((p.pixels + 2 * per_thread * kThreads - 1) / (2 * per_thread * kThreads)) >= 4 * 8 * 132)
      per_thread *= 2;
  }
  p.pixels_per_block = per_thread * kThreads;
  p.pixel_tiles = (p.pixels + p.pixels_per_block - 1) / p.pixels_per_block;
  return true;
}

template <typename T, int COB>
cudaError_t launch_streaming(const ConvArgs& a, cudaStream_t stream) {
  using Acc = typename Accumulator<T>::type;
  const ConvTransposeGeometry& g = a.geometry;
  StreamPlan p;
  if (!plan_streaming(a, COB, sizeof(Acc), p)) {
    const int64_t total = g.batch * g.out_channels * g.h.out * g.w.out;
    const int64_t blocks = std::min<int64_t>((total + 255) / 256, int64_t(1) << 20);
    per_element_kernel<T><<<static_cast<unsigned>(blocks), 256, 0, stream>>>(a);
    return cudaGetLastError();
  }
  const int64_t blocks = g.batch * g.groups * p.co_chunks * p.pixel_tiles;
  if (blocks > 0x7fffffff) return cudaErrorInvalidConfiguration;
  // p.smem_bytes <= kWeightStageBytes: within the default 48 KB, no attribute to raise.
  streaming_kernel<T, COB><<<static_cast<unsigned>(blocks), kThreads, p.smem_bytes, stream>>>(a, p);
  return cudaGetLastError();
}

template <typename T>
cudaError_t launch_for_type(const ConvArgs& a, cudaStream_t stream) {
  // Output channels per thread: a whole number of 16-byte weight vectors, enough to reuse each
  // input value, no more than the group has.
  const int64_t cout_g = a.geometry.out_channels_per_group();
  if constexpr (sizeof(typename Accumulator<T>::type) == 8) {
    // (8 float64 accumulators and their weight vectors spill at the 64-register budget.)
    if (cout_g <= 2) return launch_streaming<T, 2>(a, stream);
    return launch_streaming<T, 4>(a, stream);
  } else {
    if (cout_g <= 4) return launch_streaming<T, 4>(a, stream);
    if (cout_g <= 8) return launch_streaming<T, 8>(a, stream);
    return launch_streaming<T, 16>(a, stream);
  }
}

}  // namespace

cudaError_t launch_direct(const ConvArgs& args, cudaStream_t stream) {
  switch (args.dtype) {
    case DType::Float32: return launch_for_type<float>(args, stream);
    case DType::Float64: return launch_for_type<double>(args, stream);
    case DType::Float16: return launch_for_type<__half>(args, stream);
    case DType::BFloat16: return launch_for_type<__nv_bfloat16>(args, stream);
  }
  return cudaErrorInvalidValue;
}

}  // namespace cuda
}  // namespace tconv
