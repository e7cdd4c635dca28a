// One-pass transposed convolution for memory-bound shapes (and the FFMA path for float64 and thin
// layers): each output element computed once, from the taps of its phase only, and written once,
// bias-only positions included.
//
// Work split: a block owns one image, one group, COB output channels and a run of pixel groups; a
// thread owns one group at a time: PX pixels of one output row, 32*stride_w columns apart, so they
// share one phase and every weight loaded from shared memory feeds PX pixels (shared-memory
// bandwidth was the limit at one pixel per thread: ncu, L1/shared 95% busy). Lanes of a warp take
// consecutive columns, so every store is coalesced (one per channel for NCHW, COB consecutive
// channels per pixel for channels_last). No stage, no barrier after the weights are in shared
// memory: threads whose pixels have no taps (bias-only phases: most of the output when the kernel
// is smaller than the stride) store and move on instead of waiting at a barrier for the others,
// which is what limited the first tiled kernel (ncu: 37% of its cycles at barriers).
//
// Weights are staged once per block as [input channel][kh][kw][COB] (COB a multiple of 16 bytes),
// so one 16-byte shared load feeds 4*PX float FMAs; for groups with many input channels they are
// staged in chunks (then a thread keeps one group's accumulators across the chunks). Phase taps
// come from small host-computed tables and group -> (row, column, phase) from multiply-shift
// division, so a bias-only pixel costs a few integer instructions and its stores.
#include <algorithm>

#include "element.cuh"
#include "launch.h"
#include "phase_table.h"

namespace tconv {
namespace cuda {
namespace {

constexpr int kThreads = 256;
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

// Larger strides than kMaxTableStride (phase_table.h) use per_element_kernel.
struct AxisTable : PhaseTable {
  FastDivmod stride;
};

struct StreamPlan {
  AxisTable h, w;
  // Pixel groups: a thread owns PX pixels of one output row, 32*stride_w apart (so one phase and
  // one set of taps), in super-tiles of 32*stride_w*PX columns; see the kernel's comment.
  FastDivmod groups_per_row;  // group index -> (row, index in the row)
  FastDivmod lanes_per_tile;  // 32 * stride_w: index in the row -> (super-tile, offset)
  int64_t groups;            // Ho * groups_per_row
  int64_t group_tiles;       // blocks per (image, group, channel chunk)
  int groups_per_block;      // a multiple of kThreads
  int co_chunks;
  int ci_chunk;              // input channels per weight stage
  size_t smem_bytes;
};

AxisTable make_axis_table(const AxisGeometry& axis) {
  AxisTable t;
  static_cast<PhaseTable&>(t) = make_phase_table(axis);
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

// acc[j][co] += x[j] * w[co] for one input channel's COB weights and the thread's PX pixels: one
// 16-byte shared load feeds 4*PX (float) FMAs. Shared-memory bandwidth is what bounds this
// kernel (ncu on KernelBench 75/81 with one pixel per thread: L1/shared 95% busy, FMA pipe 35-44%).
template <typename Acc, int COB, int PX>
__device__ __forceinline__ void fma_channel(Acc (&acc)[PX][COB], const Acc (&x)[PX], const Acc* w) {
  constexpr int kVecAcc = 16 / sizeof(Acc);
  static_assert(COB % kVecAcc == 0, "COB must fill whole 16-byte vectors");
#pragma unroll
  for (int v = 0; v < COB / kVecAcc; ++v) {
    const uint4 bits = reinterpret_cast<const uint4*>(w)[v];
    const Acc* wv = reinterpret_cast<const Acc*>(&bits);
#pragma unroll
    for (int e = 0; e < kVecAcc; ++e)
#pragma unroll
      for (int j = 0; j < PX; ++j) acc[j][v * kVecAcc + e] = fma(x[j], wv[e], acc[j][v * kVecAcc + e]);
  }
}

// The thread's place: its output row's q-index and taps, and its first pixel's column, q-index
// and taps (the other pixels are 32*stride_w columns apart: q-indices 32 apart, the same taps).
struct Place {
  int oh, ow, qh, qw;
  TapRun th, tw;
};

// acc[j][co] += sum over the taps and the chunk's input channels, for pixel j at q-index
// (qh, qw + 32 j); pixels past the row (ow_valid) or reading outside the input load zero.
template <typename T, typename Acc, int COB, int PX>
__device__ __forceinline__ void accumulate_pixels(Acc (&acc)[PX][COB], const T* x_group, const Strides4& xs,
                                                  const AxisGeometry& H, const AxisGeometry& W,
                                                  const StreamPlan& p, const Place& pl, int valid_px,
                                                  const Acc* smem, int chunk) {
  // Input channels whose loads are issued together: 8 where the 128-register budget holds them
  // (measured: KernelBench 75 0.73 -> 0.68 ms against 4), 4 in the 80-register variants (8 spills).
  constexpr int kBatch = COB * PX >= 16 ? 8 : 4;
  const int KW = static_cast<int>(W.kernel);
  const int w_step = static_cast<int>(H.kernel) * KW * COB;
  for (int jh = 0; jh < pl.th.count; ++jh) {
    const int ih = pl.qh - pl.th.input_offset - jh * p.h.input_step;
    if (ih < 0 || ih >= H.in) continue;
    const int kh = pl.th.first_tap + jh * p.h.tap_step;
    for (int jw = 0; jw < pl.tw.count; ++jw) {
      const int iw0 = pl.qw - pl.tw.input_offset - jw * p.w.input_step;
      // Pixel j reads column iw0 + 32 j; pixels past the row or outside the input load nothing.
      bool in[PX];
      bool any = false;
#pragma unroll
      for (int j = 0; j < PX; ++j) {
        const int iw = iw0 + 32 * j;
        in[j] = j < valid_px && iw >= 0 && iw < W.in;
        any |= in[j];
      }
      if (!any) continue;
      const int kw = pl.tw.first_tap + jw * p.w.tap_step;
      const Acc* wp = smem + (kh * KW + kw) * COB;
      // Pixel j's value of a channel at xp + j * pixel_step (only dereferenced where in[j]).
      const T* xp = x_group + int64_t(ih) * xs.h + int64_t(iw0) * xs.w;
      const int64_t pixel_step = 32 * xs.w;
      // A batch of input channels' loads is issued before their FMAs: the loads are the latency.
      int ci = 0;
      for (; ci + kBatch <= chunk; ci += kBatch, xp += kBatch * xs.c, wp += kBatch * w_step) {
        Acc xv[kBatch][PX];
#pragma unroll
        for (int u = 0; u < kBatch; ++u)
#pragma unroll
          for (int j = 0; j < PX; ++j) xv[u][j] = in[j] ? to_acc(load_readonly(xp + u * xs.c + j * pixel_step)) : Acc(0);
#pragma unroll
        for (int u = 0; u < kBatch; ++u) fma_channel<Acc, COB, PX>(acc, xv[u], wp + u * w_step);
      }
      for (; ci < chunk; ++ci, xp += xs.c, wp += w_step) {
        Acc xv[PX];
#pragma unroll
        for (int j = 0; j < PX; ++j) xv[j] = in[j] ? to_acc(load_readonly(xp + j * pixel_step)) : Acc(0);
        fma_channel<Acc, COB, PX>(acc, xv, wp);
      }
    }
  }
}

// Work split: a block owns one image, one group, COB output channels and a run of pixel groups; a
// thread owns one group at a time: PX pixels of one output row, 32*stride_w columns apart. Within
// a super-tile of 32*stride_w*PX columns, lane l of slot s (s < stride_w) takes columns
// tile + 32 s + l + 32*stride_w*j: every column of the tile exactly once, each warp store covers 32
// consecutive columns, and a thread's pixels share one phase, so each weight load serves PX pixels.
template <typename T, int COB, int PX>
__global__ void __launch_bounds__(kThreads, COB * PX * sizeof(typename Accumulator<T>::type) >= 64 ? 2 : 3)
    streaming_kernel(const ConvArgs a, const __grid_constant__ StreamPlan p) {
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
  const int64_t tile = b % p.group_tiles; b /= p.group_tiles;
  const int group = static_cast<int>(b % g.groups);
  const int64_t n = b / g.groups;
  const int co0 = co_chunk * COB;
  const int co_count = min(COB, cout_g - co0);
  const int64_t channel0 = int64_t(group) * cout_g + co0;
  const int first_group = static_cast<int>(tile * p.groups_per_block);
  const int end_group = static_cast<int>(min(int64_t(first_group) + p.groups_per_block, p.groups));

  const T* x_group = static_cast<const T*>(a.input) + n * a.input_strides.n +
                     int64_t(group) * cin_g * a.input_strides.c;
  const T* w_group = static_cast<const T*>(a.weight) + int64_t(group) * cin_g * cout_g * taps_hw;
  const T* bias = static_cast<const T*>(a.bias);
  T* out = static_cast<T*>(a.output);
  const int64_t Cout = g.out_channels;
  const int64_t pixels = H.out * W.out;
  const int pad_h = static_cast<int>(H.padding), pad_w = static_cast<int>(W.padding);
  const int Wo = static_cast<int>(W.out);
  const int column_step = 32 * static_cast<int>(W.stride);  // between a thread's pixels

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
      T* dst = out + (n * Cout + channel0) * pixels + pixel;
#pragma unroll
      for (int co = 0; co < COB; ++co)
        if (co < co_count) dst[co * pixels] = from_acc<T>(acc[co] + bias_v[co]);
    } else {
      T* dst = out + (n * pixels + pixel) * Cout + channel0;
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
  auto store_group = [&](const Place& pl, int valid_px, const Acc (&acc)[PX][COB]) {
    const int64_t row_start = int64_t(pl.oh) * Wo;
#pragma unroll
    for (int j = 0; j < PX; ++j)
      if (j < valid_px) store_pixel(row_start + pl.ow + j * column_step, acc[j]);
  };
  // Row, first column, q-indices and taps of a pixel group; valid_px = its pixels inside the row.
  auto place = [&](int group_index, int& valid_px) {
    Place pl;
    pl.oh = static_cast<int>(p.groups_per_row.div(static_cast<uint32_t>(group_index)));
    const int in_row = group_index - pl.oh * static_cast<int>(p.groups_per_row.divisor);
    const int super_tile = static_cast<int>(p.lanes_per_tile.div(static_cast<uint32_t>(in_row)));
    pl.ow = super_tile * column_step * PX + (in_row - super_tile * column_step);
    valid_px = pl.ow >= Wo ? 0 : min(PX, (Wo - 1 - pl.ow) / column_step + 1);
    const int th_ = pl.oh + pad_h, tw_ = pl.ow + pad_w;
    pl.qh = static_cast<int>(p.h.stride.div(th_));
    pl.qw = static_cast<int>(p.w.stride.div(tw_));
    pl.th = p.h.phase[th_ - pl.qh * static_cast<int>(H.stride)];
    pl.tw = p.w.phase[tw_ - pl.qw * static_cast<int>(W.stride)];
    return pl;
  };
  auto clear = [](Acc (&acc)[PX][COB]) {
#pragma unroll
    for (int j = 0; j < PX; ++j)
#pragma unroll
      for (int co = 0; co < COB; ++co) acc[j][co] = Acc(0);
  };

  // A block whose rows all lie in bias-only phases skips the weights altogether.
  bool row_live = false;
  {
    const int first_row = static_cast<int>(p.groups_per_row.div(first_group));
    const int last_row = static_cast<int>(p.groups_per_row.div(end_group - 1));
    for (int row = first_row + threadIdx.x; row <= last_row && !row_live; row += blockDim.x) {
      const int t = row + pad_h;
      row_live = p.h.phase[t - static_cast<int>(p.h.stride.div(t)) * static_cast<int>(H.stride)].count > 0;
    }
  }
  if (!__syncthreads_or(row_live)) {
    Acc zero[PX][COB];
    clear(zero);
    for (int gi = first_group + threadIdx.x; gi < end_group; gi += blockDim.x) {
      int valid_px;
      const Place pl = place(gi, valid_px);
      store_group(pl, valid_px, zero);
    }
    return;
  }

  if (p.ci_chunk >= cin_g) {
    // Every input channel's weights fit: stage once, then stream the block's pixel groups.
    stage_weights<COB>(smem, w_group, 0, cin_g, co0, co_count, cout_g, taps_hw);
    __syncthreads();
    for (int gi = first_group + threadIdx.x; gi < end_group; gi += blockDim.x) {
      int valid_px;
      const Place pl = place(gi, valid_px);
      Acc acc[PX][COB];
      clear(acc);
      accumulate_pixels<T, Acc, COB, PX>(acc, x_group, a.input_strides, H, W, p, pl, valid_px, smem, cin_g);
      store_group(pl, valid_px, acc);
    }
  } else {
    // Weights in chunks of input channels: one pixel group per thread (groups_per_block ==
    // blockDim.x), its accumulators kept across the chunks.
    const int gi = first_group + static_cast<int>(threadIdx.x);
    int valid_px = 0;
    Place pl{0, 0, 0, 0, {0, 0, 0}, {0, 0, 0}};
    if (gi < end_group) pl = place(gi, valid_px);
    Acc acc[PX][COB];
    clear(acc);
    for (int ci0 = 0; ci0 < cin_g; ci0 += p.ci_chunk) {
      const int chunk = min(p.ci_chunk, cin_g - ci0);
      __syncthreads();  // the previous chunk is no longer read
      stage_weights<COB>(smem, w_group, ci0, chunk, co0, co_count, cout_g, taps_hw);
      __syncthreads();
      if (valid_px > 0)
        accumulate_pixels<T, Acc, COB, PX>(acc, x_group + int64_t(ci0) * a.input_strides.c, a.input_strides,
                                           H, W, p, pl, valid_px, smem, chunk);
    }
    if (valid_px > 0) store_group(pl, valid_px, acc);
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

// Chooses the streaming kernel's plan for PX pixels per thread; false when the problem is outside
// its tables (then per_element_kernel runs).
bool plan_streaming(const ConvArgs& a, int cob, int px, size_t acc_bytes, StreamPlan& p) {
  const ConvTransposeGeometry& g = a.geometry;
  if (g.h.stride > kMaxTableStride || g.w.stride > kMaxTableStride) return false;
  const int64_t lanes_per_tile = 32 * g.w.stride;
  const int64_t groups_per_row = (g.w.out + lanes_per_tile * px - 1) / (lanes_per_tile * px) * lanes_per_tile;
  p.groups = g.h.out * groups_per_row;
  // 32-bit group, row, column and q arithmetic (FastDivmod needs operands below 2^31).
  const int64_t limit = int64_t(1) << 31;
  if (p.groups >= limit || g.h.out * g.w.out >= limit || g.h.out + g.h.padding >= limit ||
      g.w.out + g.w.padding + lanes_per_tile * px >= limit || g.h.in >= limit || g.w.in >= limit)
    return false;
  const size_t per_channel = size_t(g.h.kernel * g.w.kernel) * cob * acc_bytes;
  if (per_channel > kWeightStageBytes) return false;
  p.h = make_axis_table(g.h);
  p.w = make_axis_table(g.w);
  p.groups_per_row = FastDivmod(static_cast<uint32_t>(groups_per_row));
  p.lanes_per_tile = FastDivmod(static_cast<uint32_t>(lanes_per_tile));
  p.ci_chunk = static_cast<int>(std::min<int64_t>(g.in_channels_per_group(), kWeightStageBytes / per_channel));
  p.smem_bytes = per_channel * p.ci_chunk;
  p.co_chunks = static_cast<int>((g.out_channels_per_group() + cob - 1) / cob);
  // Several groups per thread amortise the weight stage, as long as the grid keeps every SM busy
  // (about 4 waves of 8 resident blocks on 132 SMs); chunked weights keep one group per thread.
  int per_thread = 1;
  if (p.ci_chunk >= g.in_channels_per_group()) {
    const int64_t streams = g.batch * g.groups * p.co_chunks;
    while (per_thread < 8 && streams * ((p.groups + 2 * per_thread * kThreads - 1) / (2 * per_thread * kThreads)) >= 4 * 8 * 132)
      per_thread *= 2;
  }
  p.groups_per_block = per_thread * kThreads;
  p.group_tiles = (p.groups + p.groups_per_block - 1) / p.groups_per_block;
  return true;
}

template <typename T, int COB, int PX>
cudaError_t launch_streaming(const ConvArgs& a, cudaStream_t stream) {
  using Acc = typename Accumulator<T>::type;
  const ConvTransposeGeometry& g = a.geometry;
  StreamPlan p;
  if (!plan_streaming(a, COB, PX, sizeof(Acc), p)) {
    const int64_t total = g.batch * g.out_channels * g.h.out * g.w.out;
    const int64_t blocks = std::min<int64_t>((total + 255) / 256, int64_t(1) << 20);
    per_element_kernel<T><<<static_cast<unsigned>(blocks), 256, 0, stream>>>(a);
    return cudaGetLastError();
  }
  const int64_t blocks = g.batch * g.groups * p.co_chunks * p.group_tiles;
  if (blocks > 0x7fffffff) return cudaErrorInvalidConfiguration;
  // p.smem_bytes <= kWeightStageBytes: within the default 48 KB, no attribute to raise.
  streaming_kernel<T, COB, PX><<<static_cast<unsigned>(blocks), kThreads, p.smem_bytes, stream>>>(a, p);
  return cudaGetLastError();
}

// Pixels per thread: as many as the register budget allows (COB * PX <= 32 float accumulators),
// unless the row's last super-tile of 32*stride_w*PX columns would leave more than 1/8 of the
// threads without a pixel (narrow outputs).
int pixels_per_thread(const ConvTransposeGeometry& g, int max_px) {
  for (int px = max_px; px > 1; px /= 2) {
    const int64_t tile = 32 * g.w.stride * px;
    const int64_t covered = (g.w.out + tile - 1) / tile * tile;
    if (8 * (covered - g.w.out) <= covered) return px;
  }
  return 1;
}

template <typename T, int COB, int MaxPX>
cudaError_t launch_with_pixels(const ConvArgs& a, cudaStream_t stream) {
  const int px = pixels_per_thread(a.geometry, MaxPX);
  if constexpr (MaxPX >= 4) {
    if (px == 4) return launch_streaming<T, COB, 4>(a, stream);
  }
  if constexpr (MaxPX >= 2) {
    if (px == 2) return launch_streaming<T, COB, 2>(a, stream);
  }
  return launch_streaming<T, COB, 1>(a, stream);
}

template <typename T>
cudaError_t launch_for_type(const ConvArgs& a, cudaStream_t stream) {
  // Output channels per thread: a whole number of 16-byte weight vectors, enough to reuse each
  // input value, no more than the group has.
  const int64_t cout_g = a.geometry.out_channels_per_group();
  if constexpr (sizeof(typename Accumulator<T>::type) == 8) {
    // (8 float64 accumulators and their weight vectors spill at the 64-register budget.)
    if (cout_g <= 2) return launch_with_pixels<T, 2, 2>(a, stream);
    return launch_with_pixels<T, 4, 2>(a, stream);
  } else {
    // 32 accumulators per thread. 16 channels x 2 pixels when that covers the group in one
    // channel chunk (each input value read once), else 8 x 4: half the weight loads per FMA, the
    // input read twice as often. Measured on the H100, float32: KernelBench 75 (16 channels per
    // group) 0.73 ms at 16 x 2 against 0.79 at 8 x 4; KernelBench 81 (64 channels) 0.79 against
    // 0.67 ms; one pixel per thread (16 x 1): 1.07 and 1.18 ms.
    if (cout_g <= 4) return launch_with_pixels<T, 4, 4>(a, stream);
    if (cout_g <= 8 || cout_g > 16) return launch_with_pixels<T, 8, 4>(a, stream);
    return launch_with_pixels<T, 16, 2>(a, stream);
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
