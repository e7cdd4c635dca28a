// One-pass transposed convolution: each output element computed once, from the taps of its phase
// only, and written once through a shared-memory stage with 16-byte stores.
//
// Tile of one block (all in "t-space", t = output index + padding, so that phases line up):
//   - vertically: `phases_h` of the stride_h phases x `tqh` consecutive q-rows of each,
//   - horizontally: all stride_w phases x `qw_groups * VEC` consecutive q-columns, i.e. one contiguous
//     run of output columns,
//   - `COB` output channels of one group, for one image.
// Each thread owns one (vertical phase, q-row, horizontal phase) and VEC consecutive q-columns of it,
// so its VEC pixels share taps: every weight it reads from shared memory feeds VEC FMAs and every
// input value COB FMAs. Weights are staged in shared memory in chunks of input channels; the
// accumulators are staged in the same shared memory afterwards and stored row by row (NCHW) or
// pixel by pixel (channels_last), bias added, in aligned 16-byte vectors.
#include <algorithm>
#include <atomic>

#include "element.cuh"
#include "launch.h"

namespace tconv {
namespace cuda {
namespace {

constexpr int kThreads = 256;
constexpr size_t kWeightStageBytes = 32 * 1024;
constexpr size_t kMaxSharedBytes = 96 * 1024;

struct DirectTiling {
  int qw_groups;  // groups of VEC q-columns per horizontal phase
  int tqh;        // q-rows per vertical phase
  int phases_h;   // vertical phases per block
  int threads;
  int ci_chunk;   // input channels per weight stage
  int64_t q_h_begin, q_w_begin;
  int64_t tiles_w, tiles_h, phase_h_chunks, co_chunks;
  size_t smem_bytes;
};

// Rows of q-indices that hold output: q in [padding/stride, (out - 1 + padding)/stride].
int64_t first_q(const AxisGeometry& a) { return a.padding / a.stride; }
int64_t q_count(const AxisGeometry& a) { return (a.out - 1 + a.padding) / a.stride - first_q(a) + 1; }

template <typename T>
__device__ __forceinline__ void store_vector(T* dst, const T (&v)[16 / sizeof(T)]) {
  *reinterpret_cast<uint4*>(dst) = *reinterpret_cast<const uint4*>(v);
}

template <typename T, int COB, int VEC>
__global__ void __launch_bounds__(kThreads) direct_kernel(const ConvArgs a, const DirectTiling t) {
  using Acc = typename Accumulator<T>::type;
  constexpr int V = 16 / sizeof(T);  // elements per 16-byte store
  extern __shared__ __align__(16) unsigned char smem_raw[];
  Acc* smem = reinterpret_cast<Acc*>(smem_raw);

  const ConvTransposeGeometry& g = a.geometry;
  const AxisGeometry& H = g.h;
  const AxisGeometry& W = g.w;
  const int cin_g = static_cast<int>(g.in_channels_per_group());
  const int cout_g = static_cast<int>(g.out_channels_per_group());
  const int KH = static_cast<int>(H.kernel), KW = static_cast<int>(W.kernel);
  const int SH = static_cast<int>(H.stride), SW = static_cast<int>(W.stride);
  const int taps_hw = KH * KW;

  // Output-channel chunk varies fastest, so the blocks that read one input tile run together and
  // the tile comes from DRAM once.
  int64_t b = blockIdx.x;
  const int co_chunk = static_cast<int>(b % t.co_chunks); b /= t.co_chunks;
  const int64_t tile_w = b % t.tiles_w; b /= t.tiles_w;
  const int64_t tile_h = b % t.tiles_h; b /= t.tiles_h;
  const int ph_chunk = static_cast<int>(b % t.phase_h_chunks); b /= t.phase_h_chunks;
  const int group = static_cast<int>(b % g.groups);
  const int64_t n = b / g.groups;

  const int QW = t.qw_groups * VEC;
  const int64_t qh0 = t.q_h_begin + tile_h * t.tqh;
  const int64_t qw0 = t.q_w_begin + tile_w * QW;
  const int rh0 = ph_chunk * t.phases_h;
  const int phases_h_here = min(t.phases_h, SH - rh0);
  const int co0 = co_chunk * COB;
  const int co_count = min(COB, cout_g - co0);

  int item = threadIdx.x;
  const int qwg = item % t.qw_groups; item /= t.qw_groups;
  const int rw = item % SW; item /= SW;
  const int qh_local = item % t.tqh;
  const int rh_local = item / t.tqh;
  const bool active = rh_local < phases_h_here;

  PhaseTaps th{-1, 0, 1, 0, 1}, tw{-1, 0, 1, 0, 1};
  if (active) {
    th = H.taps(rh0 + rh_local);
    tw = W.taps(rw);
  }
  const int64_t qh = qh0 + qh_local;
  const int64_t qw_base = qw0 + int64_t(qwg) * VEC;
  const T* x = static_cast<const T*>(a.input) + n * a.input_strides.n +
               int64_t(group) * cin_g * a.input_strides.c;
  const T* w = static_cast<const T*>(a.weight) + int64_t(group) * cin_g * cout_g * taps_hw;

  Acc acc[VEC][COB];
#pragma unroll
  for (int v = 0; v < VEC; ++v)
#pragma unroll
    for (int co = 0; co < COB; ++co) acc[v][co] = Acc(0);

  for (int ci0 = 0; ci0 < cin_g; ci0 += t.ci_chunk) {
    const int chunk = min(t.ci_chunk, cin_g - ci0);
    __syncthreads();  // the previous chunk's weights are no longer read
    for (int i = threadIdx.x; i < chunk * taps_hw * COB; i += blockDim.x) {
      const int co = i % COB, tap = (i / COB) % taps_hw, ci = i / (COB * taps_hw);
      smem[i] = co < co_count
                    ? to_acc(load_readonly(w + (int64_t(ci0 + ci) * cout_g + co0 + co) * taps_hw + tap))
                    : Acc(0);
    }
    __syncthreads();
    if (!active || th.tap_count == 0 || tw.tap_count == 0) continue;
    for (int ci = 0; ci < chunk; ++ci) {
      const T* x_channel = x + int64_t(ci0 + ci) * a.input_strides.c;
      for (int jh = 0; jh < th.tap_count; ++jh) {
        const int64_t ih = qh - th.input_offset - jh * th.input_step;
        if (ih < 0 || ih >= H.in) continue;
        const int kh = static_cast<int>(th.first_tap + jh * th.tap_step);
        const T* x_row = x_channel + ih * a.input_strides.h;
        for (int jw = 0; jw < tw.tap_count; ++jw) {
          const int kw = static_cast<int>(tw.first_tap + jw * tw.tap_step);
          const int64_t iw0 = qw_base - tw.input_offset - jw * tw.input_step;
          Acc xv[VEC];
#pragma unroll
          for (int v = 0; v < VEC; ++v) {
            const int64_t iw = iw0 + v;
            xv[v] = (iw >= 0 && iw < W.in) ? to_acc(load_readonly(x_row + iw * a.input_strides.w))
                                           : Acc(0);
          }
          const Acc* wp = smem + ((ci * KH + kh) * KW + kw) * COB;
#pragma unroll
          for (int co = 0; co < COB; ++co) {
            const Acc wv = wp[co];
#pragma unroll
            for (int v = 0; v < VEC; ++v) acc[v][co] = fma(xv[v], wv, acc[v][co]);
          }
        }
      }
    }
  }

  // Stage the tile as [co][row][column]; row = rh_local * tqh + qh_local, column in t-space.
  const int rows = t.phases_h * t.tqh;
  const int TW = QW * SW;
  __syncthreads();
  if (active) {
#pragma unroll
    for (int v = 0; v < VEC; ++v)
#pragma unroll
      for (int co = 0; co < COB; ++co)
        smem[(co * rows + rh_local * t.tqh + qh_local) * TW + (qwg * VEC + v) * SW + rw] = acc[v][co];
  }
  __syncthreads();

  const int64_t ow_start = qw0 * SW - W.padding;  // output column of staged column 0
  const int c_lo = static_cast<int>(ow_start < 0 ? -ow_start : 0);
  const int c_hi = static_cast<int>(W.out - ow_start < TW ? W.out - ow_start : TW);
  if (c_lo >= c_hi) return;
  const T* bias = static_cast<const T*>(a.bias);
  T* out = static_cast<T*>(a.output);
  const int64_t Ho = H.out, Wo = W.out, Cout = g.out_channels;
  const int64_t channel0 = int64_t(group) * cout_g + co0;
  const int rows_here = phases_h_here * t.tqh;

  // Output row of staged row r, or -1 when it falls outside the output.
  auto output_row = [&](int r) -> int64_t {
    const int64_t oh = (qh0 + r % t.tqh) * SH + rh0 + r / t.tqh - H.padding;
    return (oh >= 0 && oh < Ho) ? oh : -1;
  };

  if (!a.output_channels_last) {
    // One warp per line (a channel's output row segment); its lanes take consecutive aligned
    // 16-byte slots, so each slot costs a bounds test and a store, not an index decomposition.
    const int lane = threadIdx.x % 32, warps = blockDim.x / 32;
    const int lines = co_count * rows_here;
    for (int line = threadIdx.x / 32; line < lines; line += warps) {
      const int co = line / rows_here, r = line % rows_here;
      const int64_t oh = output_row(r);
      if (oh < 0) continue;
      const int64_t base = ((n * Cout + channel0 + co) * Ho + oh) * Wo + ow_start;  // column 0
      const int64_t first = base + c_lo, end = base + c_hi;
      const Acc bias_v = bias ? to_acc(bias[channel0 + co]) : Acc(0);
      const Acc* line_stage = smem + (co * rows + r) * TW;  // staged column c is output index base + c
      for (int64_t e0 = (first / V + lane) * V; e0 < end; e0 += 32 * V) {
        if (e0 >= first && e0 + V <= end) {
          T packed[V];
#pragma unroll
          for (int v = 0; v < V; ++v) packed[v] = from_acc<T>(line_stage[e0 + v - base] + bias_v);
          store_vector(out + e0, packed);
        } else {
          for (int v = 0; v < V; ++v) {
            const int64_t e = e0 + v;
            if (e >= first && e < end) out[e] = from_acc<T>(line_stage[e - base] + bias_v);
          }
        }
      }
    }
  } else {
    // Lines are output pixels; along a line, the block's co_count contiguous channels.
    const int slots_per_line = (co_count + 2 * V - 2) / V;
    const int width = c_hi - c_lo;
    const int lines = rows_here * width;
    for (int idx = threadIdx.x; idx < lines * slots_per_line; idx += blockDim.x) {
      const int line = idx / slots_per_line, s = idx % slots_per_line;
      const int r = line / width, c = c_lo + line % width;
      const int64_t oh = output_row(r);
      if (oh < 0) continue;
      const int64_t base = ((n * Ho + oh) * Wo + ow_start + c) * Cout + channel0;  // channel co0
      const int64_t e0 = (base / V + s) * V;
      if (e0 >= base + co_count) continue;
      auto value = [&](int64_t e) {
        const int co = static_cast<int>(e - base);
        const Acc bias_v = bias ? to_acc(bias[channel0 + co]) : Acc(0);
        return from_acc<T>(smem[(co * rows + r) * TW + c] + bias_v);
      };
      if (e0 >= base && e0 + V <= base + co_count) {
        T packed[V];
#pragma unroll
        for (int v = 0; v < V; ++v) packed[v] = value(e0 + v);
        store_vector(out + e0, packed);
      } else {
        for (int v = 0; v < V; ++v) {
          const int64_t e = e0 + v;
          if (e >= base && e < base + co_count) out[e] = value(e);
        }
      }
    }
  }
}

// Fallback for shapes whose tile does not fit (strides above 256 or huge kernels): one thread per
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

int floor_pow2(int v) {
  int p = 1;
  while (p * 2 <= v) p *= 2;
  return p;
}

// Chooses the tile for a problem; returns false when none fits (then per_element_kernel runs).
bool plan_tiling(const ConvArgs& a, int cob, int vec, size_t acc_bytes, DirectTiling& t) {
  const ConvTransposeGeometry& g = a.geometry;
  const int SH = static_cast<int>(g.h.stride), SW = static_cast<int>(g.w.stride);
  if (SW > kThreads) return false;
  const int64_t qh_total = q_count(g.h), qw_total = q_count(g.w);
  // Horizontal: as many VEC-groups of q-columns as fill a warp, but no more than the row has.
  t.qw_groups = std::min<int>(floor_pow2(std::max(1, kThreads / SW)), 32);
  t.qw_groups = static_cast<int>(std::min<int64_t>(t.qw_groups, (qw_total + vec - 1) / vec));
  // Vertical: the remaining threads go to phases, then to q-rows.
  const int rest = std::max(1, kThreads / (SW * t.qw_groups));
  t.phases_h = std::min(SH, rest);
  t.tqh = t.phases_h < SH ? 1 : static_cast<int>(std::min<int64_t>(std::max(1, rest / SH), qh_total));
  const int items = t.phases_h * t.tqh * SW * t.qw_groups;
  t.threads = (items + 31) / 32 * 32;
  if (t.threads > kThreads) return false;

  const int64_t taps_hw = g.h.kernel * g.w.kernel;
  const size_t per_channel = size_t(taps_hw) * cob * acc_bytes;
  t.ci_chunk = static_cast<int>(std::max<int64_t>(
      1, std::min<int64_t>(g.in_channels_per_group(), kWeightStageBytes / per_channel)));
  const size_t weight_bytes = per_channel * t.ci_chunk;
  const size_t stage_bytes = size_t(cob) * t.phases_h * t.tqh * t.qw_groups * vec * SW * acc_bytes;
  t.smem_bytes = std::max(weight_bytes, stage_bytes);
  if (t.smem_bytes > kMaxSharedBytes) return false;

  t.q_h_begin = first_q(g.h);
  t.q_w_begin = first_q(g.w);
  t.tiles_w = (qw_total + int64_t(t.qw_groups) * vec - 1) / (int64_t(t.qw_groups) * vec);
  t.tiles_h = (qh_total + t.tqh - 1) / t.tqh;
  t.phase_h_chunks = (SH + t.phases_h - 1) / t.phases_h;
  t.co_chunks = (g.out_channels_per_group() + cob - 1) / cob;
  return true;
}

// The dynamic shared-memory limit is a process-wide attribute of the kernel (per device). Setting
// it to each call's own size would race between host threads (one lowers it under another's
// launch), so it is raised to the one maximum plan_tiling can ask for, once per device.
template <typename T, int COB, int VEC>
cudaError_t allow_max_shared_memory() {
  constexpr int kMaxDevices = 64;
  static std::atomic<bool> raised[kMaxDevices] = {};  // one set per kernel instantiation
  auto kernel = direct_kernel<T, COB, VEC>;
  int device = 0;
  cudaError_t e = cudaGetDevice(&device);
  if (e != cudaSuccess) return e;
  if (device < kMaxDevices && raised[device].load(std::memory_order_acquire)) return cudaSuccess;
  e = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(kMaxSharedBytes));
  if (e == cudaSuccess && device < kMaxDevices) raised[device].store(true, std::memory_order_release);
  return e;
}

template <typename T, int COB>
cudaError_t launch_tiled(const ConvArgs& a, cudaStream_t stream) {
  using Acc = typename Accumulator<T>::type;
  constexpr int VEC = sizeof(Acc) == 8 ? 2 : 4;  // keeps VEC * COB accumulators within registers
  DirectTiling t;
  const ConvTransposeGeometry& g = a.geometry;
  if (!plan_tiling(a, COB, VEC, sizeof(Acc), t)) {
    const int64_t total = g.batch * g.out_channels * g.h.out * g.w.out;
    const int64_t blocks = std::min<int64_t>((total + 255) / 256, int64_t(1) << 20);
    per_element_kernel<T><<<static_cast<unsigned>(blocks), 256, 0, stream>>>(a);
    return cudaGetLastError();
  }
  const int64_t blocks = g.batch * g.groups * t.phase_h_chunks * t.tiles_h * t.tiles_w * t.co_chunks;
  if (blocks > 0x7fffffff) return cudaErrorInvalidConfiguration;
  auto kernel = direct_kernel<T, COB, VEC>;
  if (t.smem_bytes > 48 * 1024) {
    const cudaError_t e = allow_max_shared_memory<T, COB, VEC>();
    if (e != cudaSuccess) return e;
  }
  kernel<<<static_cast<unsigned>(blocks), t.threads, t.smem_bytes, stream>>>(a, t);
  return cudaGetLastError();
}

template <typename T>
cudaError_t launch_for_type(const ConvArgs& a, cudaStream_t stream) {
  // Output channels per block: enough to reuse each input value, no more than the group has.
  const int64_t cout_g = a.geometry.out_channels_per_group();
  if (cout_g <= 1) return launch_tiled<T, 1>(a, stream);
  if (cout_g <= 2) return launch_tiled<T, 2>(a, stream);
  if (cout_g <= 4) return launch_tiled<T, 4>(a, stream);
  if (cout_g <= 8 || sizeof(T) == 8) return launch_tiled<T, 8>(a, stream);
  return launch_tiled<T, 16>(a, stream);
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
