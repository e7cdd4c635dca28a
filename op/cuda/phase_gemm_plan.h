// The phase GEMM's geometry (wgmma_phase_gemm.cu): how a phase's pixel grid is cut into TMA boxes,
// which input rows and columns a tap's box reads, and which kernel tap it multiplies. Plain C++
// shared by the kernel and the host test tests/cuda_plan/phase_gemm_plan_test.cpp, which walks it
// against a brute-force transposed convolution (no GPU needed).
//
// Per axis (geometry.h): output index o = q s + r - p for phase r and q = first_q(r) + k, k the
// phase pixel; tap j of the phase is kernel index first_tap + j tap_step and reads input index
// q - input_offset - j input_step. A box is 8 x 8 consecutive phase pixels (k_h, k_w) of one image,
// so for tap (j_h, j_w) it is the input block whose corner is that formula at the box's first pixel,
// read through a window of boxes that start inside the input (input_window).
#pragma once

#include <cstdint>

#include "../geometry.h"

namespace tconv {
namespace cuda {
namespace phase_gemm {

constexpr int kBoxSide = 8;
constexpr int kBoxPixels = kBoxSide * kBoxSide;

// Every phase's pixel grid fits max_phase_output_count per axis; boxes tile that extent, the last
// row and column of boxes cut by the grid's edge (their pixels past it are computed, not stored).
struct BoxGrid {
  int cols = 0, rows = 0;  // boxes per row of boxes, rows of boxes per image
};
inline BoxGrid box_grid(const ConvTransposeGeometry& g) {
  return BoxGrid{static_cast<int>(ceil_div_nonneg(g.w.max_phase_output_count(), kBoxSide)),
                 static_cast<int>(ceil_div_nonneg(g.h.max_phase_output_count(), kBoxSide))};
}

// Box b (numbered image, box row, box column): its image and first phase pixel.
struct BoxOrigin {
  int image, k_h, k_w;
};
TCONV_HOST_DEVICE BoxOrigin box_origin(const BoxGrid& grid, int box) {
  BoxOrigin o;
  o.k_w = (box % grid.cols) * kBoxSide;
  box /= grid.cols;
  o.k_h = (box % grid.rows) * kBoxSide;
  o.image = box / grid.rows;
  return o;
}

// One phase r on one axis, as the kernel's loops use it (32-bit: the plan keeps extents below 2^30).
struct PhaseAxis {
  int origin;       // first_q(r) - input_offset: the input index phase pixel 0 reads through tap 0
  int input_step;   // 1 with dilation 1
  int first_tap, tap_step, tap_count;

  // The input index that phase pixel k0 (a box's first) reads through tap j: the box's corner on
  // this axis (its pixel k0 + i reads corner + i).
  TCONV_HOST_DEVICE int input_corner(int k0, int j) const { return origin + k0 - j * input_step; }
  // The kernel index of tap j.
  TCONV_HOST_DEVICE int kernel_index(int j) const { return first_tap + j * tap_step; }
};
TCONV_HOST_DEVICE PhaseAxis phase_axis(const AxisGeometry& a, int64_t phase) {
  const PhaseTaps t = a.taps(phase);
  return PhaseAxis{static_cast<int>(a.phase_first_q(phase) - t.input_offset), static_cast<int>(t.input_step),
                   static_cast<int>(t.first_tap), static_cast<int>(t.tap_step), static_cast<int>(t.tap_count)};
}

// Where a tap's input block is loaded from. TMA faulted ("illegal instruction") on every box whose
// innermost corner was not a multiple of 16 bytes (probes of sessions 15 and 16: -1, 1 and 12
// faulted, 0, 8 and -8 worked), so boxes start at columns that are multiples of 8, inside the
// tensor: the block at corner (x0, y0) (either may be negative or past the end) is read from a
// window of 8 rows from y = y0 clamped into [0, height - 1] and 16 columns from x = x0 rounded down
// to a multiple of 8 and clamped into [0, the last multiple of 8 below width]; that is two boxes of
// 8 columns, the second loaded only where it starts inside the input. Every block pixel inside the
// input lies in the window (the host test checks it); pixels outside the input read zero.
struct InputWindow {
  int x, y;         // the window's first input column (a multiple of 8) and row
  bool second_box;  // columns x + 8 .. x + 15 are loaded
};
TCONV_HOST_DEVICE InputWindow input_window(int x0, int y0, int width, int height) {
  const int last_x = (width - 1) / kBoxSide * kBoxSide;
  int x = x0 < 0 ? 0 : x0 / kBoxSide * kBoxSide;
  if (x > last_x) x = last_x;
  int y = y0 < 0 ? 0 : y0;
  if (y > height - 1) y = height - 1;
  return InputWindow{x, y, x + kBoxSide < width};
}

// Where (row, column, channel) of a window lies in shared memory, in elements: the window's two
// boxes side by side, each as TMA lands a box of the (W, C, H, N) tensor map, [row][channel][8
// columns] (measured in session 15). `channels`: a box's channels (one stage's).
TCONV_HOST_DEVICE constexpr int window_offset(int row, int column, int channel, int channels) {
  return (column / kBoxSide) * kBoxPixels * channels + (row * channels + channel) * kBoxSide + column % kBoxSide;
}

// Taps as shifts of one window (session 18's design for the phase GEMM, docs/cuda-kernels.md; not
// yet used by a kernel, walked by the host test). Box pixel k0 + i of phase r reads, through tap j,
// input index k0 + i + shift with shift = origin - j input_step (input_corner). Over every phase
// and tap the shifts span [first, first + count), so one window of kBoxSide + count - 1 input indices
// from k0 + first serves all of them: on the row axis a tap starts (shift - first) rows into it;
// on the column axis each shift is a copy of the window moved by that many columns. Stored K-major,
// one pixel per 16-byte row, a copy's slot (row, column) is row * kBoxSide + column, so a tap's
// operand is the 64 consecutive slots from (shift_h - first_h) * kBoxSide of copy shift_w - first_w.
struct ShiftSpan {
  int first, count;
};
TCONV_HOST_DEVICE ShiftSpan shift_span(const AxisGeometry& a) {
  int lo = 0, hi = -1;
  bool any = false;
  for (int64_t r = 0; r < a.stride; ++r) {
    const PhaseAxis p = phase_axis(a, r);
    for (int j = 0; j < p.tap_count; ++j) {
      const int shift = p.input_corner(0, j);
      if (!any || shift < lo) lo = shift;
      if (!any || shift > hi) hi = shift;
      any = true;
    }
  }
  return ShiftSpan{lo, hi - lo + 1};
}

// The axes the kernel handles: dilation 1 (a box's pixels read consecutive input pixels) and kernel
// >= stride (every phase has taps, so every output is written by its phase's GEMM).
TCONV_HOST_DEVICE bool axis_supported(const AxisGeometry& a) { return a.dilation == 1 && a.kernel >= a.stride; }

}  // namespace phase_gemm
}  // namespace cuda
}  // namespace tconv
