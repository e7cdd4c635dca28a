// Interface between the CPU op (torch side: checks, planning, weight packing, threading) and the
// instruction-set-specific kernels (cpu_kernels_<isa>.cpp).
//
// The kernel translation units are compiled for AVX-512, AVX2+FMA or plain SSE2 with
// `#pragma GCC target`, and the best one the running CPU supports is chosen at run time. So this
// header holds only plain data and declarations: no inline functions, no templates, no torch. An
// inline function shared between a baseline and an AVX-512 translation unit would be emitted in
// both, and the linker could keep the AVX-512 copy for everyone (an illegal instruction on older
// CPUs).
#pragma once

#include <cstdint>

namespace tconv {
namespace cpu {

// Everything a kernel needs for one call, in plain integers and pointers (see cpu_plan.cpp for
// how each field is chosen).
//
// Phase space: output row oh = qh*stride_h + rh - pad_h for phase rh in [0, stride_h) and qh in
// [q_first_h, q_first_h + q_h); likewise for columns. Within phase (rh, rw), tap (jh, jw) reads input
// (qh - shift_h(jh), qw - shift_w(jw)): a stride-1 correlation. The work is split into tasks of
// (image, group, band of band_h x band_w phase-space positions, chunk of output-channel blocks).
// A task walks the input channels in chunks of ci_chunk: it packs the input its band reads into a
// zero-padded buffer (rows of `pitch` values, one plane per input channel) so that every tap is a
// constant offset from the output position in the flattened band, then runs register-blocked
// micro-kernels over tiles of that flattened band, adding into per-task accumulators (rows of
// acc_pitch values per phase and channel) that are stored to the output once at the end.
//
// No default member initialisers on purpose: they would give the struct an inline constructor that
// a kernel translation unit could emit with its own instruction set. Create it as `CpuPlan plan{}`.
struct CpuPlan {
  int64_t batch, groups, cin_g, cout_g;
  int64_t in_h, in_w, out_h, out_w;
  int64_t stride_h, stride_w, pad_h, pad_w;

  int64_t q_first_h, q_first_w;  // first phase-space index with an output in some phase
  int64_t q_h, q_w;              // phase-space extent from there (shared by all phases of an axis)
  int64_t span_h, span_w;  // largest input shift of any tap: halo rows above / columns left
  int64_t band_h, band_w;  // phase-space positions per task
  int64_t bands_h, bands_w;
  int64_t pitch;               // packed row length: band_w + span_w
  int64_t ci_chunk;            // input channels packed and accumulated at a time
  int64_t acc_pitch;           // accumulator values per (phase, channel): band_h * pitch + lanes

  // Output channels of a group are computed in blocks of at most CpuKernels::max_block_co.
  int64_t co_blocks;
  const int64_t* co_block_start;  // co_blocks + 1 entries
  int64_t co_chunks;                    // each task handles one chunk of consecutive blocks

  // Per phase p = rh*stride_w + rw: its tap count, where its packed weights start (group 0) and
  // each tap's read offset in the flattened band ([phase][max_taps]).
  const int64_t* phase_taps;
  const int64_t* phase_weight_offset;
  const int64_t* tap_offset;
  int64_t max_taps;
  int64_t weight_group_stride;  // cin_g * cout_g * kh * kw

  const void* input;  // [N, C_in, H, W] read through in_stride (any layout)
  int64_t in_stride[4];
  void* output;       // [N, C_out, Ho, Wo] written through out_stride
  int64_t out_stride[4];
  // [group][phase][co block][ci][tap][co within block], see pack_weight in cpu_plan.cpp.
  const void* weight_packed;
  const void* bias;  // [C_out] or null

  int64_t tasks;
  int64_t band_buffer_elems;  // per thread
  int64_t acc_buffer_elems;   // per thread
};

// Runs tasks [begin, end) of a plan; the buffers are the calling thread's scratch space of
// plan.band_buffer_elems and plan.acc_buffer_elems elements.
using RunTasksFloat = void (*)(const CpuPlan& plan, int64_t begin, int64_t end, float* band_buffer,
                               float* acc_buffer);
using RunTasksDouble = void (*)(const CpuPlan& plan, int64_t begin, int64_t end,
                                double* band_buffer, double* acc_buffer);

// One instruction-set variant of the kernels.
struct CpuKernels {
  const char* name;           // "avx512", "avx2", "sse2"
  int64_t lanes_float;        // values per vector register
  int64_t lanes_double;
  int64_t max_block_co;       // most output channels one micro-kernel keeps in registers
  int64_t max_tile_vectors;   // most vectors of pixels one micro-kernel keeps in registers
  RunTasksFloat run_float;
  RunTasksDouble run_double;
};

// Defined in cpu_kernels_<isa>.cpp. Only call one the CPU supports (see select_cpu_kernels).
const CpuKernels& avx512_kernels();
const CpuKernels& avx2_kernels();
const CpuKernels& sse2_kernels();

}  // namespace cpu
}  // namespace tconv
