// Hopper (sm_90a) phase GEMM: TF32/bf16/fp16 transposed convolutions with dilation 1 and kernels
// at least as large as the stride, every input operand brought in by the tensor-memory accelerator
// (TMA). Written for DCGAN's generator layers (4x4 / s2 / p1 on 8 x 8 and 32 x 32 images, 512 ->
// 256 and 128 -> 64 channels), where cuDNN ran at about 350 TFLOP/s in bf16 and the mma.sync
// implicit GEMM at half that (docs/cuda-kernels.md).
//
// The GEMMs. Output pixels split by phase (geometry.h: r = (o + p) mod s per axis); within a phase
// the layer is a stride-1 correlation, so per group and phase
//   y[co][pixel] = sum over taps (j_h, j_w) and channels c of  w[c][co][tap] x[c][pixel shifted by the tap],
// one GEMM over output channels, the phase's pixels and K = taps x input channels.
//
// Why TMA. Each stage's input is a few boxes of the image (8 x 8 pixels x one stage's channels),
// copied by one thread's instructions; the unit zero-fills what lies outside the tensor. Its box's
// innermost corner must be a multiple of 16 bytes: corners -1, 1 and 12 (16-bit) faulted
// ("illegal instruction") in the probes of sessions 15 and 16, 0, 8 and -8 worked, and the first
// two versions of this kernel, which moved each box's corner by the tap, faulted. Here a tap's 8 x
// 8 input block is read from a window of two boxes whose columns start at multiples of 8, inside
// the input (phase_gemm_plan.h: input_window), and each thread moves its pixels by the tap itself,
// reading zero outside the input.
//
// Layouts, no swizzle. The tensor map lists the input's dimensions as (W, C, H, N), and TMA writes a
// box in that order: 8 columns x one stage's channels x 8 rows land as [row][channel][8 columns]
// (measured in session 15: TMA takes these non-monotone strides). wgmma's B must be K-major (TF32
// has no other form) and the input is channel-planar, so D = pixels x output channels: the input is
// A, loaded by each thread from the window into registers at the tap's offset (TF32-rounded for
// float32; a warp's loads fall in distinct banks), and the weights are B, K-major core matrices (8
// output channels x 16 bytes of input channels) packed once per call per (group, phase, tap, N
// tile, channel block) as the stage's image: one bulk copy per stage.
//
// Tiles and pipeline. A CTA holds 3 warpgroups: a producer (one thread issues the copies) and two
// consumers, each with one m64nN accumulator per box of its half of the tile. Tiles are 256 output
// channels x 2 boxes (128 pixels), or 64 x 4 boxes for layers with at most 64 output channels per
// group. Stages are one tap and 128 bytes of channels: 64 KB (wide: 72 KB), 3 in a ring handed over
// by mbarriers; one CTA per SM. Each stage's wgmmas finish before its A registers are loaded anew.
// The epilogue adds the bias and stores each accumulator to its output pixel: every output element
// belongs to exactly one phase and tile, so it is written once (kernel >= stride leaves no phase
// without taps).
//
// Compiled for sm_90a only (CMake and scripts/compile_cuda.sh build wgmma_*.cu for that target);
// the body is empty elsewhere and phase_gemm_supported() requires a compute capability 9.0 device.
#include <cuda.h>
#include <cudaTypedefs.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <type_traits>

#include "element.cuh"
#include "launch.h"
#include "phase_gemm_plan.h"
#include "shared_memory_limit.cuh"
#include "tensor_core.cuh"
#include "wgmma.cuh"

namespace tconv {
namespace cuda {
namespace {

using phase_gemm::BoxOrigin;
using phase_gemm::kBoxPixels;
using phase_gemm::kBoxSide;
using tensor_core::shared_address;

constexpr int kStageKBytes = 128;               // K per stage: 64 16-bit or 32 float32 channels
constexpr int kCoreBytes = 128;                 // a core matrix: 8 rows x 16 bytes
constexpr int kBoxBytes = kBoxPixels * kStageKBytes;  // a TMA box: 8 x 8 pixels x one stage's channels
constexpr int kWindowBytes = 2 * kBoxBytes;     // a tap's input window: two boxes side by side
constexpr int kThreads = 384;                   // producer warpgroup + two consumer warpgroups
constexpr int kAccumulators = 128;              // per consumer thread: an m64n256 tile (or 4 x m64n64)
constexpr int kKSteps = 4;                      // wgmma K steps per stage: 4 x k8 (TF32) or 4 x k16
// One CTA per SM: 168 registers per thread at launch; the producer gives most of its share to the
// consumers (2 x 232 + 40 = 3 x 168). (Two CTAs per SM would leave 80, and ptxas needs 90 for one
// m64n128 wgmma with its descriptors.) ptxas keeps each side within its count: without the trade
// the consumers spilled.
constexpr int kConsumerRegisters = 232, kProducerRegisters = 40;
static_assert(2 * kConsumerRegisters + kProducerRegisters <= 3 * (65536 / kThreads / 8 * 8),
              "register split within the launch's share");

// Input channels per stage: one 128-byte row.
template <typename T> __host__ __device__ constexpr int stage_channels() { return kStageKBytes / int(sizeof(T)); }

// A CTA's tile: `channels` output channels (wgmma's N, the weight tile's rows) x `boxes` boxes of
// 64 pixels (M: one m64 per box), the consumers taking half the boxes each. Standard: 256 x 128;
// wide (at most 64 output channels per group): 64 x 256. Each box of a stage has its tap's input
// window (two boxes of input); the weights are the stage's first bytes.
template <typename T, bool kWide> struct Tile {
  static constexpr int channels = kWide ? 64 : 256;
  static constexpr int boxes = kWide ? 4 : 2;
  static constexpr int boxes_per_consumer = boxes / 2;
  static constexpr int weight_bytes = channels * kStageKBytes;  // core matrices, see the pack
  static constexpr int stage_bytes = weight_bytes + boxes * kWindowBytes;
  static constexpr int stages = 3;
  // The ring, 128-byte aligned inside the dynamic shared memory, then the barriers: full[s], empty[s].
  static constexpr int shared_bytes = 128 + stages * stage_bytes + 2 * stages * 8;
};
static_assert(Tile<float, false>::shared_bytes <= 227 * 1024 && Tile<float, true>::shared_bytes <= 227 * 1024,
              "one CTA's shared memory");
static_assert(Tile<float, false>::boxes_per_consumer * Tile<float, false>::channels / 2 == kAccumulators &&
                  Tile<float, true>::boxes_per_consumer * Tile<float, true>::channels / 2 <= kAccumulators,
              "an m64 x channels accumulator per box within the consumer's registers");

struct PhaseGemmArgs {
  CUtensorMap input_map;     // 4-D (W, C, H, N) over the input, box (8, one stage's channels, 8, 1)
  ConvArgs conv;
  Strides4 output_strides;
  const void* packed;        // [group][phase][tap slot][channel tile][channel block][channels x 128 bytes]
  int co_tiles, pixel_tiles, channel_blocks;
  int taps_w_max, tap_slots;  // tap slot = j_h * taps_w_max + j_w
  phase_gemm::BoxGrid boxes;  // the phase pixel grids in 8 x 8 boxes (phase_gemm_plan.h)
};

#if defined(TCONV_WGMMA_DEVICE)
// Every operand tile here is made of core matrices (8 rows x 16 bytes, contiguous), K-adjacent
// ones 128 bytes apart and M- or N-adjacent ones 1024: a k16 (16-bit) or k8 (TF32) step is two
// core matrices along K.
__device__ __forceinline__ uint64_t operand_descriptor(uint32_t tile, int k_step) {
  return wgmma::descriptor(tile + 256 * k_step, kCoreBytes, 8 * kCoreBytes);
}

// One 4-D tiled TMA load into shared memory, completing its bytes on the barrier; coordinates
// (innermost first) may lie outside the tensor, whose elements arrive as zeros.
__device__ __forceinline__ void tma_load_4d(uint32_t destination, const CUtensorMap* map, int x, int c, int y, int n,
                                            uint32_t barrier) {
  asm volatile(
      "cp.async.bulk.tensor.4d.shared::cluster.global.tile.mbarrier::complete_tx::bytes [%0], [%1, {%2, %3, %4, %5}], "
      "[%6];\n" ::"r"(destination),
      "l"(reinterpret_cast<uint64_t>(map)), "r"(x), "r"(c), "r"(y), "r"(n), "r"(barrier)
      : "memory");
}

// A CTA's place: output channel tile fastest (the CTAs that share an input tile run together),
// then pixel tile, phase, group.
struct CtaPlace {
  int co_tile, pixel_tile, phase_h, phase_w, group;
};
__device__ __forceinline__ CtaPlace cta_place(const PhaseGemmArgs& p) {
  const ConvTransposeGeometry& g = p.conv.geometry;
  int64_t rest = blockIdx.x;
  CtaPlace c;
  c.co_tile = static_cast<int>(rest % p.co_tiles);
  rest /= p.co_tiles;
  c.pixel_tile = static_cast<int>(rest % p.pixel_tiles);
  rest /= p.pixel_tiles;
  c.phase_w = static_cast<int>(rest % g.w.stride);
  rest /= g.w.stride;
  c.phase_h = static_cast<int>(rest % g.h.stride);
  c.group = static_cast<int>(rest / g.h.stride);
  return c;
}

__device__ __forceinline__ int stage_count(const PhaseGemmArgs& p, const CtaPlace& c) {
  const ConvTransposeGeometry& g = p.conv.geometry;
  return static_cast<int>(g.h.taps(c.phase_h).tap_count * g.w.taps(c.phase_w).tap_count) * p.channel_blocks;
}

// A stage's tap and one box's input window for it: the corner its pixels read through the tap
// (possibly outside the input) and the window of boxes loaded around it (phase_gemm_plan.h).
struct TapWindow {
  int x0, y0;  // input column and row of the box's first pixel through the tap
  phase_gemm::InputWindow window;
};
__device__ __forceinline__ TapWindow tap_window(const PhaseGemmArgs& p, const phase_gemm::PhaseAxis& axis_h,
                                                const phase_gemm::PhaseAxis& axis_w, const BoxOrigin& o, int j_h,
                                                int j_w) {
  const ConvTransposeGeometry& g = p.conv.geometry;
  const int x0 = axis_w.input_corner(o.k_w, j_w), y0 = axis_h.input_corner(o.k_h, j_h);
  return TapWindow{x0, y0,
                   phase_gemm::input_window(x0, y0, static_cast<int>(g.w.in), static_cast<int>(g.h.in))};
}

// One thread: per stage (tap, channel block) the weight tile by one bulk copy and, per box, the
// tap's input window by one or two TMA boxes. Boxes of images past the batch are not loaded (the
// consumers read zeros for them and the epilogue stores none of their pixels).
template <typename T, bool kWide>
__device__ void produce(const PhaseGemmArgs& p, const CtaPlace& c, uint32_t ring, uint32_t full, uint32_t empty) {
  using S = Tile<T, kWide>;
  const ConvTransposeGeometry& g = p.conv.geometry;
  const phase_gemm::PhaseAxis axis_h = phase_gemm::phase_axis(g.h, c.phase_h);
  const phase_gemm::PhaseAxis axis_w = phase_gemm::phase_axis(g.w, c.phase_w);
  const int taps_w = axis_w.tap_count;
  const int phase = c.phase_h * static_cast<int>(g.w.stride) + c.phase_w;
  const uint8_t* weights = static_cast<const uint8_t*>(p.packed) +
                           (int64_t(c.group) * g.h.stride * g.w.stride + phase) * p.tap_slots * p.co_tiles *
                               p.channel_blocks * int64_t(S::weight_bytes);
  const int channel0 = c.group * static_cast<int>(g.in_channels_per_group());
  const int stages = stage_count(p, c);
  // The boxes' origins are the CTA's; their windows and the stage's bytes change with the tap only.
  BoxOrigin origins[S::boxes];
#pragma unroll
  for (int b = 0; b < S::boxes; ++b) origins[b] = phase_gemm::box_origin(p.boxes, c.pixel_tile * S::boxes + b);
  TapWindow windows[S::boxes];
  uint32_t bytes = 0;
  for (int it = 0; it < stages; ++it) {
    const int s = it % S::stages;
    const int block = it % p.channel_blocks, tap = it / p.channel_blocks;
    const int j_h = tap / taps_w, j_w = tap % taps_w;
    if (block == 0) {
      bytes = S::weight_bytes;
#pragma unroll
      for (int b = 0; b < S::boxes; ++b) {
        windows[b] = tap_window(p, axis_h, axis_w, origins[b], j_h, j_w);
        if (origins[b].image < g.batch) bytes += (windows[b].window.second_box ? 2 : 1) * kBoxBytes;
      }
    }
    mbarrier::wait(empty + 8 * s, ((it / S::stages) & 1) ^ 1);
    mbarrier::arrive_expect_bytes(full + 8 * s, bytes);
    const int slot = j_h * p.taps_w_max + j_w;
    const uint32_t stage = ring + s * S::stage_bytes;
    mbarrier::cp_async_bulk(
        stage, weights + ((int64_t(slot) * p.co_tiles + c.co_tile) * p.channel_blocks + block) * S::weight_bytes,
        S::weight_bytes, full + 8 * s);
    const int channel = channel0 + block * stage_channels<T>();
#pragma unroll
    for (int b = 0; b < S::boxes; ++b) {
      if (origins[b].image >= g.batch) continue;
      const phase_gemm::InputWindow& w = windows[b].window;
      const uint32_t destination = stage + S::weight_bytes + b * kWindowBytes;
      tma_load_4d(destination, &p.input_map, w.x, channel, w.y, origins[b].image, full + 8 * s);
      if (w.second_box)
        tma_load_4d(destination + kBoxBytes, &p.input_map, w.x + kBoxSide, channel, w.y, origins[b].image,
                    full + 8 * s);
    }
  }
}

// The epilogue's addressing, split so that each part is found once per pixel or per channel and
// shared by the accumulators that have it in common: an output pixel's offset (channel excluded;
// -1 outside the phase and the batch) and an output channel's offset and bias (offset -1 past the
// group's channels).
struct OutputChannel {
  int64_t offset;
  float bias;
};
struct OutputWriter {
  const PhaseGemmArgs& p;
  const CtaPlace& c;
  int64_t count_h, count_w;

  __device__ __forceinline__ int64_t pixel_offset(int box, int pixel) const {
    const ConvTransposeGeometry& g = p.conv.geometry;
    const BoxOrigin o = phase_gemm::box_origin(p.boxes, box);
    const int64_t k_h = o.k_h + pixel / kBoxSide, k_w = o.k_w + pixel % kBoxSide;
    if (o.image >= g.batch || k_h >= count_h || k_w >= count_w) return -1;
    const Strides4& os = p.output_strides;
    return o.image * os.n + g.h.phase_output_index(c.phase_h, k_h) * os.h +
           g.w.phase_output_index(c.phase_w, k_w) * os.w;
  }
  template <typename T>
  __device__ __forceinline__ OutputChannel channel(int64_t co) const {
    const int64_t cout_g = p.conv.geometry.out_channels_per_group();
    if (co >= cout_g) return OutputChannel{-1, 0.0f};
    const int64_t channel = int64_t(c.group) * cout_g + co;
    const T* bias = static_cast<const T*>(p.conv.bias);
    return OutputChannel{channel * p.output_strides.c, bias != nullptr ? to_acc(load_readonly(bias + channel)) : 0.0f};
  }
  template <typename T>
  __device__ __forceinline__ void store(const OutputChannel& channel, int64_t pixel, float v) const {
    if (channel.offset >= 0 && pixel >= 0)
      static_cast<T*>(p.conv.output)[pixel + channel.offset] = from_acc<T>(v + channel.bias);
  }
};

// Where a consumer thread's pixel finds its input in a stage: the byte offset, from the stage's
// start, of its first channel in the box's window (which starts at `window`; boxes [row][channel][8
// columns], the window's two boxes side by side), or -1 where the pixel reads outside the input or
// the batch (its A values are then zero).
template <typename T>
__device__ __forceinline__ int32_t pixel_offset(const PhaseGemmArgs& p, const TapWindow& t, int image, int pixel,
                                                uint32_t window) {
  const ConvTransposeGeometry& g = p.conv.geometry;
  const int y = t.y0 + pixel / kBoxSide, x = t.x0 + pixel % kBoxSide;
  if (image >= g.batch || y < 0 || y >= g.h.in || x < 0 || x >= g.w.in) return -1;
  const int row = y - t.window.y, column = x - t.window.x;  // [0, 8) x [0, 16): phase_gemm_plan.h
  return static_cast<int32_t>(window +
                              phase_gemm::window_offset(row, column, 0, stage_channels<T>()) * int(sizeof(T)));
}

// Consumer w: D (pixels x output channels) += A (input pixels x channels, from registers) x B
// (weights, K-major), per box of its half of the tile one m64nN accumulator (N = 256, or 64 in
// wide tiles) and per stage 4 K steps (k8 TF32, k16 bf16/fp16). wgmma's B must be K-major (and
// TF32 has no other form), so the input, channel-planar in its boxes, is A, loaded into registers
// by each thread from the window (which also moves each pixel by the tap, at any offset, and
// reads zero outside the input). A warp's loads fall in distinct banks: its 8 pixels lie in one
// 16- or 32-byte run of a channel row, and its 4 channel lanes 2 (TF32: 1) channel rows apart.
template <typename T, bool kWide, int kABuffers>
__device__ void consume(const PhaseGemmArgs& p, const CtaPlace& c, uint32_t ring, uint32_t full, uint32_t empty,
                        int w, int thread) {
  using S = Tile<T, kWide>;
  constexpr bool kTf32 = sizeof(T) == 4;
  constexpr int R = S::boxes_per_consumer, kPerBox = S::channels / 2;
  constexpr int kChannelBytes = phase_gemm::window_offset(0, 0, 1, stage_channels<T>()) * int(sizeof(T));
  const ConvTransposeGeometry& g = p.conv.geometry;
  const phase_gemm::PhaseAxis axis_h = phase_gemm::phase_axis(g.h, c.phase_h);
  const phase_gemm::PhaseAxis axis_w = phase_gemm::phase_axis(g.w, c.phase_w);
  float d[R][kPerBox];
#pragma unroll
  for (int r = 0; r < R; ++r)
#pragma unroll
    for (int i = 0; i < kPerBox; ++i) d[r][i] = 0.0f;
  const int lane = thread % 32, warp = (thread % 128) / 32, stages = stage_count(p, c);
  // The thread's A rows are box pixels `pixel` and `pixel + 8`; its K columns per step are
  // channels t and t + 4 (TF32) or the pairs 2 t, 2 t + 1 and 2 t + 8, 2 t + 9 (16-bit).
  const int pixel = 16 * warp + lane / 4, t = lane % 4;
  using Operands = uint32_t[R][kKSteps][4];
  // The thread's pixels in each stage, as offsets from the stage's start (-1: reads zero). They
  // change with the tap only, so they are found once per tap, not per stage.
  BoxOrigin origins[R];
#pragma unroll
  for (int r = 0; r < R; ++r) origins[r] = phase_gemm::box_origin(p.boxes, c.pixel_tile * S::boxes + R * w + r);
  int32_t offsets[R][2];
  int offsets_tap = -1;
  // One stage: its A registers loaded, its wgmmas issued and committed.
  auto issue_stage = [&](int it, Operands& a) {
    const int s = it % S::stages;
    const int tap = it / p.channel_blocks;
    if (tap != offsets_tap) {
      offsets_tap = tap;
      const int j_h = tap / axis_w.tap_count, j_w = tap % axis_w.tap_count;
#pragma unroll
      for (int r = 0; r < R; ++r) {
        const TapWindow window = tap_window(p, axis_h, axis_w, origins[r], j_h, j_w);
        const uint32_t at = S::weight_bytes + (R * w + r) * kWindowBytes;
        offsets[r][0] = pixel_offset<T>(p, window, origins[r].image, pixel, at);
        offsets[r][1] = pixel_offset<T>(p, window, origins[r].image, pixel + 8, at);
      }
    }
    const uint32_t stage = ring + s * S::stage_bytes;
    mbarrier::wait(full + 8 * s, (it / S::stages) & 1);
#pragma unroll
    for (int r = 0; r < R; ++r)
#pragma unroll
      for (int k = 0; k < kKSteps; ++k)
#pragma unroll
        for (int q = 0; q < 4; ++q) {
          const int32_t offset = offsets[r][q % 2];
          const uint32_t at = stage + uint32_t(offset);
          if constexpr (kTf32) {
            const int channel = 8 * k + t + 4 * (q / 2);
            a[r][k][q] = offset < 0 ? 0u
                                    : tensor_core::to_tf32(
                                          __uint_as_float(tensor_core::ld_shared_u32(at + channel * kChannelBytes)));
          } else {
            const int channel = 16 * k + 2 * t + 8 * (q / 2);
            const uint32_t at_channel = at + channel * kChannelBytes;
            a[r][k][q] = offset < 0 ? 0u
                                    : tensor_core::ld_shared_u16(at_channel) |
                                          (tensor_core::ld_shared_u16(at_channel + kChannelBytes) << 16);
          }
        }
    wgmma::fence();
#pragma unroll
    for (int r = 0; r < R; ++r) wgmma::fence_operands(d[r]);
#pragma unroll
    for (int k = 0; k < kKSteps; ++k)
#pragma unroll
      for (int r = 0; r < R; ++r)
        // B: core matrices of 8 output channels x 16 bytes of input channels, a K step 256 bytes.
        wgmma::mma_a_registers<T, kPerBox>(d[r], a[r][k], operand_descriptor(stage, k));
    wgmma::commit();
#pragma unroll
    for (int r = 0; r < R; ++r) wgmma::fence_operands(d[r]);
  };
  // Stage `it`'s wgmmas have finished once at most `Pending` later groups are in flight: its
  // weights may then be overwritten (the window was read into registers before its wgmmas).
  auto release_after = [&](int it, auto pending) {
    wgmma::wait<decltype(pending)::value>();
#pragma unroll
    for (int r = 0; r < R; ++r) wgmma::fence_operands(d[r]);
    mbarrier::arrive_if(empty + 8 * (it % S::stages), lane == 0);
  };
  using None = std::integral_constant<int, 0>;
  using One = std::integral_constant<int, 1>;
  if constexpr (kABuffers == 1) {
    // The A registers are rewritten next stage: each stage's wgmmas finish first.
    Operands a;
    for (int it = 0; it < stages; ++it) {
      issue_stage(it, a);
      release_after(it, None{});
    }
  } else {
    // Two register sets: stage it + 1's A loads (and its wait for the copies) overlap stage it's
    // wgmmas, and stage it - 1, whose set stage it + 1 reuses, is waited for before them.
    Operands a[2];
    for (int it = 0; it < stages; it += 2) {
      issue_stage(it, a[0]);
      if (it > 0) release_after(it - 1, One{});
      if (it + 1 >= stages) break;
      issue_stage(it + 1, a[1]);
      release_after(it, One{});
    }
    release_after(stages - 1, None{});
  }

  // Thread (warp v, lane 4 q + t) holds, per box and n8 block j, pixels 16 v + q and + 8 of the
  // box, output channels 8 j + 2 t and + 1.
  const OutputWriter out{p, c, g.h.phase_output_count(c.phase_h), g.w.phase_output_count(c.phase_w)};
  const int64_t co0 = int64_t(c.co_tile) * S::channels + 2 * t;
  int64_t pixel0[R], pixel8[R];
#pragma unroll
  for (int r = 0; r < R; ++r) {
    const int box = c.pixel_tile * S::boxes + R * w + r;
    pixel0[r] = out.pixel_offset(box, pixel);
    pixel8[r] = out.pixel_offset(box, pixel + 8);
  }
#pragma unroll
  for (int j = 0; j < kPerBox / 4; ++j)
#pragma unroll
    for (int e = 0; e < 2; ++e) {
      const OutputChannel channel_je = out.channel<T>(co0 + 8 * j + e);  // shared by the boxes
#pragma unroll
      for (int r = 0; r < R; ++r) {
        out.store<T>(channel_je, pixel0[r], d[r][4 * j + e]);
        out.store<T>(channel_je, pixel8[r], d[r][4 * j + 2 + e]);
      }
    }
}
#endif

template <typename T, bool kWide, int kABuffers>
__global__ void __launch_bounds__(kThreads, 1) phase_gemm_kernel(const __grid_constant__ PhaseGemmArgs p) {
#if defined(TCONV_WGMMA_DEVICE)
  using S = Tile<T, kWide>;
  extern __shared__ __align__(128) uint8_t smem[];
  const uint32_t base = shared_address(smem);
  const uint32_t ring = (base + 127) & ~uint32_t(127);
  const uint32_t full = ring + S::stages * S::stage_bytes, empty = full + 8 * S::stages;
  if (threadIdx.x == 0) {
    for (int s = 0; s < S::stages; ++s) {
      mbarrier::init(full + 8 * s, 1);      // the producer's arrival, plus the copies' bytes
      mbarrier::init(empty + 8 * s, 8);     // the consumers' 8 warps
    }
  }
  __syncthreads();
  const CtaPlace c = cta_place(p);
  if (threadIdx.x < 128) {
    wgmma::set_max_registers<false, kProducerRegisters>();
    if (threadIdx.x == 0) produce<T, kWide>(p, c, ring, full, empty);
  } else {
    wgmma::set_max_registers<true, kConsumerRegisters>();
    const int thread = threadIdx.x - 128;
    consume<T, kWide, kABuffers>(p, c, ring, full, empty, thread / 128, thread);
  }
#elif defined(__CUDA_ARCH__)
  __trap();  // never launched: supported() requires the sm_90a code's device
#endif
}

// [group * cin_g + c][co][kh][kw] -> per (group, phase, tap slot, channel tile, channel block) a
// tile of `rows` output channels x one stage's input channels as core matrices (8 output channels x
// 16 bytes of input channels), K-adjacent ones 128 bytes apart, N-adjacent ones 1024: the stage's
// image, so one bulk copy stages it; TF32-rounded for float32. Zero past the group's channels, its
// output channels and the phase's taps.
template <typename T>
__global__ void pack_phase_weights_kernel(const T* __restrict__ weight, T* __restrict__ packed, ConvTransposeGeometry g,
                                          int rows, int co_tiles, int channel_blocks, int taps_w_max, int tap_slots) {
  constexpr int kChannels = stage_channels<T>(), kUnit = 16 / int(sizeof(T));
  const int64_t cin_g = g.in_channels_per_group(), cout_g = g.out_channels_per_group();
  const int64_t tile_elements = int64_t(rows) * kChannels;
  const int64_t phases = g.h.stride * g.w.stride;
  const int64_t total = g.groups * phases * tap_slots * co_tiles * channel_blocks * tile_elements;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
    // i walks the packed buffer: within a tile, [m / 8][k / kUnit][m % 8][k % kUnit].
    const int within = static_cast<int>(i % tile_elements);
    int64_t rest = i / tile_elements;
    const int64_t block = rest % channel_blocks;
    rest /= channel_blocks;
    const int64_t co_tile = rest % co_tiles;
    rest /= co_tiles;
    const int slot = static_cast<int>(rest % tap_slots);
    rest /= tap_slots;
    const int64_t phase = rest % phases, group = rest / phases;
    const int m = (within / (8 * kChannels)) * 8 + (within / kUnit) % 8;
    const int64_t c = block * kChannels + ((within / (8 * kUnit)) % (kChannels / kUnit)) * kUnit + within % kUnit;
    const int64_t co = co_tile * rows + m;
    const phase_gemm::PhaseAxis axis_h = phase_gemm::phase_axis(g.h, phase / g.w.stride);
    const phase_gemm::PhaseAxis axis_w = phase_gemm::phase_axis(g.w, phase % g.w.stride);
    const int j_h = slot / taps_w_max, j_w = slot % taps_w_max;
    const bool inside = c < cin_g && co < cout_g && j_h < axis_h.tap_count && j_w < axis_w.tap_count;
    T v = from_acc<T>(0.0f);
    if (inside) {
      const int64_t tap = int64_t(axis_h.kernel_index(j_h)) * g.w.kernel + axis_w.kernel_index(j_w);
      v = weight[((group * cin_g + c) * cout_g + co) * g.h.kernel * g.w.kernel + tap];
    }
    if constexpr (sizeof(T) == 4)
      packed[i] = __uint_as_float(tensor_core::to_tf32(v));
    else
      packed[i] = v;
  }
}

// cuTensorMapEncodeTiled from the driver, found once through the runtime (no link to libcuda).
PFN_cuTensorMapEncodeTiled_v12000 encode_tiled() {
  static PFN_cuTensorMapEncodeTiled_v12000 fn = [] {
    void* symbol = nullptr;
    cudaDriverEntryPointQueryResult found;
    if (cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &symbol, 12000, cudaEnableDefault, &found) !=
            cudaSuccess ||
        found != cudaDriverEntryPointSuccess)
      symbol = nullptr;
    return reinterpret_cast<PFN_cuTensorMapEncodeTiled_v12000>(symbol);
  }();
  return fn;
}

bool wide_tiles(const ConvTransposeGeometry& g) { return g.out_channels_per_group() <= 64; }

// The tile's output channels and boxes for the call's dtype and width.
struct TileShape {
  int channels, boxes, element_bytes;
};
TileShape tile_shape(const ConvArgs& args) {
  const bool wide = wide_tiles(args.geometry);
  if (args.dtype == DType::Float32)
    return wide ? TileShape{Tile<float, true>::channels, Tile<float, true>::boxes, 4}
                : TileShape{Tile<float, false>::channels, Tile<float, false>::boxes, 4};
  return wide ? TileShape{Tile<__half, true>::channels, Tile<__half, true>::boxes, 2}
              : TileShape{Tile<__half, false>::channels, Tile<__half, false>::boxes, 2};
}

// The plan without the tensor map: false where the kernel does not apply.
bool make_plan(const ConvArgs& args, PhaseGemmArgs* plan) {
  const ConvTransposeGeometry& g = args.geometry;
  if (args.dtype == DType::Float64 || (args.dtype == DType::Float32 && !args.allow_tf32)) return false;
  if (!wgmma_device() || encode_tiled() == nullptr) return false;
  if (!phase_gemm::axis_supported(g.h) || !phase_gemm::axis_supported(g.w)) return false;
  const TileShape shape = tile_shape(args);
  const int64_t channels = kStageKBytes / shape.element_bytes;  // per stage
  const int64_t cin_g = g.in_channels_per_group(), cout_g = g.out_channels_per_group();
  // Channel blocks past a group's channels would read the next group's (only the tensor's end
  // reads as zeros).
  if (g.groups > 1 && cin_g % channels != 0) return false;
  // TMA: a 16-byte aligned base, unit stride along W, the other strides multiples of 16 bytes.
  const Strides4& xs = args.input_strides;
  const int64_t vector = 16 / shape.element_bytes;
  auto stride_ok = [&](int64_t extent, int64_t stride) {
    return extent == 1 || (stride % vector == 0 && stride < (int64_t(1) << 36));
  };
  if (reinterpret_cast<uintptr_t>(args.input) % 16 != 0 || (g.w.in > 1 && xs.w != 1) || !stride_ok(g.h.in, xs.h) ||
      !stride_ok(g.in_channels, xs.c) || !stride_ok(g.batch, xs.n))
    return false;
  PhaseGemmArgs& p = *plan;
  p.conv = args;
  p.output_strides = output_strides(args);
  if (ceil_div_nonneg(g.h.max_phase_output_count(), kBoxSide) >= (int64_t(1) << 30) ||
      ceil_div_nonneg(g.w.max_phase_output_count(), kBoxSide) >= (int64_t(1) << 30))
    return false;
  p.boxes = phase_gemm::box_grid(g);
  const int64_t boxes = g.batch * p.boxes.rows * int64_t(p.boxes.cols);
  const int64_t co_tiles = ceil_div_nonneg(cout_g, shape.channels), pixel_tiles = ceil_div_nonneg(boxes, shape.boxes);
  const PhaseTaps th = g.h.taps(0), tw = g.w.taps(0);  // phase 0 has the most taps (first tap 0)
  const int64_t tap_slots = th.tap_count * tw.tap_count;
  const int64_t ctas = co_tiles * pixel_tiles * g.h.stride * g.w.stride * g.groups;
  // int box numbers, coordinates and CTA indices; TMA's box corners are 32-bit.
  if (ctas >= (int64_t(1) << 31) || pixel_tiles * shape.boxes >= (int64_t(1) << 31) ||
      g.in_channels >= (int64_t(1) << 31) || g.h.in >= (int64_t(1) << 30) || g.w.in >= (int64_t(1) << 30) ||
      g.batch >= (int64_t(1) << 31))
    return false;
  p.co_tiles = static_cast<int>(co_tiles);
  p.pixel_tiles = static_cast<int>(pixel_tiles);
  p.channel_blocks = static_cast<int>(ceil_div_nonneg(cin_g, channels));
  p.taps_w_max = static_cast<int>(tw.tap_count);
  p.tap_slots = static_cast<int>(tap_slots);
  p.packed = nullptr;
  return true;
}

size_t workspace_bytes(const PhaseGemmArgs& p) {
  const ConvTransposeGeometry& g = p.conv.geometry;
  return size_t(g.groups) * g.h.stride * g.w.stride * p.tap_slots * p.co_tiles * p.channel_blocks *
         size_t(tile_shape(p.conv).channels) * kStageKBytes;
}

// The input as a 4-D tensor (W, C, H, N): TMA writes a box in that order, so a box of 8 columns x
// one stage's channels x 8 rows lands as [row][channel][8 columns], 16 bytes (TF32: 32) per
// channel and row: for 16-bit types the core matrices (8 channels x 8 pixels) of wgmma's N-major
// B. No swizzle.
cudaError_t encode_input_map(PhaseGemmArgs* p) {
  const ConvTransposeGeometry& g = p->conv.geometry;
  const Strides4& xs = p->conv.input_strides;
  const CUtensorMapDataType type = p->conv.dtype == DType::Float32    ? CU_TENSOR_MAP_DATA_TYPE_FLOAT32
                                   : p->conv.dtype == DType::BFloat16 ? CU_TENSOR_MAP_DATA_TYPE_BFLOAT16
                                                                      : CU_TENSOR_MAP_DATA_TYPE_FLOAT16;
  const int64_t element_bytes = tile_shape(p->conv).element_bytes;
  // Strides of extent-1 dimensions are never stepped; any multiple of 16 bytes stands in.
  auto bytes = [&](int64_t extent, int64_t stride) { return cuuint64_t(extent == 1 ? 16 : stride * element_bytes); };
  const cuuint64_t dims[4] = {cuuint64_t(g.w.in), cuuint64_t(g.in_channels), cuuint64_t(g.h.in), cuuint64_t(g.batch)};
  const cuuint64_t strides[3] = {bytes(g.in_channels, xs.c), bytes(g.h.in, xs.h), bytes(g.batch, xs.n)};
  const cuuint32_t box[4] = {kBoxSide, cuuint32_t(kStageKBytes / element_bytes), kBoxSide, 1};
  const cuuint32_t element_strides[4] = {1, 1, 1, 1};
  const CUresult r = encode_tiled()(&p->input_map, type, 4, const_cast<void*>(p->conv.input), dims, strides, box,
                                    element_strides, CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_SWIZZLE_NONE,
                                    CU_TENSOR_MAP_L2_PROMOTION_L2_128B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
  return r == CUDA_SUCCESS ? cudaSuccess : cudaErrorInvalidValue;
}

template <typename T, bool kWide, int kABuffers>
cudaError_t launch_typed(PhaseGemmArgs& p, void* workspace, cudaStream_t stream) {
  using S = Tile<T, kWide>;
  const ConvTransposeGeometry& g = p.conv.geometry;
  const int64_t elements = int64_t(workspace_bytes(p) / sizeof(T));
  const unsigned pack_blocks = static_cast<unsigned>(std::min<int64_t>((elements + 255) / 256, 4096));
  pack_phase_weights_kernel<T><<<pack_blocks, 256, 0, stream>>>(static_cast<const T*>(p.conv.weight),
                                                                static_cast<T*>(workspace), g, S::channels,
                                                                p.co_tiles, p.channel_blocks, p.taps_w_max,
                                                                p.tap_slots);
  cudaError_t e = cudaGetLastError();
  if (e != cudaSuccess) return e;
  p.packed = workspace;
  constexpr auto kernel = phase_gemm_kernel<T, kWide, kABuffers>;
  int64_t limit = 0;
  e = raise_dynamic_shared_memory_limit<kernel, true>(&limit);
  if (e != cudaSuccess) return e;
  if (S::shared_bytes > limit) return cudaErrorInvalidConfiguration;
  const int64_t ctas = int64_t(p.co_tiles) * p.pixel_tiles * g.h.stride * g.w.stride * g.groups;
  kernel<<<static_cast<unsigned>(ctas), kThreads, S::shared_bytes, stream>>>(p);
  return cudaGetLastError();
}

// TCONV_PHASE_GEMM_A_BUFFERS=2: two A register sets, one stage's wgmmas in flight while the next
// stage's A is loaded (default 1: each stage's wgmmas finish before the next stage's loads).
int a_buffers() {
  static const int n = [] {
    const char* v = std::getenv("TCONV_PHASE_GEMM_A_BUFFERS");
    return v != nullptr && std::strcmp(v, "2") == 0 ? 2 : 1;
  }();
  return n;
}

template <typename T, int kABuffers>
cudaError_t launch_buffers(PhaseGemmArgs& p, void* workspace, cudaStream_t stream) {
  return wide_tiles(p.conv.geometry) ? launch_typed<T, true, kABuffers>(p, workspace, stream)
                                     : launch_typed<T, false, kABuffers>(p, workspace, stream);
}
template <typename T>
cudaError_t launch_dtype(PhaseGemmArgs& p, void* workspace, cudaStream_t stream) {
  return a_buffers() == 2 ? launch_buffers<T, 2>(p, workspace, stream) : launch_buffers<T, 1>(p, workspace, stream);
}

}  // namespace

bool phase_gemm_supported(const ConvArgs& args) {
  PhaseGemmArgs plan;
  return make_plan(args, &plan);
}

size_t phase_gemm_workspace_bytes(const ConvArgs& args) {
  PhaseGemmArgs p;
  return make_plan(args, &p) ? workspace_bytes(p) : 0;
}

cudaError_t launch_phase_gemm(const ConvArgs& args, void* workspace, cudaStream_t stream) {
  PhaseGemmArgs p;
  if (!make_plan(args, &p)) return cudaErrorInvalidValue;
  const cudaError_t e = encode_input_map(&p);
  if (e != cudaSuccess) return e;
  switch (args.dtype) {
    case DType::Float32: return launch_dtype<float>(p, workspace, stream);
    case DType::BFloat16: return launch_dtype<__nv_bfloat16>(p, workspace, stream);
    case DType::Float16: return launch_dtype<__half>(p, workspace, stream);
    default: return cudaErrorInvalidValue;
  }
}

}  // namespace cuda
}  // namespace tconv
