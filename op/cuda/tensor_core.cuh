// The tensor-core building blocks both implicit GEMMs use (implicit_gemm.cu, window_gemm.cu):
// operand words, mma.sync / ldmatrix / cp.async wrappers, the 3xTF32 split, and the weight packing.
//
// Words. K is staged in 32-bit words: a word is one TF32 value, or a pair of consecutive-k
// bf16/fp16 values. In word units the m16n8k8 TF32 and the m16n8k16 16-bit fragments have the same
// layout, so one kernel body serves all three types, and ldmatrix (which moves 8 rows x 16 bytes)
// loads the A and B fragments of every type from [row][word] shared-memory tiles.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>

#include "../geometry.h"

namespace tconv {
namespace cuda {
namespace tensor_core {

template <typename T> struct WordPack { static constexpr int values = 2; };  // bf16, fp16
template <> struct WordPack<float> { static constexpr int values = 1; };

__device__ __forceinline__ uint32_t to_tf32(float v) {
  uint32_t r;
  asm("cvt.rna.tf32.f32 %0, %1;" : "=r"(r) : "f"(v));
  return r;
}

// A word of the A or B operand built from the values of channels k and k+1 (k+1 unused for
// float32). Split (3xTF32): the full float32 bits, split after the fragment loads (split_tf32).
template <bool Split> __device__ __forceinline__ uint32_t make_word(float lo, float) {
  return Split ? __float_as_uint(lo) : to_tf32(lo);
}
template <bool Split> __device__ __forceinline__ uint32_t make_word(__half lo, __half hi) {
  return uint32_t(__half_as_ushort(lo)) | (uint32_t(__half_as_ushort(hi)) << 16);
}
template <bool Split> __device__ __forceinline__ uint32_t make_word(__nv_bfloat16 lo, __nv_bfloat16 hi) {
  return uint32_t(__bfloat16_as_ushort(lo)) | (uint32_t(__bfloat16_as_ushort(hi)) << 16);
}

__device__ __forceinline__ void mma(float (&c)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1,
                                    float) {
  asm volatile(
      "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
      "{%0,%1,%2,%3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}
__device__ __forceinline__ void mma(float (&c)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1,
                                    __nv_bfloat16) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
      "{%0,%1,%2,%3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}
__device__ __forceinline__ void mma(float (&c)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1,
                                    __half) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
      "{%0,%1,%2,%3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

// 3xTF32: x = big + small with big = tf32(x), small = tf32(x - big) (the subtraction is exact).
__device__ __forceinline__ void split_tf32(uint32_t x, uint32_t& big, uint32_t& small) {
  big = to_tf32(__uint_as_float(x));
  small = to_tf32(__uint_as_float(x) - __uint_as_float(big));
}

__device__ __forceinline__ void ldmatrix_x4(uint32_t (&r)[4], uint32_t address) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(address));
}
__device__ __forceinline__ void ldmatrix_x2(uint32_t (&r)[4], uint32_t address) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x2.shared.b16 {%0,%1}, [%2];\n"
               : "=r"(r[0]), "=r"(r[1])
               : "r"(address));
}

__device__ __forceinline__ void cp_async16(uint32_t smem_address, const void* global) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" ::"r"(smem_address), "l"(global)
               : "memory");
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::: "memory"); }
__device__ __forceinline__ void cp_async_wait_all() { asm volatile("cp.async.wait_group 0;\n" ::: "memory"); }

__device__ __forceinline__ void st_shared_v4(uint32_t address, uint32_t a, uint32_t b, uint32_t c,
                                             uint32_t d) {
  asm volatile("st.shared.v4.u32 [%0], {%1,%2,%3,%4};\n" ::"r"(address), "r"(a), "r"(b), "r"(c),
               "r"(d)
               : "memory");
}

__device__ __forceinline__ uint32_t shared_address(const void* p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}

// Weights packed once per call as [group][kh][kw][out channel < cout_padded][in-channel word <
// cin_words], zero padded, pre-rounded to TF32 (raw float32 bits for 3xTF32) or paired for 16-bit:
// a K stage of B is then BN contiguous rows of words, copied with 16-byte cp.async.
template <typename T, bool Split>
__global__ void pack_weights_kernel(const T* __restrict__ weight, uint32_t* __restrict__ packed,
                                    ConvTransposeGeometry g, int64_t cin_words, int64_t cout_padded) {
  constexpr int P = WordPack<T>::values;
  const int64_t cin_g = g.in_channels_per_group(), cout_g = g.out_channels_per_group();
  const int64_t KH = g.h.kernel, KW = g.w.kernel;
  const int64_t total = g.groups * KH * KW * cout_padded * cin_words;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total;
       i += int64_t(gridDim.x) * blockDim.x) {
    int64_t r = i;
    const int64_t cw = r % cin_words; r /= cin_words;
    const int64_t co = r % cout_padded; r /= cout_padded;
    const int64_t kw = r % KW; r /= KW;
    const int64_t kh = r % KH;
    const int64_t group = r / KH;
    T v[2] = {T(0.0f), T(0.0f)};
#pragma unroll
    for (int p = 0; p < P; ++p) {
      const int64_t ci = cw * P + p;
      if (ci < cin_g && co < cout_g)
        v[p] = weight[(((group * cin_g + ci) * cout_g + co) * KH + kh) * KW + kw];
    }
    packed[i] = make_word<Split>(v[0], v[1]);
  }
}

}  // namespace tensor_core
}  // namespace cuda
}  // namespace tconv
