// The CPU kernels compiled for AVX-512F (zmm registers: 16 floats / 8 doubles). Chosen at run time
// only on CPUs that report AVX-512F (see select_cpu_kernels).
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "cpu_kernels.h"

#pragma GCC push_options
#pragma GCC target("avx512f,avx2,fma")

namespace tconv {
namespace cpu {
namespace {

struct VecFloat {
  using T = float;
  using V = __m512;
  static constexpr int kLanes = 16;
  static V zero() { return _mm512_setzero_ps(); }
  static V set1(T a) { return _mm512_set1_ps(a); }
  static V load(const T* p) { return _mm512_loadu_ps(p); }
  static void store(T* p, V a) { _mm512_storeu_ps(p, a); }
  static V fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
};

struct VecDouble {
  using T = double;
  using V = __m512d;
  static constexpr int kLanes = 8;
  static V zero() { return _mm512_setzero_pd(); }
  static V set1(T a) { return _mm512_set1_pd(a); }
  static V load(const T* p) { return _mm512_loadu_pd(p); }
  static void store(T* p, V a) { _mm512_storeu_pd(p, a); }
  static V fma(V a, V b, V c) { return _mm512_fmadd_pd(a, b, c); }
};

// 32 vector registers: up to 8 channels x 3 vectors (24 accumulators, 3 pixel loads, 1 broadcast),
// or 4 vectors for blocks of up to 6 channels.
constexpr int kMaxBlockCo = 8;
constexpr int kMaxTileVectors = 4;
constexpr int64_t tile_vectors_for(int64_t mr) { return mr <= 6 ? 4 : 3; }

#include "cpu_kernels_impl.h"

}  // namespace

const CpuKernels& avx512_kernels() {
  static const CpuKernels kernels{"avx512", VecFloat::kLanes, VecDouble::kLanes, kMaxBlockCo,
                                  kMaxTileVectors, &run_tasks<VecFloat>, &run_tasks<VecDouble>};
  return kernels;
}

}  // namespace cpu
}  // namespace tconv

#pragma GCC pop_options
