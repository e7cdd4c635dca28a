// The CPU kernels, written once and compiled once per instruction set.
//
// Included (inside an anonymous namespace) by cpu_kernels_<isa>.cpp after that file has defined,
// under its `#pragma GCC target`:
//   VecFloat, VecDouble   value type T, register type V, kLanes, zero/set1/load/store/fma;
//   kMaxBlockCo           most output channels a micro-kernel keeps in registers;
//   kMaxTileVectors       most pixel vectors a micro-kernel keeps in registers;
//   tile_vectors_for(mr)  pixel vectors for a block of mr channels (what fits the register file).
// Everything here has internal linkage, so nothing compiled for one instruction set can be picked
// by the linker for another.
//
// One task (see CpuPlan) = image n, group g, a band of phase-space rows [qh0, qh0 + bh) and columns
// [qw0, qw0 + bw), a chunk of output-channel blocks. For each chunk of input channels:
//  1. pack the input the band reads (rows qh0 - span_h ..., columns qw0 - span_w ...) into a
//     zero-padded buffer, one plane per input channel, rows of `pitch`; in the flattened plane
//     every tap of every phase is a constant offset from the output position, so a micro-kernel
//     needs no bounds checks, and short output rows are concatenated into long vectors;
//  2. for each vertical phase rh, channel block, tile of the flattened band and horizontal phase
//     rw, a micro-kernel computes [block channels] x [tile pixels] with accumulators in registers
//     across the chunk's input channels and taps, starting from the bias (first chunk) or from
//     the task's accumulator buffer (later chunks), and writes them back there.
// Then 3. store the accumulators to the output once, phases interleaved, in contiguous runs of
// output columns; rows of vertical phases that no tap reaches get the bias directly.

template <class Vec>
using KernelFn = void (*)(const typename Vec::T* src, int64_t plane, int64_t cin,
                          const int64_t* tap_off, int64_t taps, const typename Vec::T* w,
                          const typename Vec::T* bias, bool accumulate, typename Vec::T* out,
                          int64_t out_co_stride);

inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
inline int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

// out[m][0 .. NRV*lanes) = start + sum over ci < cin, t < taps of
//     w[ci][t][m] * src[ci*plane + tap_off[t] + pixel],
// start = out[m][pixel] itself when accumulating (a later chunk of input channels), else bias[m]
// (or zero without bias).
template <class Vec, int MR, int NRV>
void micro_kernel(const typename Vec::T* src, int64_t plane, int64_t cin, const int64_t* tap_off,
                  int64_t taps, const typename Vec::T* w, const typename Vec::T* bias,
                  bool accumulate, typename Vec::T* out, int64_t out_co_stride) {
  using T = typename Vec::T;
  using V = typename Vec::V;
  constexpr int L = Vec::kLanes;
  V acc[MR][NRV];
  for (int m = 0; m < MR; ++m) {
    if (accumulate) {
      for (int v = 0; v < NRV; ++v) acc[m][v] = Vec::load(out + m * out_co_stride + v * L);
    } else {
      const V start = bias ? Vec::set1(bias[m]) : Vec::zero();
      for (int v = 0; v < NRV; ++v) acc[m][v] = start;
    }
  }
  for (int64_t ci = 0; ci < cin; ++ci, src += plane) {
    for (int64_t t = 0; t < taps; ++t, w += MR) {
      const T* p = src + tap_off[t];
      V x[NRV];
      for (int v = 0; v < NRV; ++v) x[v] = Vec::load(p + v * L);
      for (int m = 0; m < MR; ++m) {
        const V wm = Vec::set1(w[m]);
        for (int v = 0; v < NRV; ++v) acc[m][v] = Vec::fma(wm, x[v], acc[m][v]);
      }
    }
  }
  for (int m = 0; m < MR; ++m)
    for (int v = 0; v < NRV; ++v) Vec::store(out + m * out_co_stride + v * L, acc[m][v]);
}

// The micro-kernel for mr channels and nrv pixel vectors (both at least 1, within the maxima).
template <class Vec, int MR, int NRV = 1>
KernelFn<Vec> pick_vectors(int64_t nrv) {
  if constexpr (NRV > kMaxTileVectors) {
    return nullptr;
  } else {
    return nrv == NRV ? &micro_kernel<Vec, MR, NRV> : pick_vectors<Vec, MR, NRV + 1>(nrv);
  }
}
template <class Vec, int MR = 1>
KernelFn<Vec> pick_kernel(int64_t mr, int64_t nrv) {
  if constexpr (MR > kMaxBlockCo) {
    return nullptr;
  } else {
    return mr == MR ? pick_vectors<Vec, MR>(nrv) : pick_kernel<Vec, MR + 1>(mr, nrv);
  }
}

// Step 1: the band's input (input channels [c_first, c_first + channels)), zero-padded, [ci][row][pitch] planes of `plane` values (the last
// lanes values of each plane are zero too: the last tile's vectors may read that far).
template <class T>
void pack_band(const CpuPlan& P, const T* input, int64_t n, int64_t c_first, int64_t channels,
               int64_t qh0, int64_t rows, int64_t qw0, int64_t plane, T* band) {
  const int64_t iw0 = qw0 - P.span_w;  // input column of packed column 0
  const int64_t c_lo = min64(P.pitch, max64(0, -iw0));
  const int64_t c_hi = max64(c_lo, min64(P.pitch, P.in_w - iw0));
  const int64_t xs3 = P.in_stride[3];
  for (int64_t ci = 0; ci < channels; ++ci) {
    const T* src_c = input + n * P.in_stride[0] + (c_first + ci) * P.in_stride[1];
    T* dst_plane = band + ci * plane;
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t ih = qh0 - P.span_h + r;
      T* dst = dst_plane + r * P.pitch;
      if (ih < 0 || ih >= P.in_h) {
        std::memset(dst, 0, sizeof(T) * P.pitch);
        continue;
      }
      const T* src = src_c + ih * P.in_stride[2] + iw0 * xs3;
      if (c_lo > 0) std::memset(dst, 0, sizeof(T) * c_lo);
      if (xs3 == 1) {
        std::memcpy(dst + c_lo, src + c_lo, sizeof(T) * (c_hi - c_lo));
      } else {
        for (int64_t c = c_lo; c < c_hi; ++c) dst[c] = src[c * xs3];
      }
      if (c_hi < P.pitch) std::memset(dst + c_hi, 0, sizeof(T) * (P.pitch - c_hi));
    }
    std::memset(dst_plane + rows * P.pitch, 0, sizeof(T) * (plane - rows * P.pitch));
  }
}

// out[q*SW + r] = phases[r*phase_stride + q] for q < count: phase r of a row becomes every SW-th
// output column. With SW a constant, the compiler turns this into vector shuffles.
template <int SW, class T>
void interleave_phases(const T* __restrict phases, int64_t phase_stride, T* __restrict out,
                       int64_t count) {
  for (int64_t q = 0; q < count; ++q)
    for (int r = 0; r < SW; ++r) out[q * SW + r] = phases[r * phase_stride + q];
}

template <class T>
void interleave_phases_any(const T* phases, int64_t phase_stride, int64_t sw, T* out,
                           int64_t count) {
  switch (sw) {
    case 1: std::memcpy(out, phases, sizeof(T) * count); return;
    case 2: interleave_phases<2>(phases, phase_stride, out, count); return;
    case 3: interleave_phases<3>(phases, phase_stride, out, count); return;
    case 4: interleave_phases<4>(phases, phase_stride, out, count); return;
    case 5: interleave_phases<5>(phases, phase_stride, out, count); return;
    case 6: interleave_phases<6>(phases, phase_stride, out, count); return;
    case 7: interleave_phases<7>(phases, phase_stride, out, count); return;
    case 8: interleave_phases<8>(phases, phase_stride, out, count); return;
    default:
      for (int64_t q = 0; q < count; ++q)
        for (int64_t r = 0; r < sw; ++r) out[q * sw + r] = phases[r * phase_stride + q];
  }
}

// Step 2's store: tile[m][rw][i] holds phase (rh, rw) at flattened band position f0 + i for
// i < np; write every output element of those positions, column runs in output order.
template <class T>
void store_tile(const CpuPlan& P, const T* tile, int64_t tile_co_stride, int64_t tile_phase_stride,
                int64_t mr, int64_t np, int64_t f0, int64_t n, int64_t co0, int64_t rh,
                int64_t qh0, int64_t bh, int64_t qw0, int64_t bw, T* output) {
  const int64_t sw = P.stride_w, pw = P.pad_w;
  const int64_t ys1 = P.out_stride[1], ys3 = P.out_stride[3];
  // Phase-space columns whose sw output columns all exist: [q_in0, q_in1).
  const int64_t q_in0 = (pw + sw - 1) / sw;
  const int64_t q_in1 = (P.out_w + pw) / sw;
  for (int64_t row = f0 / P.pitch; row * P.pitch < f0 + np && row < bh; ++row) {
    const int64_t oh = (qh0 + row) * P.stride_h + rh - P.pad_h;
    if (oh < 0 || oh >= P.out_h) continue;
    // Columns qa <= q < qb of this row lie in the tile, at tile index i_base + q.
    const int64_t qa = qw0 + max64(0, f0 - row * P.pitch);
    const int64_t qb = qw0 + min64(bw, f0 + np - row * P.pitch);
    if (qa >= qb) continue;
    const int64_t i_base = row * P.pitch - qw0 - f0;
    T* y_row = output + n * P.out_stride[0] + co0 * ys1 + oh * P.out_stride[2];
    // Interior columns contiguously (when the output rows are); the rest one by one.
    int64_t qi0 = qa, qi1 = qa;
    if (ys3 == 1) {
      qi0 = min64(qb, max64(qa, q_in0));
      qi1 = max64(qi0, min64(qb, q_in1));
    }
    for (int64_t m = 0; m < mr; ++m) {
      const T* t_m = tile + m * tile_co_stride + i_base;
      T* y = y_row + m * ys1;
      if (qi0 < qi1)
        interleave_phases_any(t_m + qi0, tile_phase_stride, sw, y + qi0 * sw - pw, qi1 - qi0);
      for (int64_t q = qa; q < qb; ++q) {
        if (q == qi0) q = qi1;
        if (q >= qb) break;
        for (int64_t rw = 0; rw < sw; ++rw) {
          const int64_t ow = q * sw + rw - pw;
          if (ow >= 0 && ow < P.out_w) y[ow * ys3] = t_m[rw * tile_phase_stride + q];
        }
      }
    }
  }
}

// Output rows of a vertical phase no tap reaches: the bias (or zero), for the band's columns.
template <class T>
void fill_bias_rows(const CpuPlan& P, const T* bias, int64_t n, int64_t co0, int64_t co1,
                    int64_t rh, int64_t qh0, int64_t bh, int64_t qw0, int64_t bw, T* output) {
  const int64_t ow0 = max64(0, qw0 * P.stride_w - P.pad_w);
  const int64_t ow1 = min64(P.out_w, (qw0 + bw) * P.stride_w - P.pad_w);
  const int64_t ys3 = P.out_stride[3];
  for (int64_t row = 0; row < bh; ++row) {
    const int64_t oh = (qh0 + row) * P.stride_h + rh - P.pad_h;
    if (oh < 0 || oh >= P.out_h) continue;
    for (int64_t co = co0; co < co1; ++co) {
      const T value = bias ? bias[co] : T(0);
      T* y = output + n * P.out_stride[0] + co * P.out_stride[1] + oh * P.out_stride[2];
      if (ys3 == 1) {
        for (int64_t ow = ow0; ow < ow1; ++ow) y[ow] = value;
      } else {
        for (int64_t ow = ow0; ow < ow1; ++ow) y[ow * ys3] = value;
      }
    }
  }
}

template <class Vec>
void run_tasks(const CpuPlan& P, int64_t begin, int64_t end, typename Vec::T* band,
               typename Vec::T* acc) {
  using T = typename Vec::T;
  constexpr int64_t L = Vec::kLanes;
  const T* input = static_cast<const T*>(P.input);
  T* output = static_cast<T*>(P.output);
  const T* weight = static_cast<const T*>(P.weight_packed);
  const T* bias_all = static_cast<const T*>(P.bias);
  const int64_t sh = P.stride_h, sw = P.stride_w;

  for (int64_t task = begin; task < end; ++task) {
    int64_t rest = task;
    const int64_t chunk = rest % P.co_chunks;
    rest /= P.co_chunks;
    const int64_t wb = rest % P.bands_w;
    rest /= P.bands_w;
    const int64_t hb = rest % P.bands_h;
    rest /= P.bands_h;
    const int64_t g = rest % P.groups;
    const int64_t n = rest / P.groups;

    const int64_t qh0 = P.q_first_h + hb * P.band_h;
    const int64_t bh = min64(P.band_h, P.q_h - hb * P.band_h);
    const int64_t qw0 = P.q_first_w + wb * P.band_w;
    const int64_t bw = min64(P.band_w, P.q_w - wb * P.band_w);
    const int64_t rows = bh + P.span_h;
    const int64_t plane = rows * P.pitch + L;
    const int64_t block_begin = chunk * P.co_blocks / P.co_chunks;
    const int64_t block_end = (chunk + 1) * P.co_blocks / P.co_chunks;
    const int64_t chunk_co0 = P.co_block_start[block_begin];
    const int64_t chunk_channels = P.co_block_start[block_end] - chunk_co0;
    const T* bias_group = bias_all ? bias_all + g * P.cout_g : nullptr;
    T* output_group = output + g * P.cout_g * P.out_stride[1];

    // Band rows [row_lo[rh], row_hi[rh]) have an output row in vertical phase rh.
    auto row_range = [&](int64_t rh, int64_t* lo, int64_t* hi) {
      const int64_t lead = P.pad_h - rh;  // output row >= 0  <=>  qh*sh >= lead
      *lo = max64(0, (lead > 0 ? (lead + sh - 1) / sh : 0) - qh0);
      const int64_t last = P.out_h - 1 + P.pad_h - rh;  // output row < out_h <=> qh*sh <= last
      *hi = last < 0 ? 0 : min64(bh, last / sh + 1 - qh0);
    };
    auto has_taps = [&](int64_t rh) {
      for (int64_t rw = 0; rw < sw; ++rw)
        if (P.phase_taps[rh * sw + rw] > 0) return true;
      return false;
    };
    // Accumulators of vertical phase rh, channel co (relative to the chunk): [rw][position].
    auto acc_of = [&](int64_t rh, int64_t co) {
      return acc + (rh * chunk_channels + co) * sw * P.acc_pitch;
    };

    // Input channels in chunks: each chunk's packed band and weights stay in cache while every
    // channel block and tile uses them; accumulators carry over from chunk to chunk.
    for (int64_t c0 = 0; c0 < P.cin_g; c0 += P.ci_chunk) {
      const int64_t kc = min64(P.ci_chunk, P.cin_g - c0);
      const bool first = c0 == 0;
      pack_band<T>(P, input, n, g * P.cin_g + c0, kc, qh0, rows, qw0, plane, band);
      for (int64_t rh = 0; rh < sh; ++rh) {
        if (!has_taps(rh)) continue;
        int64_t row_lo, row_hi;
        row_range(rh, &row_lo, &row_hi);
        if (row_lo >= row_hi) continue;
        // Flattened positions of those rows: row r, column c is r*pitch + c (c < bw).
        const int64_t f_begin = row_lo * P.pitch, f_end = (row_hi - 1) * P.pitch + bw;
        for (int64_t cb = block_begin; cb < block_end; ++cb) {
          const int64_t co0 = P.co_block_start[cb];
          const int64_t mr = P.co_block_start[cb + 1] - co0;
          const int64_t nrv_full = tile_vectors_for(mr);
          const KernelFn<Vec> kernel_full = pick_kernel<Vec>(mr, nrv_full);
          const T* bias = bias_group ? bias_group + co0 : nullptr;
          T* acc_block = acc_of(rh, co0 - chunk_co0);
          // Bias-only horizontal phases: set once, untouched by later chunks.
          for (int64_t rw = 0; rw < sw && first; ++rw) {
            if (P.phase_taps[rh * sw + rw] > 0) continue;
            for (int64_t m = 0; m < mr; ++m) {
              const T value = bias ? bias[m] : T(0);
              T* a = acc_block + (m * sw + rw) * P.acc_pitch;
              for (int64_t f = f_begin; f < f_end; ++f) a[f] = value;
            }
          }
          // Horizontal phases innermost: they read overlapping input, still in L1.
          for (int64_t f0 = f_begin; f0 < f_end; f0 += nrv_full * L) {
            const int64_t nrv = min64(nrv_full, (f_end - f0 + L - 1) / L);
            const KernelFn<Vec> kernel = nrv == nrv_full ? kernel_full : pick_kernel<Vec>(mr, nrv);
            for (int64_t rw = 0; rw < sw; ++rw) {
              const int64_t p = rh * sw + rw;
              const int64_t taps = P.phase_taps[p];
              if (taps == 0) continue;
              const T* w = weight + g * P.weight_group_stride + P.phase_weight_offset[p] +
                           co0 * P.cin_g * taps + c0 * taps * mr;
              kernel(band + f0, plane, kc, P.tap_offset + p * P.max_taps, taps, w, bias, !first,
                     acc_block + rw * P.acc_pitch + f0, sw * P.acc_pitch);
            }
          }
        }
      }
    }

    // Every output element of the task once: accumulated phases interleaved, bias-only rows.
    for (int64_t rh = 0; rh < sh; ++rh) {
      if (!has_taps(rh)) {
        fill_bias_rows<T>(P, bias_group, n, chunk_co0, chunk_co0 + chunk_channels, rh, qh0, bh,
                          qw0, bw, output_group);
        continue;
      }
      int64_t row_lo, row_hi;
      row_range(rh, &row_lo, &row_hi);
      if (row_lo >= row_hi) continue;
      const int64_t f_end = (row_hi - 1) * P.pitch + bw;
      store_tile<T>(P, acc_of(rh, 0), sw * P.acc_pitch, P.acc_pitch, chunk_channels, f_end, 0, n,
                    g * P.cout_g + chunk_co0, rh, qh0, bh, qw0, bw, output);
    }
  }
}
