// Element types of the CUDA kernels: conversion to and from the accumulator type, and the
// accumulator each storage type uses (float for float32/16-bit types, double for float64).
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

namespace tconv {
namespace cuda {

template <typename T> struct Accumulator { using type = float; };
template <> struct Accumulator<double> { using type = double; };

__device__ __forceinline__ float to_acc(float v) { return v; }
__device__ __forceinline__ double to_acc(double v) { return v; }
__device__ __forceinline__ float to_acc(__half v) { return __half2float(v); }
__device__ __forceinline__ float to_acc(__nv_bfloat16 v) { return __bfloat162float(v); }

template <typename T> __device__ __forceinline__ T from_acc(float v);
template <> __device__ __forceinline__ float from_acc<float>(float v) { return v; }
template <> __device__ __forceinline__ __half from_acc<__half>(float v) { return __float2half_rn(v); }
template <> __device__ __forceinline__ __nv_bfloat16 from_acc<__nv_bfloat16>(float v) {
  return __float2bfloat16_rn(v);
}
template <typename T> __device__ __forceinline__ T from_acc(double v) { return v; }

// Loads through the read-only path: inputs and weights are never written by the kernels.
template <typename T> __device__ __forceinline__ T load_readonly(const T* p) { return __ldg(p); }
// Not __ldg for the 16-bit types: cuda_fp16/cuda_bf16 implement it as plain inline asm, which the
// compiler may execute speculatively ahead of the bounds test or null check that guards it
// (compute-sanitizer: a bias load through a null pointer). An ordinary load is never hoisted so.
template <> __device__ __forceinline__ __half load_readonly(const __half* p) { return *p; }
template <> __device__ __forceinline__ __nv_bfloat16 load_readonly(const __nv_bfloat16* p) { return *p; }

}  // namespace cuda
}  // namespace tconv
