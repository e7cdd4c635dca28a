// Shuffle GEMM: transposed convolutions whose kernel equals their stride (dilation 1, no
// output_padding), such as U-Net's 2x2 / stride-2 up-convolutions, on mma.sync: TF32 for float32
// when TF32 is allowed, bf16/fp16 with float32 accumulators.
//
// Why a kernel of its own. With kernel == stride every output pixel takes exactly one tap:
//   y[co][ih s_h + kh - p_h][iw s_w + kw - p_w] = bias[co] + sum_c x[c][ih][iw] w[c][co][kh][kw],
// so per image and group the layer is one plain GEMM whose result is the output pixel-shuffled:
//   C[m = (co, kh, kw)][n = (ih, iw)] = sum_k A[m][k] B[k][n],  A = the weights (M = cout_g x taps),
//   B = the input (K = cin_g, N = H x W: an NCHW channel is one contiguous row of B).
// The implicit GEMM (implicit_gemm.cu) takes these layers one phase at a time with M = pixels and
// gathers A through registers (two 16-bit loads and a PRMT per word, since NCHW keeps the channels
// of a word H*W apart): session 9 measured the U-Net layers at 17-24% of the GEMM rate and 16-35%
// of the copy floor. Here every operand comes by 16-byte cp.async: A from weights packed once per
// call as [group][m][k word], B straight from the input's channel rows.
//
// Tiles. A CTA computes 128 (M) x 128 (N) with 8 warps of 64 x 32 (4 x 4 m16n8 tiles, 64 float
// accumulators), K in stages of 32 words (64 bf16/fp16 or 32 TF32 channels), 3 in flight (cp.async
// groups), or of 16 words, 4 in flight, where 32 would pad K. Fragments: A by ldmatrix.x4 from
// [m][word] rows (stage words + 4 apart: the 8 rows of each 8x8 matrix in distinct bank groups);
// B, stored [channel][pixel] as the input holds it, by
// ldmatrix.x4.trans for 16-bit types (rows 272 bytes apart: 16 bytes apart modulo 128) and by
// scalar loads for TF32 (pitch 8 mod 32 words: conflict-free). TF32 rounds B in place: each thread
// rounds the chunks it copied as soon as they land, one stage ahead of the mma (A is packed
// pre-rounded).
//
// Epilogue. The accumulators, bias added and cast, go to shared memory as the output's rows: row
// (co, kh) of the tile holds, pixel after pixel, the KW outputs of each pixel, which are consecutive
// output columns. Each (row, input row) segment then leaves as 16-byte streaming stores (element by
// element where the output's alignment differs from the stage's, or at ragged ends). Every output
// element is written exactly once: with kernel == stride and no output_padding each is one
// (pixel, tap) of one CTA.
//
// The grid: one CTA per (M tile, N tile, group, image), M tiles fastest, so the CTAs that read the
// same input pixels run together and share them through L2.
#include <algorithm>

#include "element.cuh"
#include "launch.h"
#include "shared_memory_limit.cuh"
#include "tensor_core.cuh"

namespace tconv {
namespace cuda {
namespace {

using namespace tensor_core;

constexpr int kThreads = 256;
constexpr int kTileM = 128;                 // GEMM rows per CTA: (output channel, tap) pairs
constexpr int kTileN = 128;                 // input pixels per CTA
constexpr int kWarpsM = 2;                  // 2 x 4 warps of 64 x 32
constexpr int kMaxTaps = kTileM;            // taps per output channel: a power of two up to the tile

// K stages of WORDS words (16: two mma k-steps, 4 in flight; 32: four k-steps, 3 in flight).
template <typename T, int WORDS>
struct Shape {
  static constexpr int words = WORDS;
  static constexpr int stages = WORDS == 16 ? 4 : 3;
  static constexpr int a_pitch = WORDS + 4;                     // words per staged A row
  static constexpr int values = WordPack<T>::values;           // channels per word
  static constexpr int channels = WORDS * values;               // B rows per stage
  static constexpr int vector = 16 / sizeof(T);                 // elements per 16-byte chunk
  static constexpr int b_chunks = kTileN / vector;              // 16-byte chunks per B row
  static constexpr int b_pitch = kTileN * sizeof(T) + (sizeof(T) == 2 ? 16 : 32);  // bytes
  static constexpr int a_bytes = kTileM * a_pitch * 4;
  static constexpr int stage_bytes = a_bytes + channels * b_pitch;
  static constexpr int pipeline_bytes = stages * stage_bytes;
  // Copies: a thread takes the same 16-byte part of every A_ROWS-th A row and the same pixel chunk
  // of every B_ROWS-th B row.
  static constexpr int a_parts = WORDS / 4;
  static constexpr int a_rows = kThreads / a_parts, a_copies = kTileM / a_rows;
  static constexpr int b_rows = kThreads / b_chunks, b_copies = channels / b_rows;
  static_assert(a_copies * a_rows == kTileM && b_copies * b_rows == channels, "copies tile the threads");
};

struct ShuffleArgs {
  ConvArgs conv;
  Strides4 output_strides;
  const uint32_t* packed;  // [group][m_padded][k_words] operand words
  int tap_shift;           // log2(KH * KW)
  int kw_shift, kh_shift;  // log2(KW), log2(KH)
  int m_tiles, n_tiles;
  int stage_words;         // K words per stage: 16 or 32 (Shape)
  int k_words;             // multiple of stage_words
  int64_t m_padded;        // m_tiles * kTileM
  int64_t pixels;          // H * W
};

// Output bytes of the staged tile: 128 / KW rows of 128 KW elements, one 16-byte vector of padding.
template <typename T>
int64_t staged_bytes(int kw) {
  return int64_t(kTileM / kw) * (int64_t(kTileN) * kw + 16 / int64_t(sizeof(T))) * int64_t(sizeof(T));
}
template <typename T, int WORDS>
int64_t shared_bytes(int kw) {
  return std::max<int64_t>(Shape<T, WORDS>::pipeline_bytes, staged_bytes<T>(kw));
}

__host__ __device__ inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
__host__ __device__ inline int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

template <typename T, int WORDS>
__global__ void __launch_bounds__(kThreads, 2) shuffle_gemm_kernel(const ShuffleArgs p) {
  using S = Shape<T, WORDS>;
  constexpr int kStages = S::stages, kStageWords = S::words, kAPitch = S::a_pitch;
  constexpr bool kTF32 = sizeof(T) == 4;
  extern __shared__ __align__(16) unsigned char smem[];
  const uint32_t smem_base = shared_address(smem);

  const ConvTransposeGeometry& g = p.conv.geometry;
  int64_t cta = blockIdx.x;
  const int m_tile = static_cast<int>(cta % p.m_tiles);
  cta /= p.m_tiles;
  const int n_tile = static_cast<int>(cta % p.n_tiles);
  cta /= p.n_tiles;
  const int group = static_cast<int>(cta % g.groups);
  const int64_t image = cta / g.groups;
  const int cin_g = static_cast<int>(g.in_channels_per_group());
  const int cout_g = static_cast<int>(g.out_channels_per_group());
  const int tid = threadIdx.x, lane = tid % 32, warp = tid / 32;
  const int64_t p0 = int64_t(n_tile) * kTileN;  // the tile's first input pixel

  // Copies: A rows (m, 4-word part), B rows (channel of the stage, 16-byte chunk of pixels); the
  // same places in every stage.
  const uint32_t* a_src = p.packed + (int64_t(group) * p.m_padded + int64_t(m_tile) * kTileM) * p.k_words;
  const Strides4& xs = p.conv.input_strides;
  const T* x = static_cast<const T*>(p.conv.input) + image * xs.n + int64_t(group) * cin_g * xs.c;
  const int a_row = tid / S::a_parts, a_part = tid % S::a_parts;
  const uint32_t* a_thread = a_src + a_row * p.k_words + a_part * 4;
  const uint32_t a_target = (a_row * kAPitch + a_part * 4) * 4;
  const int b_row = tid / S::b_chunks, b_chunk = tid % S::b_chunks;
  const T* b_thread = x + p0 + b_chunk * S::vector;  // channel 0 of the group
  const int b_bytes = static_cast<int>(min64(max64(p.pixels - p0 - b_chunk * S::vector, 0), S::vector)) * int(sizeof(T));
  const uint32_t b_target = S::a_bytes + b_row * S::b_pitch + b_chunk * 16;
  auto copy_stage = [&](int s) {
    const uint32_t stage = smem_base + (s % kStages) * S::stage_bytes;
#pragma unroll
    for (int i = 0; i < S::a_copies; ++i)
      cp_async16(stage + a_target + i * S::a_rows * kAPitch * 4, a_thread + i * S::a_rows * p.k_words + s * kStageWords);
#pragma unroll
    for (int i = 0; i < S::b_copies; ++i) {
      const int channel = s * S::channels + b_row + i * S::b_rows;
      const bool inside = channel < cin_g && b_bytes > 0;  // else zero-filled, nothing read
      cp_async16_partial(stage + b_target + i * S::b_rows * S::b_pitch, inside ? b_thread + channel * xs.c : x,
                         inside ? b_bytes : 0);
    }
  };
  // TF32: the chunks this thread copied for stage s, rounded in place once they have landed.
  auto round_own_chunks = [&](int s) {
    if constexpr (kTF32) {
      unsigned char* stage = smem + (s % kStages) * S::stage_bytes + b_target;
#pragma unroll
      for (int i = 0; i < S::b_copies; ++i)
        round_to_tf32_in_place(reinterpret_cast<float*>(stage + i * S::b_rows * S::b_pitch), 4, 0, 1);
    }
  };

  const int warp_m = warp % kWarpsM, warp_n = warp / kWarpsM;
  const int fg = lane / 4, ft = lane % 4;
  // ldmatrix row addresses of this lane in stage 0, k-step 0. A: matrices (rows 0-7, words 0-3),
  // (8-15, 0-3), (0-7, 4-7), (8-15, 4-7) = a0..a3. B (16-bit, .trans): matrices (channels 0-7,
  // pixels 0-7), (8-15, 0-7), (0-7, 8-15), (8-15, 8-15) = b0, b1 of two n8 tiles.
  const uint32_t a_frag = ((warp_m * 64 + lane % 8 + ((lane / 8) % 2) * 8) * kAPitch + (lane / 16) * 4) * 4;
  const uint32_t b_frag = S::a_bytes + ((lane / 8) % 2 * 8 + lane % 8) * S::b_pitch + (warp_n * 32 + (lane / 16) * 8) * 2;
  // TF32 B: b0 = channel ft, b1 = channel ft + 4, pixel fg of each n8 tile.
  const int b_word = S::a_bytes + ft * S::b_pitch + (warp_n * 32 + fg) * 4;

  float acc[4][4][4];
  clear<4, 4>(acc);
  auto compute_stage = [&](int s) {
    const uint32_t stage = smem_base + (s % kStages) * S::stage_bytes;
#pragma unroll
    for (int ks = 0; ks < kStageWords / 8; ++ks) {
      uint32_t b[4][2];
      if constexpr (kTF32) {
#pragma unroll
        for (int nt = 0; nt < 4; ++nt) {
          const unsigned char* at = smem + (s % kStages) * S::stage_bytes + b_word + ks * 8 * S::b_pitch + nt * 8 * 4;
          b[nt][0] = *reinterpret_cast<const uint32_t*>(at);
          b[nt][1] = *reinterpret_cast<const uint32_t*>(at + 4 * S::b_pitch);
        }
      } else {
#pragma unroll
        for (int np = 0; np < 2; ++np) {
          uint32_t r[4];
          ldmatrix_x4_trans(r, stage + b_frag + ks * 16 * S::b_pitch + np * 16 * 2);
          b[2 * np][0] = r[0], b[2 * np][1] = r[1], b[2 * np + 1][0] = r[2], b[2 * np + 1][1] = r[3];
        }
      }
#pragma unroll
      for (int mt = 0; mt < 4; ++mt) {
        uint32_t a[4];
        ldmatrix_x4(a, stage + a_frag + mt * 16 * kAPitch * 4 + ks * 32);
#pragma unroll
        for (int nt = 0; nt < 4; ++nt) mma(acc[mt][nt], a, b[nt][0], b[nt][1], T());
      }
    }
  };

  // Pipeline: stages s + 1 .. s + kStages - 1 in flight while stage s is multiplied; one commit
  // group per stage, empty past the end. TF32 waits one stage further ahead, so that a stage is
  // rounded (by the threads that copied it) before the barrier that precedes its mma.
  constexpr int kPending = kTF32 ? kStages - 3 : kStages - 2;
  const int k_stages = p.k_words / kStageWords;
#pragma unroll
  for (int s = 0; s < kStages - 1; ++s) {
    if (s < k_stages) copy_stage(s);
    cp_async_commit();
  }
  if constexpr (kTF32) {
    cp_async_wait<kStages - 2>();
    round_own_chunks(0);
  }
  for (int s = 0; s < k_stages; ++s) {
    cp_async_wait<kPending>();
    if (kTF32 && s + 1 < k_stages) round_own_chunks(s + 1);
    __syncthreads();  // stage s complete and rounded everywhere; stage s - 1's slot free
    if (s + kStages - 1 < k_stages) copy_stage(s + kStages - 1);
    cp_async_commit();
    compute_stage(s);
  }
  cp_async_wait_all();
  __syncthreads();  // every stage read: the pipeline's memory takes the output tile

  // Accumulators -> the staged output rows, bias added and cast. Fragment element i: m = g + 8 (i / 2),
  // n = 2t + i % 2. Row (co, kh) = m / KW, column n KW + m % KW.
  const int KW = 1 << p.kw_shift;
  const int row_elements = kTileN * KW + S::vector;  // as staged_bytes
  T* staged = reinterpret_cast<T*>(smem);
  const T* bias = static_cast<const T*>(p.conv.bias);
  const int64_t channel0 = int64_t(group) * cout_g;  // the group's first output channel
  const int co0 = m_tile * (kTileM >> p.tap_shift);   // the tile's first channel in the group
#pragma unroll
  for (int mt = 0; mt < 4; ++mt)
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      const int m = warp_m * 64 + mt * 16 + fg + 8 * half;
      const int co = co0 + (m >> p.tap_shift);
      const float bias_v = bias != nullptr && co < cout_g ? to_acc(load_readonly(bias + channel0 + co)) : 0.0f;
      T* row = staged + (m >> p.kw_shift) * row_elements + (m & (KW - 1));
#pragma unroll
      for (int nt = 0; nt < 4; ++nt)
#pragma unroll
        for (int e = 0; e < 2; ++e) {
          const int n = warp_n * 32 + nt * 8 + 2 * ft + e;
          row[n * KW] = from_acc<T>(acc[mt][nt][2 * half + e] + bias_v);
        }
    }
  __syncthreads();

  // Stores: a warp per (row, input row) segment. Output columns of pixel (ih, iw) and tap kw are
  // ow = iw KW + kw - p_w, so a segment's outputs are consecutive, and so is its stage: output
  // column ow of input row ih sits at (ih W - p0) KW + p_w + ow of the staged row.
  const int64_t Ho = g.h.out, Wo = g.w.out, W = g.w.in;
  const int64_t p_end = min64(p0 + kTileN, p.pixels);
  const int64_t ih_first = p0 / W;
  const int segments = static_cast<int>((p_end - 1) / W - ih_first + 1);
  const int rows = kTileM >> p.kw_shift;
  const int KH = 1 << p.kh_shift;
  const Strides4& os = p.output_strides;
  T* out = static_cast<T*>(p.conv.output);
  for (int item = warp; item < rows * segments; item += kThreads / 32) {
    const int r = item % rows, segment = item / rows;
    const int co = co0 + (r >> p.kh_shift), kh = r & (KH - 1);
    const int64_t ih = ih_first + segment;
    const int64_t oh = ih * g.h.stride + kh - g.h.padding;
    if (co >= cout_g || oh < 0 || oh >= Ho) continue;
    const int64_t iw_begin = max64(p0, ih * W) - ih * W, iw_end = min64(p_end, (ih + 1) * W) - ih * W;
    const int64_t ow_begin = max64(iw_begin * KW - g.w.padding, 0);
    const int64_t ow_end = min64(iw_end * KW - g.w.padding, Wo);
    if (ow_begin >= ow_end) continue;
    // Element offsets of output column 0 of the segment's row: in the stage (may be negative; only
    // columns from ow_begin on are read) and in the output.
    const int64_t src0 = r * row_elements + (ih * W - p0) * KW + g.w.padding;
    const int64_t dst0 = image * os.n + (channel0 + co) * os.c + oh * os.h;
    // 16-byte chunks of the output row; whole ones go out as one store where the stage has the same
    // alignment (both offsets equal modulo a vector).
    const bool same_alignment = (dst0 - src0) % S::vector == 0;
    const int64_t shift = (dst0 + ow_begin) % S::vector;  // output elements before ow_begin in its chunk
    const int64_t chunks = (shift + ow_end - ow_begin + S::vector - 1) / S::vector;
    for (int64_t v = lane; v < chunks; v += 32) {
      const int64_t first = ow_begin - shift + v * S::vector;  // the chunk's first output column
      if (same_alignment && first >= ow_begin && first + S::vector <= ow_end) {
        __stcs(reinterpret_cast<int4*>(out + dst0 + first), *reinterpret_cast<const int4*>(staged + src0 + first));
      } else {
        for (int64_t ow = max64(first, ow_begin); ow < min64(first + S::vector, ow_end); ++ow)
          out[dst0 + ow] = staged[src0 + ow];
      }
    }
  }
}

// [group * cin_g + c][co][kh][kw] -> words [group][m = (co, kh, kw)][k word], zero past the group's
// channels and output channels; TF32 rounded, or bf16/fp16 channel pairs.
template <typename T>
__global__ void pack_shuffle_weights_kernel(const T* __restrict__ weight, uint32_t* __restrict__ packed,
                                            ConvTransposeGeometry g, int64_t m_padded, int64_t k_words) {
  constexpr int kValues = WordPack<T>::values;
  const int64_t cin_g = g.in_channels_per_group(), cout_g = g.out_channels_per_group();
  const int64_t taps = g.h.kernel * g.w.kernel;
  const int64_t total = g.groups * m_padded * k_words;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t word = i % k_words, m = (i / k_words) % m_padded, group = i / (k_words * m_padded);
    const int64_t co = m / taps, tap = m % taps;
    T v[2] = {from_acc<T>(0.0f), from_acc<T>(0.0f)};
#pragma unroll
    for (int e = 0; e < kValues; ++e) {
      const int64_t c = word * kValues + e;
      if (c < cin_g && co < cout_g) v[e] = weight[((group * cin_g + c) * cout_g + co) * taps + tap];
    }
    packed[i] = make_word<false>(v[0], v[kValues - 1]);
  }
}

int log2_exact(int64_t v) {  // v a power of two
  int s = 0;
  while ((int64_t(1) << s) < v) ++s;
  return s;
}

bool make_plan(const ConvArgs& args, ShuffleArgs* plan) {
  const ConvTransposeGeometry& g = args.geometry;
  if (args.dtype == DType::Float64 || (args.dtype == DType::Float32 && !args.allow_tf32)) return false;
  if (args.output_channels_last || reinterpret_cast<uintptr_t>(args.output) % 16 != 0) return false;
  for (const AxisGeometry* a : {&g.h, &g.w}) {
    if (a->kernel != a->stride || a->dilation != 1) return false;
    if (a->out != a->in * a->stride - 2 * a->padding) return false;  // output_padding 0
  }
  const int64_t taps = g.h.kernel * g.w.kernel;
  if (taps > kMaxTaps || (g.h.kernel & (g.h.kernel - 1)) != 0 || (g.w.kernel & (g.w.kernel - 1)) != 0) return false;
  // B rows: each channel's pixels contiguous (unit column stride, rows W apart), 16-byte aligned
  // chunks (channel and image strides whole vectors).
  const int64_t vector = args.dtype == DType::Float32 ? 4 : 8;
  const Strides4& xs = args.input_strides;
  if (reinterpret_cast<uintptr_t>(args.input) % 16 != 0 || xs.w != 1 || (g.h.in > 1 && xs.h != g.w.in) ||
      xs.c % vector != 0 || xs.n % vector != 0)
    return false;
  const int64_t cin_g = g.in_channels_per_group(), cout_g = g.out_channels_per_group();
  const int64_t values = args.dtype == DType::Float32 ? 1 : 2;
  ShuffleArgs& p = *plan;
  p.conv = args;
  p.output_strides = output_strides(args);
  p.tap_shift = log2_exact(taps);
  p.kw_shift = log2_exact(g.w.kernel);
  p.kh_shift = log2_exact(g.h.kernel);
  p.pixels = g.h.in * g.w.in;
  const int64_t m_tiles = (cout_g * taps + kTileM - 1) / kTileM;
  const int64_t n_tiles = (p.pixels + kTileN - 1) / kTileN;
  // Stages of 32 words (run 3: U-Net 512 -> 256 TF32 0.367 -> 0.336 ms, the rest within 1%), of 16
  // where 32 would pad K by more than an eighth beyond what 16 pads.
  const int64_t words = (cin_g + values - 1) / values;
  p.stage_words = (words + 31) / 32 * 32 * 8 <= (words + 15) / 16 * 16 * 9 ? 32 : 16;
  const int64_t k_words = (words + p.stage_words - 1) / p.stage_words * p.stage_words;
  // 32-bit offsets inside a group's packed weights and for the B copies' channel offsets.
  if (m_tiles * kTileM * k_words >= (int64_t(1) << 31) || cin_g * (xs.c < 0 ? -xs.c : xs.c) >= (int64_t(1) << 31))
    return false;
  const int64_t ctas = g.batch * g.groups * m_tiles * n_tiles;
  if (ctas >= (int64_t(1) << 31)) return false;
  p.m_tiles = static_cast<int>(m_tiles);
  p.n_tiles = static_cast<int>(n_tiles);
  p.k_words = static_cast<int>(k_words);
  p.m_padded = m_tiles * kTileM;
  p.packed = nullptr;
  return true;
}

size_t workspace_bytes(const ShuffleArgs& p) {
  return size_t(p.conv.geometry.groups) * p.m_padded * p.k_words * sizeof(uint32_t);
}

template <typename T, int WORDS>
cudaError_t launch_typed(ShuffleArgs p, void* workspace, cudaStream_t stream) {
  const ConvTransposeGeometry& g = p.conv.geometry;
  const int64_t words = static_cast<int64_t>(workspace_bytes(p) / sizeof(uint32_t));
  const unsigned pack_blocks = static_cast<unsigned>(std::min<int64_t>((words + 255) / 256, 1024));
  pack_shuffle_weights_kernel<T><<<pack_blocks, 256, 0, stream>>>(
      static_cast<const T*>(p.conv.weight), static_cast<uint32_t*>(workspace), g, p.m_padded, p.k_words);
  cudaError_t e = cudaGetLastError();
  if (e != cudaSuccess) return e;
  p.packed = static_cast<const uint32_t*>(workspace);
  int64_t limit = 0;
  e = raise_dynamic_shared_memory_limit<shuffle_gemm_kernel<T, WORDS>, true>(&limit);
  if (e != cudaSuccess) return e;
  const int64_t bytes = shared_bytes<T, WORDS>(1 << p.kw_shift);
  if (bytes > limit) return cudaErrorInvalidConfiguration;
  const unsigned ctas = static_cast<unsigned>(g.batch * g.groups * p.m_tiles * p.n_tiles);
  shuffle_gemm_kernel<T, WORDS><<<ctas, kThreads, bytes, stream>>>(p);
  return cudaGetLastError();
}

}  // namespace

bool shuffle_gemm_supported(const ConvArgs& args) {
  ShuffleArgs plan;
  return make_plan(args, &plan);
}

// Measured on the H100 (session 11, against the implicit GEMM): bf16 U-Net 512 -> 256 on 64 x 64
// 0.260 -> 0.214 ms, 128 -> 64 on 256 x 256 0.558 -> 0.353; TF32 128 -> 64 0.782 -> 0.541 and, with
// 32-word stages (run 3), 512 -> 256 0.348 -> 0.336.
bool shuffle_gemm_preferred(const ConvArgs& args) {
  const ConvTransposeGeometry& g = args.geometry;
  return g.out_channels_per_group() >= 16 && shuffle_gemm_supported(args);
}

size_t shuffle_gemm_workspace_bytes(const ConvArgs& args) {
  ShuffleArgs p;
  return make_plan(args, &p) ? workspace_bytes(p) : 0;
}

cudaError_t launch_shuffle_gemm(const ConvArgs& args, void* workspace, cudaStream_t stream) {
  ShuffleArgs p;
  if (!make_plan(args, &p)) return cudaErrorInvalidValue;
  const bool wide = p.stage_words == 32;
  switch (args.dtype) {
    case DType::Float32: return wide ? launch_typed<float, 32>(p, workspace, stream) : launch_typed<float, 16>(p, workspace, stream);
    case DType::Float16: return wide ? launch_typed<__half, 32>(p, workspace, stream) : launch_typed<__half, 16>(p, workspace, stream);
    case DType::BFloat16:
      return wide ? launch_typed<__nv_bfloat16, 32>(p, workspace, stream) : launch_typed<__nv_bfloat16, 16>(p, workspace, stream);
    case DType::Float64: break;
  }
  return cudaErrorInvalidValue;
}

}  // namespace cuda
}  // namespace tconv
