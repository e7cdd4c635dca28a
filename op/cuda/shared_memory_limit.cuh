// The opt-in for more than 48 KB of dynamic shared memory, made once per device and kernel.
#pragma once

#include <cuda_runtime_api.h>

#include <atomic>
#include <cstdint>

namespace tconv {
namespace cuda {

// cudaFuncSetAttribute is a driver call; the limit it raises is per device and function, so the
// first launch on each device raises it and later launches skip it (a bit per device, per kernel:
// `Kernel` is the kernel itself, so every instantiation has its own mask). Two threads racing on
// the first launch both set the same value, which is harmless. Devices beyond 63 raise it every time.
template <auto Kernel>
cudaError_t allow_dynamic_shared_memory(size_t bytes) {
  static std::atomic<uint64_t> raised{0};
  int device = 0;
  cudaError_t e = cudaGetDevice(&device);
  if (e != cudaSuccess) return e;
  const uint64_t bit = device < 64 ? uint64_t(1) << device : 0;
  if (bit != 0 && (raised.load(std::memory_order_acquire) & bit) != 0) return cudaSuccess;
  e = cudaFuncSetAttribute(Kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(bytes));
  if (e == cudaSuccess) raised.fetch_or(bit, std::memory_order_release);
  return e;
}

}  // namespace cuda
}  // namespace tconv
