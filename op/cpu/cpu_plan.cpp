#include "cpu_plan.h"

#include "cpu_direct.h"

#include <ATen/Parallel.h>
#include <c10/util/Exception.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <cstdlib>
#include <string>
#include <vector>

// torch's OpenMP backend implements at::parallel_for in its headers: without -fopenmp here it
// silently runs every task on the calling thread (see docs/cpu-kernel.md).
#if AT_PARALLEL_OPENMP && !defined(_OPENMP)
#warning "tconv CPU kernel built without -fopenmp: at::parallel_for will use one thread"
#endif

namespace tconv {
namespace cpu {
namespace {

// Cache budget of a task (the development machine's EPYC has 1 MiB of L2 per core): the packed
// input of one chunk of input channels and the accumulators of the band stay in L2 together;
// a chunk's weights for one channel block and phase (kStepsPerChunk steps of a micro-kernel) stay
// in L1 while the kernel walks the band.
constexpr int64_t kBandBufferBytes = 192 * 1024;
constexpr int64_t kAccBufferBytes = 384 * 1024;
constexpr int64_t kStepsPerChunk = 512;
// Fewest accumulator positions worth a band (a few tiles), before splitting the output channels.
constexpr int64_t kMinBandPositions = 256;
// Beyond these the tiled kernels' tables or scratch memory would grow with the stride or the
// dilation rather than with the output; such (rare) problems go to the direct fallback.
constexpr int64_t kMaxPhases = 4096;
constexpr int64_t kMaxScratchBytes = 64 << 20;
// Aim for this many tasks per thread so the dynamic scheduling below can even out uneven tasks.
constexpr int64_t kTasksPerThread = 4;

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Tables the plan points into; they live as long as the call.
struct PlanStorage {
  std::vector<int64_t> co_block_start, phase_taps, phase_weight_offset, tap_offset;
  std::vector<PhaseTaps> taps_h, taps_w;
};

int64_t largest_shift(const std::vector<PhaseTaps>& taps) {
  int64_t span = 0;
  for (const PhaseTaps& t : taps)
    if (t.tap_count > 0)
      span = std::max(span, t.input_offset + (t.tap_count - 1) * t.input_step);
  return span;
}

// The tiled plan, or false when the problem needs the direct fallback (see kMaxPhases).
bool make_plan(const Problem& problem, const at::Tensor& output, const CpuKernels& kernels,
               int64_t lanes, int64_t elem_bytes, int64_t threads, PlanStorage& s, CpuPlan& P) {
  const ConvTransposeGeometry& g = problem.geometry;
  if (g.h.stride > kMaxPhases || g.w.stride > kMaxPhases ||
      g.h.stride * g.w.stride > kMaxPhases)
    return false;
  P.batch = g.batch;
  P.groups = g.groups;
  P.cin_g = g.in_channels_per_group();
  P.cout_g = g.out_channels_per_group();
  P.in_h = g.h.in;
  P.in_w = g.w.in;
  P.out_h = g.h.out;
  P.out_w = g.w.out;
  P.stride_h = g.h.stride;
  P.stride_w = g.w.stride;
  P.pad_h = g.h.padding;
  P.pad_w = g.w.padding;
  // Phase-space extent: qh runs over every (oh + pad_h) / stride_h of an output row.
  P.q_first_h = g.h.padding / g.h.stride;
  P.q_first_w = g.w.padding / g.w.stride;
  P.q_h = (g.h.out - 1 + g.h.padding) / g.h.stride + 1 - P.q_first_h;
  P.q_w = (g.w.out - 1 + g.w.padding) / g.w.stride + 1 - P.q_first_w;

  for (int64_t r = 0; r < g.h.stride; ++r) s.taps_h.push_back(g.h.taps(r));
  for (int64_t r = 0; r < g.w.stride; ++r) s.taps_w.push_back(g.w.taps(r));
  P.span_h = largest_shift(s.taps_h);
  P.span_w = largest_shift(s.taps_w);

  // Output-channel blocks: as few as the register file allows, of nearly equal size.
  P.co_blocks = ceil_div(P.cout_g, kernels.max_block_co);
  for (int64_t b = 0; b <= P.co_blocks; ++b) s.co_block_start.push_back(b * P.cout_g / P.co_blocks);

  // Input-channel chunks: about kStepsPerChunk (channel, tap) steps, evened out.
  int64_t most_taps_h = 0, most_taps_w = 0;
  for (const PhaseTaps& t : s.taps_h) most_taps_h = std::max(most_taps_h, t.tap_count);
  for (const PhaseTaps& t : s.taps_w) most_taps_w = std::max(most_taps_w, t.tap_count);
  const int64_t most_taps = std::max<int64_t>(1, most_taps_h * most_taps_w);
  const int64_t ci_chunks =
      ceil_div(P.cin_g, std::max<int64_t>(8, kStepsPerChunk / most_taps));
  P.ci_chunk = ceil_div(P.cin_g, ci_chunks);

  // Output-channel chunks: all of a group's channels unless their accumulators would leave room
  // for fewer than kMinBandPositions positions.
  const int64_t acc_bytes_per_position = g.h.stride * g.w.stride * elem_bytes;
  const int64_t blocks_per_chunk = std::max<int64_t>(
      1, std::min(P.co_blocks, kAccBufferBytes / (acc_bytes_per_position * kMinBandPositions) /
                                   kernels.max_block_co));
  P.co_chunks = ceil_div(P.co_blocks, blocks_per_chunk);
  const int64_t chunk_channels_max = ceil_div(P.co_blocks, P.co_chunks) * kernels.max_block_co;

  // Band: whole phase-space rows if one (with its halo) fits both budgets, else part of one row
  // (at least one full tile wide).
  const int64_t band_cells = std::max<int64_t>(1, kBandBufferBytes / (P.ci_chunk * elem_bytes));
  const int64_t acc_cells =
      std::max<int64_t>(1, kAccBufferBytes / (chunk_channels_max * acc_bytes_per_position));
  const int64_t full_pitch = P.q_w + P.span_w;
  if ((1 + P.span_h) * full_pitch <= band_cells && full_pitch <= acc_cells) {
    P.band_w = P.q_w;
    P.band_h = std::min({P.q_h, band_cells / full_pitch - P.span_h, acc_cells / full_pitch});
  } else {
    const int64_t min_w = kernels.max_tile_vectors * lanes;
    P.band_h = 1;
    P.band_w = std::min(P.q_w, std::max(min_w, std::min(band_cells / (1 + P.span_h) - P.span_w,
                                                        acc_cells - P.span_w)));
  }
  P.bands_w = ceil_div(P.q_w, P.band_w);
  // Enough tasks for every thread: thinner bands, then more output-channel chunks.
  const int64_t wanted = kTasksPerThread * threads;
  const int64_t per_band_row = P.batch * P.groups * P.bands_w * P.co_chunks;
  if (per_band_row * ceil_div(P.q_h, P.band_h) < wanted)
    P.band_h = std::max<int64_t>(1, ceil_div(P.q_h, ceil_div(wanted, per_band_row)));
  P.bands_h = ceil_div(P.q_h, P.band_h);
  const int64_t tasks = per_band_row * P.bands_h;
  if (tasks < wanted)
    P.co_chunks = std::min(P.co_blocks, P.co_chunks * ceil_div(wanted, tasks));
  P.tasks = P.batch * P.groups * P.bands_w * P.bands_h * P.co_chunks;
  P.pitch = P.band_w + P.span_w;
  P.acc_pitch = P.band_h * P.pitch + lanes;
  P.band_buffer_elems = P.ci_chunk * ((P.band_h + P.span_h) * P.pitch + lanes);
  int64_t most_chunk_channels = 0;
  for (int64_t c = 0; c < P.co_chunks; ++c)
    most_chunk_channels = std::max(
        most_chunk_channels, s.co_block_start[(c + 1) * P.co_blocks / P.co_chunks] -
                                 s.co_block_start[c * P.co_blocks / P.co_chunks]);
  P.acc_buffer_elems = most_chunk_channels * g.h.stride * g.w.stride * P.acc_pitch;
  // Doubles are exact here: the products can exceed int64 for absurd dilations.
  if ((static_cast<double>(P.band_buffer_elems) + static_cast<double>(P.acc_buffer_elems)) *
          elem_bytes > kMaxScratchBytes)
    return false;

  // Phase tables.
  const int64_t phases = g.h.stride * g.w.stride;
  P.max_taps = 1;
  int64_t offset = 0;
  for (int64_t rh = 0; rh < g.h.stride; ++rh) {
    for (int64_t rw = 0; rw < g.w.stride; ++rw) {
      const int64_t taps = s.taps_h[rh].tap_count * s.taps_w[rw].tap_count;
      s.phase_taps.push_back(taps);
      s.phase_weight_offset.push_back(offset);
      offset += P.cin_g * P.cout_g * taps;
      P.max_taps = std::max(P.max_taps, taps);
    }
  }
  s.tap_offset.assign(phases * P.max_taps, 0);
  for (int64_t rh = 0; rh < g.h.stride; ++rh) {
    for (int64_t rw = 0; rw < g.w.stride; ++rw) {
      const PhaseTaps& th = s.taps_h[rh];
      const PhaseTaps& tw = s.taps_w[rw];
      int64_t* off = s.tap_offset.data() + (rh * g.w.stride + rw) * P.max_taps;
      for (int64_t jh = 0; jh < th.tap_count; ++jh)
        for (int64_t jw = 0; jw < tw.tap_count; ++jw)
          off[jh * tw.tap_count + jw] =
              (P.span_h - (th.input_offset + jh * th.input_step)) * P.pitch + P.span_w -
              (tw.input_offset + jw * tw.input_step);
    }
  }
  P.co_block_start = s.co_block_start.data();
  P.phase_taps = s.phase_taps.data();
  P.phase_weight_offset = s.phase_weight_offset.data();
  P.tap_offset = s.tap_offset.data();
  P.weight_group_stride = P.cin_g * P.cout_g * g.h.kernel * g.w.kernel;

  P.input = problem.input.data_ptr();
  for (int d = 0; d < 4; ++d) P.in_stride[d] = problem.input.stride(d);
  P.output = output.data_ptr();
  for (int d = 0; d < 4; ++d) P.out_stride[d] = output.stride(d);

  return true;
}

// Weights rearranged for the micro-kernels: per group and phase, per channel block, [ci][tap][co]
// so one step of a micro-kernel reads its block's weights for one (ci, tap) contiguously.
// Parallel over input channels. *all_finite: whether no weight is Inf or NaN, found on the way.
template <typename T>
at::Tensor pack_weight(const Problem& problem, const CpuPlan& P, const PlanStorage& s, bool* all_finite) {
  const ConvTransposeGeometry& g = problem.geometry;
  at::Tensor packed = at::empty({g.groups * P.weight_group_stride}, problem.weight.options());
  T* dst = packed.data_ptr<T>();
  const T* w = problem.weight.data_ptr<T>();
  const auto ws = problem.weight.strides();
  const int64_t kh = g.h.kernel, kw = g.w.kernel, cout_g = P.cout_g;
  const int64_t grain = std::max<int64_t>(1, 65536 / (cout_g * kh * kw));
  std::atomic<bool> nonfinite{false};
  at::parallel_for(0, g.in_channels, grain, [&](int64_t begin, int64_t end) {
    // One input channel's weights, tap-major: [kh][kw][cout_g], so every block is a contiguous run.
    std::vector<T> taps_first(kh * kw * cout_g);
    bool seen = false;
    for (int64_t c = begin; c < end; ++c) {
      const int64_t grp = c / P.cin_g, ci = c % P.cin_g;
      const T* slab = w + c * ws[0];
      for (int64_t co = 0; co < cout_g; ++co)
        for (int64_t i = 0; i < kh; ++i)
          for (int64_t j = 0; j < kw; ++j) {
            const T v = slab[co * ws[1] + i * ws[2] + j * ws[3]];
            seen |= !std::isfinite(v);
            taps_first[(i * kw + j) * cout_g + co] = v;
          }
      for (int64_t rh = 0; rh < g.h.stride; ++rh) {
        for (int64_t rw = 0; rw < g.w.stride; ++rw) {
          const int64_t p = rh * g.w.stride + rw;
          const PhaseTaps& th = s.taps_h[rh];
          const PhaseTaps& tw = s.taps_w[rw];
          const int64_t taps = P.phase_taps[p];
          T* phase_dst = dst + grp * P.weight_group_stride + P.phase_weight_offset[p];
          for (int64_t cb = 0; cb < P.co_blocks; ++cb) {
            const int64_t co0 = P.co_block_start[cb];
            const int64_t mr = P.co_block_start[cb + 1] - co0;
            T* block = phase_dst + co0 * P.cin_g * taps + ci * taps * mr;
            for (int64_t jh = 0; jh < th.tap_count; ++jh)
              for (int64_t jw = 0; jw < tw.tap_count; ++jw) {
                const int64_t i = th.first_tap + jh * th.tap_step;
                const int64_t j = tw.first_tap + jw * tw.tap_step;
                std::memcpy(block + (jh * tw.tap_count + jw) * mr,
                            taps_first.data() + (i * kw + j) * cout_g + co0, sizeof(T) * mr);
              }
          }
        }
      }
    }
    if (seen) nonfinite = true;
  });
  *all_finite = !nonfinite;
  return packed;
}

template <typename T>
void run_typed(const Problem& problem, at::Tensor& output, const CpuKernels& kernels) {
  const int64_t lanes = std::is_same<T, float>::value ? kernels.lanes_float : kernels.lanes_double;
  const int64_t threads = std::max(1, at::get_num_threads());
  PlanStorage storage;
  CpuPlan plan{};
  if (!make_plan(problem, output, kernels, lanes, sizeof(T), threads, storage, plan)) {
    run_direct(problem, output);
    return;
  }
  bool weights_finite = true;
  const at::Tensor weight = pack_weight<T>(problem, plan, storage, &weights_finite);
  // Weights holding Inf or NaN take the direct loops, which multiply a weight only by the input
  // values its tap reads, as torch does. The tiled kernels also multiply weights by the zero
  // padding of their input bands, and 0 x Inf would be NaN where torch's output stays finite.
  if (!weights_finite) {
    run_direct(problem, output);
    return;
  }
  plan.weight_packed = weight.data_ptr<T>();
  at::Tensor bias;
  if (problem.bias) {
    bias = problem.bias->contiguous();
    plan.bias = bias.data_ptr<T>();
  }

  // Dynamic scheduling: each worker takes the next task until none is left, so uneven tasks
  // (the last band, a band of bias-only rows) do not leave a thread idle.
  std::atomic<int64_t> next_task{0};
  const int64_t workers = std::min(threads, plan.tasks);
  at::parallel_for(0, workers, 1, [&](int64_t begin, int64_t end) {
    std::vector<T> band(plan.band_buffer_elems);
    std::vector<T> acc(plan.acc_buffer_elems);
    for (int64_t task = next_task++; task < plan.tasks; task = next_task++) {
      if constexpr (std::is_same<T, float>::value)
        kernels.run_float(plan, task, task + 1, band.data(), acc.data());
      else
        kernels.run_double(plan, task, task + 1, band.data(), acc.data());
    }
  });
}

bool cpu_supports(const std::string& isa) {
  __builtin_cpu_init();
  // GCC's checks include the operating system's support for the wider registers (XGETBV).
  const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if (isa == "avx512") return avx2 && __builtin_cpu_supports("avx512f");
  if (isa == "avx2") return avx2;
  return isa == "sse2";  // part of x86-64
}

const CpuKernels& kernels_named(const std::string& isa) {
  if (isa == "avx512") return avx512_kernels();
  if (isa == "avx2") return avx2_kernels();
  return sse2_kernels();
}

}  // namespace

const CpuKernels& select_cpu_kernels() {
  const char* env = std::getenv("TCONV_CPU_ISA");
  const std::string forced = env ? env : "";
  if (!forced.empty() && forced != "auto") {
    TORCH_CHECK(forced == "avx512" || forced == "avx2" || forced == "sse2",
                "conv_transpose2d: TCONV_CPU_ISA=", forced,
                " is not one of auto, avx512, avx2, sse2");
    TORCH_CHECK(cpu_supports(forced), "conv_transpose2d: TCONV_CPU_ISA=", forced,
                " but this CPU does not support it");
    return kernels_named(forced);
  }
  static const CpuKernels& best = cpu_supports("avx512") ? avx512_kernels()
                                  : cpu_supports("avx2") ? avx2_kernels()
                                                         : sse2_kernels();
  return best;
}

void run_conv_transpose2d(const Problem& problem, at::Tensor& output, const CpuKernels& kernels) {
  const char* force_direct = std::getenv("TCONV_CPU_DIRECT");
  if (force_direct != nullptr && force_direct[0] == '1') {
    run_direct(problem, output);
    return;
  }
  AT_DISPATCH_FLOATING_TYPES(problem.input.scalar_type(), "tconv_conv_transpose2d_cpu",
                             [&] { run_typed<scalar_t>(problem, output, kernels); });
}

}  // namespace cpu
}  // namespace tconv
