// Tensor-core implicit GEMM for compute-bound transposed convolutions (mma.sync, sm_80 and newer).
//
// Each phase (rh, rw) of the output is an ordinary GEMM (see geometry.h):
//   M = batch x (output rows of phase rh) x (output columns of phase rw)   -- output pixels
//   N = out_channels / groups
//   K = (taps of rh) x (taps of rw) x in_channels/groups                     -- tap-major
//   A[m, k] = input pixel the tap reads (zero outside the input), gathered straight from the
//             input's own strides (NCHW, channels_last or a view): no im2col buffer;
//   B[k, n] = the tap's weight, packed once per call (pack_weights_kernel below);
//   C[m, n] + bias -> output, in the output's memory format.
// One launch covers every phase and group: blockIdx enumerates (phase, n-tile, m-tile, group), phase
// fastest so that the blocks writing interleaved columns of the same output rows run together.
// Phases without taps run no K loop and store the bias, so every output element is written once.
//
// Words. K is staged in 32-bit words: a word is one TF32 value, or a pair of consecutive-k
// bf16/fp16 values. In word units the m16n8k8 TF32 and the m16n8k16 16-bit fragments have the same
// layout, so one kernel body serves all three types, and ldmatrix (which moves 8 rows x 16 bytes)
// loads both the A and the B fragments of every type from [row][word] shared-memory tiles.
//
// Tiles (v6). 8 warps, each owning a 64 (M) x 32 (N) accumulator tile: 4 x 4 mma tiles, 64 float
// accumulators per thread. Per 8-word k-step a warp issues 2 ldmatrix.x4 for B, 4 for A and 16 mma
// (v5: 32x32 warp tiles, 12 scalar LDS per 8 mma). Block tile BM x BN:
//   BN = 128 (warps 2 (M) x 4 (N), BM = 128) when out_channels/groups > 64,
//   BN =  64 (warps 4 x 2, BM = 256) otherwise, so a 64-channel layer wastes no N half.
// K stage KW = 32 words (32 TF32 or 64 bf16/fp16 channels of one tap), or 16 words when the
// group's channels fill 32-word stages badly (fewer than 128 words and cin_words mod 32 in 1..16),
// e.g. 32 bf16 input channels (KernelBench 81) are not padded to 64.
// Shared-memory rows are KW + 4 words (144 or 80 bytes): the 8 rows of every ldmatrix phase and of
// every 16-byte store phase fall in distinct 16-byte bank groups (conflict-free).
// K order: channel tile outermost, then h tap, then w tap. Consecutive stages read the same channels
// at neighbouring pixels (the previous stage's cache lines: L1 hits instead of L2 round trips), and
// only the last channel tile of a group can be partial.
//
// Pipeline: two shared-memory stages, one barrier per K stage.
//   B (weights): packed per call as [group][kh][kw][out channel (padded to BN)][in-channel word
//     (padded to KW)], pre-rounded to TF32 / paired for 16-bit: a stage is BN contiguous rows of
//     KW words, copied with 16-byte cp.async (no registers, no bounds checks). The copy of stage
//     k+1 is issued at the start of stage k and waited for just before the barrier.
//   A (input gather): register staged, because 16-bit words pair two channels that NCHW stores
//     H*W apart (cp.async can't build them) and TF32 needs cvt.rna rounding. A thread owns one pixel
//     (row m of the tile) and a contiguous run of the stage's channels (all of them when BM = 256,
//     half when BM = 128). It loads the next stage in chunks of 8 raw values, each chunk overlapped
//     with one k-step (or half of one) of the current stage, then rounds/pairs them and writes one
//     16-byte st.shared per 4 words. Consecutive threads take consecutive pixels, so every global
//     load of a warp reads 32 consecutive pixels of one channel (contiguous for NCHW within an
//     output row of a phase).
//   Cheap loads: a pixel outside the input (or past the tile's last pixel) does not predicate its
//     loads: its address is clamped to pixel (0, 0) of its image (always valid memory) and its
//     words are zeroed with one select each before the store. Only the last channel tile of a
//     group, when the channels don't fill it, takes per-value predicated loads (uniform branch).
//     Addresses: one 64-bit base per thread plus an int32 offset (tile/tap, recomputed once per
//     stage) and a chained int32 channel step (one IMAD.WIDE per load). An int64 instantiation takes
//     images, views or weights where those offsets could overflow (see choose_config).
//   Registers are the binding constraint (64 accumulators, 128 registers for 2 blocks/SM): the tap
//     walk's rarely used values (per-row first input pixel, per-block steps) live in shared memory.
//
// Strict float32 (TF32 off, torch's allowTF32CuDNN() false): the same kernel with Split = true
// keeps the full float32 bits of both operands in shared memory and splits each fragment word into
// a TF32 part and a TF32 remainder after ldmatrix: three mma per product (mma3) give float32
// accuracy at a third of the TF32 rate, well above FFMA (cuDNN runs Winograd-style algorithms there).
// Each stage's products are added to a second, round-to-nearest float32 sum (fold): the tensor
// cores' own accumulation rounds toward zero, and summed over all of K that bias reached 1.4e-5.
//
// Epilogue: accumulators -> shared [n][m] (stride BM+4 for NCHW: conflict-free writes; BM+1 for
// channels_last: conflict-free channel-major reads) -> output + bias, cast. The 64-bit output offset
// of each tile row is computed once per block into a shared table. NCHW: consecutive threads walk
// pixels of a channel; channels_last: consecutive threads walk channels of a pixel.
//
// Resources (ptxas, sm_90 and sm_80): 126-128 registers, no spills, no stack frame, for the 24
// instantiations of 3 types x BN 64/128 x KW 16/32 x int32/int64 offsets, __launch_bounds__(256, 2);
// the 8 3xTF32 ones hold a second set of 64 accumulators (see fold) in 223-227 registers, one
// block per SM.
// Dynamic shared memory: 2 stages x (BM + BN) x (KW + 4) words = 73,728 B (BN 128, KW 32) or
// 92,160 B (BN 64, KW 32), at least the 66-68 KB epilogue stage; plus 3-8 KB static tables.
// Two blocks (16 warps) per SM.
#include <algorithm>
#include <cstdlib>

#include "element.cuh"
#include "launch.h"
#include "shared_memory_limit.cuh"
#include "tensor_core.cuh"

namespace tconv {
namespace cuda {
namespace {

using namespace tensor_core;

constexpr int kThreads = 256;
constexpr int kWarpM = 64;  // warp tile
constexpr int kWarpN = 32;

// 3xTF32 product of one m16n8 tile: split both operands (split_tf32), three mma, small terms first:
// big_a*big_b + big_a*small_b + small_a*big_b (small_a*small_b, ~2^-22 relative, is dropped).
__device__ __forceinline__ void mma3(float (&c)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
  uint32_t a_big[4], a_small[4], b_big[2], b_small[2];
#pragma unroll
  for (int i = 0; i < 4; ++i) split_tf32(a[i], a_big[i], a_small[i]);
  split_tf32(b0, b_big[0], b_small[0]);
  split_tf32(b1, b_big[1], b_small[1]);
  mma(c, a_small, b_big[0], b_big[1], 0.0f);
  mma(c, a_big, b_small[0], b_small[1], 0.0f);
  mma(c, a_big, b_big[0], b_big[1], 0.0f);
}

// ---------------------------------------------------------------------------------------------
// Configuration, shared by the workspace size and the launch (so they always agree).

struct Config {
  int bn;     // 64 or 128
  int kw;     // K words per stage: 16 or 32
  bool wide;  // int64 offsets and coordinates (else int32)
};

template <typename T>
int64_t padded_cin_words(const ConvTransposeGeometry& g, int kw) {
  constexpr int P = WordPack<T>::values;
  const int64_t words = (g.in_channels_per_group() + P - 1) / P;
  return (words + kw - 1) / kw * kw;
}
int64_t padded_cout(const ConvTransposeGeometry& g, int bn) {
  return (g.out_channels_per_group() + bn - 1) / bn * bn;
}

template <typename T>
Config choose_config(const ConvArgs& args) {
  const ConvTransposeGeometry& g = args.geometry;
  constexpr int P = WordPack<T>::values;
  Config c;
  c.bn = g.out_channels_per_group() > 64 ? 128 : 64;
  const int64_t words = (g.in_channels_per_group() + P - 1) / P;
  const int64_t rem = words % 32;
  c.kw = (words < 128 && rem > 0 && rem <= 16) ? 16 : 32;
  // int32 offsets and coordinates where they provably fit: the in-image offset of a stage's first
  // value ((channels + one stage) x channel stride + the pixel's offset), one group's packed
  // weights, the axis sizes plus the tap reach. Otherwise (huge images or views) the int64 kernel.
  const Strides4& st = args.input_strides;
  auto mag = [](int64_t v) { return v < 0 ? -v : v; };
  const int64_t lim = int64_t(1) << 29;
  auto axis_ok = [&](const AxisGeometry& a) {
    return a.in < lim && a.out < lim && a.stride < lim && a.kernel < lim && a.dilation < lim &&
           a.kernel * a.dilation < lim && a.padding < lim;
  };
  const bool sizes_ok = axis_ok(g.h) && axis_ok(g.w) && mag(st.c) < lim && mag(st.h) < lim &&
                        mag(st.w) < lim && g.in_channels_per_group() < lim;
  const int64_t cin_words = (words + c.kw - 1) / c.kw * c.kw;
  const int64_t group_words = g.h.kernel * g.w.kernel * padded_cout(g, c.bn) * cin_words;
  c.wide = !(sizes_ok && (cin_words * P + 64) * mag(st.c) + (g.h.in - 1) * mag(st.h) +
                                 (g.w.in - 1) * mag(st.w) <= int64_t(0x7fffffff) &&
             group_words <= int64_t(0x7fffffff));
  return c;
}

struct GemmArgs {
  ConvArgs conv;
  const uint32_t* packed_weight;
  Strides4 output_strides;
  int64_t cin_words, cout_padded;
  int64_t m_tiles, n_tiles;
  int cin_g, ci_tiles;  // channels per group, channel tiles per tap
  int64_t cout_g;
};

// Compile-time shape of one instantiation.
template <typename T, int BN, int KW>
struct Shape {
  static constexpr int P = WordPack<T>::values;
  static constexpr int WARPS_N = BN / kWarpN;                  // 4 or 2
  static constexpr int WARPS_M = (kThreads / 32) / WARPS_N;    // 2 or 4
  static constexpr int BM = WARPS_M * kWarpM;                  // 128 or 256
  static constexpr int S = KW + 4;                             // shared row stride in words
  static constexpr int STAGE_WORDS = (BM + BN) * S;
  static constexpr int KSTEPS = KW / 8;
  // A loading: TP threads per pixel, each owning GPT 4-word groups, loaded in NCH chunks of CG.
  static constexpr int TP = kThreads / BM;                     // 2 or 1
  static constexpr int GPT = (KW / 4) / TP;
  static constexpr int VPT = GPT * 4 * P;                      // channels per thread and stage
  static constexpr int CG = (2 / P) < GPT ? (2 / P) : GPT;     // 8 raw values per chunk
  static constexpr int NCH = GPT / CG;
  // B loading: 16-byte chunks per thread.
  static constexpr int BQ = KW / 4;                            // chunks per row
  static constexpr int BCH = BN * BQ / kThreads;
  static constexpr int B_ROW_STEP = kThreads / BQ;
  // Epilogue staging [BN][BM + 4] floats.
  static constexpr int C_WORDS = BN * (BM + 4);
  static constexpr int SMEM_WORDS = 2 * STAGE_WORDS > C_WORDS ? 2 * STAGE_WORDS : C_WORDS;
  static constexpr size_t SMEM_BYTES = size_t(SMEM_WORDS) * 4;

  static_assert(BM * TP == kThreads, "one or two threads per tile row");
  static_assert(GPT % CG == 0 && (KSTEPS % NCH == 0 || NCH % KSTEPS == 0), "chunks must tile the k-steps");
  static_assert(BN * BQ % kThreads == 0, "B chunks must tile the threads");
  static_assert(kThreads % BN == 0 && kThreads % BM == 0, "epilogue mappings");
};

// Split: float32 in 3xTF32 (strict float32 accuracy), see mma3.
template <typename T, int BN, int KW, typename Step, bool Split>
__global__ void __launch_bounds__(kThreads, Split ? 1 : 2) implicit_gemm_kernel(const GemmArgs args) {
  using Sh = Shape<T, BN, KW>;
  constexpr int P = Sh::P, BM = Sh::BM, S = Sh::S;
  extern __shared__ __align__(16) uint32_t smem[];
  __shared__ int64_t row_offset[BM];  // output offset of each tile row (pixel), -1 past the end
  __shared__ int64_t image[BM];       // image (batch index) of each tile row
  __shared__ Step first_ih[BM], first_iw[BM];
  struct Walk {
    Step b_next_w, b_next_h, b_next_c, step_h, step_w;
  };
  __shared__ Walk walk;

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
  const int64_t pixels = rows * cols;
  const int64_t M = g.batch * pixels;
  if (m_tile * BM >= M) return;  // this phase has fewer pixels than the largest one

  const PhaseTaps th = H.taps(rh), tw = W.taps(rw);
  const int64_t cin_g = args.cin_g, cout_g = args.cout_g;
  const int tid = threadIdx.x, lane = tid % 32, warp = tid / 32;
  const int64_t co_base = n_tile * BN;
  const Strides4& os = args.output_strides;

  // Output offsets of the tile rows, used by the epilogue (after at least one barrier).
  if (tid < BM) {
    const int64_t mm = m_tile * BM + tid;
    int64_t off = -1;
    if (mm < M) {
      const int64_t nn = mm / pixels, pix = mm % pixels;
      const int64_t oh = H.phase_output_index(rh, pix / cols), ow = W.phase_output_index(rw, pix % cols);
      off = nn * os.n + oh * os.h + ow * os.w;
    }
    row_offset[tid] = off;
  }

  // ---- A loading: this thread's pixel (tile row load_m) and its channels (half h of the stage).
  // Coordinates and steps are Step: int32 when the host has checked that every spatial size, tap
  // reach, in-image offset, 64 channel strides and one group's packed weights fit, else int64.
  // Registers are the limit (64 accumulators; 128 per thread for two blocks per SM), so what the
  // tap walk needs only when it wraps lives in shared memory: the per-block steps in `walk` and
  // each row's first-tap input pixel in first_ih/first_iw.
  const int load_m = tid % BM, h = tid / BM;
  const Strides4& is = a.input_strides;
  const int taps_h = static_cast<int>(th.tap_count), taps_w = static_cast<int>(tw.tap_count);
  const int64_t tap_words = args.cout_padded * args.cin_words;  // packed words of one tap
  int64_t n = 0;
  if (h == 0) {
    // Input pixel of the phase's first tap. Rows past M get ih = -1: taps only decrease ih, so
    // such a row never reads (its words are zeroed like those of a pixel outside the input).
    const int64_t m = m_tile * BM + load_m;
    Step ih0 = -1, iw0 = 0;
    if (m < M) {
      n = m / pixels;
      const int64_t pix = m % pixels;
      ih0 = static_cast<Step>(H.phase_first_q(rh) + pix / cols - th.input_offset);
      iw0 = static_cast<Step>(W.phase_first_q(rw) + pix % cols - tw.input_offset);
    }
    first_ih[load_m] = ih0;
    first_iw[load_m] = iw0;
    image[load_m] = n;
  }
  if (tid == 0) {
    // K order: channel tile outermost, then h tap, then w tap, so consecutive stages read the
    // same channels at neighbouring pixels (L1 hits). Weight offset steps between those stages:
    walk.b_next_w = static_cast<Step>(tw.tap_step * tap_words);
    walk.b_next_h = static_cast<Step>((th.tap_step * W.kernel - (taps_w - 1) * tw.tap_step) * tap_words);
    walk.b_next_c = static_cast<Step>(
        KW - ((taps_h - 1) * th.tap_step * W.kernel + (taps_w - 1) * tw.tap_step) * tap_words);
    walk.step_h = static_cast<Step>(th.input_step);
    walk.step_w = static_cast<Step>(tw.input_step);
  }
  __syncthreads();
  n = image[load_m];
  const Step sc = static_cast<Step>(is.c);

  // A: this thread's first channel at pixel (0, 0) of its image, + tile_off (channel tile and the
  // tap's input pixel; only the channel tile outside the input) + value steps of sc.
  const T* a_thread = static_cast<const T*>(a.input) + n * is.n + (group * cin_g + Sh::VPT * h) * is.c;
  Step tile_off = 0;
  // B: rows b_n0 + r*B_ROW_STEP, 16-byte chunk b_q of each, + b_off (tap and channel tile).
  const int b_q = tid % Sh::BQ, b_n0 = tid / Sh::BQ;
  const Step b_thread = static_cast<Step>((b_n0 * args.cin_words) + 4 * b_q);
  const uint32_t* b_block = args.packed_weight +
                            ((group * H.kernel + th.first_tap) * W.kernel + tw.first_tap) * tap_words +
                            co_base * args.cin_words;
  Step b_off = 0;
  const Step b_row_step = static_cast<Step>(Sh::B_ROW_STEP * args.cin_words);
  const int k_tiles = taps_h * taps_w * args.ci_tiles;

  // Load position: the next K tile to copy in. ci_left = the group's channels from the tile's first
  // one on; tap (jh, jw) reads input pixel first - (jh*step_h, jw*step_w).
  int ci_left = args.cin_g, jh = 0, jw = 0;
  bool pix_in = false;
  auto set_tap = [&]() {
    const Step ih = first_ih[load_m] - jh * walk.step_h, iw = first_iw[load_m] - jw * walk.step_w;
    pix_in = ih >= 0 && ih < static_cast<Step>(H.in) && iw >= 0 && iw < static_cast<Step>(W.in);
    // Outside the input: read pixel (0, 0) of the same image (valid memory) and zero the words.
    tile_off = static_cast<Step>(args.cin_g - ci_left) * sc +
               (pix_in ? ih * static_cast<Step>(is.h) + iw * static_cast<Step>(is.w) : Step(0));
  };
  auto advance = [&]() {
    if (++jw < taps_w) {
      b_off += walk.b_next_w;
    } else {
      jw = 0;
      if (++jh < taps_h) {
        b_off += walk.b_next_h;
      } else {  // next channel tile, first tap
        jh = 0;
        b_off += walk.b_next_c;
        ci_left -= KW * P;
      }
    }
    set_tap();  // past the last tile this computes an unused position, never dereferenced
  };

  // Shared memory: stage s at smem + s*STAGE_WORDS: A [BM][S] then B [BN][S].
  const uint32_t smem_base = shared_address(smem);
  constexpr uint32_t kStageBytes = Sh::STAGE_WORDS * 4;
  constexpr uint32_t kBOffset = BM * S * 4;

  auto issue_b = [&](int buffer) {
    const uint32_t dst = smem_base + buffer * kStageBytes + kBOffset + (b_n0 * S + 4 * b_q) * 4;
    const uint32_t* src = b_block + (b_off + b_thread);
#pragma unroll
    for (int r = 0; r < Sh::BCH; ++r, src += b_row_step) cp_async16(dst + r * Sh::B_ROW_STEP * S * 4, src);
    cp_async_commit();
  };

  T raw[Sh::CG][4][P];
  // Loads chunk c (groups c*CG .. c*CG+CG-1 of this thread) of the tile at the load position:
  // without bounds (whole channel tiles) or with per-value bounds (the last channel tile when the
  // group's channels don't fill it).
  auto load_chunk_full = [&](int c) {
    constexpr int CV = Sh::CG * 4 * P;  // values per chunk: this thread's channels c*CV + i
    const T* p = a_thread + (tile_off + static_cast<Step>(c * CV) * sc);
#pragma unroll
    for (int i = 0; i < CV; ++i, p += sc) raw[i / (4 * P)][(i / P) % 4][i % P] = load_readonly(p);
  };
  auto load_chunk_bounded = [&](int c) {
    constexpr int CV = Sh::CG * 4 * P;
    const T* p = a_thread + (tile_off + static_cast<Step>(c * CV) * sc);
    const int valid = ci_left - Sh::VPT * h - c * CV;  // channels of the chunk inside the group
#pragma unroll
    for (int i = 0; i < CV; ++i, p += sc)
      raw[i / (4 * P)][(i / P) % 4][i % P] = i < valid ? load_readonly(p) : T(0.0f);
  };
  auto store_chunk = [&](int c, int buffer) {
    const uint32_t row = smem_base + buffer * kStageBytes + load_m * S * 4;
#pragma unroll
    for (int j = 0; j < Sh::CG; ++j) {
      uint32_t w[4];
#pragma unroll
      for (int e = 0; e < 4; ++e) w[e] = pix_in ? make_word<Split>(raw[j][e][0], raw[j][e][P - 1]) : 0u;
      const int group_index = h * Sh::GPT + c * Sh::CG + j;
      st_shared_v4(row + group_index * 16, w[0], w[1], w[2], w[3]);
    }
  };

  float acc[4][4][4];
  clear<4, 4>(acc);
  float total[4][4][4];  // 3xTF32 only (fold); unused otherwise
  if constexpr (Split) clear<4, 4>(total);

  const int warp_m = warp % Sh::WARPS_M, warp_n = warp / Sh::WARPS_M;
  // ldmatrix row addresses of this lane (stage 0, k-step 0).
  //  A: matrices (rows 0-7, words 0-3), (rows 8-15, words 0-3), (rows 0-7, words 4-7), (8-15, 4-7)
  //     = a0..a3 of an m16 tile.
  //  B: matrices (n 0-7, words 0-3), (n 0-7, words 4-7), (n 8-15, words 0-3), (n 8-15, words 4-7)
  //     = b0, b1 of two n8 tiles.
  const uint32_t a_frag = smem_base +
                          ((warp_m * kWarpM + lane % 8 + ((lane / 8) % 2) * 8) * S + (lane / 16) * 4) * 4;
  const uint32_t b_frag = smem_base + kBOffset +
                          ((warp_n * kWarpN + lane % 8 + (lane / 16) * 8) * S + ((lane / 8) % 2) * 4) * 4;

  // The k-steps of a stage are cut into UNITS compute units (a k-step, or a part of its m16 tiles
  // when a stage has more A chunks than k-steps), UPC units between a chunk's load and its store.
  constexpr int UPK = Sh::NCH > Sh::KSTEPS ? Sh::NCH / Sh::KSTEPS : 1;  // units per k-step
  constexpr int UPC = Sh::KSTEPS * UPK / Sh::NCH;                        // units per chunk
  uint32_t bf[2][4];  // B fragments of the current k-step (two n8 tiles per ldmatrix.x4)
  auto compute_unit = [&](int buffer, int u) {
    const int ks = u / UPK, part = u % UPK;
    const uint32_t a_addr = a_frag + buffer * kStageBytes + ks * 32;
    if (part == 0) {
      const uint32_t b_addr = b_frag + buffer * kStageBytes + ks * 32;
#pragma unroll
      for (int np = 0; np < 2; ++np) ldmatrix_x4(bf[np], b_addr + np * 16 * S * 4);
    }
#pragma unroll
    for (int mt = part * 4 / UPK; mt < (part + 1) * 4 / UPK; ++mt) {
      uint32_t af[4];
      ldmatrix_x4(af, a_addr + mt * 16 * S * 4);
#pragma unroll
      for (int nt = 0; nt < 4; ++nt) {
        const uint32_t b0 = bf[nt / 2][(nt % 2) * 2], b1 = bf[nt / 2][(nt % 2) * 2 + 1];
        if constexpr (Split)
          mma3(acc[mt][nt], af, b0, b1);
        else
          mma(acc[mt][nt], af, b0, b1, T(0.0f));
      }
    }
  };

  if (k_tiles > 0) {
    set_tap();
    issue_b(0);
#pragma unroll
    for (int c = 0; c < Sh::NCH; ++c) {
      load_chunk_bounded(c);
      store_chunk(c, 0);
    }
    advance();
    cp_async_wait_all();
    __syncthreads();
  }
  // Stage kt: B and A of tile kt+1 go to the other buffer while the tensor cores work on tile kt.
  // K order is channel tile major: only the last channel tile of the group can be partial, and only
  // its loads take per-value bounds (a uniform branch).
#pragma unroll 1
  for (int kt = 0; kt < k_tiles; ++kt) {
    const int buffer = kt & 1;
    const bool has_next = kt + 1 < k_tiles;
    const bool full = ci_left >= KW * P;  // of the tile being loaded
    if (has_next) issue_b(buffer ^ 1);
#pragma unroll
    for (int c = 0; c < Sh::NCH; ++c) {
      if (has_next) {
        if (full)
          load_chunk_full(c);
        else
          load_chunk_bounded(c);
      }
#pragma unroll
      for (int u = 0; u < UPC; ++u) compute_unit(buffer, c * UPC + u);
      if (has_next) store_chunk(c, buffer ^ 1);
    }
    if constexpr (Split) fold<4, 4>(total, acc);
    if (has_next) advance();
    cp_async_wait_all();
    __syncthreads();
  }

  if constexpr (Split) assign<4, 4>(acc, total);

  // Epilogue: accumulators -> shared [n][m] -> output (+ bias, cast), in the output's layout.
  // The K loop's last barrier ordered every fragment read before this reuse of the buffer; with no
  // K loop (bias-only phase) the buffer was never used.
  const bool channels_last = a.output_channels_last;
  const int cs = channels_last ? BM + 1 : BM + 4;
  float* c_stage = reinterpret_cast<float*>(smem);
  stage_accumulators<4, 4>(c_stage, cs, acc, warp_m * kWarpM, warp_n * kWarpN);
  __syncthreads();

  const int co_count = static_cast<int>(cout_g - co_base < BN ? cout_g - co_base : BN);
  store_tile<T, BM, BN, kThreads>(c_stage, cs, row_offset, static_cast<const T*>(a.bias), static_cast<T*>(a.output),
                                  group * cout_g + co_base, co_count, os.c, channels_last);
}

template <typename T, int BN, int KW, typename Step, bool Split>
cudaError_t launch_kernel(const GemmArgs& args, int64_t blocks, cudaStream_t stream) {
  using Sh = Shape<T, BN, KW>;
  constexpr auto kernel = implicit_gemm_kernel<T, BN, KW, Step, Split>;
  int64_t limit = 0;
  const cudaError_t e = raise_dynamic_shared_memory_limit<kernel>(&limit);
  if (e != cudaSuccess) return e;
  if (int64_t(Sh::SMEM_BYTES) > limit) return cudaErrorInvalidConfiguration;
  kernel<<<static_cast<unsigned>(blocks), kThreads, Sh::SMEM_BYTES, stream>>>(args);
  return cudaGetLastError();
}

template <typename T, bool Split, int BN, int KW>
cudaError_t launch_step(const GemmArgs& args, bool wide, int64_t blocks, cudaStream_t stream) {
  return wide ? launch_kernel<T, BN, KW, int64_t, Split>(args, blocks, stream)
              : launch_kernel<T, BN, KW, int32_t, Split>(args, blocks, stream);
}

template <typename T>
int block_m(int bn) {
  return bn == 128 ? Shape<T, 128, 32>::BM : Shape<T, 64, 32>::BM;
}

template <typename T, bool Split = false>
cudaError_t launch_typed(const ConvArgs& conv, void* workspace, cudaStream_t stream) {
  const ConvTransposeGeometry& g = conv.geometry;
  const Config cfg = choose_config<T>(conv);
  GemmArgs args;
  args.conv = conv;
  args.cin_words = padded_cin_words<T>(g, cfg.kw);
  args.cout_padded = padded_cout(g, cfg.bn);
  args.packed_weight = static_cast<const uint32_t*>(workspace);
  args.output_strides = output_strides(conv);
  const int bm = block_m<T>(cfg.bn);
  const int64_t max_m = g.batch * g.h.max_phase_output_count() * g.w.max_phase_output_count();
  args.m_tiles = (max_m + bm - 1) / bm;
  args.n_tiles = args.cout_padded / cfg.bn;
  args.cin_g = static_cast<int>(g.in_channels_per_group());
  args.cout_g = g.out_channels_per_group();
  args.ci_tiles = static_cast<int>(args.cin_words / cfg.kw);

  cudaError_t e = pack_weights<T, Split>(conv.weight, workspace, g, args.cin_words, args.cout_padded, stream);
  if (e != cudaSuccess) return e;

  const int64_t blocks = g.h.stride * g.w.stride * args.n_tiles * args.m_tiles * g.groups;
  if (blocks > 0x7fffffff) return cudaErrorInvalidConfiguration;
  // Channel counters are int: in_channels/groups beyond 2^31 - 64 can't occur with real weights.
  if (g.in_channels_per_group() > 0x7fffffff - 64) return cudaErrorInvalidConfiguration;
  // The K loop counts tiles in int: taps x channel tiles of one phase.
  if (g.h.kernel * g.w.kernel * (args.cin_words / cfg.kw) > 0x7fffffff) return cudaErrorInvalidConfiguration;
  if (cfg.bn == 128)
    return cfg.kw == 32 ? launch_step<T, Split, 128, 32>(args, cfg.wide, blocks, stream)
                        : launch_step<T, Split, 128, 16>(args, cfg.wide, blocks, stream);
  return cfg.kw == 32 ? launch_step<T, Split, 64, 32>(args, cfg.wide, blocks, stream)
                      : launch_step<T, Split, 64, 16>(args, cfg.wide, blocks, stream);
}

template <typename T>
size_t workspace_bytes_typed(const ConvArgs& args) {
  const Config cfg = choose_config<T>(args);
  const ConvTransposeGeometry& g = args.geometry;
  return size_t(g.groups * g.h.kernel * g.w.kernel * padded_cin_words<T>(g, cfg.kw) *
                padded_cout(g, cfg.bn)) *
         sizeof(uint32_t);
}

}  // namespace

bool implicit_gemm_supported(const ConvArgs& args) {
  switch (args.dtype) {
    case DType::Float32:
    case DType::Float16:
    case DType::BFloat16: return true;
    case DType::Float64: return false;
  }
  return false;
}

size_t implicit_gemm_workspace_bytes(const ConvArgs& args) {
  switch (args.dtype) {
    case DType::Float32: return workspace_bytes_typed<float>(args);
    case DType::Float16: return workspace_bytes_typed<__half>(args);
    case DType::BFloat16: return workspace_bytes_typed<__nv_bfloat16>(args);
    case DType::Float64: return 0;
  }
  return 0;
}

cudaError_t launch_implicit_gemm(const ConvArgs& args, void* workspace, cudaStream_t stream) {
  switch (args.dtype) {
    case DType::Float32:
      return args.allow_tf32 ? launch_typed<float>(args, workspace, stream)
                             : launch_typed<float, true>(args, workspace, stream);
    case DType::Float16: return launch_typed<__half>(args, workspace, stream);
    case DType::BFloat16: return launch_typed<__nv_bfloat16>(args, workspace, stream);
    case DType::Float64: return cudaErrorInvalidValue;
  }
  return cudaErrorInvalidValue;
}

}  // namespace cuda
}  // namespace tconv
