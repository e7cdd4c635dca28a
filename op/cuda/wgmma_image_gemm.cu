// Hopper (sm_90a) image GEMM: transposed convolutions of small images, dilation 1, TF32/bf16/fp16,
// on wgmma. DCGAN's generator layers (512 -> 256 channels on 8 x 8 images and 128 -> 64 on 32 x 32
// are public cases) were the target; measured (session 12, run 4) it wins only TF32 on 8 x 8
// (0.303 -> 0.279 ms, cuDNN 0.263) and is chosen only there (image_gemm_preferred, below;
// docs/cuda-kernels.md has the table and the profile).
//
// Why a kernel of its own. Per group the layer is one GEMM whose N side can hold whole images,
//   C[m = (co, kh, kw)][n = (image, ih, iw)] = sum_c w[c][co][kh][kw] x[image][c][ih][iw],
// followed by col2im: y[image][co][oh][ow] = bias[co] + the C entries of the taps (kh, kw) and
// pixels (ih, iw) with oh = ih s_h - p_h + kh, ow = iw s_w - p_w + kw. With whole images in a
// CTA's N tile every such sum is complete inside the CTA: no atomics, no workspace for C, each
// output element written once (bias-only positions too). Larger images are cut into bands: band b
// writes a fixed number of output rows and stages every input row their taps read (the rows shared
// with the next band are staged and multiplied twice: DCGAN 32 x 32 stages 4 rows for 5 output
// rows, 62% of the columns useful). B is the input as NCHW holds it (an image's channel is H x W
// contiguous values: N-major, which wgmma reads for 16-bit types), so the 16-bit operands arrive
// by 16-byte cp.async, and per image and channel all taps of the kernel share one B value (the
// implicit GEMM gathers it again for each tap of each phase). On 8 x 8 images the phase-by-phase
// GEMMs have 64-pixel phases: the implicit GEMM reached 23% of the bf16 rate on DCGAN 512 -> 256
// (0.183 ms against cuDNN's 0.094), the wgmma packed tiles 0.227 ms.
//
// Tiles. A CTA computes M = 128 rows ((co, tap): 128 / taps output channels) x N = 128 columns
// (Tile), K in stages of 128 bytes (64 bf16/fp16 or 32 TF32 channels). Two warpgroups, each an
// m64n128 wgmma accumulator; every thread also copies. Shared layouts, no swizzle: A (weights,
// K-major) as 8 x 16-byte core matrices, K-adjacent 128 bytes apart and M-adjacent 1024 (packed
// once per call in exactly this order, so a stage is a straight 16 KB copy, TF32-rounded for
// float32). 16-bit B is N-major (wgmma's transpose bit): core matrices of 8 channels x 8 pixels,
// N-adjacent 128 bytes apart, K-adjacent 2048, copied by cp.async from the NCHW rows. TF32 has no
// N-major form: its B goes through registers a stage ahead, rounded, into K-major core matrices of
// 8 pixels x 4 channels.
//
// Epilogue. The accumulators go to shared memory as float32 rows (m, n); then each thread takes
// runs of 8 output columns of one (channel, image, output row), sums each output's taps from the
// staged rows, adds the bias, and stores 16 bytes at once where the output's rows allow (else
// element by element).
//
// Compiled for sm_90a only (CMake and scripts/compile_cuda.sh build wgmma_*.cu for that target);
// the body is empty elsewhere and image_gemm_supported() requires a compute capability 9.0 device.
#include <algorithm>
#include <cstdint>

#include "element.cuh"
#include "launch.h"
#include "shared_memory_limit.cuh"
#include "tensor_core.cuh"
#include "wgmma.cuh"

namespace tconv {
namespace cuda {
namespace {

using namespace tensor_core;

constexpr int kThreads = 256;                        // two warpgroups
constexpr int kTileM = 128;                          // (output channel, tap) rows per CTA
constexpr int kStageBytesK = 128;                    // K per stage: 64 bf16/fp16 or 32 TF32 channels
constexpr int kCoreBytes = 128;                      // a core matrix: 8 rows x 16 bytes
constexpr int kABytes = kTileM * kStageBytesK;            // A per stage: 16 KB
constexpr int kAStrideM = (kStageBytesK / 16) * kCoreBytes;   // A: M-adjacent core matrices
constexpr int kAChunks = kABytes / 16 / kThreads;         // A's 16-byte copies per thread and stage
constexpr int kOutputRun = 8;                             // output columns per epilogue item

template <typename T> __host__ __device__ constexpr int stage_channels() { return kStageBytesK / int(sizeof(T)); }

// The N tile: 128 input pixels (64 accumulators per thread), 3 stages, 2 CTAs per SM, each
// warpgroup waiting for its wgmmas every stage, loads 2 stages ahead. A 256-pixel tile (m64n256,
// 4 stages, 1 CTA per SM, one stage's wgmmas in flight) measured slower on both DCGAN layers (run
// 4: 8 x 8 TF32 0.279 -> 0.358 ms, bf16 0.211 -> 0.255; 32 x 32 bands 0.698 -> 0.792, 0.546 ->
// 0.630) and was dropped.
struct Tile {
  static constexpr int N = 128;
  static constexpr int stages = 3;
  static constexpr int ahead = stages - 1;                     // stages loaded ahead
  static constexpr int ctas_per_sm = 2;
  static constexpr int accumulators = N / 2;
  static constexpr int b_bytes = N * kStageBytesK;
  static constexpr int stage_bytes = kABytes + b_bytes;
  static constexpr int b_stride_k = (N / 8) * kCoreBytes;      // 16-bit B: K-adjacent core matrices
  static constexpr int b_chunks = b_bytes / 16 / kThreads;     // 16-bit B: cp.async copies per thread
  static constexpr int b_blocks = b_bytes / 64 / kThreads;     // TF32 B: 4 x 4 blocks per thread
  static constexpr int pitch = N + 4;                          // floats per staged accumulator row
  static constexpr int shared_bytes =
      stages * stage_bytes > kTileM * pitch * 4 ? stages * stage_bytes : kTileM * pitch * 4;
};

struct ImageGemmArgs {
  ConvArgs conv;
  Strides4 output_strides;
  const void* packed;        // [group][m tile][k stage][kABytes] in the shared A layout
  int m_tiles, k_stages;
  int channels_per_tile;     // output channels per M tile: 128 / taps
  // N tile: whole images (images_per_tile = 128 / (H W), bands = 1), or for larger images one
  // band of input rows (images_per_tile = 1): band b writes output rows [b, b + 1) x band_out_rows
  // and stages the input rows from the first its taps read, slot_pixels / W of them.
  bool whole_images;         // stages every row from 0, even where one band would start lower
  int images_per_tile;
  int bands, band_out_rows;
  int slot_pixels;           // tile columns per image: H W, or a band's rows x W
  bool vector_stores;        // output rows of whole, aligned 16-byte runs
};

#if defined(TCONV_WGMMA_DEVICE)
__device__ __forceinline__ uint64_t a_descriptor(uint32_t stage, int warpgroup, int k_step) {
  return wgmma::descriptor(stage + warpgroup * 8 * kAStrideM + k_step * 2 * kCoreBytes, kCoreBytes, kAStrideM);
}
// 16-bit B, N-major: the descriptor's leading offset steps K (8 channel rows), its stride offset N.
__device__ __forceinline__ uint64_t b16_descriptor(uint32_t stage, int k_step) {
  return wgmma::descriptor(stage + kABytes + k_step * 2 * Tile::b_stride_k, Tile::b_stride_k, kCoreBytes);
}
// TF32 B, K-major: core matrices of 8 pixels x 4 channels, K-adjacent 128 bytes apart, N-adjacent 1024.
__device__ __forceinline__ uint64_t b32_descriptor(uint32_t stage, int k_step) {
  return wgmma::descriptor(stage + kABytes + k_step * 2 * kCoreBytes, kCoreBytes, 8 * kCoreBytes);
}
#endif

// The first input row a band of output rows from oh0 reads (its lowest tap's; clamped to 0): where
// the band's staging starts. One formula for the plan (band_out_rows) and the kernel (n_tile_of).
TCONV_HOST_DEVICE int64_t band_first_input_row(const AxisGeometry& h, int64_t oh0) {
  const int64_t first = oh0 + h.padding - (h.kernel - 1);
  return first <= 0 ? 0 : (first + h.stride - 1) / h.stride;
}

// A CTA's N tile: its first image, output rows [oh0, oh1) and first staged input row.
struct NTile {
  int64_t image0;
  int oh0, oh1, ih0;
};
__device__ __forceinline__ NTile n_tile_of(const ImageGemmArgs& p, int64_t n_tile) {
  const ConvTransposeGeometry& g = p.conv.geometry;
  NTile t;
  const int band = static_cast<int>(n_tile % p.bands);
  t.image0 = (n_tile / p.bands) * p.images_per_tile;
  t.oh0 = band * p.band_out_rows;
  t.oh1 = min(static_cast<int>(g.h.out), t.oh0 + p.band_out_rows);
  // Whole images stage every row from 0 (their 16-byte chunks start at the image's first pixel),
  // even where their taps start lower; a band, even the only one, stages from its first tap row.
  t.ih0 = p.whole_images ? 0 : static_cast<int>(band_first_input_row(g.h, t.oh0));
  return t;
}

// col2im of the staged tile (rows m = (channel, kh, kw), columns n = (image, ih, iw), `pitch` floats
// apart): items of kOutputRun columns of one (channel, image, output row), consecutive items along
// the row, so a warp's stores are consecutive 16-byte runs of one output plane. Each output sums
// its taps: kh = (oh + p_h) mod s_h and every s_h-th after, ih = (oh + p_h - kh) / s_h, likewise kw.
template <typename T>
__device__ __forceinline__ void col2im(const ImageGemmArgs& p, const float* tile, int pitch, int m_tile, int group,
                                       const NTile& nt) {
  const ConvTransposeGeometry& g = p.conv.geometry;
  const int H = static_cast<int>(g.h.in), W = static_cast<int>(g.w.in);
  const int Wo = static_cast<int>(g.w.out), rows = nt.oh1 - nt.oh0;
  const int KH = static_cast<int>(g.h.kernel), KW = static_cast<int>(g.w.kernel), taps = KH * KW;
  const int sh = static_cast<int>(g.h.stride), sw = static_cast<int>(g.w.stride);
  const int ph = static_cast<int>(g.h.padding), pw = static_cast<int>(g.w.padding);
  const int cout_g = static_cast<int>(g.out_channels_per_group());
  const int runs = (Wo + kOutputRun - 1) / kOutputRun;
  const int items = p.channels_per_tile * p.images_per_tile * rows * runs;
  const int co0 = m_tile * p.channels_per_tile;
  const int64_t channel0 = int64_t(group) * cout_g;
  const T* bias = static_cast<const T*>(p.conv.bias);
  const Strides4& os = p.output_strides;
  T* out = static_cast<T*>(p.conv.output);
  for (int item = threadIdx.x; item < items; item += kThreads) {
    int rest = item;
    const int run = rest % runs;
    rest /= runs;
    const int oh = nt.oh0 + rest % rows;
    rest /= rows;
    const int img = rest % p.images_per_tile, channel = rest / p.images_per_tile;
    const int co = co0 + channel;
    const int64_t n = nt.image0 + img;
    if (co >= cout_g || n >= g.batch) continue;
    const int ow0 = run * kOutputRun;
    // Each column's first tap and input column, stepped along the run without dividing again.
    int kw_first[kOutputRun], iw_first[kOutputRun];
    {
      int kw = (ow0 + pw) % sw, iw = (ow0 + pw) / sw;
#pragma unroll
      for (int j = 0; j < kOutputRun; ++j) {
        kw_first[j] = kw, iw_first[j] = iw;
        if (++kw == sw) kw = 0, ++iw;
      }
    }
    const float b = bias != nullptr ? to_acc(load_readonly(bias + channel0 + co)) : 0.0f;
    float v[kOutputRun];
#pragma unroll
    for (int j = 0; j < kOutputRun; ++j) v[j] = b;
    const float* plane = tile + channel * taps * pitch + img * p.slot_pixels - nt.ih0 * W;
    for (int kh = (oh + ph) % sh, ih = (oh + ph) / sh; kh < KH && ih >= 0; kh += sh, --ih) {
      if (ih >= H) continue;
      const float* tap_row = plane + kh * KW * pitch + ih * W;
#pragma unroll
      for (int j = 0; j < kOutputRun; ++j)
        for (int kw = kw_first[j], iw = iw_first[j]; kw < KW && iw >= 0; kw += sw, --iw)
          if (iw < W) v[j] += tap_row[kw * pitch + iw];
    }
    T* dst = out + n * os.n + (channel0 + co) * os.c + int64_t(oh) * os.h;
    if (p.vector_stores && ow0 + kOutputRun <= Wo) {
      alignas(16) T packed[kOutputRun];
#pragma unroll
      for (int j = 0; j < kOutputRun; ++j) packed[j] = from_acc<T>(v[j]);
#pragma unroll
      for (int q = 0; q < kOutputRun * int(sizeof(T)) / 16; ++q)
        __stcs(reinterpret_cast<int4*>(dst + ow0) + q, reinterpret_cast<const int4*>(packed)[q]);
    } else {
#pragma unroll
      for (int j = 0; j < kOutputRun; ++j)
        if (ow0 + j < Wo) dst[int64_t(ow0 + j) * os.w] = from_acc<T>(v[j]);
    }
  }
}

template <typename T>
__global__ void __launch_bounds__(kThreads, Tile::ctas_per_sm) image_gemm_kernel(const ImageGemmArgs p) {
#if defined(TCONV_WGMMA_DEVICE)
  using S = Tile;
  constexpr int N = S::N;
  extern __shared__ __align__(128) unsigned char smem[];
  const uint32_t base = shared_address(smem);
  const ConvTransposeGeometry& g = p.conv.geometry;
  int64_t cta = blockIdx.x;
  const int m_tile = static_cast<int>(cta % p.m_tiles);
  cta /= p.m_tiles;
  const int group = static_cast<int>(cta % g.groups);
  const NTile nt = n_tile_of(p, cta / g.groups);
  const int cin_g = static_cast<int>(g.in_channels_per_group());
  const int H = static_cast<int>(g.h.in), W = static_cast<int>(g.w.in), pixels = H * W;
  const int tid = threadIdx.x;

  // A: a straight copy of the packed stage by cp.async, chunk tid + 256 i.
  constexpr int kChannels = stage_channels<T>();
  constexpr bool kTF32 = sizeof(T) == 4;
  const T* a_src = static_cast<const T*>(p.packed) +
                   (int64_t(group) * p.m_tiles + m_tile) * p.k_stages * int64_t(kABytes / sizeof(T)) +
                   tid * (16 / sizeof(T));
  auto copy_a = [&](int s) {
    const uint32_t stage = base + (s % S::stages) * S::stage_bytes;
#pragma unroll
    for (int i = 0; i < kAChunks; ++i)
      cp_async16(stage + (tid + i * kThreads) * 16,
                 a_src + int64_t(s) * (kABytes / sizeof(T)) + i * kThreads * (16 / sizeof(T)));
  };
  // B's source: tile column n is pixel (ih0 + (n % slot) / W, (n % slot) % W) of image n / slot.
  const Strides4& xs = p.conv.input_strides;
  const T* x = static_cast<const T*>(p.conv.input);
  auto column_source = [&](int n, bool* inside) {
    const int image_in_tile = n / p.slot_pixels, pixel = nt.ih0 * W + n % p.slot_pixels;
    const int64_t image = nt.image0 + image_in_tile;
    *inside = image_in_tile < p.images_per_tile && image < g.batch && pixel < pixels;
    return x + (*inside ? image * xs.n + int64_t(group) * cin_g * xs.c + pixel : 0);
  };
  // 16-bit B (N-major) by cp.async: chunk q = tid + 256 i is channel row q % 8 of core matrix (N block
  // (q / 8) % (N / 8), K block (q / 8) / (N / 8)), so a thread keeps its pixel run and row and steps
  // whole K blocks with i; 8 neighbouring lanes fill one 128-byte core matrix from 8 channel rows.
  const int row = tid % 8, n_block = (tid / 8) % (N / 8);
  bool run_inside = false;
  const T* run_src = column_source(n_block * 8, &run_inside);
  auto copy_b16 = [&](int s) {
    const uint32_t stage = base + (s % S::stages) * S::stage_bytes + kABytes + n_block * kCoreBytes + row * 16;
#pragma unroll
    for (int i = 0; i < S::b_chunks; ++i) {
      const int k_block = (tid / 8 + 32 * i) / (N / 8);
      const int channel = s * kChannels + k_block * 8 + row;
      const bool inside = run_inside && channel < cin_g;  // else zero-filled, nothing read
      cp_async16_zfill(stage + k_block * S::b_stride_k, inside ? run_src + channel * xs.c : x, inside);
    }
  };
  // TF32 B (K-major: core matrices of 8 pixels x 4 channels, K-adjacent 128 bytes apart, N-adjacent
  // 1024) through registers, rounded on the way: block i = tid + 256 i holds 4 channels x 4 pixels
  // (pixel quad b % (N / 4), lanes along the pixels: coalesced loads; channel quad b / (N / 4)),
  // stored as 4 pixel rows of 16 bytes, lane pairs rotating the row order so that 8 lanes hit 8
  // different 16-byte bank groups.
  // Each block's pixel quad and its source are the same in every stage: found once.
  constexpr int kBlocks32 = kTF32 ? S::b_blocks : 0;
  float4 held[kTF32 ? S::b_blocks : 1][4];
  const float* block_src[kTF32 ? S::b_blocks : 1];
  bool block_inside[kTF32 ? S::b_blocks : 1];
#pragma unroll
  for (int i = 0; i < kBlocks32; ++i) {
    const int quad = (tid + kThreads * i) % (N / 4);
    block_src[i] = reinterpret_cast<const float*>(column_source(4 * quad, &block_inside[i]));
  }
  auto load_b32 = [&](int s) {
#pragma unroll
    for (int i = 0; i < kBlocks32; ++i) {
      const int channel_quad = (tid + kThreads * i) / (N / 4);
#pragma unroll
      for (int r = 0; r < 4; ++r) {
        const int channel = s * kChannels + channel_quad * 4 + r;
        held[i][r] = block_inside[i] && channel < cin_g
                         ? __ldg(reinterpret_cast<const float4*>(block_src[i] + channel * xs.c))
                         : make_float4(0.0f, 0.0f, 0.0f, 0.0f);
      }
    }
  };
  auto store_b32 = [&](int s) {
    const uint32_t stage = base + (s % S::stages) * S::stage_bytes + kABytes;
#pragma unroll
    for (int i = 0; i < kBlocks32; ++i) {
      const int b = tid + kThreads * i, quad = b % (N / 4), channel_quad = b / (N / 4);
      const uint32_t block = stage + (quad / 2) * 1024 + channel_quad * kCoreBytes + (quad % 2) * 64;
#pragma unroll
      for (int t = 0; t < 4; ++t) {
        const int j = (t + (tid % 32) / 2) % 4;  // the pixel of the quad this step stores
        auto pick = [j](const float4& v) { return j == 0 ? v.x : j == 1 ? v.y : j == 2 ? v.z : v.w; };
        st_shared_v4(block + j * 16, to_tf32(pick(held[i][0])), to_tf32(pick(held[i][1])), to_tf32(pick(held[i][2])),
                     to_tf32(pick(held[i][3])));
      }
    }
  };

  float d[S::accumulators];
#pragma unroll
  for (int i = 0; i < S::accumulators; ++i) d[i] = 0.0f;
  const int warpgroup = tid / 128;
  // Pipeline: A (and 16-bit B) for stages s + 1 .. s + ahead loading while s is multiplied; TF32 B
  // for stage s + 1 loaded into registers before stage s's wgmmas are issued and stored after. A
  // slot is refilled after the barrier that follows every warpgroup's wait for the wgmmas that read it.
#pragma unroll
  for (int s = 0; s < S::ahead; ++s) {
    if (s < p.k_stages) {
      copy_a(s);
      if constexpr (!kTF32) copy_b16(s);
    }
    cp_async_commit();
  }
  if constexpr (kTF32) {
    load_b32(0);
    store_b32(0);
  }
  for (int s = 0; s < p.k_stages; ++s) {
    cp_async_wait<S::ahead - 1>();
    wgmma::fence_proxy_async();  // this thread's cp.async data and stores, visible to wgmma after the barrier
    __syncthreads();
    if (s + S::ahead < p.k_stages) {
      copy_a(s + S::ahead);
      if constexpr (!kTF32) copy_b16(s + S::ahead);
    }
    cp_async_commit();
    const bool next_b32 = kTF32 && s + 1 < p.k_stages;
    if (next_b32) load_b32(s + 1);
    const uint32_t stage = base + (s % S::stages) * S::stage_bytes;
    wgmma::fence();
    wgmma::fence_operands(d);
#pragma unroll
    for (int k = 0; k < kStageBytesK / 32; ++k) {
      if constexpr (kTF32)
        wgmma::mma<float, N>(d, a_descriptor(stage, warpgroup, k), b32_descriptor(stage, k));
      else
        wgmma::mma_b_nmajor<T>(d, a_descriptor(stage, warpgroup, k), b16_descriptor(stage, k));
    }
    wgmma::commit();
    wgmma::fence_operands(d);
    if (next_b32) store_b32(s + 1);
    wgmma::wait<0>();
    wgmma::fence_operands(d);
  }
  wgmma::wait<0>();
  wgmma::fence_operands(d);
  cp_async_wait_all();
  __syncthreads();  // every stage read: the pipeline's memory takes the accumulator tile

  // Accumulators -> rows of the tile: thread (warp w of its warpgroup, lane 4 g + t) holds, for n8
  // block j, (row 16 w + g, columns 8 j + 2 t, + 1) and row + 8.
  float* tile = reinterpret_cast<float*>(smem);
  {
    const int lane = tid % 32, w = (tid / 32) % 4;
    const int m = warpgroup * 64 + 16 * w + lane / 4, n = 2 * (lane % 4);
#pragma unroll
    for (int j = 0; j < N / 8; ++j) {
      *reinterpret_cast<float2*>(tile + m * S::pitch + 8 * j + n) = make_float2(d[4 * j], d[4 * j + 1]);
      *reinterpret_cast<float2*>(tile + (m + 8) * S::pitch + 8 * j + n) = make_float2(d[4 * j + 2], d[4 * j + 3]);
    }
  }
  __syncthreads();
  col2im<T>(p, tile, S::pitch, m_tile, group, nt);
#elif defined(__CUDA_ARCH__)
  __trap();  // never launched: supported() requires the sm_90a code's device
#endif
}

// [group * cin_g + c][co][kh][kw] -> the shared A layout per (group, M tile, K stage): element
// (m, k) of the stage at core matrix (m / 8, k / V), row m % 8, column k % V (V values per 16
// bytes); zero past the group's channels, its output channels and the tile's whole channels; TF32
// rounded for float32.
template <typename T>
__global__ void pack_image_weights_kernel(const T* __restrict__ weight, T* __restrict__ packed,
                                          ConvTransposeGeometry g, int m_tiles, int k_stages,
                                          int channels_per_tile) {
  constexpr int kValues = 16 / sizeof(T), kChannels = stage_channels<T>(), kCores = kChannels / kValues;
  constexpr int kStageElements = kABytes / sizeof(T);
  const int64_t cin_g = g.in_channels_per_group(), cout_g = g.out_channels_per_group();
  const int64_t taps = g.h.kernel * g.w.kernel;
  const int64_t total = g.groups * m_tiles * int64_t(k_stages) * kStageElements;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
    const int e = static_cast<int>(i % kStageElements);
    int64_t rest = i / kStageElements;
    const int64_t stage = rest % k_stages;
    rest /= k_stages;
    const int64_t m_tile = rest % m_tiles, group = rest / m_tiles;
    const int core = e / (8 * kValues), m = (core / kCores) * 8 + (e % (8 * kValues)) / kValues;
    const int64_t c = stage * kChannels + (core % kCores) * kValues + e % kValues;
    const int64_t co = m_tile * channels_per_tile + m / taps;
    const bool inside = m < channels_per_tile * taps && co < cout_g && c < cin_g;
    const T v = inside ? weight[((group * cin_g + c) * cout_g + co) * taps + m % taps] : from_acc<T>(0.0f);
    if constexpr (sizeof(T) == 4)
      packed[i] = __uint_as_float(to_tf32(v));
    else
      packed[i] = v;
  }
}

// The most output rows per band whose taps read at most `rows` input rows in every band (0: none).
int band_out_rows(const ConvTransposeGeometry& g, int64_t rows) {
  const AxisGeometry& h = g.h;
  auto fits = [&](int64_t out_rows) {
    for (int64_t oh0 = 0; oh0 < h.out; oh0 += out_rows) {
      const int64_t oh1 = std::min(h.out, oh0 + out_rows);
      const int64_t ih0 = band_first_input_row(h, oh0);
      const int64_t ih1 = std::min(h.in - 1, (oh1 - 1 + h.padding) / h.stride);
      if (ih1 - ih0 + 1 > rows) return false;
    }
    return true;
  };
  for (int64_t out_rows = std::min(h.out, rows * h.stride + h.kernel); out_rows >= 1; --out_rows)
    if (fits(out_rows)) return static_cast<int>(out_rows);
  return 0;
}

bool make_plan(const ConvArgs& args, ImageGemmArgs* plan) {
  const ConvTransposeGeometry& g = args.geometry;
  if (args.dtype == DType::Float64 || (args.dtype == DType::Float32 && !args.allow_tf32)) return false;
  if (!wgmma_device()) return false;
  if (g.h.dilation != 1 || g.w.dilation != 1 || args.output_channels_last) return false;
  const int64_t pixels = g.h.in * g.w.in, taps = g.h.kernel * g.w.kernel;
  if (taps > kTileM) return false;
  // B: each image's channel one contiguous, 16-byte aligned run of H x W values.
  const Strides4& xs = args.input_strides;
  const int64_t vector = args.dtype == DType::Float32 ? 4 : 8;
  if (reinterpret_cast<uintptr_t>(args.input) % 16 != 0 || xs.w != 1 || (g.h.in > 1 && xs.h != g.w.in) ||
      xs.c % vector != 0 || xs.n % vector != 0)
    return false;
  const int64_t cin_g = g.in_channels_per_group(), cout_g = g.out_channels_per_group();
  ImageGemmArgs& p = *plan;
  p.conv = args;
  p.output_strides = output_strides(args);
  p.channels_per_tile = static_cast<int>(kTileM / taps);
  if (pixels <= Tile::N && pixels % 8 == 0) {  // whole images
    p.whole_images = true;
    p.images_per_tile = static_cast<int>(Tile::N / pixels);
    p.bands = 1;
    p.band_out_rows = static_cast<int>(g.h.out);
    p.slot_pixels = static_cast<int>(pixels);
  } else {  // bands of whole input rows (16-byte chunks: W a multiple of 8)
    const int64_t rows = Tile::N / g.w.in;
    if (g.w.in % 8 != 0 || rows < 1 || g.h.out >= (int64_t(1) << 30)) return false;
    p.band_out_rows = band_out_rows(g, rows);
    if (p.band_out_rows == 0) return false;
    p.whole_images = false;
    p.images_per_tile = 1;
    p.bands = static_cast<int>((g.h.out + p.band_out_rows - 1) / p.band_out_rows);
    p.slot_pixels = static_cast<int>(rows * g.w.in);
  }
  const int64_t m_tiles = (cout_g + p.channels_per_tile - 1) / p.channels_per_tile;
  const int64_t channels = args.dtype == DType::Float32 ? stage_channels<float>() : stage_channels<__half>();
  const int64_t k_stages = (cin_g + channels - 1) / channels;
  const int64_t n_tiles = (g.batch + p.images_per_tile - 1) / p.images_per_tile * p.bands;
  // 32-bit channel offsets in the copies and output planes of int-sized extents.
  if (m_tiles * g.groups * n_tiles >= (int64_t(1) << 31) || cin_g * xs.c >= (int64_t(1) << 31) ||
      g.h.out * g.w.out >= (int64_t(1) << 31))
    return false;
  p.m_tiles = static_cast<int>(m_tiles);
  p.k_stages = static_cast<int>(k_stages);
  const Strides4& os = p.output_strides;
  p.vector_stores = reinterpret_cast<uintptr_t>(args.output) % 16 == 0 && os.w == 1 && os.h % kOutputRun == 0 &&
                    os.c % kOutputRun == 0 && os.n % kOutputRun == 0;
  p.packed = nullptr;
  return true;
}

size_t workspace_bytes(const ImageGemmArgs& p) {
  return size_t(p.conv.geometry.groups) * p.m_tiles * p.k_stages * kABytes;
}

template <typename T>
cudaError_t launch_typed(ImageGemmArgs p, void* workspace, cudaStream_t stream) {
  const ConvTransposeGeometry& g = p.conv.geometry;
  const int64_t elements = int64_t(g.groups) * p.m_tiles * p.k_stages * int64_t(kABytes / sizeof(T));
  const unsigned pack_blocks = static_cast<unsigned>(std::min<int64_t>((elements + 255) / 256, 4096));
  pack_image_weights_kernel<T><<<pack_blocks, 256, 0, stream>>>(static_cast<const T*>(p.conv.weight),
                                                                static_cast<T*>(workspace), g, p.m_tiles,
                                                                p.k_stages, p.channels_per_tile);
  cudaError_t e = cudaGetLastError();
  if (e != cudaSuccess) return e;
  p.packed = workspace;
  constexpr auto kernel = image_gemm_kernel<T>;
  int64_t limit = 0;
  e = raise_dynamic_shared_memory_limit<kernel, true>(&limit);
  if (e != cudaSuccess) return e;
  if (Tile::shared_bytes > limit) return cudaErrorInvalidConfiguration;
  const int64_t n_tiles = (g.batch + p.images_per_tile - 1) / p.images_per_tile * p.bands;
  const unsigned ctas = static_cast<unsigned>(int64_t(p.m_tiles) * g.groups * n_tiles);
  kernel<<<ctas, kThreads, Tile::shared_bytes, stream>>>(p);
  return cudaGetLastError();
}

}  // namespace

bool image_gemm_supported(const ConvArgs& args) {
  ImageGemmArgs plan;
  return make_plan(args, &plan);
}

// Run 4 (H100, against the automatic choice then, the implicit GEMM): DCGAN 512 -> 256 on 8 x 8
// TF32 0.303 -> 0.279 ms (cuDNN 0.263), but bf16 0.185 -> 0.211 and the 32 x 32 bands 2-3x slower
// (128 -> 64: TF32 0.41 -> 0.79, bf16 0.28 -> 0.63; two K stages per tile leave the pipeline's fill
// and the col2im exposed). So: TF32, whole images, and a long K (the measured layer has 512 input
// channels per group; 256 is where its 8 K stages halve).
bool image_gemm_preferred(const ConvArgs& args) {
  const ConvTransposeGeometry& g = args.geometry;
  return args.dtype == DType::Float32 && g.h.in * g.w.in <= Tile::N && g.in_channels_per_group() >= 256 &&
         g.out_channels_per_group() >= 16 && image_gemm_supported(args);
}

size_t image_gemm_workspace_bytes(const ConvArgs& args) {
  ImageGemmArgs p;
  return make_plan(args, &p) ? workspace_bytes(p) : 0;
}

cudaError_t launch_image_gemm(const ConvArgs& args, void* workspace, cudaStream_t stream) {
  ImageGemmArgs p;
  if (!make_plan(args, &p)) return cudaErrorInvalidValue;
  switch (args.dtype) {
    case DType::Float32: return launch_typed<float>(p, workspace, stream);
    case DType::Float16: return launch_typed<__half>(p, workspace, stream);
    case DType::BFloat16: return launch_typed<__nv_bfloat16>(p, workspace, stream);
    default: return cudaErrorInvalidValue;
  }
}

}  // namespace cuda
}  // namespace tconv
