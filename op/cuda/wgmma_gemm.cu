// Hopper (sm_90a) window GEMM: wgmma reads every tap's A tile straight from the staged input window.
//
// Same decomposition as window_gemm.cu (window_plan.h): a block owns a tile of R x C = 4 x 64
// pixels of one phase of one image and BN output channels, and the input window that all the
// phase's taps read is staged once per chunk of 8 channel words (a word: one TF32 value or two
// bf16/fp16 channels). Here the window is stored as [channel group of 4 words][window pixel][4 words].
// For a K-major, unswizzled wgmma operand a core matrix is 8 rows x 16 bytes stored contiguously,
// so the 64 consecutive pixels of one tile row, starting at any window pixel, form a canonical A
// operand: start address = window pixel x 16 bytes, K stride = the group stride, M stride = 128.
// Each tap is the same window at a shifted start address: no copies, no ldmatrix, no registers for
// A or B. (The mma.sync kernels move both operands through ldmatrix: 1.5 shared-memory wavefronts
// per mma at their 64 x 32 warp tiles, their limit.)
//
// 256 threads = 2 warpgroups; warpgroup w computes tile rows 2w and 2w + 1 as two m64 x BN x k8
// wgmma chains (BN = 64 or 128; 32 or 64 accumulators per row and thread). Chunks of 8 words with
// two blocks per SM where BN is 64 and both stages fit 110 KB (one block's staging overlaps the
// other's wgmmas: KernelBench 57 TF32 6.9 -> 5.3 ms), else 16 words and one block. Weights: packed
// once per call as in the other GEMMs ([group][kh][kw][co][ci word], tensor_core.cuh) and copied
// per chunk by cp.async into [tap][group of 4 words][BN][4 words], also a canonical K-major operand.
// Pipeline: two stages. The next chunk's window is loaded into registers before the current
// chunk's wgmmas are issued, and stored to the other stage while they run; its weights go by
// cp.async. Then wgmma.wait_group 0, fence.proxy.async (the stores are ordinary writes the
// wgmma's async proxy must see) and one barrier per chunk.
// Epilogue as in the other GEMMs: accumulators -> shared [n][m] -> output + bias, cast, NCHW or
// channels_last; phases without taps store the bias.
//
// Compiled for sm_90a only (CMake and scripts/compile_cuda.sh add that target for this file); the
// body is empty elsewhere and wgmma_gemm_supported() requires a device of compute capability 9.0.
#include <algorithm>
#include <cstdint>
#include <mutex>

#include "element.cuh"
#include "launch.h"
#include "shared_memory_limit.cuh"
#include "tensor_core.cuh"
#include "wgmma.cuh"
#include "window_plan.h"

#if defined(__CUDA_ARCH__) && defined(__CUDA_ARCH_FEAT_SM90_ALL)
#define TCONV_WGMMA_DEVICE 1
#endif

namespace tconv {
namespace cuda {
namespace {

using namespace tensor_core;
using window::BlockCoords;
using window::BlockDims;
using window::PhaseWindow;

constexpr int kThreads = 256;           // two warpgroups
constexpr int kRows = 4;                // tile rows R (two per warpgroup)
constexpr int kCols = 64;               // tile columns C: one wgmma M
constexpr int kBM = kRows * kCols;      // tile pixels
constexpr int kMaxWindow = 512;         // window pixels a block stages (units per thread: below)
constexpr int kMaxTaps = 64;

struct WgmmaArgs {
  ConvArgs conv;
  const uint32_t* packed_weight;
  Strides4 output_strides;
  BlockDims dims;
  int64_t cin_words, cout_padded, cout_g;
  int cin_g, chunks;
  uint32_t group_bytes;  // one 4-word group of the window: window pixels (rounded to 8) x 16 B
  uint32_t b_offset;     // weights after the window: (KW / 4) * group_bytes
  uint32_t stage_bytes;
  uint32_t scratch;      // 16 bytes past both stages: where threads without a window unit store
};

template <typename T, int BN>
__device__ __forceinline__ void mma_row(float (&d)[BN / 2], uint64_t a, uint64_t b) {
  if constexpr (BN == 64) {
    if constexpr (sizeof(T) == 4) wgmma::wgmma_tf32_n64(d, a, b);
    else if constexpr (std::is_same<T, __nv_bfloat16>::value) wgmma::wgmma_bf16_n64(d, a, b);
    else wgmma::wgmma_f16_n64(d, a, b);
  } else {
    if constexpr (sizeof(T) == 4) wgmma::wgmma_tf32_n128(d, a, b);
    else if constexpr (std::is_same<T, __nv_bfloat16>::value) wgmma::wgmma_bf16_n128(d, a, b);
    else wgmma::wgmma_f16_n128(d, a, b);
  }
}

// KW: channel words per chunk (8 or 16: one or two wgmma K steps per tap). Blocks per SM: two for
// BN 64 with 8-word chunks (one block stages its window while the other's wgmmas run), else one.
template <int BN, int KW> constexpr int min_blocks() { return BN == 64 && KW == 8 ? 2 : 1; }

template <typename T, int BN, int KW>
__global__ void __launch_bounds__(kThreads, min_blocks<BN, KW>()) wgmma_gemm_kernel(const WgmmaArgs args) {
#if defined(TCONV_WGMMA_DEVICE)
  constexpr int P = WordPack<T>::values;
  constexpr int kGroups = KW / 4;                           // 4-word groups per chunk
  constexpr int kUnits = kMaxWindow * kGroups / kThreads;  // window units per thread
  extern __shared__ __align__(128) uint8_t smem[];
  __shared__ int64_t row_offset[kBM];        // output offset of each tile pixel, -1 past the phase
  __shared__ int32_t tap_window[kMaxTaps];   // window pixel offset of each tap
  __shared__ int64_t tap_weight[kMaxTaps];   // packed-weight word offset of each tap

  const ConvArgs& a = args.conv;
  const ConvTransposeGeometry& g = a.geometry;
  const AxisGeometry& H = g.h;
  const AxisGeometry& W = g.w;
  const BlockCoords bc = window::decode_block(blockIdx.x, args.dims);
  const int64_t rh = bc.phase / W.stride, rw = bc.phase % W.stride;
  const PhaseWindow pw = window::phase_window(H, W, rh, rw, kRows, kCols);
  if (!window::block_active(pw, bc)) return;  // this phase has fewer tiles than the largest

  const int tid = threadIdx.x, warpgroup = tid / 128, warp = (tid / 32) % 4, lane = tid % 32;
  const Strides4& os = args.output_strides;
  const int64_t co_base = bc.n_tile * BN;
  const int taps = static_cast<int>(pw.taps);
  row_offset[tid] = window::tile_output_offset(H, W, rh, rw, pw, bc, kRows, kCols, tid / kCols,
                                               tid % kCols, os.n, os.h, os.w);
  if (tid < taps) {
    const int64_t jh = tid / pw.tw.tap_count, jw = tid % pw.tw.tap_count;
    const int64_t kh = pw.th.first_tap + jh * pw.th.tap_step, kw = pw.tw.first_tap + jw * pw.tw.tap_step;
    tap_window[tid] = static_cast<int32_t>(window::tap_offset(pw, jh, jw));
    tap_weight[tid] = (kh * W.kernel + kw) * args.cout_padded * args.cin_words;
  }
  __syncthreads();

  float acc[2][BN / 2];
#pragma unroll
  for (int r = 0; r < 2; ++r)
#pragma unroll
    for (int i = 0; i < BN / 2; ++i) acc[r][i] = 0.0f;

  if (taps > 0) {
    // This thread's window units (pixel, 4-word group) for every chunk: the pixel's in-image input
    // offset (-1 outside the input) and where the unit goes in a stage. Threads without a unit
    // store zeros to a scratch slot: no branch between the wgmma issue and its wait (ptxas
    // serialises wgmma around divergent code).
    const Strides4& is = a.input_strides;
    const int window_pixels = static_cast<int>(pw.wr * pw.wc);
    const T* x = static_cast<const T*>(a.input) + bc.image * is.n + bc.group * args.cin_g * is.c;
    const uint32_t base = shared_address(smem);
    // Unit k: its pixel's address of its group's first channel in chunk 0 (pixel (0, 0) of the
    // image when the pixel lies outside the input: valid memory, zeroed by unit_in), that first
    // channel, and its stage slot (relative to the stage, or absolute for the scratch slot).
    const T* unit_ptr[kUnits];
    bool unit_in[kUnits];
    int32_t unit_slot[kUnits], unit_first[kUnits];
    bool unit_scratch[kUnits];
#pragma unroll
    for (int k = 0; k < kUnits; ++k) {
      const int u = tid + k * kThreads;
      unit_ptr[k] = x;
      unit_in[k] = false;
      unit_first[k] = 0;
      unit_slot[k] = static_cast<int32_t>(args.scratch);
      unit_scratch[k] = true;
      if (u < kGroups * window_pixels) {
        const int group4 = u / window_pixels, pixel = u % window_pixels;
        const int64_t ih = window::window_input_row(pw, bc.tile_r, kRows, pixel / pw.wc);
        const int64_t iw = window::window_input_col(pw, bc.tile_c, kCols, pixel % pw.wc);
        unit_in[k] = ih >= 0 && ih < H.in && iw >= 0 && iw < W.in;
        unit_first[k] = group4 * 4 * P;
        unit_ptr[k] = x + unit_first[k] * is.c + (unit_in[k] ? ih * is.h + iw * is.w : 0);
        unit_slot[k] = static_cast<int32_t>(group4 * args.group_bytes + pixel * 16);
        unit_scratch[k] = false;
      }
    }
    T raw[kUnits][4][P];
    // Whole chunks (all but a partial last one) load without channel bounds: one address step
    // per value, the out-of-input pixels zeroed by a select (the staging's per-value integer work
    // was most of this kernel's issue slots: ncu, 0.38 instructions per cycle and scheduler).
    auto load_chunk = [&](int chunk) {
      const int64_t cs = is.c;
      const int64_t chunk_offset = int64_t(chunk) * KW * P * cs;
      if ((chunk + 1) * KW * P <= args.cin_g) {
#pragma unroll
        for (int k = 0; k < kUnits; ++k) {
          const T* q = unit_ptr[k] + chunk_offset;
#pragma unroll
          for (int v = 0; v < 4 * P; ++v, q += cs) {
            const T value = load_readonly(q);
            raw[k][v / P][v % P] = unit_in[k] ? value : T(0.0f);
          }
        }
      } else {
#pragma unroll
        for (int k = 0; k < kUnits; ++k)
#pragma unroll
          for (int v = 0; v < 4 * P; ++v) {
            const int channel = chunk * KW * P + unit_first[k] + v;
            raw[k][v / P][v % P] = unit_in[k] && channel < args.cin_g
                                       ? load_readonly(unit_ptr[k] + chunk_offset + v * cs)
                                       : T(0.0f);
          }
      }
    };
    auto store_chunk = [&](uint32_t stage) {
#pragma unroll
      for (int k = 0; k < kUnits; ++k)
        st_shared_v4((unit_scratch[k] ? base : stage) + unit_slot[k],
                     make_word<false>(raw[k][0][0], raw[k][0][P - 1]),
                     make_word<false>(raw[k][1][0], raw[k][1][P - 1]),
                     make_word<false>(raw[k][2][0], raw[k][2][P - 1]),
                     make_word<false>(raw[k][3][0], raw[k][3][P - 1]));
    };
    const uint32_t* w_group = args.packed_weight +
                              bc.group * g.h.kernel * g.w.kernel * args.cout_padded * args.cin_words +
                              co_base * args.cin_words;
    auto issue_weights = [&](int chunk, uint32_t stage) {
      const int copies = taps * kGroups * BN;  // 16-byte copies: [tap][group of 4 words][BN]
      for (int i = tid; i < copies; i += kThreads) {
        const int co = i % BN, group4 = (i / BN) % kGroups, t = i / (kGroups * BN);
        const uint32_t* src = w_group + tap_weight[t] + co * args.cin_words + chunk * KW + group4 * 4;
        cp_async16(stage + args.b_offset + ((t * kGroups + group4) * BN + co) * 16, src);
      }
      cp_async_commit();
    };

    // The tap count through a shuffle: ptxas then knows the wgmma loop's bound is warp-uniform;
    // with a bound it can't prove uniform it serialises every wgmma (C7520; measured 8.3 ms on
    // KernelBench 57 that way).
    const int uniform_taps = __shfl_sync(0xffffffff, taps, 0);
    load_chunk(0);
    issue_weights(0, base);
    store_chunk(base);
    cp_async_wait_all();
    wgmma::fence_proxy_async();
    __syncthreads();
#pragma unroll 1
    for (int chunk = 0; chunk < args.chunks; ++chunk) {
      const uint32_t cur = base + (chunk & 1) * args.stage_bytes;
      const uint32_t nxt = base + ((chunk & 1) ^ 1) * args.stage_bytes;
      // The last chunk loads and stores its own data again (into the stage no one reads next):
      // no branch around the wgmma region.
      const int next = chunk + 1 < args.chunks ? chunk + 1 : chunk;
      issue_weights(next, nxt);
      load_chunk(next);
      wgmma::fence();
#pragma unroll 1
      for (int t = 0; t < uniform_taps; ++t) {
#pragma unroll
        for (int ks = 0; ks < KW / 8; ++ks) {
          const uint64_t b_desc =
              wgmma::descriptor(cur + args.b_offset + (t * kGroups + 2 * ks) * BN * 16, BN * 16, 128);
#pragma unroll
          for (int r = 0; r < 2; ++r) {
            const int row = warpgroup * 2 + r;
            const uint32_t a_address =
                cur + 2 * ks * args.group_bytes + (row * static_cast<int>(pw.wc) + tap_window[t]) * 16;
            mma_row<T, BN>(acc[r], wgmma::descriptor(a_address, args.group_bytes, 128), b_desc);
          }
        }
      }
      wgmma::commit();
      store_chunk(nxt);
      cp_async_wait_all();
      wgmma::wait_all();
      wgmma::fence_proxy_async();
      __syncthreads();
    }
  }

  // Epilogue: accumulators -> shared [n][m] -> output (+ bias, cast). The K loop's last barrier
  // ordered every read of the stages before this reuse; a bias-only block never used them.
  constexpr int kStride = kBM + 4;
  float* c_stage = reinterpret_cast<float*>(smem);
  {
    const int fg = lane / 4, ft = lane % 4;
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      const int m = (warpgroup * 2 + r) * kCols + warp * 16 + fg;
#pragma unroll
      for (int j = 0; j < BN / 8; ++j) {
        const int n = 8 * j + 2 * ft;
        c_stage[n * kStride + m] = acc[r][4 * j];
        c_stage[(n + 1) * kStride + m] = acc[r][4 * j + 1];
        c_stage[n * kStride + m + 8] = acc[r][4 * j + 2];
        c_stage[(n + 1) * kStride + m + 8] = acc[r][4 * j + 3];
      }
    }
  }
  __syncthreads();
  const int co_count = static_cast<int>(args.cout_g - co_base < BN ? args.cout_g - co_base : BN);
  store_tile<T, kBM, BN, kThreads>(c_stage, kStride, row_offset, static_cast<const T*>(a.bias),
                                   static_cast<T*>(a.output), bc.group * args.cout_g + co_base, co_count, os.c,
                                   a.output_channels_last);
#elif defined(__CUDA_ARCH__)
  __trap();  // never launched: supported() requires the sm_90a code's device
#endif
}

// ---------------------------------------------------------------------------------------------
// Host side.

struct WgmmaPlan {
  bool ok = false;
  int bn = 64, kw = 16;
  int64_t cin_words = 0, cout_padded = 0, chunks = 0;
  BlockDims dims{1, 1, 1, 1, 1, 0};
  uint32_t group_bytes = 0, b_offset = 0, stage_bytes = 0, scratch = 0;
  int64_t smem_bytes = 0;
};

// Compute capability 9.0 (the sm_90a code runs there only), once per device.
bool device_is_hopper() {
  constexpr int kMaxDevices = 64;
  static std::once_flag once[kMaxDevices];
  static bool hopper[kMaxDevices];
  int device = 0;
  if (cudaGetDevice(&device) != cudaSuccess || device < 0 || device >= kMaxDevices) return false;
  std::call_once(once[device], [device] {
    int major = 0, minor = 0;
    const bool known =
        cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device) == cudaSuccess &&
        cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, device) == cudaSuccess;
    hopper[device] = known && major == 9 && minor == 0;
  });
  return hopper[device];
}

WgmmaPlan plan_for(const ConvArgs& args) {
  WgmmaPlan pl;
  const ConvTransposeGeometry& g = args.geometry;
  const bool dtype_ok = (args.dtype == DType::Float32 && args.allow_tf32) ||
                        args.dtype == DType::BFloat16 || args.dtype == DType::Float16;
  if (!dtype_ok || !device_is_hopper()) return pl;
  const int64_t P = args.dtype == DType::Float32 ? 1 : 2;
  const int64_t cin_g = g.in_channels_per_group(), cout_g = g.out_channels_per_group();
  if (cin_g <= 0 || cout_g <= 0 || cin_g > (int64_t(1) << 30)) return pl;
  const Strides4& is = args.input_strides;
  // int32 in-image offsets (the channel term is 64-bit).
  if ((g.h.in - 1) * is.h + (g.w.in - 1) * is.w >= (int64_t(1) << 31) || is.h < 0 || is.w < 0 ||
      is.c < 0)
    return pl;
  pl.bn = cout_g <= 64 ? 64 : 128;
  const int64_t n_tiles = (cout_g + pl.bn - 1) / pl.bn;
  pl.cout_padded = n_tiles * pl.bn;
  const AxisGeometry& H = g.h;
  const AxisGeometry& W = g.w;
  int64_t tiles_r = 0, tiles_c = 0, window_max = 0, taps_max = 0;
  for (int64_t ph = 0; ph < H.stride * W.stride; ++ph) {
    const PhaseWindow p = window::phase_window(H, W, ph / W.stride, ph % W.stride, kRows, kCols);
    tiles_r = std::max(tiles_r, p.tiles_r);
    tiles_c = std::max(tiles_c, p.tiles_c);
    if (p.taps == 0) continue;
    window_max = std::max(window_max, p.wr * p.wc);
    taps_max = std::max(taps_max, p.taps);
  }
  if (window_max > kMaxWindow || taps_max > kMaxTaps) return pl;
  // Chunk size: 8 channel words when BN is 64 and two blocks fit per SM (the staging of one block
  // overlaps the other's wgmmas), else 16 (two wgmma K steps per tap between barriers), else 8.
  const int64_t words = (cin_g + P - 1) / P;
  for (int kw : {8, 16, 8}) {
    pl.kw = kw;
    pl.cin_words = (words + kw - 1) / kw * kw;
    pl.chunks = pl.cin_words / kw;
    pl.group_bytes = static_cast<uint32_t>((window_max + 7) / 8 * 8 * 16);
    pl.b_offset = (kw / 4) * pl.group_bytes;
    const int64_t weights = taps_max * (kw / 4) * pl.bn * 16;
    pl.stage_bytes = static_cast<uint32_t>((pl.b_offset + weights + 127) / 128 * 128);
    pl.scratch = 2 * pl.stage_bytes;
    pl.smem_bytes = std::max<int64_t>(pl.scratch + 16, int64_t(pl.bn) * (kBM + 4) * 4);
    if (kw == 8 && pl.bn == 64 && pl.smem_bytes <= 110 * 1024) break;  // two blocks per SM
    if (kw == 16 && pl.smem_bytes <= 200 * 1024) break;  // the opt-in maximum less the static tables
  }
  if (pl.smem_bytes > 200 * 1024) return pl;
  pl.dims = BlockDims{H.stride * W.stride, n_tiles, g.groups, tiles_c, tiles_r, g.batch};
  pl.ok = pl.dims.blocks() > 0 && pl.dims.blocks() <= 0x7fffffff;
  return pl;
}

template <typename T, int BN, int KW>
cudaError_t launch_kernel(const WgmmaArgs& args, const WgmmaPlan& plan, cudaStream_t stream) {
  constexpr auto kernel = wgmma_gemm_kernel<T, BN, KW>;
  int64_t limit = 0;
  const cudaError_t e = raise_dynamic_shared_memory_limit<kernel>(&limit);
  if (e != cudaSuccess) return e;
  if (plan.smem_bytes > limit) return cudaErrorInvalidConfiguration;
  const size_t smem = static_cast<size_t>(plan.smem_bytes);
  kernel<<<static_cast<unsigned>(plan.dims.blocks()), kThreads, smem, stream>>>(args);
  return cudaGetLastError();
}

template <typename T>
cudaError_t launch_typed(const ConvArgs& conv, void* workspace, cudaStream_t stream) {
  const WgmmaPlan plan = plan_for(conv);
  if (!plan.ok) return cudaErrorInvalidValue;
  const ConvTransposeGeometry& g = conv.geometry;
  WgmmaArgs args;
  args.conv = conv;
  args.packed_weight = static_cast<const uint32_t*>(workspace);
  args.output_strides = output_strides(conv);
  args.dims = plan.dims;
  args.cin_words = plan.cin_words;
  args.cout_padded = plan.cout_padded;
  args.cout_g = g.out_channels_per_group();
  args.cin_g = static_cast<int>(g.in_channels_per_group());
  args.chunks = static_cast<int>(plan.chunks);
  args.group_bytes = plan.group_bytes;
  args.b_offset = plan.b_offset;
  args.stage_bytes = plan.stage_bytes;
  args.scratch = plan.scratch;

  const cudaError_t e = pack_weights<T, false>(conv.weight, workspace, g, plan.cin_words, plan.cout_padded, stream);
  if (e != cudaSuccess) return e;
  if (plan.kw == 16)
    return plan.bn == 64 ? launch_kernel<T, 64, 16>(args, plan, stream)
                         : launch_kernel<T, 128, 16>(args, plan, stream);
  return plan.bn == 64 ? launch_kernel<T, 64, 8>(args, plan, stream)
                       : launch_kernel<T, 128, 8>(args, plan, stream);
}

}  // namespace

bool wgmma_gemm_supported(const ConvArgs& args) { return plan_for(args).ok; }

size_t wgmma_gemm_workspace_bytes(const ConvArgs& args) {
  const WgmmaPlan plan = plan_for(args);
  if (!plan.ok) return 0;
  const ConvTransposeGeometry& g = args.geometry;
  return size_t(g.groups * g.h.kernel * g.w.kernel * plan.cout_padded * plan.cin_words) * sizeof(uint32_t);
}

cudaError_t launch_wgmma_gemm(const ConvArgs& args, void* workspace, cudaStream_t stream) {
  switch (args.dtype) {
    case DType::Float32: return launch_typed<float>(args, workspace, stream);
    case DType::Float16: return launch_typed<__half>(args, workspace, stream);
    case DType::BFloat16: return launch_typed<__nv_bfloat16>(args, workspace, stream);
    case DType::Float64: return cudaErrorInvalidValue;
  }
  return cudaErrorInvalidValue;
}

}  // namespace cuda
}  // namespace tconv
