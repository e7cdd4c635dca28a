// Window implicit GEMM: tensor-core transposed convolution that stages each input value once per
// channel chunk instead of once per tap (mma.sync, sm_80 and newer).
//
// Same GEMM as implicit_gemm.cu (v6) per phase (rh, rw) (see geometry.h): M = output pixels of the
// phase, N = out_channels/groups, K = taps x in_channels/groups; same words (a word = one TF32 value
// or two consecutive-channel 16-bit values), mma wrappers, ldmatrix fragment mapping, packed weights
// ([group][kh][kw][co padded][ci word padded]), epilogue through shared memory, bias-only phases.
// What changes is A. v6 gathers, rounds and stores A once per (tap, channel stage): 9x the input for
// 3x3, 21x for 3x7, each time a global load (through L1), an address computation, a cvt and a
// shared store. Here a block owns an R x C rectangle of one phase of one image (not a run of
// flattened M), so every tap reads a shifted copy of one input window (window_plan.h):
//   WR = R + (Th-1)*step_h rows x WC = C + (Tw-1)*step_w columns,
// and tap (jh, jw) of tile pixel (di, dj) sits at window pixel di*WC + dj + tap_offset(jh, jw), an
// offset that is the same for all lanes. The window is staged once per chunk of KC channel words;
// the A fragments of every tap are ldmatrix'ed from it at that offset. For l1_57 (3x3, C=32, R=8:
// a 10 x 34 window for 256 pixels) this cuts the A loads and shared stores per chunk 6.5x (704
// 16-byte stores instead of 4,608) and the L1+shared traffic per chunk about 1.5x (the ldmatrix
// reads, 1.5 wavefronts per mma, are the same as v6's: they are the floor of 64x32 warp tiles).
//
// Block = (phase, N tile, group, tile column, tile row, image), phase fastest as in v6 (blocks
// writing interleaved output columns run together), then the N tiles and groups of one window (its
// second reads hit L2), then neighbouring tiles (shared halo). The grid is sized for the largest
// phase; blocks past their phase's tiles exit before any barrier.
//
// Shapes (8 warps; Tile<> below and window_plan.h's config_bm/config_bn must agree):
//   N64:   BN 64  (out_channels/groups in 9..64),  BM 256, warps 4 x 2 of 64 x 32 (as v6);
//   N128:  BN 128 (more than 64),                   BM 128, warps 2 x 4 of 64 x 32 (as v6);
//   Small: BN 8   (at most 8: RGB heads),           BM 256, warps 8 x 1 of 32 x 8, ldmatrix.x2 for B,
//          8 accumulators, 80 registers, 3 blocks/SM (memory-bound: more loads in flight).
//   3xTF32 halves BM of N64/N128 (warp tiles 64 x 16 and 32 x 32): the split fragments need the
//   registers, and at three mma per product it is mma-bound with fewer ldmatrix per mma anyway.
// Tile R x C = BM pixels, C a power of two 8..128 (every ldmatrix matrix is then 8 consecutive
// pixels of one window row), chosen per call by the plan: cost = tiles x (taps x BM + window
// pixels) over the live phases (fill lost past the phase edge + halo), a narrower C only when 3%
// cheaper (wider rows write longer output runs). Tile fill below 60% (e.g. the 8x8 phases of
// dcgan_512to256) or more than 64 taps per phase -> unsupported (v6 takes it).
//
// Chunk: KC = 8, 16 or 32 words of every tap. A stage = window [WP32 pixels][KC + 4 words] (the
// padded stride keeps the 8 rows of any ldmatrix or 16-byte store phase in distinct bank groups
// for any start pixel, which the shifted tap reads need; a swizzle would need per-lane address
// math per tap) + B [taps][BN][KC words] with the 16-byte groups XOR-swizzled by row (B rows never
// shift, and for many taps B is the larger part: 21 taps x 64 x 32 B = 43 KB for 3x7 at KC=8).
// Two stages, one barrier per chunk. KC is the largest of 32/16/8 with the least channel padding
// whose shared memory still gives 2 blocks per SM (3 for Small), else the smallest that fits one
// block (3x7 kernels at BN 64: 126 KB, one block per SM). The dynamic limit is raised once per
// device and instantiation to the device maximum (the size varies per call).
//
// Loads. B: cp.async (16 B) of every tap's BN rows x KC words from the packed weights, issued at
// the start of the previous chunk, waited just before its barrier. A: register staged (16-bit words
// pair channels that NCHW stores H*W apart; TF32 rounds with cvt.rna; 3xTF32 keeps raw bits).
// A unit = one window pixel's 4-word group; warp w loads group w % G (G = KC/4) at pixels
// (w / G)*32 + lane + k*256/G: each load instruction reads one channel at 32 consecutive window
// pixels (input-row runs for NCHW) and each 8-lane store phase writes 8 consecutive pixel rows.
// The in-image offset of every window pixel (-1 outside the input) is tabulated per block in
// shared memory, so a unit costs one LDS and no division. A pixel outside the input reads pixel
// (0, 0) of its image (valid memory) and stores zeros; only a chunk the group's channels don't fill
// predicates its loads. The next chunk's units are loaded in rounds of 8 raw values (16 for Small but 3xTF32),
// each round in flight over 1/rounds of the current chunk's (tap, k-step) items and stored after
// them, as v6 overlaps its chunks with k-steps.
//
// Compute: per item (tap t, k-step ks) a warp issues NT/2 ldmatrix.x4 for B (t's block of the
// stage; ks flips the swizzled group bits) and MT ldmatrix.x4 for A (lane row + tap offset from a
// shared tap table), then MT x NT mma. 3xTF32 (strict float32, args.allow_tf32 false): operands are
// raw float32 bits; after ldmatrix each word splits into big = tf32(x), small = tf32(x - big) and
// each product takes three mma, small terms first (small*big, big*small, big*big).
//
// Registers are the binding constraint (64 accumulators; 128 per thread for 2 blocks/SM): the
// block-uniform values the K loop needs once per round or chunk (weight and image base pointers,
// window rows, rounds, items) live in shared memory, and a thread's load walk is one pixel index.
// Resources (ptxas, sm_80 and sm_90, 72 instantiations: TF32/3xTF32/bf16/fp16 x N64/N128/Small x KC
// 8/16/32 x int32/int64 offsets): no spills, no stack frame; 123-128 registers (N64/N128), 108-120
// (3xTF32), 69-80 (Small); static shared memory 1.0-2.8 KB.
//
// Offsets: int32 where the plan proves they fit (in-image offsets incl. padded channels, one group's
// packed weights, axis sizes), an int64 instantiation otherwise; output offsets always int64.
#include <algorithm>
#include <cstdint>
#include <mutex>

#include "element.cuh"
#include "launch.h"
#include "shared_memory_limit.cuh"
#include "tensor_core.cuh"
#include "window_plan.h"

namespace tconv {
namespace cuda {
namespace {

using window::kThreads;
using window::TileConfig;
using window::WindowPlan;
using namespace tensor_core;

// ---------------------------------------------------------------------------------------------
// Block shapes: WM x WN warps, each owning MT m16 x NT n8 mma tiles (must match window_plan.h's
// config_bm / config_bn). 3xTF32 halves the accumulators of the N64/N128 shapes (warp tiles 64x16
// and 32x32): its split fragments need the registers, and at three mma per product it is mma-bound
// with less shared-memory traffic per mma anyway.
template <TileConfig CFG, bool Split> struct Tile;
template <bool Split> struct Tile<TileConfig::Small, Split> {  // BM 256 x BN 8: 32 x 8 warp tiles
  static constexpr int WM = 8, WN = 1, MT = 2, NT = 1, MIN_BLOCKS = 3, RAW_REGS = Split ? 8 : 16;
};
template <> struct Tile<TileConfig::N64, false> {  // BM 256 x BN 64: 64 x 32 warp tiles
  static constexpr int WM = 4, WN = 2, MT = 4, NT = 4, MIN_BLOCKS = 2, RAW_REGS = 8;
};
template <> struct Tile<TileConfig::N64, true> {  // BM 128 x BN 64: 64 x 16 warp tiles
  static constexpr int WM = 2, WN = 4, MT = 4, NT = 2, MIN_BLOCKS = 2, RAW_REGS = 8;
};
template <> struct Tile<TileConfig::N128, false> {  // BM 128 x BN 128: 64 x 32 warp tiles
  static constexpr int WM = 2, WN = 4, MT = 4, NT = 4, MIN_BLOCKS = 2, RAW_REGS = 8;
};
template <> struct Tile<TileConfig::N128, true> {  // BM 64 x BN 128: 32 x 32 warp tiles
  static constexpr int WM = 2, WN = 4, MT = 2, NT = 4, MIN_BLOCKS = 2, RAW_REGS = 8;
};

struct WindowArgs {
  ConvArgs conv;
  const uint32_t* packed_weight;
  Strides4 output_strides;
  window::BlockDims dims;
  int64_t cin_words, cout_padded, group_words, cout_g;
  int cin_g, chunks, R, C, log2_c;
  uint32_t stage_bytes, a_bytes, table_offset;
};

// packed[group][kh][kw][out channel < cout_padded][in-channel word < cin_words]; zero padding.
template <typename T, bool Split, TileConfig CFG, int KC, typename Step>
__global__ void __launch_bounds__(kThreads, Tile<CFG, Split>::MIN_BLOCKS) window_gemm_kernel(const WindowArgs args) {
  using Tl = Tile<CFG, Split>;
  constexpr int P = WordPack<T>::values;
  constexpr int MT = Tl::MT, NT = Tl::NT, WM = Tl::WM;
  constexpr int BM = Tl::WM * MT * 16, BN = Tl::WN * NT * 8;
  constexpr int G = KC / 4;         // 16-byte groups per window pixel and per B row
  constexpr int KS = KC / 8;        // k-steps per tap and chunk
  constexpr int VPU = 4 * P;        // values per loading unit (one pixel, one 4-word group)
  // Units per load round: RAW_REGS raw values in flight per thread.
  constexpr int RU = Tl::RAW_REGS / VPU;
  static_assert(RU >= 1, "round");
  constexpr int NP = NT >= 2 ? NT / 2 : 1;  // B ldmatrix per k-step
  constexpr int SWZ_SHIFT = G == 2 ? 2 : G == 4 ? 1 : 0;  // B swizzle: group ^= (n >> SHIFT) % G
  constexpr uint32_t A_ROW = (KC + 4) * 4;  // bytes per window pixel (padded row)
  constexpr uint32_t B_ROW = KC * 4;        // bytes per B row (swizzled, unpadded)
  constexpr uint32_t B_TAP = BN * B_ROW;
  static_assert(BM <= kThreads && kThreads % BM == 0 && kThreads % BN == 0, "epilogue mappings");
  static_assert(KC == 8 || KC == 16 || KC == 32, "chunk");

  extern __shared__ __align__(16) unsigned char smem[];
  __shared__ int64_t row_offset[BM];  // output offset of each tile pixel (channel 0), -1 past the phase
  __shared__ Step tap_b[window::kMaxTaps];      // packed-weight offset of each tap of the phase
  __shared__ uint32_t tap_a[window::kMaxTaps];  // window byte offset of each tap (tap_offset x row)
  // Block-uniform values the K loop needs once per round or chunk: kept in shared memory, not in
  // registers (64 accumulators leave about 60 registers for everything else at 2 blocks/SM).
  struct Walk {
    const uint32_t* b_block;  // this block's packed weights (group, first output channel)
    const void* image;        // input of this image and group, channel 0
    int wp32, rounds, items;  // A stage rows, load rounds and (tap, k-step) items per chunk
  };
  __shared__ Walk walk;

  const ConvArgs& a = args.conv;
  const ConvTransposeGeometry& g = a.geometry;
  const AxisGeometry& H = g.h;
  const AxisGeometry& W = g.w;
  const window::BlockCoords bc = window::decode_block(blockIdx.x, args.dims);
  const int64_t rh = bc.phase / W.stride, rw = bc.phase % W.stride;
  const int R = args.R, C = args.C, log2_c = args.log2_c;
  const window::PhaseWindow pw = window::phase_window(H, W, rh, rw, R, C);
  if (!window::block_active(pw, bc)) return;  // uniform: before any barrier

  const int tid = threadIdx.x, lane = tid % 32, warp = tid / 32;
  const int64_t co_base = bc.n_tile * BN;
  const Strides4& os = args.output_strides;
  const int cin_g = args.cin_g;
  if (tid < BM)
    row_offset[tid] = window::tile_output_offset(H, W, rh, rw, pw, bc, R, C, tid >> log2_c,
                                                 tid & (C - 1), os.n, os.h, os.w);

  float acc[MT][NT][4];
  clear<MT, NT>(acc);
  float total[MT][NT][4];  // 3xTF32 only (tensor_core.cuh's fold); unused otherwise
  if constexpr (Split) clear<MT, NT>(total);

  const int warp_m = warp % WM, warp_n = warp / WM;
  const int taps = static_cast<int>(pw.taps);
  const int chunks = taps > 0 ? args.chunks : 0;  // bias-only phase: no K loop

  if (chunks > 0) {
    const Strides4& is = a.input_strides;
    const int Tw = static_cast<int>(pw.tw.tap_count);
    const int WC = static_cast<int>(pw.wc);
    const int WP = static_cast<int>(window::window_pixels(pw));
    const int WP32 = static_cast<int>(window::window_pixels32(pw));
    const uint32_t smem_base = shared_address(smem);
    Step* pix_tab = reinterpret_cast<Step*>(smem + args.table_offset);

    // Per block: the in-image offset of every window pixel (-1 outside the input) and the packed
    // weight offset of every tap. The loads then cost one LDS per 4-word group, no division.
    {
      const int64_t row0 = window::window_input_row(pw, bc.tile_r, R, 0);
      const int64_t col0 = window::window_input_col(pw, bc.tile_c, C, 0);
      for (int p = tid; p < WP32; p += kThreads) {
        Step off = -1;
        if (p < WP) {
          const int wr = p / WC, wc = p - wr * WC;
          const int64_t ih = row0 + wr, iw = col0 + wc;
          if (ih >= 0 && ih < H.in && iw >= 0 && iw < W.in) off = static_cast<Step>(ih * is.h + iw * is.w);
        }
        pix_tab[p] = off;
      }
      const int64_t tap_words = args.cout_padded * args.cin_words;
      for (int t = tid; t < taps; t += kThreads) {
        const int jh = t / Tw, jw = t - jh * Tw;
        const int64_t kh = pw.th.first_tap + jh * pw.th.tap_step, kw = pw.tw.first_tap + jw * pw.tw.tap_step;
        tap_b[t] = static_cast<Step>((kh * W.kernel + kw) * tap_words);
        tap_a[t] = static_cast<uint32_t>(window::tap_offset(pw, jh, jw)) * A_ROW;
      }
      if (tid == 0) {
        walk.b_block = args.packed_weight + bc.group * args.group_words + co_base * args.cin_words;
        walk.image = static_cast<const T*>(a.input) + bc.image * is.n + bc.group * int64_t(cin_g) * is.c;
        walk.wp32 = WP32;
        const int units = (WP32 + kThreads / G - 1) / (kThreads / G);  // per thread and chunk
        walk.rounds = (units + RU - 1) / RU;
        walk.items = taps * KS;
      }
    }
    __syncthreads();

    // ---- A (window) loading. A unit is one window pixel's 4-word group (4*P channels). Warp w
    // loads group ug = w % G at pixels p0 + k*PSTEP, p0 = (w / G)*32 + lane, PSTEP = 256 / G: each
    // load instruction reads one channel at 32 consecutive window pixels (runs along input rows for
    // NCHW), each 8-lane phase of the 16-byte shared stores hits 8 consecutive rows of stride KC+4
    // words (distinct bank groups), and a thread's group, channel offset and pixel step are fixed,
    // so the walk costs one register. WP32 is a multiple of 32: whole warps skip pixels past it.
    constexpr int PSTEP = kThreads / G;
    const int ug = warp % G;
    const int p0 = (warp / G) * 32 + lane;
    const Step sc = static_cast<Step>(is.c);
    T raw[RU][VPU];
    uint32_t in_mask = 0;
    // Loads the round whose first pixel is p of the chunk whose first channel is ch0. A pixel
    // outside the input reads pixel (0, 0) of its image (valid memory) and is zeroed at the store;
    // only a chunk the group's channels don't fill predicates its loads (a uniform branch).
    auto load_round = [&](int p, int ch0, bool full) {
      in_mask = 0;
#pragma unroll
      for (int j = 0; j < RU; ++j) {
        if (p + j * PSTEP < walk.wp32) {  // warp-uniform
          const Step off = pix_tab[p + j * PSTEP];
          const bool in = off >= 0;
          in_mask |= uint32_t(in) << j;
          const T* q = static_cast<const T*>(walk.image) +
                       (static_cast<Step>(ch0 + ug * VPU) * sc + (in ? off : Step(0)));
          if (full) {
#pragma unroll
            for (int v = 0; v < VPU; ++v) raw[j][v] = load_readonly(q + static_cast<Step>(v) * sc);
          } else {
            const int valid = cin_g - ch0 - ug * VPU;  // channels of this unit inside the group
#pragma unroll
            for (int v = 0; v < VPU; ++v)
              raw[j][v] = v < valid ? load_readonly(q + static_cast<Step>(v) * sc) : T(0.0f);
          }
        }
      }
    };
    auto store_round = [&](int p, uint32_t a_stage) {
#pragma unroll
      for (int j = 0; j < RU; ++j) {
        if (p + j * PSTEP < walk.wp32) {
          const bool in = (in_mask >> j) & 1u;
          uint32_t w[4];
#pragma unroll
          for (int e = 0; e < 4; ++e) w[e] = in ? make_word<Split>(raw[j][e * P], raw[j][e * P + P - 1]) : 0u;
          st_shared_v4(a_stage + (p + j * PSTEP) * A_ROW + ug * 16, w[0], w[1], w[2], w[3]);
        }
      }
    };

    // ---- B (weights): per chunk every tap's BN x KC words, 16-byte cp.async. B rows are KC words
    // with the 16-byte groups XOR-swizzled by the row (conflict-free ldmatrix without padding: B is
    // the larger part of a stage for many taps).
    auto issue_b = [&](int chunk, uint32_t b_stage) {
      const uint32_t* b_block = walk.b_block;
      const Step cin_words = static_cast<Step>(args.cin_words);
      const int total = walk.items / KS * (BN * G);
      const Step cw = static_cast<Step>(chunk) * KC;
      for (int idx = tid; idx < total; idx += kThreads) {
        const int t = idx / (BN * G), rem = idx % (BN * G);
        const int n = rem / G, q = rem % G;
        const uint32_t* src = b_block + (tap_b[t] + static_cast<Step>(n) * cin_words + cw + 4 * q);
        cp_async16(b_stage + t * B_TAP + n * B_ROW + ((q ^ ((n >> SWZ_SHIFT) & (G - 1))) << 4), src);
      }
      cp_async_commit();
    };

    // ---- Fragments. A: lane row = window pixel of its tile row (di*WC + dj), matrices (rows 0-7,
    // words 0-3), (8-15, 0-3), (0-7, 4-7), (8-15, 4-7) = a0..a3; a tap adds a lane-uniform offset.
    // B: matrices (n 0-7, words 0-3), (n 0-7, 4-7), (n 8-15, 0-3), (n 8-15, 4-7) = b0, b1 of two
    // n8 tiles (x2: one n8 tile); k-step ks flips the group bits (ks << 5) of the swizzled address.
    // Lane row of m16 tile mt: tile pixel M0 + 16*mt + lr (lr = the lane's row 0-15 of the tile);
    // its window pixel is that of M0 + lr plus a lane-uniform offset (window_plan.h).
    const int lr = (lane & 7) + ((lane >> 3) & 1) * 8;
    const int m0 = warp_m * MT * 16 + lr;
    const uint32_t a_row0 =
        static_cast<uint32_t>(window::tile_window_pixel(pw, m0 >> log2_c, m0 & (C - 1))) * A_ROW + (lane >> 4) * 16;
    uint32_t a_row[MT];
#pragma unroll
    for (int mt = 0; mt < MT; ++mt)
      a_row[mt] = a_row0 + static_cast<uint32_t>(window::mtile_window_offset(pw, C, log2_c, mt * 16)) * A_ROW;
    uint32_t b_lane[NP];
#pragma unroll
    for (int np = 0; np < NP; ++np) {
      const int n = warp_n * NT * 8 + (NT >= 2 ? np * 16 + (lane >> 4) * 8 : 0) + (lane & 7);
      const int h = (lane >> 3) & 1;
      b_lane[np] = n * B_ROW + ((h ^ ((n >> SWZ_SHIFT) & (G - 1))) << 4);
    }
    auto compute_item = [&](uint32_t a_stage, uint32_t b_stage, int ks) {
      uint32_t bf[NP][4];
#pragma unroll
      for (int np = 0; np < NP; ++np) {
        if constexpr (NT >= 2)
          ldmatrix_x4(bf[np], b_stage + (b_lane[np] ^ (uint32_t(ks) << 5)));
        else
          ldmatrix_x2(bf[np], b_stage + (b_lane[np] ^ (uint32_t(ks) << 5)));
      }
      if constexpr (Split) {
        uint32_t b_big[NP][4], b_small[NP][4];
#pragma unroll
        for (int np = 0; np < NP; ++np)
#pragma unroll
          for (int i = 0; i < (NT >= 2 ? 4 : 2); ++i) split_tf32(bf[np][i], b_big[np][i], b_small[np][i]);
#pragma unroll
        for (int mt = 0; mt < MT; ++mt) {
          uint32_t af[4], a_big[4], a_small[4];
          ldmatrix_x4(af, a_stage + a_row[mt] + ks * 32);
#pragma unroll
          for (int i = 0; i < 4; ++i) split_tf32(af[i], a_big[i], a_small[i]);
#pragma unroll
          for (int nt = 0; nt < NT; ++nt) {
            const int np = nt / 2, o = (nt % 2) * 2;
            mma(acc[mt][nt], a_small, b_big[np][o], b_big[np][o + 1], 0.0f);
            mma(acc[mt][nt], a_big, b_small[np][o], b_small[np][o + 1], 0.0f);
            mma(acc[mt][nt], a_big, b_big[np][o], b_big[np][o + 1], 0.0f);
          }
        }
      } else {
#pragma unroll
        for (int mt = 0; mt < MT; ++mt) {
          uint32_t af[4];
          ldmatrix_x4(af, a_stage + a_row[mt] + ks * 32);
#pragma unroll
          for (int nt = 0; nt < NT; ++nt)
            mma(acc[mt][nt], af, bf[nt / 2][(nt % 2) * 2], bf[nt / 2][(nt % 2) * 2 + 1], T(0.0f));
        }
      }
    };

    // Prologue: chunk 0 into stage 0.
    {
      issue_b(0, smem_base + args.a_bytes);
      const bool full = KC * P <= cin_g;
      for (int r = 0; r < walk.rounds; ++r) {
        load_round(p0 + r * (RU * PSTEP), 0, full);
        store_round(p0 + r * (RU * PSTEP), smem_base);
      }
      cp_async_wait_all();
      __syncthreads();
    }
    // Chunk c computes from stage c&1 while chunk c+1 goes to the other stage: B by cp.async issued
    // first, A in walk.rounds rounds, each round's loads in flight over its share of the (tap, k-step)
    // items and stored after them. One barrier per chunk publishes stage c+1 and frees stage c.
#pragma unroll 1
    for (int c = 0; c < chunks; ++c) {
      const uint32_t cur = smem_base + (c & 1) * args.stage_bytes;
      const uint32_t nxt = smem_base + ((c & 1) ^ 1) * args.stage_bytes;
      const bool has_next = c + 1 < chunks;
      const int ch_next = (c + 1) * KC * P;
      const bool full = ch_next + KC * P <= cin_g;
      if (has_next) issue_b(c + 1, nxt + args.a_bytes);
      int item = 0;
#pragma unroll 1
      for (int r = 0; r < walk.rounds; ++r) {
        const int p = p0 + r * (RU * PSTEP);
        if (has_next) load_round(p, ch_next, full);
        const int item_end = (r + 1) * walk.items / walk.rounds;
#pragma unroll 1
        for (; item < item_end; ++item) {
          // Item = (tap t, k-step ks), taps in (h tap, w tap) order.
          const int t = item / KS, ks = item % KS;
          compute_item(cur + tap_a[t], cur + args.a_bytes + t * B_TAP, ks);
        }
        if (has_next) store_round(p, nxt);
      }
      if constexpr (Split) fold<MT, NT>(total, acc);
      cp_async_wait_all();
      __syncthreads();
    }
  }
  if constexpr (Split) assign<MT, NT>(acc, total);

  // Epilogue (as v6): accumulators -> shared [n][m] -> output (+ bias, cast), in the output's
  // layout. The K loop's last barrier ordered every read of the stages (and of the pixel table)
  // before this reuse; a bias-only block never used them.
  const bool channels_last = a.output_channels_last;
  const int cs = channels_last ? BM + 1 : BM + 4;
  float* c_stage = reinterpret_cast<float*>(smem);
  stage_accumulators<MT, NT>(c_stage, cs, acc, warp_m * MT * 16, warp_n * NT * 8);
  __syncthreads();

  const int64_t cout_g = args.cout_g;
  const int co_count = static_cast<int>(cout_g - co_base < BN ? cout_g - co_base : BN);
  store_tile<T, BM, BN, kThreads>(c_stage, cs, row_offset, static_cast<const T*>(a.bias), static_cast<T*>(a.output),
                                  bc.group * cout_g + co_base, co_count, os.c, channels_last);
}

// ---------------------------------------------------------------------------------------------
// Host side.

constexpr int kMaxDevices = 64;

// Shared-memory limits of the current device, queried once per device.
bool device_limits(window::PlanLimits* out) {
  static std::once_flag once[kMaxDevices];
  static window::PlanLimits limits[kMaxDevices];
  static bool valid[kMaxDevices];
  int device = 0;
  if (cudaGetDevice(&device) != cudaSuccess) return false;
  auto query = [](int dev, window::PlanLimits* l) {
    int per_block = 0, per_sm = 0;
    if (cudaDeviceGetAttribute(&per_block, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev) != cudaSuccess ||
        cudaDeviceGetAttribute(&per_sm, cudaDevAttrMaxSharedMemoryPerMultiprocessor, dev) != cudaSuccess)
      return false;
    l->smem_per_block = per_block;
    l->smem_per_sm = per_sm;
    return true;
  };
  if (device < 0 || device >= kMaxDevices) return query(device, out);
  std::call_once(once[device], [&] { valid[device] = query(device, &limits[device]); });
  *out = limits[device];
  return valid[device];
}

int values_per_word(DType t) { return t == DType::Float32 ? 1 : 2; }

WindowPlan plan_for(const ConvArgs& args) {
  WindowPlan none;
  if (args.dtype == DType::Float64) return none;
  window::PlanLimits limits;
  if (!device_limits(&limits)) return none;
  const Strides4& is = args.input_strides;
  const bool split = args.dtype == DType::Float32 && !args.allow_tf32;
  return window::make_window_plan(args.geometry, values_per_word(args.dtype), split, is.c, is.h, is.w,
                                  limits);
}

template <typename T, bool Split, TileConfig CFG, int KC, typename Step>
cudaError_t launch_kernel(const WindowArgs& args, const WindowPlan& plan, cudaStream_t stream) {
  constexpr auto kernel = window_gemm_kernel<T, Split, CFG, KC, Step>;
  int64_t limit = 0;
  const cudaError_t e = raise_dynamic_shared_memory_limit<kernel>(&limit);
  if (e != cudaSuccess) return e;
  if (plan.smem_bytes > limit) return cudaErrorInvalidConfiguration;
  kernel<<<static_cast<unsigned>(plan.dims.blocks()), kThreads, static_cast<size_t>(plan.smem_bytes), stream>>>(args);
  return cudaGetLastError();
}

template <typename T, bool Split, TileConfig CFG, int KC>
cudaError_t launch_step(const WindowArgs& args, const WindowPlan& plan, cudaStream_t stream) {
  return plan.wide ? launch_kernel<T, Split, CFG, KC, int64_t>(args, plan, stream)
                   : launch_kernel<T, Split, CFG, KC, int32_t>(args, plan, stream);
}

template <typename T, bool Split, TileConfig CFG>
cudaError_t launch_config(const WindowArgs& args, const WindowPlan& plan, cudaStream_t stream) {
  switch (plan.kc) {
    case 8: return launch_step<T, Split, CFG, 8>(args, plan, stream);
    case 16: return launch_step<T, Split, CFG, 16>(args, plan, stream);
    case 32: return launch_step<T, Split, CFG, 32>(args, plan, stream);
  }
  return cudaErrorInvalidValue;
}

template <typename T, bool Split>
cudaError_t launch_typed(const ConvArgs& conv, void* workspace, cudaStream_t stream) {
  const WindowPlan plan = plan_for(conv);
  if (!plan.ok) return cudaErrorInvalidValue;
  const ConvTransposeGeometry& g = conv.geometry;
  WindowArgs args;
  args.conv = conv;
  args.packed_weight = static_cast<const uint32_t*>(workspace);
  args.output_strides = output_strides(conv);
  args.dims = plan.dims;
  args.cin_words = plan.cin_words;
  args.cout_padded = plan.cout_padded;
  args.group_words = plan.group_words;
  args.cout_g = g.out_channels_per_group();
  args.cin_g = static_cast<int>(g.in_channels_per_group());
  args.chunks = static_cast<int>(plan.chunks);
  args.R = plan.R;
  args.C = plan.C;
  args.log2_c = plan.log2_c;
  args.stage_bytes = static_cast<uint32_t>(plan.stage_bytes);
  args.a_bytes = static_cast<uint32_t>(plan.a_bytes);
  args.table_offset = static_cast<uint32_t>(plan.table_offset);

  const cudaError_t e = pack_weights<T, Split>(conv.weight, workspace, g, plan.cin_words, plan.cout_padded, stream);
  if (e != cudaSuccess) return e;
  if (plan.dims.blocks() == 0) return cudaSuccess;
  switch (plan.config) {
    case TileConfig::Small: return launch_config<T, Split, TileConfig::Small>(args, plan, stream);
    case TileConfig::N64: return launch_config<T, Split, TileConfig::N64>(args, plan, stream);
    case TileConfig::N128: return launch_config<T, Split, TileConfig::N128>(args, plan, stream);
  }
  return cudaErrorInvalidValue;
}

}  // namespace

bool window_gemm_supported(const ConvArgs& args) { return plan_for(args).ok; }

bool window_gemm_preferred(const ConvArgs& args) {
  const WindowPlan plan = plan_for(args);
  const bool split = args.dtype == DType::Float32 && !args.allow_tf32;
  return plan.ok && !split && plan.taps_max >= 9 && plan.blocks_per_sm >= 2;
}

size_t window_gemm_workspace_bytes(const ConvArgs& args) {
  const WindowPlan plan = plan_for(args);
  if (!plan.ok) return 0;
  return size_t(args.geometry.groups * plan.group_words) * sizeof(uint32_t);
}

cudaError_t launch_window_gemm(const ConvArgs& args, void* workspace, cudaStream_t stream) {
  switch (args.dtype) {
    case DType::Float32:
      return args.allow_tf32 ? launch_typed<float, false>(args, workspace, stream)
                             : launch_typed<float, true>(args, workspace, stream);
    case DType::Float16: return launch_typed<__half, false>(args, workspace, stream);
    case DType::BFloat16: return launch_typed<__nv_bfloat16, false>(args, workspace, stream);
    case DType::Float64: return cudaErrorInvalidValue;
  }
  return cudaErrorInvalidValue;
}

}  // namespace cuda
}  // namespace tconv
