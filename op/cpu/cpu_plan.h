// Torch side of the CPU kernel: choose the instruction-set variant, plan the tiling, pack the
// weights, and run the tasks on at::parallel_for's threads.
#pragma once

#include <ATen/ATen.h>

#include "../problem.h"
#include "cpu_kernels.h"

namespace tconv {
namespace cpu {

// The widest kernel variant this CPU supports (AVX-512F, else AVX2+FMA, else SSE2). The environment
// variable TCONV_CPU_ISA=avx512|avx2|sse2 forces one (for tests and measurements; read on every
// call); naming one the CPU lacks is an error.
const CpuKernels& select_cpu_kernels();

// Computes the transposed convolution of `problem` into `output` (allocated by
// problem.new_output(), any memory format, at least one element).
void run_conv_transpose2d(const Problem& problem, at::Tensor& output, const CpuKernels& kernels);

}  // namespace cpu
}  // namespace tconv
