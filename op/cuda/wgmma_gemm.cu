// Hopper (sm_90a) window GEMM: warp-specialized, persistent, wgmma straight from a staged window.
//
// Decomposition (window_plan.h): a tile is R x C = 4 x C pixels of one phase of one image (C = 128,
// 104 or 64, chosen per call for the least padding) and 64 output channels. Within a phase every
// tap reads a shifted copy of the input, so all taps of a tile read one window of
// (R + (Th-1)*step_h) x (C + (Tw-1)*step_w) input pixels, staged once per chunk of 8 channel words
// (a word: one TF32 value or two bf16/fp16 channels).
//
// Orientation: D[output channel][pixel] = W[channel][k] * X[k][pixel], i.e. M = 64 output channels
// (A = the weights) and N = the C pixels of one tile row (B = the window). The window is stored
// as [group of 4 words][window pixel][4 words]; for a K-major, unswizzled wgmma operand a core
// matrix is 8 rows x 16 bytes stored contiguously, so the C consecutive pixels of a tile row that
// start at any window pixel are a canonical B operand, and each tap is the same window at a
// shifted start address. With N = C pixels each wgmma reads 2 KB of weights and C x 32 bytes of
// window for 64 x C x 32 bytes of K: 0.75 shared-memory bytes per tensor-core cycle at C = 128,
// where the first version (M = pixels, N = 64 channels) needed 1.0 and was bound by it.
//
// Roles: 384 threads = 3 warpgroups (packed tiles: 512, below), one CTA per SM, persistent over
// the tiles (tile = blockIdx.x + i * gridDim.x); setmaxnreg moves registers from the producer to the consumers. Warpgroup 2
// produces: for each stage one thread bulk-copies the chunk's weights (packed once per call as the
// stages' images by pack_stage_weights), and all 128 transpose the window from the input's layout
// (any strides) into the stage through registers: TF32 rounding, 16-bit pairing, zeros outside
// the input (the input channels per group must fill whole chunks: plan_for). The raw path
// (produce_raw, session 13; since session 14 the default below 16 taps per phase) instead copies
// aligned NCHW rows by cp.async and transposes them in shared memory. Warpgroups 0 and 1
// consume: each owns two tile rows (two m64 x C accumulator sets), waits for a stage, issues one
// wgmma per tap and row, and releases the stage once those wgmmas completed (one group stays in
// flight). Stages: 2-12 in a ring, handed over by mbarriers (full: one arrival per producer warp
// after fence.proxy.async, so that wgmma's async proxy sees the ordinary stores, plus the weights'
// expected bytes; empty: one arrival per consumer warp). The producer runs up to `stages` chunks
// ahead, across tile boundaries, so the next tile's first stages load while the consumers store
// this one.
// Epilogue straight from the accumulators: each thread holds pairs of neighbouring pixels of two
// channels, stored with the bias added and the dtype cast as 8-byte (float) or 4-byte (16-bit)
// pairs where the output row is contiguous, else element by element (strided phases,
// channels_last). Phases without taps store the bias.
//
// Packed tiles (TCONV_CUDA_KERNEL=wgmma_packed only; window_plan.h): for images narrower than a
// tile, the tile is R x C consecutive positions of a plane holding the phase's pixels of all images
// with each tap's reach as halo (dropped in the epilogue), so a tile runs across rows and images
// and its taps are still shifted copies of one window. C = 64, and two producer warpgroups taking
// alternate stages (512 threads, 128 registers each, no setmaxnreg split).
//
// Compiled for sm_90a only (CMake and scripts/compile_cuda.sh add that target for this file); the
// body is empty elsewhere and wgmma_gemm_supported() requires a device of compute capability 9.0.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <mutex>

#include "element.cuh"
#include "launch.h"
#include "shared_memory_limit.cuh"
#include "tensor_core.cuh"
#include "wgmma.cuh"
#include "window_plan.h"

namespace tconv {
namespace cuda {
namespace {

using namespace tensor_core;
using window::BlockCoords;
using window::BlockDims;
using window::PhaseWindow;
using window::RawRows;

constexpr int kConsumers = 2;                       // consumer warpgroups
// Producer warpgroups: one for row bands; two for packed tiles, taking alternate stages. A
// producer thread's work is a chain of dependent instructions (loads, addresses, TF32 rounding)
// that one warp per scheduler can't overlap: with one producer, DCGAN's packed tiles ran at 1.6
// instructions per cycle and SM, the producer busy 85% of the time and the consumers waiting for
// a full stage 30% (run 69); two made them 6% faster (run 70).
template <bool kPacked> constexpr int kProducers = kPacked ? 2 : 1;
template <bool kPacked> constexpr int kThreads = 128 * (kConsumers + kProducers<kPacked>);
constexpr int kRows = 2 * kConsumers;               // tile rows R: two per consumer warpgroup
constexpr int kBM = 64;                             // output channels per tile: one wgmma M
constexpr int kChunkWords = 8;                      // channel words per stage: one 32-byte K step
constexpr int kGroups = kChunkWords / 4;            // 16-byte groups per window pixel / weight row
// Window units (pixel, group) per producer thread: every thread loads all of them each chunk, so
// row bands are sized for the public 3x3 and 3x7 windows (636 and 660 pixels at C = 104: 10 and
// 11), packed tiles (C = 64) for DCGAN's (266 and 290 pixels: 5), within 128 registers.
template <bool kPacked> constexpr int kUnitsPerThread = kPacked ? 6 : 12;
template <bool kPacked> constexpr int kMaxWindow = kUnitsPerThread<kPacked> * 128 / kGroups;  // 384, 768
constexpr int kMaxTaps = 32;
// Stages in the ring, as many as shared memory holds up to this: the producer runs that many
// chunks ahead. At 4 stages DCGAN's small ones (17 KB) left both roles waiting on each other a
// quarter of the time (run 65); 12 made the packed tiles 6% faster (run 67), the row-band cases
// (3-5 stages of 38-64 KB) unchanged.
constexpr int kMaxStages = 12;
constexpr uint32_t kTapBytes = kGroups * kBM * 16;  // one tap's weights in a stage: 2 KB
// Registers per thread after the roles split: the launch gives each thread 168 (65536 / 384, in
// steps of 8); the producer gives some back and the consumers take them for their accumulators
// (2 x C / 2). setmaxnreg.inc waits until the CTA's pool has the registers, so the split must fit
// what the launch allocated, not the register file: asking for more hangs the kernel (run 42).
// (Packed tiles: 128 for every thread, C = 64 needs no more.)
constexpr int kLaunchRegisters = 65536 / kThreads<false> / 8 * 8;
constexpr int kConsumerRegisters = 176, kProducerRegisters = 152;
static_assert(kConsumers * kConsumerRegisters + kProducerRegisters <= (kConsumers + 1) * kLaunchRegisters,
              "the role split must fit the launch's registers");

struct WgmmaArgs {
  ConvArgs conv;
  const uint32_t* packed_weight;
  Strides4 output_strides;
  BlockDims dims;
  int64_t tiles;
  int64_t cout_g;
  int64_t chunk_words;  // packed weights per chunk: every kernel tap's stage image
  int cin_g, chunks, stages;
  uint32_t group_bytes;    // one group of the window: window pixels (rounded to 8) x 16 B
  uint32_t weight_offset;  // the weights after the window and a 16-byte scratch slot
  uint32_t stage_bytes;
  uint32_t opaque_zero = 0;  // always 0, a value ptxas can't see (stage_window)
  // Row bands from 16-byte-aligned NCHW rows: the window goes by cp.async into raw buffers and is
  // transposed in shared memory (produce_raw); else through registers (produce).
  bool raw_rows = false;
  uint32_t raw_offset = 0;         // the raw buffers, after the stages
  uint32_t raw_channel_bytes = 0;  // one channel's staged rows, 16 mod 128 (ldmatrix rows in distinct banks)
  int raw_buffers = 0;             // 2 or 3: chunks in flight beyond the one being transposed, plus 1
};

// Raw runs per producer thread (a window of up to 384 runs).
constexpr int kRawRunsPerThread = 3;
template <typename T> constexpr int kRawVector = 16 / int(sizeof(T));            // values per run
template <typename T> constexpr int kRawChannels = kChunkWords * WordPack<T>::values;  // channels per chunk

#if defined(TCONV_WGMMA_DEVICE)

// One chunk's window into a stage: a batch of units' values in registers, then their 16-byte
// stores. Every batch is one basic block with no branch or predicate per value: with a branch per
// unit inside the batch (a partial last chunk's channel tests, since dropped), the compiler joined
// the two paths' registers with moves that waited for each unit's loads, one load round trip per
// unit instead of one per batch (session 7, run 53). unit_offset: the unit's first value in
// elements from the chunk's (one 64-bit base per value, a 32-bit offset per unit).
//
// float32 words are rounded to TF32 (cvt.rna) after an OR with `gate`, zero at run time but not
// to ptxas, and built from every value of the batch: otherwise ptxas interleaves the first
// roundings with the later loads, each waiting for its load (run 54: KernelBench 57 TF32 5.2 ->
// 9.8 ms; a __syncwarp between them did not stop it, run 55).
template <typename T, int kUnits>
__device__ __forceinline__ void stage_window(const T* xc, int stride, const int32_t (&unit_offset)[kUnits],
                                             const uint32_t (&unit_slot)[kUnits], uint32_t inside_mask,
                                             int passes, uint32_t opaque_zero, uint32_t stage) {
  constexpr int P = WordPack<T>::values;
  constexpr int kBatch = kUnits / P;  // units loaded before they are stored: 48 (24 packed) values
  static_assert(kUnits % kBatch == 0, "whole batches");
#pragma unroll
  for (int b0 = 0; b0 < kUnits; b0 += kBatch) {
    if (b0 >= passes) continue;
    T raw[kBatch][4 * P];
#pragma unroll
    for (int v = 0; v < 4 * P; ++v) {
      // Opaque, so that ptxas can't fold it into every unit's address: four instructions per
      // load's address without (run 61), two with (run 63).
      const T* xv = xc + v * stride;
      asm volatile("" : "+l"(xv));
#pragma unroll
      for (int j = 0; j < kBatch; ++j) raw[j][v] = load_readonly(xv + unit_offset[b0 + j]);
    }
    uint32_t gate = 0;
    if constexpr (P == 1) {
#pragma unroll
      for (int j = 0; j < kBatch; ++j)
#pragma unroll
        for (int v = 0; v < 4; ++v) gate ^= __float_as_uint(raw[j][v]);
      gate &= opaque_zero;
    }
#pragma unroll
    for (int j = 0; j < kBatch; ++j) {
      const int u = b0 + j;
      const bool inside = (inside_mask >> u) & 1;
      uint32_t word[4];
#pragma unroll
      for (int w = 0; w < 4; ++w) {
        if constexpr (P == 1) {
          word[w] = make_word<false>(__uint_as_float(__float_as_uint(raw[j][w]) | gate), 0.0f);
        } else {
          word[w] = make_word<false>(raw[j][2 * w], raw[j][2 * w + 1]);
        }
        word[w] = inside ? word[w] : 0u;
      }
      st_shared_v4(stage + unit_slot[u], word[0], word[1], word[2], word[3]);
    }
  }
}

// A producer warpgroup's position in the stage ring: the slot and the parity of its current phase,
// stepped by the number of producers (each fills every kProducers-th stage) without a division.
struct Ring {
  uint32_t slot = 0, parity = 0;
  __device__ __forceinline__ void advance(uint32_t step, uint32_t stages) {
    slot += step;
    if (slot >= stages) {  // step <= stages: at most 2 producers, at least 2 stages
      slot -= stages;
      parity ^= 1;
    }
  }
};

// A tile past its phase's tiles (the grid is sized for the largest phase) is skipped.
template <bool kPacked, int C>
__device__ __forceinline__ bool tile_active(const PhaseWindow& pw, const BlockCoords& bc, int64_t batch) {
  if constexpr (kPacked)
    return bc.tile_c < window::packed_plane(pw, batch, kRows, C).tiles;
  else
    return window::block_active(pw, bc);
}

// A tile's packed weights (its group and channel tile, chunk after chunk) and the taps its phase
// multiplies. One producer thread bulk-copies each tap's 2 KB of a chunk (the stage's image), a
// whole chunk at once where the phase's taps are the kernel's (stride 1), counted on the stage's
// full barrier by their bytes.
struct TileWeights {
  const uint32_t* tile;
  int64_t chunk_words;
  int kernel_w, first_kh, step_kh, first_kw, step_kw, taps_h, taps_w;
  bool whole_kernel;

  __device__ __forceinline__ TileWeights(const WgmmaArgs& args, const BlockCoords& bc, const PhaseWindow& pw) {
    const ConvTransposeGeometry& g = args.conv.geometry;
    tile = args.packed_weight + (bc.group * args.dims.n_tiles + bc.n_tile) * args.chunks * args.chunk_words;
    chunk_words = args.chunk_words;
    kernel_w = static_cast<int>(g.w.kernel);
    first_kh = static_cast<int>(pw.th.first_tap), step_kh = static_cast<int>(pw.th.tap_step);
    first_kw = static_cast<int>(pw.tw.first_tap), step_kw = static_cast<int>(pw.tw.tap_step);
    taps_h = static_cast<int>(pw.th.tap_count), taps_w = static_cast<int>(pw.tw.tap_count);
    whole_kernel = taps_h == g.h.kernel && taps_w == g.w.kernel;
  }

  __device__ __forceinline__ void copy(int chunk, uint32_t dst, uint32_t full) const {
    const uint32_t* w_chunk = tile + chunk * chunk_words;
    const uint32_t taps = static_cast<uint32_t>(taps_h * taps_w);
    mbarrier::arrive_expect_bytes(full, taps * kTapBytes);
    if (whole_kernel) {
      mbarrier::cp_async_bulk(dst, w_chunk, taps * kTapBytes, full);
      return;
    }
    for (int jh = 0, t = 0; jh < taps_h; ++jh) {
      const int kh = first_kh + jh * step_kh;
      for (int jw = 0; jw < taps_w; ++jw, ++t)
        mbarrier::cp_async_bulk(dst + t * kTapBytes, w_chunk + (kh * kernel_w + first_kw + jw * step_kw) * int(kTapBytes / 4),
                                kTapBytes, full);
    }
  }
};

// Warpgroup 2 (and 3 for packed tiles): fills the stages in the consumers' tile order, producer
// `producer` those whose count since the start is `producer` modulo kProducers.
template <typename T, int C, bool kPacked>
__device__ __forceinline__ void produce(const WgmmaArgs& args, uint32_t base, uint32_t full, uint32_t empty,
                                        int producer, int ptid) {
  constexpr int P = WordPack<T>::values;
  constexpr int kUnits = kUnitsPerThread<kPacked>;
  constexpr uint32_t kStep = kProducers<kPacked>;
  const ConvArgs& a = args.conv;
  const ConvTransposeGeometry& g = a.geometry;
  const AxisGeometry& H = g.h;
  const AxisGeometry& W = g.w;
  const Strides4& is = a.input_strides;
  Ring ring;  // this producer's next stage
  ring.slot = producer;
  uint32_t first_owner = 0;  // the producer of the tile's first chunk: stages so far mod kProducers
  for (int64_t tile = blockIdx.x; tile < args.tiles; tile += gridDim.x) {
    const BlockCoords bc = window::decode_block(tile, args.dims);
    const PhaseWindow pw = window::phase_window(H, W, bc.phase / W.stride, bc.phase % W.stride, kRows, C);
    if (!tile_active<kPacked, C>(pw, bc, g.batch) || pw.taps == 0) continue;
    const window::PackedPlane plane = window::packed_plane(pw, g.batch, kRows, C);
    // This producer's first chunk of the tile; the chunks it fills are kStep apart.
    int first_chunk = 0;
    if constexpr (kStep > 1) {
      first_chunk = static_cast<int>((producer + kStep - first_owner) % kStep);
      first_owner = (first_owner + static_cast<uint32_t>(args.chunks)) % kStep;
    }

    // This thread's window units u = ptid + 128 j, group-major (group u / pixels, pixel u % pixels):
    // the offset of the unit's first value in a chunk from the image's (packed: the batch's) first
    // (outside the input: that of pixel 0, loaded and then zeroed), and its byte offset in a stage.
    // Slots past the window's units (the last pass of some threads) go to a scratch slot after the
    // window, so that every pass runs without a branch per unit.
    const int window_pixels = static_cast<int>(kPacked ? plane.window : pw.wr * pw.wc);
    const int window_cols = static_cast<int>(pw.wc);
    const int passes = (kGroups * window_pixels + 127) / 128;  // unit slots in use, the same for all
    const int channel_stride = static_cast<int>(is.c);  // int32 offsets within a chunk: the plan checks
    int32_t unit_offset[kUnits];
    uint32_t unit_slot[kUnits];
    uint32_t inside_mask = 0;  // per unit: inside the input
#pragma unroll
    for (int j = 0; j < kUnits; ++j) {
      const int u = ptid + 128 * j;
      const bool exists = u < kGroups * window_pixels;
      const int group4 = exists ? u / window_pixels : 0, pixel = u - group4 * window_pixels;
      int64_t ih, iw, image_offset = 0;
      bool inside = exists;
      if constexpr (kPacked) {
        const auto px = window::plane_pixel<uint32_t>(plane, bc.tile_c * kRows * C + pixel);
        ih = pw.origin_h + px.y;
        iw = pw.origin_w + px.x;
        inside = inside && px.image < g.batch;
        image_offset = px.image * is.n;
      } else {
        ih = window::window_input_row(pw, bc.tile_r, kRows, pixel / window_cols);
        iw = window::window_input_col(pw, bc.tile_c, C, pixel % window_cols);
      }
      inside = inside && ih >= 0 && ih < H.in && iw >= 0 && iw < W.in;
      unit_offset[j] = group4 * 4 * P * channel_stride +
                       (inside ? static_cast<int32_t>(image_offset + ih * is.h + iw * is.w) : 0);
      unit_slot[j] = exists ? group4 * args.group_bytes + pixel * 16 : kGroups * args.group_bytes;
      inside_mask |= uint32_t(inside) << j;
    }
    const T* x = static_cast<const T*>(a.input) + (kPacked ? 0 : bc.image * is.n) + bc.group * args.cin_g * is.c;
    // Packed weights of this tile's group and channel tile; a chunk's taps follow one another.
    const TileWeights weights(args, bc, pw);

    for (int chunk = first_chunk; chunk < args.chunks; chunk += kStep) {
      const uint32_t s = ring.slot;
      mbarrier::wait(empty + 8 * s, ring.parity ^ 1);
      const uint32_t stage = base + s * args.stage_bytes;

      if (ptid == 0) weights.copy(chunk, stage + args.weight_offset, full + 8 * s);

      // Window. The channel stride is opaque to the compiler: otherwise it hoists every unit's
      // value offsets (the same in each chunk) out of the chunk loop, 64-128 more live registers,
      // and spills.
      int stride = channel_stride;
      asm volatile("" : "+r"(stride));
      stage_window<T, kUnits>(x + chunk * kChunkWords * P * is.c, stride, unit_offset, unit_slot, inside_mask,
                              passes, args.opaque_zero, stage);
      // Each lane's stores, then one arrival per warp after the warp's lanes met.
      wgmma::fence_proxy_async();
      __syncwarp();
      mbarrier::arrive_if(full + 8 * s, ptid % 32 == 0);
      ring.advance(kStep, args.stages);
    }
  }
}

// The raw path's producer (row bands, aligned NCHW rows). Per chunk: every thread copies its runs
// (16 bytes of one channel's row) of all the chunk's channels into a raw buffer by cp.async,
// zero-filled outside the input; once they landed, the window is transposed into the stage's
// K-major layout: 16-bit types as 8 x 8 blocks (8 channels x 8 pixels) by ldmatrix / stmatrix,
// float32 as 16-byte units (4 channels of a pixel) of four shared loads, rounded to TF32. The next
// one or two chunks' copies are in flight during this chunk's transpose (two or three raw
// buffers). The register path (produce) spends per value a global load (16-bit: and half a
// PRMT), and the loads' latency is the producer's; here a 16-bit warp moves 512 values with one
// ldmatrix and one stmatrix.
template <typename T, int C>
__device__ __forceinline__ void produce_raw(const WgmmaArgs& args, uint32_t base, uint32_t full, uint32_t empty,
                                            int ptid) {
  constexpr int kVector = kRawVector<T>, kChannels = kRawChannels<T>;
  static_assert(kGroups == 2, "the transposes split their blocks / units in two channel groups by a compare");
  const ConvArgs& a = args.conv;
  const ConvTransposeGeometry& g = a.geometry;
  const AxisGeometry& H = g.h;
  const AxisGeometry& W = g.w;
  const Strides4& is = a.input_strides;
  const int warp = ptid / 32, lane = ptid % 32;
  const uint32_t raw_bytes = kChannels * args.raw_channel_bytes;
  Ring ring;
  for (int64_t tile = blockIdx.x; tile < args.tiles; tile += gridDim.x) {
    const BlockCoords bc = window::decode_block(tile, args.dims);
    const PhaseWindow pw = window::phase_window(H, W, bc.phase / W.stride, bc.phase % W.stride, kRows, C);
    if (!window::block_active(pw, bc) || pw.taps == 0) continue;
    const RawRows rr = window::raw_rows(pw, bc.tile_r, bc.tile_c, kRows, C, kVector);
    // This thread's runs q = ptid + 128 k: offset from the chunk's first channel, inside or not.
    int32_t run_offset[kRawRunsPerThread];
    uint32_t run_inside = 0;
#pragma unroll
    for (int k = 0; k < kRawRunsPerThread; ++k) {
      const int q = ptid + 128 * k;
      const int r = q / rr.runs_per_row, col = kVector * (q - r * rr.runs_per_row);
      const int64_t ih = rr.ih0 + r, iw = rr.a0 + col;
      const bool inside = q < rr.runs && ih >= 0 && ih < H.in && iw >= 0 && iw < W.in;
      run_offset[k] = inside ? static_cast<int32_t>(ih * is.h + iw) : 0;
      run_inside |= uint32_t(inside) << k;
    }
    const T* x = static_cast<const T*>(a.input) + bc.image * is.n + bc.group * args.cin_g * is.c;
    const int channel_stride = static_cast<int>(is.c);
    auto copy_raw = [&](int chunk, uint32_t buffer) {
      const T* xc = x + chunk * kChannels * is.c;
      // Opaque strides, as in produce: else ptxas may hoist every copy's address out of the chunk
      // loop and spill.
      int stride = channel_stride;
      uint32_t raw_stride = args.raw_channel_bytes;
      asm volatile("" : "+r"(stride), "+r"(raw_stride));
#pragma unroll
      for (int k = 0; k < kRawRunsPerThread; ++k) {
        const int q = ptid + 128 * k;
        if (q >= rr.runs) break;
        const bool inside = (run_inside >> k) & 1;
        const T* src = xc + run_offset[k];
        const uint32_t dst = buffer + q * 16;
#pragma unroll
        for (int c = 0; c < kChannels; ++c)
          cp_async16_zfill(dst + c * raw_stride, src + c * stride, inside);
      }
    };
    const TileWeights weights(args, bc, pw);
    // Chunks c + 1 .. c + ahead are in flight while chunk c is transposed; the buffers restart
    // with each tile, after every producer thread is done with the last tile's.
    const int ahead = args.raw_buffers - 1;
    auto buffer_of = [&](int chunk) { return base + args.raw_offset + (chunk % args.raw_buffers) * raw_bytes; };
    named_barrier_sync(1, 128);
    for (int c = 0; c < ahead; ++c) {
      if (c < args.chunks) copy_raw(c, buffer_of(c));
      cp_async_commit();
    }
    for (int chunk = 0; chunk < args.chunks; ++chunk) {
      if (ahead == 2) cp_async_wait<1>();
      else cp_async_wait<0>();
      // Every producer thread's runs of this chunk landed, and every thread is done with the
      // transpose that read the buffer refilled next.
      named_barrier_sync(1, 128);
      const uint32_t raw = buffer_of(chunk);
      if (chunk + ahead < args.chunks) copy_raw(chunk + ahead, buffer_of(chunk + ahead));
      cp_async_commit();

      const uint32_t s = ring.slot;
      mbarrier::wait(empty + 8 * s, ring.parity ^ 1);
      const uint32_t stage = base + s * args.stage_bytes;
      if (ptid == 0) weights.copy(chunk, stage + args.weight_offset, full + 8 * s);
      if constexpr (sizeof(T) == 2) {
        // Block b < kGroups runs is (channel group b / runs, run b % runs); lane 8 i + j gives row j of
        // block 4 (step) + i: channel 8 group + j of the raw run, pixel 8 run + j of the stage.
        const int blocks = kGroups * rr.runs, block_lane = lane / 8, row = lane % 8;
        const uint32_t src_row = raw + row * args.raw_channel_bytes, dst_row = stage + row * 16;
        for (int b4 = 4 * warp; b4 < blocks; b4 += 16) {
          const int b = min(b4 + block_lane, blocks - 1);  // a partial last step repeats a block
          const int group = b >= rr.runs ? 1 : 0, q = b - group * rr.runs;  // kGroups == 2: no division
          uint32_t v[4];
          ldmatrix_x4(v, src_row + group * 8 * args.raw_channel_bytes + q * 16);
          stmatrix_x4_trans(dst_row + group * args.group_bytes + q * 128, v);
        }
      } else {
        // Unit u < kGroups pixels is (channel group u / pixels, staged pixel u % pixels): channels
        // 4 group .. + 3 of the raw rows, rounded, one 16-byte store.
        const int pixels = rr.runs * kVector;
        for (int u = ptid; u < kGroups * pixels; u += 128) {
          const int group = u >= pixels ? 1 : 0, pixel = u - group * pixels;
          const uint32_t from = raw + 4 * group * args.raw_channel_bytes + pixel * 4;
          uint32_t word[4];
#pragma unroll
          for (int i = 0; i < 4; ++i) word[i] = to_tf32(__uint_as_float(ld_shared_u32(from + i * args.raw_channel_bytes)));
          st_shared_v4(stage + group * args.group_bytes + pixel * 16, word[0], word[1], word[2], word[3]);
        }
      }
      wgmma::fence_proxy_async();
      __syncwarp();
      mbarrier::arrive_if(full + 8 * s, lane == 0);
      ring.advance(1, args.stages);
    }
  }
}

template <typename T> __device__ __forceinline__ void store_pair(T* p, float lo, float hi) {
  if constexpr (sizeof(T) == 4)
    __stcs(reinterpret_cast<float2*>(p), make_float2(lo, hi));
  else
    __stcs(reinterpret_cast<unsigned int*>(p), make_word<false>(from_acc<T>(lo), from_acc<T>(hi)));
}

// Warpgroups 0 and 1: tile rows 2 * warpgroup and 2 * warpgroup + 1 of every tile.
template <typename T, int C, bool kPacked, bool kRaw>
__device__ __forceinline__ void consume(const WgmmaArgs& args, uint32_t base, uint32_t full, uint32_t empty,
                                        int tid) {
  const ConvArgs& a = args.conv;
  const ConvTransposeGeometry& g = a.geometry;
  const AxisGeometry& H = g.h;
  const AxisGeometry& W = g.w;
  const Strides4& os = args.output_strides;
  const int warpgroup = tid / 128, warp = (tid / 32) % 4, lane = tid % 32;
  // Stages consumed so far. A Ring here (as the producer's) made ptxas serialise every wgmma
  // (C7515: accumulators defined inside the pipeline stage; run 66: KernelBench 65 TF32 1.28 ->
  // 1.68 ms), so the consumers keep the counter and its modulo.
  uint32_t use = 0;
  float acc[2][C / 2];
  for (int64_t tile = blockIdx.x; tile < args.tiles; tile += gridDim.x) {
    const BlockCoords bc = window::decode_block(tile, args.dims);
    const int64_t rh = bc.phase / W.stride, rw = bc.phase % W.stride;
    const PhaseWindow pw = window::phase_window(H, W, rh, rw, kRows, C);
    if (!tile_active<kPacked, C>(pw, bc, g.batch)) continue;
    const window::PackedPlane plane = window::packed_plane(pw, g.batch, kRows, C);
#pragma unroll
    for (int r = 0; r < 2; ++r)
#pragma unroll
      for (int i = 0; i < C / 2; ++i) acc[r][i] = 0.0f;

    if (pw.taps > 0) {
      // Tap counts through a shuffle: ptxas then knows the wgmma loops' bounds are warp-uniform
      // (with a bound it can't prove uniform it serialises every wgmma: C7520).
      const int taps_h = __shfl_sync(0xffffffff, static_cast<int>(pw.th.tap_count), 0);
      const int taps_w = __shfl_sync(0xffffffff, static_cast<int>(pw.tw.tap_count), 0);
      // Window row width, and the distance from one tile row's first pixel to the next: a window
      // row in row bands, C positions packed.
      // The raw path stages whole 16-byte runs from the aligned column at or before the window's
      // first: its rows are `width` pixels long and the window starts `shift` pixels in.
      uint32_t width_bytes = static_cast<uint32_t>(kPacked ? plane.width : pw.wc) * 16, origin_bytes = 0;
      if constexpr (kRaw) {
        const RawRows rr = window::raw_rows(pw, bc.tile_r, bc.tile_c, kRows, C, kRawVector<T>);
        width_bytes = static_cast<uint32_t>(rr.width) * 16;
        origin_bytes = static_cast<uint32_t>(rr.shift) * 16;
      }
      const uint32_t row_bytes = kPacked ? C * 16 : width_bytes;
      const uint32_t tap_h_bytes = static_cast<uint32_t>(pw.th.input_step) * width_bytes;
      const uint32_t tap_w_bytes = static_cast<uint32_t>(pw.tw.input_step) * 16;
      // Descriptors of stage 0: the first tap's weights, and this warpgroup's first row read by tap
      // (0, 0), i.e. at the window offset of tap (Th-1, Tw-1). Each later operand's descriptor is
      // one of these plus its byte offset / 16: the start address is the descriptor's low field,
      // and shared addresses stay below 2^18, so the sum never carries out of it. (Building each
      // descriptor from its address cost about 30 instructions per pair of wgmmas, run 67; the
      // consumers then issued 263 instructions per stage for DCGAN's 8 wgmmas.)
      const uint64_t a_first = wgmma::descriptor(base + args.weight_offset, kBM * 16, 128);
      const uint64_t b_first = wgmma::descriptor(
          base + origin_bytes + 2 * warpgroup * row_bytes + (taps_h - 1) * tap_h_bytes + (taps_w - 1) * tap_w_bytes,
          args.group_bytes, 128);
      const uint32_t stage_step = args.stage_bytes >> 4, tap_step = kTapBytes >> 4, row_step = row_bytes >> 4;
      const uint32_t h_step = tap_h_bytes >> 4, w_step = tap_w_bytes >> 4;
      for (int chunk = 0; chunk < args.chunks; ++chunk, ++use) {
        const uint32_t s = use % args.stages;
        mbarrier::wait(full + 8 * s, (use / args.stages) & 1);
        wgmma::fence();
        wgmma::fence_operands(acc[0]);
        wgmma::fence_operands(acc[1]);
        uint64_t a_desc = a_first + s * stage_step, b_row = b_first + s * stage_step;
#pragma unroll 1
        for (int jh = 0; jh < taps_h; ++jh, b_row -= h_step) {
          uint64_t b_desc = b_row;
#pragma unroll 1
          for (int jw = 0; jw < taps_w; ++jw, a_desc += tap_step, b_desc -= w_step) {
            wgmma::mma<T, C>(acc[0], a_desc, b_desc);
            wgmma::mma<T, C>(acc[1], a_desc, b_desc + row_step);
          }
        }
        wgmma::commit();
        wgmma::fence_operands(acc[0]);
        wgmma::fence_operands(acc[1]);
        // The previous stage's wgmmas are done once at most this one's group is pending: one
        // arrival per consumer warp.
        if (chunk > 0) {
          wgmma::wait<1>();
          mbarrier::arrive_if(empty + 8 * ((use - 1) % args.stages), lane == 0);
        }
      }
      wgmma::wait<0>();
      wgmma::fence_operands(acc[0]);
      wgmma::fence_operands(acc[1]);
      mbarrier::arrive_if(empty + 8 * ((use - 1) % args.stages), lane == 0);
    }

    // Epilogue: (channel 16 warp + g (+ 8), pixels 8 j + 2 t and + 1) of both rows.
    const int fg = lane / 4, ft = lane % 4;
    const int64_t co_tile = bc.n_tile * kBM;
    T* out = static_cast<T*>(a.output);
    const T* bias = static_cast<const T*>(a.bias);
    int64_t channel_offset[2];
    float bias_value[2];
    bool channel_live[2];
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const int64_t co = co_tile + warp * 16 + fg + 8 * h;
      channel_live[h] = co < args.cout_g;
      const int64_t channel = bc.group * args.cout_g + co;
      channel_offset[h] = channel * os.c;
      bias_value[h] = bias != nullptr && channel_live[h] ? to_acc(load_readonly(bias + channel)) : 0.0f;
    }
    const int64_t column_step = W.stride * os.w;
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      const int row = 2 * warpgroup + r;
      // This thread's pixels n = 8 j + 2 ft and n + 1 of the row: row bands step along one output
      // row, packed tiles along the plane (a pair may straddle two plane rows).
      int64_t row_offset = 0, j0 = 0;
      window::PlanePixel<uint32_t> at{0, 0, 0};
      if constexpr (kPacked) {
        at = window::plane_pixel<uint32_t>(plane, bc.tile_c * kRows * C + row * C + 2 * ft);
      } else {
        const int64_t i = bc.tile_r * kRows + row;
        if (i >= pw.rows) continue;
        j0 = bc.tile_c * C;
        row_offset = bc.image * os.n + H.phase_output_index(rh, i) * os.h + W.phase_output_index(rw, j0) * os.w;
      }
      // Packed: output offset of plane pixel (image, y, x) = image n_step + y y_step + x x_step +
      // pixel00 (the phase's first output pixel), the live bounds in 32 bits (positions < 2^31).
      const uint32_t width = static_cast<uint32_t>(plane.width), height = static_cast<uint32_t>(plane.height);
      const uint32_t rows = static_cast<uint32_t>(pw.rows), cols = static_cast<uint32_t>(pw.cols);
      const uint32_t images = static_cast<uint32_t>(g.batch);
      const int64_t pixel00 = H.phase_output_index(rh, 0) * os.h + W.phase_output_index(rw, 0) * os.w;
      const int64_t y_step = H.stride * os.h;
#pragma unroll
      for (int j = 0; j < C / 8; ++j) {
        const int n = 8 * j + 2 * ft;
        bool live[2];
        int64_t offset[2];
        if constexpr (kPacked) {
          if (j > 0) at.advance(8, width, height);
          window::PlanePixel<uint32_t> next = at;
          next.advance(1, width, height);
          const window::PlanePixel<uint32_t> px[2] = {at, next};
#pragma unroll
          for (int k = 0; k < 2; ++k) {
            live[k] = px[k].image < images && px[k].y < rows && px[k].x < cols;
            offset[k] = pixel00 + px[k].image * os.n + px[k].y * y_step + px[k].x * column_step;
          }
        } else {
          live[0] = j0 + n < pw.cols;
          live[1] = j0 + n + 1 < pw.cols;
          offset[0] = row_offset + n * column_step;
          offset[1] = offset[0] + column_step;
        }
#pragma unroll
        for (int h = 0; h < 2; ++h) {
          if (!channel_live[h]) continue;
          const float v0 = acc[r][4 * j + 2 * h] + bias_value[h], v1 = acc[r][4 * j + 2 * h + 1] + bias_value[h];
          const int64_t o0 = offset[0] + channel_offset[h], o1 = offset[1] + channel_offset[h];
          if (live[0] && live[1] && o1 == o0 + 1 && (o0 & 1) == 0) {
            store_pair(out + o0, v0, v1);
          } else {
            if (live[0]) out[o0] = from_acc<T>(v0);
            if (live[1]) out[o1] = from_acc<T>(v1);
          }
        }
      }
    }
  }
}

#endif  // TCONV_WGMMA_DEVICE

// Weights packed once per call as the stages' images: [group][channel tile][chunk][kh][kw]
// [group of 4 words][64 output channels][4 words], zero padded, TF32-rounded or 16-bit paired. A
// chunk's taps then lie 2 KB apart, and the producer copies each tap's 2 KB with one 16-byte
// cp.async per thread and no index arithmetic beyond the tap.
template <typename T>
__global__ void pack_stage_weights(const T* __restrict__ weight, uint32_t* __restrict__ packed,
                                   ConvTransposeGeometry g, int64_t n_tiles, int64_t chunks) {
  constexpr int P = WordPack<T>::values;
  const int64_t cin_g = g.in_channels_per_group(), cout_g = g.out_channels_per_group();
  const int64_t KH = g.h.kernel, KW = g.w.kernel;
  const int64_t total = g.groups * n_tiles * chunks * KH * KW * (kTapBytes / 4);
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total;
       i += int64_t(gridDim.x) * blockDim.x) {
    int64_t r = i;
    const int64_t word = r % 4; r /= 4;
    const int64_t co = r % kBM; r /= kBM;
    const int64_t group4 = r % kGroups; r /= kGroups;
    const int64_t kw = r % KW; r /= KW;
    const int64_t kh = r % KH; r /= KH;
    const int64_t chunk = r % chunks; r /= chunks;
    const int64_t n_tile = r % n_tiles;
    const int64_t group = r / n_tiles;
    const int64_t out_channel = n_tile * kBM + co;
    const int64_t channel0 = ((chunk * kChunkWords) + group4 * 4 + word) * P;
    T v[2] = {T(0.0f), T(0.0f)};
#pragma unroll
    for (int p = 0; p < P; ++p) {
      const int64_t ci = channel0 + p;
      if (ci < cin_g && out_channel < cout_g)
        v[p] = weight[(((group * cin_g + ci) * cout_g + out_channel) * KH + kh) * KW + kw];
    }
    packed[i] = make_word<false>(v[0], v[1]);
  }
}

// kRaw: the raw path's producer (row bands only); a kernel of its own, so that the register path's
// register allocation is the measured one.
template <typename T, int C, bool kPacked, bool kRaw>
__global__ void __launch_bounds__(kThreads<kPacked>, 1) wgmma_gemm_kernel(const WgmmaArgs args) {
#if defined(TCONV_WGMMA_DEVICE)
  extern __shared__ __align__(128) uint8_t smem[];
  // full[s] at barriers + 8 s, empty[s] at barriers + 8 (kMaxStages + s).
  __shared__ __align__(8) uint64_t barriers[2 * kMaxStages];
  const uint32_t full = shared_address(barriers), empty = full + 8 * kMaxStages;
  if (threadIdx.x == 0) {
    for (int s = 0; s < args.stages; ++s) {
      mbarrier::init(full + 8 * s, 4 + 1);              // producer warps + the weights' bulk copies
      mbarrier::init(empty + 8 * s, 4 * kConsumers);    // consumer warps
    }
  }
  __syncthreads();
  const uint32_t base = shared_address(smem);
  if (threadIdx.x >= 128 * kConsumers) {
    if constexpr (!kPacked) wgmma::set_max_registers<false, kProducerRegisters>();
    const int ptid = threadIdx.x - 128 * kConsumers;
    if constexpr (kRaw)
      produce_raw<T, C>(args, base, full, empty, ptid);
    else
      produce<T, C, kPacked>(args, base, full, empty, kPacked ? ptid / 128 : 0, kPacked ? ptid % 128 : ptid);
  } else {
    if constexpr (!kPacked) wgmma::set_max_registers<true, kConsumerRegisters>();
    consume<T, C, kPacked, kRaw>(args, base, full, empty, threadIdx.x);
  }
#elif defined(__CUDA_ARCH__)
  __trap();  // never launched: supported() requires the sm_90a code's device
#endif
}

// ---------------------------------------------------------------------------------------------
// Host side.

struct WgmmaPlan {
  bool ok = false;
  bool packed = false;
  int C = 128, stages = 0;
  int64_t cin_words = 0, cout_padded = 0, chunks = 0, tiles = 0;
  BlockDims dims{1, 1, 1, 1, 1, 0};
  uint32_t group_bytes = 0, weight_offset = 0, stage_bytes = 0;
  bool raw_rows = false;
  uint32_t raw_offset = 0, raw_channel_bytes = 0;
  int raw_buffers = 0;
  int64_t smem_bytes = 0, taps_max = 0;
  double fill = 0;  // useful / computed tile pixels over the phases with taps
};

// Compute capability 9.0 (the sm_90a code runs there only) and the SM count, once per device.
struct DeviceFacts {
  bool hopper = false;
  int sms = 0;
};
DeviceFacts device_facts() {
  constexpr int kMaxDevices = 64;
  static std::once_flag once[kMaxDevices];
  static DeviceFacts facts[kMaxDevices];
  int device = 0;
  if (cudaGetDevice(&device) != cudaSuccess || device < 0 || device >= kMaxDevices) return DeviceFacts{};
  std::call_once(once[device], [device] {
    int major = 0, minor = 0, sms = 0;
    const bool known =
        cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device) == cudaSuccess &&
        cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, device) == cudaSuccess &&
        cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device) == cudaSuccess;
    facts[device].hopper = known && major == 9 && minor == 0 && sms > 0;
    facts[device].sms = sms;
  });
  return facts[device];
}

// The raw path where it measured faster (session 14, run 1, H100, against the register path
// pinned in the same run): 9 taps per phase (KernelBench 57: TF32 4.14 -> 3.45 ms, bf16 3.38 ->
// 2.81), not 21 (KernelBench 65: TF32 1.28 -> 1.53, bf16 0.84 -> 0.95; 3x7 512 x 512 likewise):
// with many taps per staged window the register producer keeps up, and the raw path's shared-memory
// transpose competes with the consumers' wgmma reads. TCONV_WGMMA_RAW=0 turns it off, 1 forces it
// for 16-bit types, 2 for float32 too (tests, measurements).
bool raw_path_enabled(bool float32, int64_t taps_max) {
  static const int forced = [] {
    const char* v = std::getenv("TCONV_WGMMA_RAW");
    return v == nullptr || *v == 0 ? -1 : std::atoi(v);
  }();
  if (forced >= 0) return forced >= (float32 ? 2 : 1);
  return taps_max < 16;
}

// Shared memory for the stages: the opt-in maximum of compute capability 9.0 (227 KB) less the
// kernel's static barriers and some slack.
constexpr int64_t kStageMemory = 227 * 1024 - 256;

// One layout's tile width: the least work (every tap's mma over whole tiles, plus the window
// staging), a narrower C only when 3% cheaper.
struct TileChoice {
  bool ok = false;
  int C = 0;
  double cost = 0, fill = 1;
  // Over the phases: the grid's extent (row bands: tile rows and columns of the largest phase;
  // packed: tiles of the largest plane), the largest window and tap count.
  int64_t tiles_r = 0, tiles_c = 0, window_max = 0, taps_max = 0;
  // Row bands on the raw path: the most staged pixels of a window (rows x whole 16-byte runs from
  // the aligned column at or before its first, any alignment).
  int64_t raw_pixels_max = 0;
};
TileChoice choose_tile(const ConvTransposeGeometry& g, bool packed, int64_t raw_vector) {
  const AxisGeometry& H = g.h;
  const AxisGeometry& W = g.w;
  const int64_t phases = H.stride * W.stride;
  TileChoice best;
  // Packed: C = 64 only; its two producer warpgroups leave 128 registers per thread, too few for
  // wider tiles' accumulators.
  const int widths[3] = {packed ? 0 : 128, packed ? 0 : 104, 64};
  for (int C : widths) {
    if (C == 0) continue;
    TileChoice t;
    t.C = C;
    double useful = 0, computed = 0;
    for (int64_t ph = 0; ph < phases; ++ph) {
      const PhaseWindow p = window::phase_window(H, W, ph / W.stride, ph % W.stride, kRows, C);
      int64_t tiles, window_pixels;
      if (packed) {
        const window::PackedPlane q = window::packed_plane(p, g.batch, kRows, C);
        tiles = q.tiles;
        window_pixels = q.window;
        t.tiles_c = std::max(t.tiles_c, q.tiles);
        t.tiles_r = 1;
      } else {
        tiles = p.tiles_r * p.tiles_c * g.batch;
        window_pixels = p.wr * p.wc;
        t.raw_pixels_max = std::max(t.raw_pixels_max, window::raw_staged_pixels_max(p, raw_vector));
        t.tiles_r = std::max(t.tiles_r, p.tiles_r);
        t.tiles_c = std::max(t.tiles_c, p.tiles_c);
      }
      if (p.taps == 0) continue;
      t.cost += double(tiles) * double(2 * p.taps * kRows * C + window_pixels);
      useful += double(g.batch) * double(p.rows) * double(p.cols);
      computed += double(tiles) * kRows * C;
      t.window_max = std::max(t.window_max, window_pixels);
      t.taps_max = std::max(t.taps_max, p.taps);
    }
    if (t.window_max > (packed ? kMaxWindow<true> : kMaxWindow<false>) || t.taps_max > kMaxTaps) continue;
    if (computed > 0) t.fill = useful / computed;
    t.ok = true;
    if (!best.ok || t.cost < 0.97 * best.cost) best = t;
  }
  return best;
}

WgmmaPlan plan_for(const ConvArgs& args, WgmmaLayout layout) {
  WgmmaPlan pl;
  const ConvTransposeGeometry& g = args.geometry;
  const bool dtype_ok = (args.dtype == DType::Float32 && args.allow_tf32) ||
                        args.dtype == DType::BFloat16 || args.dtype == DType::Float16;
  if (!dtype_ok || !device_facts().hopper) return pl;
  const int64_t P = args.dtype == DType::Float32 ? 1 : 2;
  const int64_t cin_g = g.in_channels_per_group(), cout_g = g.out_channels_per_group();
  if (cin_g <= 0 || cout_g <= 0 || cin_g > (int64_t(1) << 30)) return pl;
  // Whole chunks only (8 float32 / 16 16-bit channels): a partial last chunk needs a channel test
  // per value in the producer (see stage_window); such layers go to the mma.sync kernels.
  if (cin_g % (kChunkWords * P) != 0) return pl;
  const Strides4& is = args.input_strides;
  // int32 offsets within a chunk: a chunk's channels (plus the next group's) and the farthest pixel
  // (packed: of the last image, and plane positions below 2^31 too).
  const int64_t limit = int64_t(1) << 31;
  const int64_t pixel_reach = (g.h.in - 1) * is.h + (g.w.in - 1) * is.w;
  if (is.n < 0 || is.h < 0 || is.w < 0 || is.c < 0 || (2 * kChunkWords * P) * is.c + pixel_reach >= limit ||
      g.h.kernel * g.w.kernel * (kTapBytes / 4) >= limit)
    return pl;
  const bool packed_fits = (2 * kChunkWords * P) * is.c + pixel_reach + (g.batch - 1) * is.n < limit &&
                           g.batch * (g.h.max_phase_output_count() + g.h.kernel * g.h.dilation) *
                                   (g.w.max_phase_output_count() + g.w.kernel * g.w.dilation) +
                                   kMaxWindow<true> < limit;

  pl.packed = layout == WgmmaLayout::Packed;
  if (pl.packed && !packed_fits) return pl;
  const int64_t raw_vector = 16 / (P == 2 ? 2 : 4);  // values per 16-byte run
  const TileChoice choice = choose_tile(g, pl.packed, raw_vector);
  if (!choice.ok) return pl;
  pl.C = choice.C;
  pl.fill = choice.fill;
  pl.taps_max = choice.taps_max;

  const int64_t phases = g.h.stride * g.w.stride;
  const int64_t words = (cin_g + P - 1) / P;
  pl.cin_words = (words + kChunkWords - 1) / kChunkWords * kChunkWords;
  pl.chunks = pl.cin_words / kChunkWords;
  pl.cout_padded = (cout_g + kBM - 1) / kBM * kBM;
  // The raw path: row bands whose input rows are whole, 16-byte aligned runs.
  const uintptr_t input_address = reinterpret_cast<uintptr_t>(args.input);
  pl.raw_rows = !pl.packed && raw_path_enabled(P == 1, choice.taps_max) && is.w == 1 &&
                is.h % raw_vector == 0 && is.c % raw_vector == 0 && is.n % raw_vector == 0 && g.w.in % raw_vector == 0 &&
                input_address % 16 == 0 && choice.raw_pixels_max <= raw_vector * 128 * kRawRunsPerThread;
  const int64_t window_pixels = pl.raw_rows ? choice.raw_pixels_max : choice.window_max;
  pl.group_bytes = static_cast<uint32_t>((window_pixels + 7) / 8 * 8 * 16);
  pl.weight_offset = kGroups * pl.group_bytes + 16;  // after the window and the scratch slot
  pl.stage_bytes = static_cast<uint32_t>((pl.weight_offset + pl.taps_max * kTapBytes + 127) / 128 * 128);
  int64_t raw_bytes = 0;
  auto stages_beside = [&](int64_t bytes) { return std::min<int64_t>(kMaxStages, (kStageMemory - bytes) / pl.stage_bytes); };
  if (pl.raw_rows) {
    // Three raw buffers (two chunks in flight: one chunk's copy outlasts a transpose) unless they
    // cost the ring its third stage.
    pl.raw_channel_bytes = static_cast<uint32_t>((choice.raw_pixels_max / raw_vector * 16 + 127) / 128 * 128 + 16);
    const int64_t buffer = kChunkWords * P * int64_t(pl.raw_channel_bytes);
    pl.raw_buffers = stages_beside(3 * buffer) >= std::min<int64_t>(3, stages_beside(2 * buffer)) ? 3 : 2;
    raw_bytes = pl.raw_buffers * buffer;
  }
  pl.stages = static_cast<int>(stages_beside(raw_bytes));
  if (pl.stages < 2) return pl;
  pl.raw_offset = static_cast<uint32_t>(int64_t(pl.stages) * pl.stage_bytes);
  pl.smem_bytes = int64_t(pl.stages) * pl.stage_bytes + raw_bytes;
  // Packed tiles run along the batch's plane: one tile column per tile, no rows, no image index.
  pl.dims = BlockDims{phases, pl.cout_padded / kBM, g.groups,
                      choice.tiles_c, choice.tiles_r, pl.packed ? 1 : g.batch};
  pl.tiles = pl.dims.blocks();
  pl.ok = pl.tiles > 0;
  return pl;
}

template <typename T, int C, bool kPacked, bool kRaw = false>
cudaError_t launch_kernel(const WgmmaArgs& args, const WgmmaPlan& plan, cudaStream_t stream) {
  constexpr auto kernel = wgmma_gemm_kernel<T, C, kPacked, kRaw>;
  int64_t limit = 0;
  const cudaError_t e = raise_dynamic_shared_memory_limit<kernel>(&limit);
  if (e != cudaSuccess) return e;
  if (plan.smem_bytes > limit) return cudaErrorInvalidConfiguration;
  const int64_t grid = std::min<int64_t>(plan.tiles, device_facts().sms);
  kernel<<<static_cast<unsigned>(grid), kThreads<kPacked>, static_cast<size_t>(plan.smem_bytes), stream>>>(args);
  return cudaGetLastError();
}

template <typename T>
cudaError_t launch_typed(const ConvArgs& conv, void* workspace, cudaStream_t stream, WgmmaLayout layout) {
  const WgmmaPlan plan = plan_for(conv, layout);
  if (!plan.ok) return cudaErrorInvalidValue;
  const ConvTransposeGeometry& g = conv.geometry;
  WgmmaArgs args;
  args.conv = conv;
  args.packed_weight = static_cast<const uint32_t*>(workspace);
  args.output_strides = output_strides(conv);
  args.dims = plan.dims;
  args.tiles = plan.tiles;
  args.cout_g = g.out_channels_per_group();
  args.cin_g = static_cast<int>(g.in_channels_per_group());
  args.chunks = static_cast<int>(plan.chunks);
  args.stages = plan.stages;
  args.group_bytes = plan.group_bytes;
  args.weight_offset = plan.weight_offset;
  args.stage_bytes = plan.stage_bytes;
  args.raw_rows = plan.raw_rows;
  args.raw_offset = plan.raw_offset;
  args.raw_channel_bytes = plan.raw_channel_bytes;
  args.raw_buffers = plan.raw_buffers;

  args.chunk_words = g.h.kernel * g.w.kernel * (kTapBytes / 4);
  const int64_t words = g.groups * plan.dims.n_tiles * plan.chunks * args.chunk_words;
  if (words > 0) {
    const int64_t blocks = std::min<int64_t>((words + 255) / 256, 4096);
    pack_stage_weights<T><<<static_cast<unsigned>(blocks), 256, 0, stream>>>(
        static_cast<const T*>(conv.weight), static_cast<uint32_t*>(workspace), g, plan.dims.n_tiles, plan.chunks);
    const cudaError_t e = cudaGetLastError();
    if (e != cudaSuccess) return e;
  }
  if (plan.packed) return launch_kernel<T, 64, true>(args, plan, stream);
  switch (plan.C) {
    case 64: return plan.raw_rows ? launch_kernel<T, 64, false, true>(args, plan, stream)
                                  : launch_kernel<T, 64, false>(args, plan, stream);
    case 104: return plan.raw_rows ? launch_kernel<T, 104, false, true>(args, plan, stream)
                                   : launch_kernel<T, 104, false>(args, plan, stream);
    default: return plan.raw_rows ? launch_kernel<T, 128, false, true>(args, plan, stream)
                                  : launch_kernel<T, 128, false>(args, plan, stream);
  }
}

}  // namespace

bool wgmma_device() { return device_facts().hopper; }

bool wgmma_gemm_supported(const ConvArgs& args, WgmmaLayout layout) { return plan_for(args, layout).ok; }

// The producer's work per stage is the window, the consumers' is taps x rows wgmmas: the kernel
// wins where a stage holds enough taps to hide the staging (H100, session 6, against the mma.sync
// kernels in the same runs: 3x7 layers TF32 2.3x, bf16 2.0x faster; 3x3 TF32 1.06x faster, bf16
// 0.9x; 1 to 4 taps per phase (U-Net, DCGAN) in row bands 0.3-0.6x), and its tiles are nearly full.
// Packed tiles (pinned only, TCONV_CUDA_KERNEL=wgmma_packed): on DCGAN's 4-tap layers they ran
// 0.366 / 0.469 ms TF32 and 0.227 / 0.333 ms bf16 against the implicit GEMM's 0.303 / 0.403 and
// 0.184 / 0.277 (H100, session 8, runs 70-71; docs/cuda-kernels.md), so the automatic choice
// doesn't take them.
bool wgmma_gemm_preferred(const ConvArgs& args) {
  const WgmmaPlan plan = plan_for(args, WgmmaLayout::RowBands);
  // 16-bit 3x3 layers stayed on the window kernel while the register path's producer limited them
  // (session 6); the raw path stages them without it (session 13).
  const int64_t min_taps = args.dtype == DType::Float32 || plan.raw_rows ? 9 : 16;
  // Fewer than 16 output channels per group would leave three quarters of the 64-wide M empty
  // (the automatic choice streams those one-pass).
  return plan.ok && plan.fill >= 0.9 && plan.taps_max >= min_taps && args.geometry.out_channels_per_group() >= 16;
}

size_t wgmma_gemm_workspace_bytes(const ConvArgs& args, WgmmaLayout layout) {
  const WgmmaPlan plan = plan_for(args, layout);
  if (!plan.ok) return 0;
  const ConvTransposeGeometry& g = args.geometry;
  return size_t(g.groups * g.h.kernel * g.w.kernel * plan.cout_padded * plan.cin_words) * sizeof(uint32_t);
}

cudaError_t launch_wgmma_gemm(const ConvArgs& args, void* workspace, cudaStream_t stream, WgmmaLayout layout) {
  switch (args.dtype) {
    case DType::Float32: return launch_typed<float>(args, workspace, stream, layout);
    case DType::Float16: return launch_typed<__half>(args, workspace, stream, layout);
    case DType::BFloat16: return launch_typed<__nv_bfloat16>(args, workspace, stream, layout);
    case DType::Float64: return cudaErrorInvalidValue;
  }
  return cudaErrorInvalidValue;
}

}  // namespace cuda
}  // namespace tconv
