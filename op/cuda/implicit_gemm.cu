// Tensor-core implicit GEMM for compute-bound transposed convolutions (mma.sync, sm_80 and newer).
//
// Each phase (rh, rw) of the output is an ordinary GEMM (see geometry.h):
//   M = batch x (output rows of phase rh) x (output columns of phase rw)   -- output pixels
//   N = out_channels / groups
//   K = (taps of rh) x (taps of rw) x in_channels/groups                     -- tap-major
//   A[m, k] = input pixel the tap reads (zero outside the input), gathered straight from the
//             input's own strides (NCHW, channels_last or a view): no im2col buffer;
//   B[k, n] = the tap's weight, packed once per call (pack_weights below);
//   C[m, n] + bias -> output, in the output's memory format.
// One launch covers every phase and group: blockIdx enumerates (phase, n-tile, m-tile, group), phase
// fastest so that the blocks writing interleaved columns of the same output rows run together.
// Phases without taps run no K loop and store the bias, so every output element is written once.
//
// Block tile 128 (M) x 64 (N), 8 warps of 32x32, K staged 16 32-bit words at a time: a word is one
// TF32 value, or a pair of consecutive-k bf16/fp16 values. In word units the m16n8k8 TF32 and the
// m16n8k16 16-bit fragments have the same layout, so one kernel body serves all three types.
// Shared-memory rows are padded by 8 words, which makes every fragment load conflict-free.
// Global->shared copies are double-buffered through registers: the next K tile's loads are in
// flight while the tensor cores work on the current one.
#include <algorithm>

#include "element.cuh"
#include "launch.h"

namespace tconv {
namespace cuda {
namespace {

constexpr int kBlockM = 128;
constexpr int kBlockN = 64;
constexpr int kTileWords = 16;  // K words per stage
constexpr int kThreads = 256;
constexpr int kPadA = kBlockM + 8;
constexpr int kPadB = kBlockN + 8;
constexpr int kPadC = kBlockM + 4;

template <typename T> struct WordPack { static constexpr int values = 2; };  // bf16, fp16
template <> struct WordPack<float> { static constexpr int values = 1; };

__device__ __forceinline__ uint32_t to_tf32(float v) {
  uint32_t r;
  asm("cvt.rna.tf32.f32 %0, %1;" : "=r"(r) : "f"(v));
  return r;
}

// A word of the A or B operand built from values at k and k+1 (k+1 unused for TF32).
__device__ __forceinline__ uint32_t make_word(float lo, float) { return to_tf32(lo); }
__device__ __forceinline__ uint32_t make_word(__half lo, __half hi) {
  return uint32_t(__half_as_ushort(lo)) | (uint32_t(__half_as_ushort(hi)) << 16);
}
__device__ __forceinline__ uint32_t make_word(__nv_bfloat16 lo, __nv_bfloat16 hi) {
  return uint32_t(__bfloat16_as_ushort(lo)) | (uint32_t(__bfloat16_as_ushort(hi)) << 16);
}

__device__ __forceinline__ void mma(float (&c)[4], const uint32_t (&a)[4], const uint32_t (&b)[2],
                                    float) {
  asm volatile(
      "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
      "{%0,%1,%2,%3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}
__device__ __forceinline__ void mma(float (&c)[4], const uint32_t (&a)[4], const uint32_t (&b)[2],
                                    __nv_bfloat16) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
      "{%0,%1,%2,%3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}
__device__ __forceinline__ void mma(float (&c)[4], const uint32_t (&a)[4], const uint32_t (&b)[2],
                                    __half) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
      "{%0,%1,%2,%3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}

// The packed weight is [group][kh][kw][in-channel word][out channel], in-channels padded to whole K
// tiles and out-channels to whole N tiles with zeros, so the main loop needs no bounds checks.
template <typename T>
int64_t padded_cin_words(const ConvTransposeGeometry& g) {
  const int64_t k_tile = kTileWords * WordPack<T>::values;
  return (g.in_channels_per_group() + k_tile - 1) / k_tile * kTileWords;
}
int64_t padded_cout(const ConvTransposeGeometry& g) {
  return (g.out_channels_per_group() + kBlockN - 1) / kBlockN * kBlockN;
}

template <typename T>
__global__ void pack_weights_kernel(const T* __restrict__ weight, uint32_t* __restrict__ packed,
                                    ConvTransposeGeometry g, int64_t cin_words, int64_t cout_padded) {
  constexpr int P = WordPack<T>::values;
  const int64_t cin_g = g.in_channels_per_group(), cout_g = g.out_channels_per_group();
  const int64_t KH = g.h.kernel, KW = g.w.kernel;
  const int64_t total = g.groups * KH * KW * cin_words * cout_padded;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total;
       i += int64_t(gridDim.x) * blockDim.x) {
    int64_t r = i;
    const int64_t co = r % cout_padded; r /= cout_padded;
    const int64_t cw = r % cin_words; r /= cin_words;
    const int64_t kw = r % KW; r /= KW;
    const int64_t kh = r % KH;
    const int64_t group = r / KH;
    T v[2] = {T(0.0f), T(0.0f)};
#pragma unroll
    for (int p = 0; p < P; ++p) {
      const int64_t ci = cw * P + p;
      if (ci < cin_g && co < cout_g)
        v[p] = weight[(((group * cin_g + ci) * cout_g + co) * KH + kh) * KW + kw];
    }
    packed[i] = make_word(v[0], v[1]);
  }
}

struct GemmArgs {
  ConvArgs conv;
  const uint32_t* packed_weight;
  Strides4 output_strides;
  int64_t cin_words, cout_padded;
  int64_t m_tiles, n_tiles;
};

template <typename T>
__global__ void __launch_bounds__(kThreads, 2) implicit_gemm_kernel(const GemmArgs args) {
  constexpr int P = WordPack<T>::values;
  __shared__ __align__(16) uint32_t smem[2 * kTileWords * (kPadA + kPadB) > kBlockN * kPadC
                                            ? 2 * kTileWords * (kPadA + kPadB)
                                            : kBlockN * kPadC];
  uint32_t* a_stage = smem;                            // [2][kTileWords][kPadA]
  uint32_t* b_stage = smem + 2 * kTileWords * kPadA;   // [2][kTileWords][kPadB]

  const ConvArgs& a = args.conv;
  const ConvTransposeGeometry& g = a.geometry;
  const AxisGeometry& H = g.h;
  const AxisGeometry& W = g.w;
  const int phases = static_cast<int>(H.stride * W.stride);

  int64_t b = blockIdx.x;
  const int phase = static_cast<int>(b % phases); b /= phases;
  const int64_t n_tile = b % args.n_tiles; b /= args.n_tiles;
  const int64_t m_tile = b % args.m_tiles;
  const int64_t group = b / args.m_tiles;
  const int64_t rh = phase / W.stride, rw = phase % W.stride;

  const int64_t rows = H.phase_output_count(rh), cols = W.phase_output_count(rw);
  const int64_t M = g.batch * rows * cols;
  if (m_tile * kBlockM >= M) return;  // this phase has fewer pixels than the largest one

  const PhaseTaps th = H.taps(rh), tw = W.taps(rw);
  const int64_t cin_g = g.in_channels_per_group(), cout_g = g.out_channels_per_group();
  const int tid = threadIdx.x, lane = tid % 32, warp = tid / 32;

  // This thread's A row (output pixel) for loading: fixed for the whole K loop.
  const int load_m = tid % kBlockM;
  const int64_t m = m_tile * kBlockM + load_m;
  const bool m_valid = m < M;
  int64_t qh = 0, qw = 0, n = 0;
  if (m_valid) {
    n = m / (rows * cols);
    const int64_t pix = m % (rows * cols);
    qh = H.phase_first_q(rh) + pix / cols;
    qw = W.phase_first_q(rw) + pix % cols;
  }
  const T* x = static_cast<const T*>(a.input) + n * a.input_strides.n +
               group * cin_g * a.input_strides.c;

  const int64_t ci_tiles = args.cin_words / kTileWords;
  const int64_t k_tiles = th.tap_count * tw.tap_count * ci_tiles;
  const int64_t co_base = n_tile * kBlockN;
  const uint32_t* w_group = args.packed_weight +
                            group * H.kernel * W.kernel * args.cin_words * args.cout_padded;

  // Register stage of one K tile: 8 A words (rows tid/128 + 2i) and 4 B words (rows tid/64 + 4i).
  // A is kept as loaded and converted to words only when stored to shared memory, so the loads of
  // tile k+1 stay in flight while the tensor cores work on tile k.
  T a_raw[8][2];
  uint32_t b_regs[4];
  auto load_tile = [&](int64_t kt) {
    // K-tile counts are small: 32-bit division is much cheaper than 64-bit here.
    const int tile = static_cast<int>(kt), tiles_per_tap = static_cast<int>(ci_tiles);
    const int tap = tile / tiles_per_tap, ci_word0 = (tile % tiles_per_tap) * kTileWords;
    const int jh = tap / static_cast<int>(tw.tap_count), jw = tap % static_cast<int>(tw.tap_count);
    const int64_t ih = qh - th.input_offset - jh * th.input_step;
    const int64_t iw = qw - tw.input_offset - jw * tw.input_step;
    const bool pixel_in = m_valid && ih >= 0 && ih < H.in && iw >= 0 && iw < W.in;
    // Row i of this thread holds channels ci_first + 2*P*i (+1 for 16-bit words): walk them by a
    // constant pointer step instead of a 64-bit multiply per value.
    const int64_t ci_first = (int64_t(ci_word0) + tid / kBlockM) * P;
    const int64_t channel_step = 2 * P * a.input_strides.c;
    const T* src = x + ih * a.input_strides.h + iw * a.input_strides.w + ci_first * a.input_strides.c;
    if (ci_first + 15 * P <= cin_g) {  // every channel this thread loads is inside the group
#pragma unroll
      for (int i = 0; i < 8; ++i, src += channel_step)
#pragma unroll
        for (int p = 0; p < P; ++p)
          a_raw[i][p] = pixel_in ? load_readonly(src + p * a.input_strides.c) : T(0.0f);
    } else {
#pragma unroll
      for (int i = 0; i < 8; ++i, src += channel_step)
#pragma unroll
        for (int p = 0; p < P; ++p)
          a_raw[i][p] = (pixel_in && ci_first + 2 * P * i + p < cin_g)
                            ? load_readonly(src + p * a.input_strides.c)
                            : T(0.0f);
    }
    const int64_t kh = th.first_tap + jh * th.tap_step, kw = tw.first_tap + jw * tw.tap_step;
    const uint32_t* w_row = w_group + ((kh * W.kernel + kw) * args.cin_words + ci_word0 + tid / kBlockN) *
                                          args.cout_padded + co_base + tid % kBlockN;
    const int64_t w_step = 4 * args.cout_padded;
#pragma unroll
    for (int i = 0; i < 4; ++i, w_row += w_step) b_regs[i] = __ldg(w_row);
  };
  auto store_tile = [&](int buffer) {
    uint32_t* as = a_stage + buffer * kTileWords * kPadA;
    uint32_t* bs = b_stage + buffer * kTileWords * kPadB;
#pragma unroll
    for (int i = 0; i < 8; ++i)
      as[(tid / kBlockM + 2 * i) * kPadA + tid % kBlockM] = make_word(a_raw[i][0], a_raw[i][P - 1]);
#pragma unroll
    for (int i = 0; i < 4; ++i) bs[(tid / kBlockN + 4 * i) * kPadB + tid % kBlockN] = b_regs[i];
  };

  float acc[2][4][4];
#pragma unroll
  for (int i = 0; i < 2; ++i)
#pragma unroll
    for (int j = 0; j < 4; ++j)
#pragma unroll
      for (int r = 0; r < 4; ++r) acc[i][j][r] = 0.0f;

  const int warp_m = (warp % 4) * 32, warp_n = (warp / 4) * 32;
  const int fg = lane / 4, ft = lane % 4;  // fragment row group and thread-in-group
  if (k_tiles > 0) {
    load_tile(0);
    store_tile(0);
    __syncthreads();
  }
  for (int64_t kt = 0; kt < k_tiles; ++kt) {
    const int buffer = static_cast<int>(kt & 1);
    if (kt + 1 < k_tiles) load_tile(kt + 1);
    const uint32_t* as = a_stage + buffer * kTileWords * kPadA;
    const uint32_t* bs = b_stage + buffer * kTileWords * kPadB;
#pragma unroll
    for (int ks = 0; ks < kTileWords; ks += 8) {
      uint32_t af[2][4], bf[4][2];
#pragma unroll
      for (int i = 0; i < 2; ++i) {
        const int row = warp_m + i * 16 + fg;
        af[i][0] = as[(ks + ft) * kPadA + row];
        af[i][1] = as[(ks + ft) * kPadA + row + 8];
        af[i][2] = as[(ks + ft + 4) * kPadA + row];
        af[i][3] = as[(ks + ft + 4) * kPadA + row + 8];
      }
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        const int col = warp_n + j * 8 + fg;
        bf[j][0] = bs[(ks + ft) * kPadB + col];
        bf[j][1] = bs[(ks + ft + 4) * kPadB + col];
      }
#pragma unroll
      for (int i = 0; i < 2; ++i)
#pragma unroll
        for (int j = 0; j < 4; ++j) mma(acc[i][j], af[i], bf[j], T(0.0f));
    }
    if (kt + 1 < k_tiles) store_tile(buffer ^ 1);
    __syncthreads();
  }

  // Epilogue: accumulators -> shared [n][m] -> output (+ bias, cast), in the output's layout.
  // The K loop's last barrier ordered every fragment read before this reuse of the buffer.
  float* c_stage = reinterpret_cast<float*>(smem);
#pragma unroll
  for (int i = 0; i < 2; ++i)
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      const int row = warp_m + i * 16 + fg, col = warp_n + j * 8 + 2 * ft;
      c_stage[col * kPadC + row] = acc[i][j][0];
      c_stage[(col + 1) * kPadC + row] = acc[i][j][1];
      c_stage[col * kPadC + row + 8] = acc[i][j][2];
      c_stage[(col + 1) * kPadC + row + 8] = acc[i][j][3];
    }
  __syncthreads();

  const T* bias = static_cast<const T*>(a.bias);
  T* out = static_cast<T*>(a.output);
  const Strides4& os = args.output_strides;
  const int64_t co_count = cout_g - co_base < kBlockN ? cout_g - co_base : kBlockN;
  // Pixel offset of tile row r in the output, or -1 past the phase's last pixel.
  auto pixel_offset = [&](int r) -> int64_t {
    const int64_t mm = m_tile * kBlockM + r;
    if (mm >= M) return -1;
    const int64_t nn = mm / (rows * cols), pix = mm % (rows * cols);
    const int64_t oh = H.phase_output_index(rh, pix / cols), ow = W.phase_output_index(rw, pix % cols);
    return nn * os.n + oh * os.h + ow * os.w;
  };
  const int64_t channel0 = group * cout_g + co_base;
  if (!a.output_channels_last) {
    // Consecutive threads take consecutive pixels of one channel: runs along output rows.
    const int r = tid % kBlockM;
    const int64_t offset = pixel_offset(r);
    if (offset >= 0) {
      for (int c = tid / kBlockM; c < co_count; c += kThreads / kBlockM) {
        const float bias_v = bias ? to_acc(bias[channel0 + c]) : 0.0f;
        out[offset + (channel0 + c) * os.c] = from_acc<T>(c_stage[c * kPadC + r] + bias_v);
      }
    }
  } else {
    // Consecutive threads take consecutive channels of one pixel: contiguous in channels_last.
    const int c = tid % kBlockN;
    if (c < co_count) {
      const float bias_v = bias ? to_acc(bias[channel0 + c]) : 0.0f;
      for (int r = tid / kBlockN; r < kBlockM; r += kThreads / kBlockN) {
        const int64_t offset = pixel_offset(r);
        if (offset >= 0) out[offset + (channel0 + c) * os.c] = from_acc<T>(c_stage[c * kPadC + r] + bias_v);
      }
    }
  }
}

template <typename T>
cudaError_t launch_typed(const ConvArgs& conv, void* workspace, cudaStream_t stream) {
  const ConvTransposeGeometry& g = conv.geometry;
  GemmArgs args;
  args.conv = conv;
  args.cin_words = padded_cin_words<T>(g);
  args.cout_padded = padded_cout(g);
  args.packed_weight = static_cast<const uint32_t*>(workspace);
  const int64_t Ho = g.h.out, Wo = g.w.out, C = g.out_channels;
  args.output_strides = conv.output_channels_last ? Strides4{Ho * Wo * C, 1, Wo * C, C}
                                                  : Strides4{C * Ho * Wo, Ho * Wo, Wo, 1};
  const int64_t max_m = g.batch * g.h.max_phase_output_count() * g.w.max_phase_output_count();
  args.m_tiles = (max_m + kBlockM - 1) / kBlockM;
  args.n_tiles = args.cout_padded / kBlockN;

  const int64_t packed_words = g.groups * g.h.kernel * g.w.kernel * args.cin_words * args.cout_padded;
  const int64_t pack_blocks = std::min<int64_t>((packed_words + 255) / 256, 4096);
  pack_weights_kernel<T><<<static_cast<unsigned>(pack_blocks), 256, 0, stream>>>(
      static_cast<const T*>(conv.weight), static_cast<uint32_t*>(workspace), g, args.cin_words,
      args.cout_padded);
  cudaError_t e = cudaGetLastError();
  if (e != cudaSuccess) return e;

  const int64_t blocks = g.h.stride * g.w.stride * args.n_tiles * args.m_tiles * g.groups;
  if (blocks > 0x7fffffff) return cudaErrorInvalidConfiguration;
  implicit_gemm_kernel<T><<<static_cast<unsigned>(blocks), kThreads, 0, stream>>>(args);
  return cudaGetLastError();
}

template <typename T>
size_t workspace_bytes_typed(const ConvTransposeGeometry& g) {
  return size_t(g.groups * g.h.kernel * g.w.kernel * padded_cin_words<T>(g) * padded_cout(g)) *
         sizeof(uint32_t);
}

}  // namespace

bool implicit_gemm_supported(const ConvArgs& args, bool allow_tf32) {
  switch (args.dtype) {
    case DType::Float32: return allow_tf32;
    case DType::Float16:
    case DType::BFloat16: return true;
    case DType::Float64: return false;
  }
  return false;
}

size_t implicit_gemm_workspace_bytes(const ConvArgs& args) {
  switch (args.dtype) {
    case DType::Float32: return workspace_bytes_typed<float>(args.geometry);
    case DType::Float16: return workspace_bytes_typed<__half>(args.geometry);
    case DType::BFloat16: return workspace_bytes_typed<__nv_bfloat16>(args.geometry);
    case DType::Float64: return 0;
  }
  return 0;
}

cudaError_t launch_implicit_gemm(const ConvArgs& args, void* workspace, cudaStream_t stream) {
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
