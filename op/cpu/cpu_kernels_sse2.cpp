// The CPU kernels for any x86-64 CPU (SSE2, the x86-64 baseline: 4 floats / 2 doubles per
// register, no FMA). The fallback when neither AVX-512F nor AVX2+FMA is available.
#include <emmintrin.h>

#include <cstdint>
#include <cstring>

#include "cpu_kernels.h"

namespace tconv {
namespace cpu {
namespace {

struct VecFloat {
  using T = float;
  using V = __m128;
  static constexpr int kLanes = 4;
  static V zero() { return _mm_setzero_ps(); }
  static V set1(T a) { return _mm_set1_ps(a); }
  static V load(const T* p) { return _mm_loadu_ps(p); }
  static void store(T* p, V a) { _mm_storeu_ps(p, a); }
  static V fma(V a, V b, V c) { return _mm_add_ps(_mm_mul_ps(a, b), c); }
};

struct VecDouble {
  using T = double;
  using V = __m128d;
  static constexpr int kLanes = 2;
  static V zero() { return _mm_setzero_pd(); }
  static V set1(T a) { return _mm_set1_pd(a); }
  static V load(const T* p) { return _mm_loadu_pd(p); }
  static void store(T* p, V a) { _mm_storeu_pd(p, a); }
  static V fma(V a, V b, V c) { return _mm_add_pd(_mm_mul_pd(a, b), c); }
};

// 16 vector registers, and a multiply-add needs a temporary: 6 channels x 2 vectors at most.
constexpr int kMaxBlockCo = 6;
constexpr int kMaxTileVectors = 4;
constexpr int64_t tile_vectors_for(int64_t mr) { return mr <= 2 ? 4 : mr == 3 ? 3 : 2; }

#include "cpu_kernels_impl.h"

}  // namespace

const CpuKernels& sse2_kernels() {
  static const CpuKernels kernels{"sse2", VecFloat::kLanes, VecDouble::kLanes, kMaxBlockCo,
                                  kMaxTileVectors, &run_tasks<VecFloat>, &run_tasks<VecDouble>};
  return kernels;
}

}  // namespace cpu
}  // namespace tconv
