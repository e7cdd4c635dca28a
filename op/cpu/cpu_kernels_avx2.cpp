// The CPU kernels compiled for AVX2 + FMA (ymm registers: 8 floats / 4 doubles). Chosen at run time
// only on CPUs that report both (see select_cpu_kernels).
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "cpu_kernels.h"

#pragma GCC push_options
#pragma GCC target("avx2,fma")

namespace tconv {
namespace cpu {
namespace {

struct VecFloat {
  using T = float;
  using V = __m256;
  static constexpr int kLanes = 8;
  static V zero() { return _mm256_setzero_ps(); }
  static V set1(T a) { return _mm256_set1_ps(a); }
  static V load(const T* p) { return _mm256_loadu_ps(p); }
  static void store(T* p, V a) { _mm256_storeu_ps(p, a); }
  static V fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
};

struct VecDouble {
  using T = double;
  using V = __m256d;
  static constexpr int kLanes = 4;
  static V zero() { return _mm256_setzero_pd(); }
  static V set1(T a) { return _mm256_set1_pd(a); }
  static V load(const T* p) { return _mm256_loadu_pd(p); }
  static void store(T* p, V a) { _mm256_storeu_pd(p, a); }
  static V fma(V a, V b, V c) { return _mm256_fmadd_pd(a, b, c); }
};

// 16 vector registers: 6 channels x 2 vectors (12 accumulators, 2 pixel loads, 1 broadcast), more
// vectors for smaller blocks.
constexpr int kMaxBlockCo = 6;
constexpr int kMaxTileVectors = 4;
constexpr int64_t tile_vectors_for(int64_t mr) { return mr <= 2 ? 4 : mr == 3 ? 3 : 2; }

#include "cpu_kernels_impl.h"

}  // namespace

const CpuKernels& avx2_kernels() {
  static const CpuKernels kernels{"avx2", VecFloat::kLanes, VecDouble::kLanes, kMaxBlockCo,
                                  kMaxTileVectors, &run_tasks<VecFloat>, &run_tasks<VecDouble>};
  return kernels;
}

}  // namespace cpu
}  // namespace tconv

#pragma GCC pop_options
