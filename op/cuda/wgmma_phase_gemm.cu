// Hopper (sm_90a) phase GEMM: bf16/fp16 transposed convolutions with dilation 1 and kernels at
// least as large as the stride, every input operand brought in by the tensor-memory accelerator
// (TMA). Written for DCGAN's generator layers (4x4 / s2 / p1 on 8 x 8 and 32 x 32 images, 512 ->
// 256 and 128 -> 64 channels), where cuDNN ran at about 350 TFLOP/s in bf16 and the mma.sync
// implicit GEMM at half that (docs/cuda-kernels.md).
//
// The GEMMs. Output pixels split by phase (geometry.h: r = (o + p) mod s per axis); within a phase
// the layer is a stride-1 correlation, so per group and phase
//   y[co][pixel] = sum over taps (j_h, j_w) and channels c of  w[c][co][tap] x[c][pixel shifted by the tap],
// one GEMM with M = output channels, N = the phase's pixels, K = taps x input channels.
//
// Why TMA. A tap's B operand is the input image shifted by a whole pixel, with zeros outside it:
// one tiled TMA box per 64 pixels, its corner moved by the tap, and the unit zero-fills whatever
// lies outside the tensor (negative corners included). cp.async needs 16-byte aligned sources and
// can't shift by one 2-byte pixel; the image GEMM (wgmma_image_gemm.cu) avoided shifts with a
// col2im in shared memory instead and lost bf16 to the implicit GEMM.
//
// Layouts. B is N-major (pixels contiguous, as NCHW holds them), wgmma's transposed B, in the
// 128-byte swizzle: a box of bw x bh = 64 pixels (bw a power of two from 8 to 64: a whole phase
// row, or rows of a small image) by 64 channels puts each channel's 64 pixels in one 128-byte row,
// and TMA's swizzle of that row by its index is exactly wgmma's canonical swizzled N-major layout
// (8 channel rows per 1024-byte atom, the next 64 pixels one box, 8 KB, further on). A (weights) is
// K-major, packed once per call per (group, phase, tap, M tile, 64-channel block) in the swizzled
// order, one bulk copy per stage.
//
// Tiles and pipeline. A CTA holds 3 warpgroups: a producer (one thread issues the copies) and two
// consumers, each an m64n128k16 accumulator (64 floats per thread). Standard tiles are M = 128
// output channels x N = 128 pixels (the consumers split M); layers with at most 64 output channels
// per group take wide tiles, M = 64 x N = 256 (the consumers split N). Stages of 64 channels of one
// tap, 3 (standard, 96 KB) or 2 (wide, 80 KB) in a ring handed over by mbarriers; 2 CTAs per SM, so
// one CTA's epilogue runs under the other's main loop. The epilogue adds the bias and stores each
// accumulator to its output pixel: every output element belongs to exactly one phase and M tile,
// so it is written once (kernel >= stride leaves no phase without taps).
//
// Compiled for sm_90a only (CMake and scripts/compile_cuda.sh build wgmma_*.cu for that target);
// the body is empty elsewhere and phase_gemm_supported() requires a compute capability 9.0 device.
#include <cuda.h>
#include <cudaTypedefs.h>

#include <algorithm>
#include <cstdint>
#include <mutex>

#include "element.cuh"
#include "launch.h"
#include "shared_memory_limit.cuh"
#include "tensor_core.cuh"
#include "wgmma.cuh"

namespace tconv {
namespace cuda {
namespace {

using tensor_core::shared_address;

constexpr int kStageChannels = 64;              // K per stage: one 128-byte row of 16-bit values
constexpr int kRowBytes = 128;
constexpr int kBoxPixels = 64;                  // one TMA box: 64 phase pixels x 64 channels
constexpr int kBoxBytes = kStageChannels * kRowBytes;  // 64 channel rows of 64 pixels: 8 KB
constexpr int kThreads = 384;                   // producer warpgroup + two consumer warpgroups
constexpr int kConsumerN = 256;                 // each consumer: an m64n256 accumulator, 128 floats
// One CTA per SM: 168 registers per thread at launch; the producer gives most of its share to the
// consumers (2 x 232 + 40 = 3 x 168). (Two CTAs per SM would leave 80, and ptxas needs 90 for one
// m64n128 wgmma with its descriptors.)
constexpr int kConsumerRegisters = 232, kProducerRegisters = 40;
static_assert(2 * kConsumerRegisters + kProducerRegisters <= 3 * (65536 / kThreads / 8 * 8),
              "register split within the launch's share");

// Standard tiles (kWide false): M = 128 channels, N = 256 pixels, consumers split M. Wide tiles:
// M = 64, N = 512, consumers split N.
template <bool kWide> struct Tile {
  static constexpr int M = kWide ? 64 : 128;
  static constexpr int N = kWide ? 2 * kConsumerN : kConsumerN;
  static constexpr int boxes = N / kBoxPixels;
  static constexpr int a_bytes = M * kRowBytes;
  static constexpr int b_bytes = boxes * kBoxBytes;
  static constexpr int stage_bytes = a_bytes + b_bytes;
  static constexpr int stages = kWide ? 3 : 4;
  // The ring, 1024-byte aligned (the swizzle's atom) inside the dynamic shared memory, then the
  // barriers: full[s], empty[s].
  static constexpr int shared_bytes = 1024 + stages * stage_bytes + 2 * stages * 8;
  // Consumer w's slices: A rows and B boxes.
  __host__ __device__ static constexpr int a_offset(int w) { return kWide ? 0 : w * 64 * kRowBytes; }
  __host__ __device__ static constexpr int b_offset(int w) { return kWide ? w * (kConsumerN / kBoxPixels) * kBoxBytes : 0; }
};
static_assert(Tile<false>::shared_bytes <= 227 * 1024 && Tile<true>::shared_bytes <= 227 * 1024,
              "one CTA's shared memory");

struct PhaseGemmArgs {
  CUtensorMap input_map;     // 4-D (W, H, C, N) over the input, box (bw, bh, 64, 1), 128-byte swizzle
  ConvArgs conv;
  Strides4 output_strides;
  const void* packed;        // [group][phase][tap slot][M tile][channel block][M rows x 128 bytes]
  int m_tiles, n_tiles, channel_blocks;
  int taps_w_max, tap_slots;  // tap slot = j_h * taps_w_max + j_w
  // The phase pixel grid (max_phase_output_count per axis) in boxes of box_w x box_h pixels.
  int box_w_log2, box_h;
  int box_cols, box_rows;    // boxes per phase row band / per image
};

#if defined(TCONV_WGMMA_DEVICE)
__device__ __forceinline__ uint64_t swizzled_descriptor(uint32_t address, uint32_t leading, uint32_t stride) {
  return wgmma::descriptor(address, leading, stride) | (uint64_t(1) << 62);  // layout type 1: 128-byte swizzle
}

// One 4-D tiled TMA load into shared memory, completing `bytes` on the barrier; coordinates
// (innermost first) may lie outside the tensor, whose elements arrive as zeros.
__device__ __forceinline__ void tma_load_4d(uint32_t destination, const CUtensorMap* map, int x, int y, int c, int n,
                                            uint32_t barrier) {
  asm volatile(
      "cp.async.bulk.tensor.4d.shared::cluster.global.tile.mbarrier::complete_tx::bytes [%0], [%1, {%2, %3, %4, %5}], "
      "[%6];\n" ::"r"(destination),
      "l"(reinterpret_cast<uint64_t>(map)), "r"(x), "r"(y), "r"(c), "r"(n), "r"(barrier)
      : "memory");
}

// A CTA's place: M tile fastest (the CTAs that share a B tile run together), then N tile, phase,
// group.
struct CtaPlace {
  int m_tile, n_tile, phase_h, phase_w, group;
};
__device__ __forceinline__ CtaPlace cta_place(const PhaseGemmArgs& p) {
  const ConvTransposeGeometry& g = p.conv.geometry;
  int64_t rest = blockIdx.x;
  CtaPlace c;
  c.m_tile = static_cast<int>(rest % p.m_tiles);
  rest /= p.m_tiles;
  c.n_tile = static_cast<int>(rest % p.n_tiles);
  rest /= p.n_tiles;
  c.phase_w = static_cast<int>(rest % g.w.stride);
  rest /= g.w.stride;
  c.phase_h = static_cast<int>(rest % g.h.stride);
  c.group = static_cast<int>(rest / g.h.stride);
  return c;
}

// Box b of the phase grid (boxes numbered image, box row, box column): its first phase pixel.
struct BoxOrigin {
  int image, k_h, k_w;
};
__device__ __forceinline__ BoxOrigin box_origin(const PhaseGemmArgs& p, int box) {
  BoxOrigin o;
  o.k_w = (box % p.box_cols) << p.box_w_log2;
  box /= p.box_cols;
  o.k_h = (box % p.box_rows) * p.box_h;
  o.image = box / p.box_rows;
  return o;
}

template <bool kWide>
__device__ void produce(const PhaseGemmArgs& p, const CtaPlace& c, uint32_t ring, uint32_t full, uint32_t empty) {
  using S = Tile<kWide>;
  const ConvTransposeGeometry& g = p.conv.geometry;
  const PhaseTaps th = g.h.taps(c.phase_h), tw = g.w.taps(c.phase_w);
  const int taps_w = static_cast<int>(tw.tap_count);
  const int iterations = static_cast<int>(th.tap_count) * taps_w * p.channel_blocks;
  // The phase's q index of its pixel k is first_q + k, and tap j reads input index q - j.
  const int q0_h = static_cast<int>(g.h.phase_first_q(c.phase_h)), q0_w = static_cast<int>(g.w.phase_first_q(c.phase_w));
  const int phase = c.phase_h * static_cast<int>(g.w.stride) + c.phase_w;
  const uint8_t* a_source = static_cast<const uint8_t*>(p.packed) +
                            (int64_t(c.group) * g.h.stride * g.w.stride + phase) * p.tap_slots * p.m_tiles *
                                p.channel_blocks * int64_t(S::a_bytes);
  const int channel0 = c.group * static_cast<int>(g.in_channels_per_group());
  for (int it = 0; it < iterations; ++it) {
    const int s = it % S::stages;
    mbarrier::wait(empty + 8 * s, ((it / S::stages) & 1) ^ 1);
    mbarrier::arrive_expect_bytes(full + 8 * s, S::stage_bytes);
    const int block = it % p.channel_blocks, tap = it / p.channel_blocks;
    const int j_h = tap / taps_w, j_w = tap % taps_w;
    const int slot = j_h * p.taps_w_max + j_w;
    const uint32_t stage = ring + s * S::stage_bytes;
    mbarrier::cp_async_bulk(
        stage, a_source + ((int64_t(slot) * p.m_tiles + c.m_tile) * p.channel_blocks + block) * S::a_bytes,
        S::a_bytes, full + 8 * s);
#pragma unroll
    for (int b = 0; b < S::boxes; ++b) {
      const BoxOrigin o = box_origin(p, c.n_tile * S::boxes + b);
      tma_load_4d(stage + S::a_bytes + b * kBoxBytes, &p.input_map, q0_w + o.k_w - j_w, q0_h + o.k_h - j_h,
                  channel0 + block * kStageChannels, o.image, full + 8 * s);
    }
  }
}

template <typename T, bool kWide>
__device__ void consume(const PhaseGemmArgs& p, const CtaPlace& c, uint32_t ring, uint32_t full, uint32_t empty,
                        int w, int thread) {
  using S = Tile<kWide>;
  const ConvTransposeGeometry& g = p.conv.geometry;
  const int iterations = static_cast<int>(g.h.taps(c.phase_h).tap_count * g.w.taps(c.phase_w).tap_count) *
                         p.channel_blocks;
  constexpr int kAccumulators = kConsumerN / 2;
  float d[kAccumulators];
#pragma unroll
  for (int i = 0; i < kAccumulators; ++i) d[i] = 0.0f;
  const int lane = thread % 32;
  for (int it = 0; it < iterations; ++it) {
    const int s = it % S::stages;
    mbarrier::wait(full + 8 * s, (it / S::stages) & 1);
    const uint32_t stage = ring + s * S::stage_bytes;
    const uint32_t a = stage + S::a_offset(w), b = stage + S::a_bytes + S::b_offset(w);
    wgmma::fence();
    wgmma::fence_operands(d);
#pragma unroll
    for (int k = 0; k < kStageChannels / 16; ++k)
      // A: K-major rows of 128 bytes, 8-row atoms 1024 apart, a k16 step 32 bytes along the row.
      // B: N-major, 8-channel atoms 1024 apart (stride), the next 64 pixels a box further (leading).
      wgmma::mma_b_nmajor<T>(d, swizzled_descriptor(a + 32 * k, 16, 1024),
                             swizzled_descriptor(b + 2048 * k, kBoxBytes, 1024));
    wgmma::commit();
    wgmma::fence_operands(d);
    // The previous stage's wgmmas are done once at most this one is pending: hand that stage back.
    wgmma::wait<1>();
    wgmma::fence_operands(d);
    if (it > 0) mbarrier::arrive_if(empty + 8 * ((it - 1) % S::stages), lane == 0);
  }
  wgmma::wait<0>();
  wgmma::fence_operands(d);

  // Epilogue: thread (warp v of the warpgroup, lane 4 q + t) holds, for n8 block j, rows 16 v + q
  // and + 8, columns 8 j + 2 t and + 1 of its m64 x n256 slice.
  const int64_t cout_g = g.out_channels_per_group();
  const int row = (kWide ? 0 : 64 * w) + 16 * ((thread % 128) / 32) + lane / 4;
  const T* bias = static_cast<const T*>(p.conv.bias);
  const Strides4& os = p.output_strides;
  T* out = static_cast<T*>(p.conv.output);
  const int64_t count_h = g.h.phase_output_count(c.phase_h), count_w = g.w.phase_output_count(c.phase_w);
  int64_t channel[2];
  float bias_value[2];
  bool channel_inside[2];
#pragma unroll
  for (int half = 0; half < 2; ++half) {
    const int64_t co = int64_t(c.m_tile) * S::M + row + 8 * half;
    channel_inside[half] = co < cout_g;
    channel[half] = int64_t(c.group) * cout_g + co;
    bias_value[half] = bias != nullptr && channel_inside[half] ? to_acc(load_readonly(bias + channel[half])) : 0.0f;
  }
  const int box_w = 1 << p.box_w_log2;
#pragma unroll
  for (int j = 0; j < kConsumerN / 8; ++j) {
#pragma unroll
    for (int e = 0; e < 2; ++e) {
      const int n = (kWide ? kConsumerN * w : 0) + 8 * j + 2 * (lane % 4) + e;
      const BoxOrigin o = box_origin(p, c.n_tile * S::boxes + n / kBoxPixels);
      const int pixel = n % kBoxPixels;
      const int64_t k_h = o.k_h + (pixel >> p.box_w_log2), k_w = o.k_w + (pixel & (box_w - 1));
      if (o.image >= g.batch || k_h >= count_h || k_w >= count_w) continue;
      const int64_t pixel_offset = o.image * os.n + g.h.phase_output_index(c.phase_h, k_h) * os.h +
                                   g.w.phase_output_index(c.phase_w, k_w) * os.w;
#pragma unroll
      for (int half = 0; half < 2; ++half)
        if (channel_inside[half])
          out[pixel_offset + channel[half] * os.c] = from_acc<T>(d[4 * j + 2 * half + e] + bias_value[half]);
    }
  }
}
#endif

template <typename T, bool kWide>
__global__ void __launch_bounds__(kThreads, 1) phase_gemm_kernel(const __grid_constant__ PhaseGemmArgs p) {
#if defined(TCONV_WGMMA_DEVICE)
  using S = Tile<kWide>;
  extern __shared__ __align__(1024) uint8_t smem[];
  const uint32_t base = shared_address(smem);
  const uint32_t ring = (base + 1023) & ~uint32_t(1023);
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
    if (threadIdx.x == 0) produce<kWide>(p, c, ring, full, empty);
  } else {
    wgmma::set_max_registers<true, kConsumerRegisters>();
    const int thread = threadIdx.x - 128;
    consume<T, kWide>(p, c, ring, full, empty, thread / 128, thread);
  }
#elif defined(__CUDA_ARCH__)
  __trap();  // never launched: supported() requires the sm_90a code's device
#endif
}

// [group * cin_g + c][co][kh][kw] -> per (group, phase, tap slot, M tile, channel block) an M x 64
// tile, row m (output channel) 128 bytes holding 64 channels, its 16-byte units swizzled by m % 8
// (what TMA's 128-byte swizzle would write, so one bulk copy stages it). Zero past the group's
// channels, its output channels and the phase's taps.
template <typename T>
__global__ void pack_phase_weights_kernel(const T* __restrict__ weight, T* __restrict__ packed, ConvTransposeGeometry g,
                                          int rows, int m_tiles, int channel_blocks, int taps_w_max, int tap_slots) {
  const int64_t cin_g = g.in_channels_per_group(), cout_g = g.out_channels_per_group();
  const int64_t tile_elements = int64_t(rows) * kStageChannels;
  const int64_t phases = g.h.stride * g.w.stride;
  const int64_t total = g.groups * phases * tap_slots * m_tiles * channel_blocks * tile_elements;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
    // i walks the packed buffer: within a tile, row m, 16-byte unit u (stored), element e.
    const int within = static_cast<int>(i % tile_elements);
    int64_t rest = i / tile_elements;
    const int64_t block = rest % channel_blocks;
    rest /= channel_blocks;
    const int64_t m_tile = rest % m_tiles;
    rest /= m_tiles;
    const int slot = static_cast<int>(rest % tap_slots);
    rest /= tap_slots;
    const int64_t phase = rest % phases, group = rest / phases;
    const int m = within / kStageChannels, unit = (within % kStageChannels) / 8, e = within % 8;
    const int64_t c = block * kStageChannels + (unit ^ (m % 8)) * 8 + e;
    const int64_t co = m_tile * rows + m;
    const PhaseTaps th = g.h.taps(phase / g.w.stride), tw = g.w.taps(phase % g.w.stride);
    const int j_h = slot / taps_w_max, j_w = slot % taps_w_max;
    const bool inside = c < cin_g && co < cout_g && j_h < th.tap_count && j_w < tw.tap_count;
    T v = from_acc<T>(0.0f);
    if (inside) {
      const int64_t kh = th.first_tap + j_h * th.tap_step, kw = tw.first_tap + j_w * tw.tap_step;
      v = weight[((group * cin_g + c) * cout_g + co) * g.h.kernel * g.w.kernel + kh * g.w.kernel + kw];
    }
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

// The plan without the tensor map: false where the kernel does not apply.
bool make_plan(const ConvArgs& args, PhaseGemmArgs* plan) {
  const ConvTransposeGeometry& g = args.geometry;
  if (args.dtype != DType::BFloat16 && args.dtype != DType::Float16) return false;
  if (!wgmma_device() || encode_tiled() == nullptr) return false;
  if (g.h.dilation != 1 || g.w.dilation != 1 || g.h.kernel < g.h.stride || g.w.kernel < g.w.stride) return false;
  const int64_t cin_g = g.in_channels_per_group(), cout_g = g.out_channels_per_group();
  // Channel blocks past a group's channels would read the next group's (only the tensor's end
  // reads as zeros).
  if (g.groups > 1 && cin_g % kStageChannels != 0) return false;
  // TMA: a 16-byte aligned base, unit stride along W, the other strides multiples of 16 bytes.
  const Strides4& xs = args.input_strides;
  auto stride_ok = [](int64_t extent, int64_t stride) { return extent == 1 || (stride % 8 == 0 && stride < (int64_t(1) << 38)); };
  if (reinterpret_cast<uintptr_t>(args.input) % 16 != 0 || (g.w.in > 1 && xs.w != 1) || !stride_ok(g.h.in, xs.h) ||
      !stride_ok(g.in_channels, xs.c) || !stride_ok(g.batch, xs.n))
    return false;
  const int64_t q_h = g.h.max_phase_output_count(), q_w = g.w.max_phase_output_count();
  int box_w_log2 = 3;
  while ((int64_t(1) << box_w_log2) < q_w && box_w_log2 < 6) ++box_w_log2;
  PhaseGemmArgs& p = *plan;
  p.conv = args;
  p.output_strides = output_strides(args);
  p.box_w_log2 = box_w_log2;
  p.box_h = kBoxPixels >> box_w_log2;
  const int64_t box_cols = ceil_div_nonneg(q_w, int64_t(1) << box_w_log2), box_rows = ceil_div_nonneg(q_h, p.box_h);
  const int64_t boxes = g.batch * box_rows * box_cols;
  const bool wide = wide_tiles(g);
  const int64_t tile_m = wide ? Tile<true>::M : Tile<false>::M, tile_boxes = wide ? Tile<true>::boxes : Tile<false>::boxes;
  const int64_t m_tiles = ceil_div_nonneg(cout_g, tile_m), n_tiles = ceil_div_nonneg(boxes, tile_boxes);
  const PhaseTaps th = g.h.taps(0), tw = g.w.taps(0);  // phase 0 has the most taps (first tap 0)
  const int64_t tap_slots = th.tap_count * tw.tap_count;
  const int64_t ctas = m_tiles * n_tiles * g.h.stride * g.w.stride * g.groups;
  // int coordinates and CTA indices; TMA's box corners are 32-bit.
  if (ctas >= (int64_t(1) << 31) || boxes >= (int64_t(1) << 31) || g.in_channels >= (int64_t(1) << 31) ||
      g.h.in >= (int64_t(1) << 30) || g.w.in >= (int64_t(1) << 30) || g.batch >= (int64_t(1) << 31))
    return false;
  p.m_tiles = static_cast<int>(m_tiles);
  p.n_tiles = static_cast<int>(n_tiles);
  p.channel_blocks = static_cast<int>(ceil_div_nonneg(cin_g, kStageChannels));
  p.taps_w_max = static_cast<int>(tw.tap_count);
  p.tap_slots = static_cast<int>(tap_slots);
  p.box_cols = static_cast<int>(box_cols);
  p.box_rows = static_cast<int>(box_rows);
  p.packed = nullptr;
  return true;
}

int tile_rows(const ConvTransposeGeometry& g) { return wide_tiles(g) ? Tile<true>::M : Tile<false>::M; }

size_t workspace_bytes(const PhaseGemmArgs& p) {
  const ConvTransposeGeometry& g = p.conv.geometry;
  return size_t(g.groups) * g.h.stride * g.w.stride * p.tap_slots * p.m_tiles * p.channel_blocks *
         size_t(tile_rows(g)) * kRowBytes;
}

// The input as a 4-D tensor (W, H, C, N), boxes of 64 pixels x 64 channels of one image.
cudaError_t encode_input_map(PhaseGemmArgs* p) {
  const ConvTransposeGeometry& g = p->conv.geometry;
  const Strides4& xs = p->conv.input_strides;
  const CUtensorMapDataType type =
      p->conv.dtype == DType::BFloat16 ? CU_TENSOR_MAP_DATA_TYPE_BFLOAT16 : CU_TENSOR_MAP_DATA_TYPE_FLOAT16;
  // Strides of extent-1 dimensions are never stepped; any multiple of 16 bytes stands in.
  auto bytes = [](int64_t extent, int64_t stride) { return cuuint64_t(extent == 1 ? 16 : stride * 2); };
  const cuuint64_t dims[4] = {cuuint64_t(g.w.in), cuuint64_t(g.h.in), cuuint64_t(g.in_channels), cuuint64_t(g.batch)};
  const cuuint64_t strides[3] = {bytes(g.h.in, xs.h), bytes(g.in_channels, xs.c), bytes(g.batch, xs.n)};
  const cuuint32_t box[4] = {cuuint32_t(1) << p->box_w_log2, cuuint32_t(p->box_h), cuuint32_t(kStageChannels), 1};
  const cuuint32_t element_strides[4] = {1, 1, 1, 1};
  const CUresult r = encode_tiled()(&p->input_map, type, 4, const_cast<void*>(p->conv.input), dims, strides, box,
                                    element_strides, CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_SWIZZLE_128B,
                                    CU_TENSOR_MAP_L2_PROMOTION_L2_128B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
  return r == CUDA_SUCCESS ? cudaSuccess : cudaErrorInvalidValue;
}

template <typename T, bool kWide>
cudaError_t launch_typed(PhaseGemmArgs& p, void* workspace, cudaStream_t stream) {
  using S = Tile<kWide>;
  const ConvTransposeGeometry& g = p.conv.geometry;
  const int64_t elements = int64_t(workspace_bytes(p) / sizeof(T));
  const unsigned pack_blocks = static_cast<unsigned>(std::min<int64_t>((elements + 255) / 256, 4096));
  pack_phase_weights_kernel<T><<<pack_blocks, 256, 0, stream>>>(static_cast<const T*>(p.conv.weight),
                                                                static_cast<T*>(workspace), g, S::M, p.m_tiles,
                                                                p.channel_blocks, p.taps_w_max, p.tap_slots);
  cudaError_t e = cudaGetLastError();
  if (e != cudaSuccess) return e;
  p.packed = workspace;
  constexpr auto kernel = phase_gemm_kernel<T, kWide>;
  int64_t limit = 0;
  e = raise_dynamic_shared_memory_limit<kernel, true>(&limit);
  if (e != cudaSuccess) return e;
  if (S::shared_bytes > limit) return cudaErrorInvalidConfiguration;
  const int64_t ctas = int64_t(p.m_tiles) * p.n_tiles * g.h.stride * g.w.stride * g.groups;
  kernel<<<static_cast<unsigned>(ctas), kThreads, S::shared_bytes, stream>>>(p);
  return cudaGetLastError();
}

template <typename T>
cudaError_t launch_dtype(PhaseGemmArgs& p, void* workspace, cudaStream_t stream) {
  return wide_tiles(p.conv.geometry) ? launch_typed<T, true>(p, workspace, stream)
                                     : launch_typed<T, false>(p, workspace, stream);
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
  return args.dtype == DType::BFloat16 ? launch_dtype<__nv_bfloat16>(p, workspace, stream)
                                       : launch_dtype<__half>(p, workspace, stream);
}

}  // namespace cuda
}  // namespace tconv
