// The CPU fallback for geometries the tiled kernels would need unbounded scratch memory for
// (thousands of phases: huge strides; huge input shifts: huge dilations). Plain loops, one output
// row at a time; memory bounded by one tile of the output row; correct for every valid problem.
#pragma once

#include <ATen/ATen.h>

#include "../problem.h"

namespace tconv {
namespace cpu {

void run_direct(const Problem& problem, at::Tensor& output);

}  // namespace cpu
}  // namespace tconv
