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

#include <cuda_runtime_api.h>

#include <cstdint>

#include "../geometry.h"
#include "element.cuh"

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

// The four floats at v (16-byte aligned) rounded to TF32 in place.
__device__ __forceinline__ void round_float4_to_tf32(float4* v) {
  float4 q = *v;
  q.x = __uint_as_float(to_tf32(q.x));
  q.y = __uint_as_float(to_tf32(q.y));
  q.z = __uint_as_float(to_tf32(q.z));
  q.w = __uint_as_float(to_tf32(q.w));
  *v = q;
}

// Each float of data[0, elements) rounded to TF32 in place (round to nearest; elements a multiple of
// 4, data 16-byte aligned), the float4 vectors shared out from `thread` in steps of `threads`.
__device__ __forceinline__ void round_to_tf32_in_place(float* data, int elements, int thread, int threads) {
  float4* v = reinterpret_cast<float4*>(data);
#pragma unroll 1
  for (int i = thread; i < elements / 4; i += threads) round_float4_to_tf32(v + i);
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

// m16n8k8 for bf16/fp16 (one operand word of K per lane): for groups of at most 8 input channels,
// where m16n8k16 would spend half of each step on zero padding.
__device__ __forceinline__ void mma_k8(float (&c)[4], uint32_t a0, uint32_t a1, uint32_t b, __nv_bfloat16) {
  asm volatile(
      "mma.sync.aligned.m16n8k8.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5}, {%6}, {%0,%1,%2,%3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a0), "r"(a1), "r"(b));
}
__device__ __forceinline__ void mma_k8(float (&c)[4], uint32_t a0, uint32_t a1, uint32_t b, __half) {
  asm volatile(
      "mma.sync.aligned.m16n8k8.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5}, {%6}, {%0,%1,%2,%3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a0), "r"(a1), "r"(b));
}

// 3xTF32: x = big + small with big = tf32(x), small = tf32(x - big) (the subtraction is exact).
// An infinity's small part is 0: Inf - Inf would be NaN, and so would every product with it where
// torch gives +-Inf (a NaN stays NaN in big). max(d, 0) + min(d, 0) is d, or 0 where d is NaN.
__device__ __forceinline__ void split_tf32(uint32_t x, uint32_t& big, uint32_t& small) {
  big = to_tf32(__uint_as_float(x));
  const float d = __uint_as_float(x) - __uint_as_float(big);
  small = to_tf32(fmaxf(d, 0.0f) + fminf(d, 0.0f));
}

__device__ __forceinline__ void ldmatrix_x4(uint32_t (&r)[4], uint32_t address) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(address));
}
// The transposed form: thread (g, t) receives elements (2t, g) and (2t + 1, g) of each 8 x 8 matrix,
// so B tiles stored [k][n] (n contiguous, as NCHW keeps pixels) give the mma's column-major B
// fragments of 16-bit types.
__device__ __forceinline__ void ldmatrix_x4_trans(uint32_t (&r)[4], uint32_t address) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(address));
}
// sm_90: four 8 x 8 16-bit matrices stored transposed: lanes 8 i .. 8 i + 7 give the addresses of
// matrix i's memory rows, and memory row j receives column j of the fragment r[i] (the layout
// ldmatrix_x4 loads), so ldmatrix_x4 then stmatrix_x4_trans transposes 8 x 8 blocks in place of
// 64 scalar moves.
__device__ __forceinline__ void stmatrix_x4_trans(uint32_t address, const uint32_t (&r)[4]) {
  asm volatile("stmatrix.sync.aligned.m8n8.x4.trans.shared.b16 [%0], {%1,%2,%3,%4};\n" ::"r"(address), "r"(r[0]),
               "r"(r[1]), "r"(r[2]), "r"(r[3])
               : "memory");
}
// Barrier `id` (1-15; 0 is __syncthreads) among `threads` threads, a multiple of 32.
__device__ __forceinline__ void named_barrier_sync(int id, int threads) {
  asm volatile("bar.sync %0, %1;\n" ::"r"(id), "r"(threads) : "memory");
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
// Partial form: copies the first `bytes` (0 to 16) and zero-fills the rest of the 16.
__device__ __forceinline__ void cp_async16_partial(uint32_t smem_address, const void* global, int bytes) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(smem_address), "l"(global), "r"(bytes)
               : "memory");
}
// Zero-filling form: copies 16 bytes when `fill`, else writes 16 zero bytes and reads nothing.
__device__ __forceinline__ void cp_async16_zfill(uint32_t smem_address, const void* global, bool fill) {
  cp_async16_partial(smem_address, global, fill ? 16 : 0);
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::: "memory"); }
__device__ __forceinline__ void cp_async_wait_all() { asm volatile("cp.async.wait_group 0;\n" ::: "memory"); }
// Waits until at most `Pending` of this thread's committed groups are still in flight.
template <int Pending> __device__ __forceinline__ void cp_async_wait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(Pending) : "memory");
}

__device__ __forceinline__ void st_shared_v4(uint32_t address, uint32_t a, uint32_t b, uint32_t c,
                                             uint32_t d) {
  asm volatile("st.shared.v4.u32 [%0], {%1,%2,%3,%4};\n" ::"r"(address), "r"(a), "r"(b), "r"(c),
               "r"(d)
               : "memory");
}

__device__ __forceinline__ uint32_t ld_shared_u32(uint32_t address) {
  uint32_t v;
  asm volatile("ld.shared.u32 %0, [%1];\n" : "=r"(v) : "r"(address) : "memory");
  return v;
}

__device__ __forceinline__ uint32_t ld_shared_u16(uint32_t address) {
  uint16_t v;
  asm volatile("ld.shared.u16 %0, [%1];\n" : "=h"(v) : "r"(address) : "memory");
  return v;
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

// Accumulator tiles of the mma.sync kernels: MT x NT m16n8 fragments of 4 floats per thread.
template <int MT, int NT> using Fragments = float[MT][NT][4];

template <int MT, int NT> __device__ __forceinline__ void clear(Fragments<MT, NT>& x) {
#pragma unroll
  for (int i = 0; i < MT; ++i)
#pragma unroll
    for (int j = 0; j < NT; ++j)
#pragma unroll
      for (int r = 0; r < 4; ++r) x[i][j][r] = 0.0f;
}

// 3xTF32's second sum: the tensor cores round their float32 accumulation toward zero, a bias that
// grows with the number of mma summed into one accumulator (measured: 1.4e-5 norm-wise at K = 2048,
// over the 1e-5 bar). The kernels sum one K stage's products in acc, then add them to `total` in
// ordinary round-to-nearest float32 and clear acc, so the bias stays that of one stage.
template <int MT, int NT>
__device__ __forceinline__ void fold(Fragments<MT, NT>& total, Fragments<MT, NT>& acc) {
#pragma unroll
  for (int i = 0; i < MT; ++i)
#pragma unroll
    for (int j = 0; j < NT; ++j)
#pragma unroll
      for (int r = 0; r < 4; ++r) {
        total[i][j][r] += acc[i][j][r];
        acc[i][j][r] = 0.0f;
      }
}

template <int MT, int NT>
__device__ __forceinline__ void assign(Fragments<MT, NT>& dst, const Fragments<MT, NT>& src) {
#pragma unroll
  for (int i = 0; i < MT; ++i)
#pragma unroll
    for (int j = 0; j < NT; ++j)
#pragma unroll
      for (int r = 0; r < 4; ++r) dst[i][j][r] = src[i][j][r];
}

// A warp's accumulators (its tile starts at pixel row0, channel col0 of the block tile) ->
// c_stage[channel * cs + pixel], the epilogue's shared-memory stage.
template <int MT, int NT>
__device__ __forceinline__ void stage_accumulators(float* c_stage, int cs, const Fragments<MT, NT>& acc, int row0,
                                                   int col0) {
  const int lane = threadIdx.x % 32, fg = lane / 4, ft = lane % 4;
#pragma unroll
  for (int mt = 0; mt < MT; ++mt)
#pragma unroll
    for (int nt = 0; nt < NT; ++nt) {
      const int row = row0 + mt * 16 + fg, col = col0 + nt * 8 + 2 * ft;
      c_stage[col * cs + row] = acc[mt][nt][0];
      c_stage[(col + 1) * cs + row] = acc[mt][nt][1];
      c_stage[col * cs + row + 8] = acc[mt][nt][2];
      c_stage[(col + 1) * cs + row + 8] = acc[mt][nt][3];
    }
}

// Launches pack_weights_kernel on the stream (nothing for an empty weight) and returns its status.
template <typename T, bool Split>
cudaError_t pack_weights(const void* weight, void* packed, const ConvTransposeGeometry& g, int64_t cin_words,
                         int64_t cout_padded, cudaStream_t stream) {
  const int64_t words = g.groups * g.h.kernel * g.w.kernel * cout_padded * cin_words;
  if (words == 0) return cudaSuccess;
  const int64_t blocks = (words + 255) / 256 < 4096 ? (words + 255) / 256 : 4096;
  pack_weights_kernel<T, Split><<<static_cast<unsigned>(blocks), 256, 0, stream>>>(
      static_cast<const T*>(weight), static_cast<uint32_t*>(packed), g, cin_words, cout_padded);
  return cudaGetLastError();
}

// The GEMMs' epilogue: a tile's accumulators, staged in shared memory as c_stage[n * cs + m]
// (co_count output channels x BM pixels), go to the output with the bias added and the dtype cast.
// row_offset[m] is pixel m's output offset (channel 0), -1 past the phase. NCHW: consecutive
// threads take consecutive pixels of one channel (runs along output rows); channels_last:
// consecutive channels of one pixel (contiguous). Called by all kThreads threads of the block.
template <typename T, int BM, int BN, int kThreads>
__device__ __forceinline__ void store_tile(const float* c_stage, int cs, const int64_t* row_offset,
                                           const T* bias, T* out, int64_t channel0, int co_count,
                                           int64_t channel_stride, bool channels_last) {
  const int tid = threadIdx.x;
  if (!channels_last) {
    const int r = tid % BM;
    const int64_t offset = row_offset[r];
    if (offset >= 0) {
      T* o = out + offset + channel0 * channel_stride;
      for (int c = tid / BM; c < co_count; c += kThreads / BM) {
        const float bias_v = bias ? to_acc(load_readonly(bias + channel0 + c)) : 0.0f;
        o[c * channel_stride] = from_acc<T>(c_stage[c * cs + r] + bias_v);
      }
    }
  } else {
    const int c = tid % BN;
    if (c < co_count) {
      const float bias_v = bias ? to_acc(load_readonly(bias + channel0 + c)) : 0.0f;
      T* o = out + (channel0 + c) * channel_stride;
      for (int r = tid / BN; r < BM; r += kThreads / BN) {
        const int64_t offset = row_offset[r];
        if (offset >= 0) o[offset] = from_acc<T>(c_stage[c * cs + r] + bias_v);
      }
    }
  }
}

}  // namespace tensor_core
}  // namespace cuda
}  // namespace tconv
