// One axis's phases (geometry.h) narrowed to small int tables that a kernel reads from its
// parameters: per phase its taps and its run of output positions. Shared by the one-pass and the
// phase-row kernels.
#pragma once

#include "../geometry.h"

namespace tconv {
namespace cuda {

constexpr int kMaxTableStride = 64;  // phases per axis a table holds

// geometry.h's PhaseTaps for one phase, in int.
struct TapRun {
  int first_tap, count, input_offset;
};

struct PhaseTable {
  TapRun phase[kMaxTableStride];
  int first_q[kMaxTableStride];       // phase r's output positions are (first_q + k)*stride + r - padding,
  int output_count[kMaxTableStride];  // k < output_count
  int tap_step, input_step;           // the same for every phase
};

// Requires axis.stride <= kMaxTableStride and 32-bit sizes (the callers check).
inline PhaseTable make_phase_table(const AxisGeometry& axis) {
  PhaseTable t{};
  for (int64_t r = 0; r < axis.stride; ++r) {
    const PhaseTaps taps = axis.taps(r);
    t.phase[r] = {static_cast<int>(taps.first_tap), static_cast<int>(taps.tap_count),
                  static_cast<int>(taps.input_offset)};
    t.first_q[r] = static_cast<int>(axis.phase_first_q(r));
    t.output_count[r] = static_cast<int>(axis.phase_output_count(r));
    t.tap_step = static_cast<int>(taps.tap_step);
    t.input_step = static_cast<int>(taps.input_step);
  }
  return t;
}

}  // namespace cuda
}  // namespace tconv
