// The opt-in for more than 48 KB of dynamic shared memory, made once per device and kernel.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>
#include <mutex>

namespace tconv {
namespace cuda {

// Raises `Kernel`'s dynamic shared-memory limit to everything the current device allows (its
// opt-in maximum less the kernel's static shared memory) and returns that limit in *bytes. With
// `max_carveout` it also asks for the largest shared-memory carveout of the L1, for kernels whose
// occupancy shared memory bounds (measured, phase-row kernel: the default carveout held 2 CTAs per
// SM where 3 fit). The driver calls run once per device and instantiation (`Kernel` is the kernel
// itself, so each instantiation has its own flags); later launches only read the cached result.
// Raising to the maximum rather than to one launch's size keeps the call valid for kernels whose
// shared memory varies per call.
template <auto Kernel, bool max_carveout = false>
cudaError_t raise_dynamic_shared_memory_limit(int64_t* bytes) {
  constexpr int kMaxDevices = 64;
  static std::once_flag once[kMaxDevices];
  static cudaError_t status[kMaxDevices];
  static int64_t limit[kMaxDevices];
  int device = 0;
  cudaError_t e = cudaGetDevice(&device);
  if (e != cudaSuccess) return e;
  auto raise = [](int dev, int64_t* out) {
    int optin = 0;
    cudaFuncAttributes attributes;
    cudaError_t s = cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev);
    if (s == cudaSuccess) s = cudaFuncGetAttributes(&attributes, Kernel);
    if (s != cudaSuccess) return s;
    *out = int64_t(optin) - int64_t(attributes.sharedSizeBytes);
    if (max_carveout) {
      s = cudaFuncSetAttribute(Kernel, cudaFuncAttributePreferredSharedMemoryCarveout, cudaSharedmemCarveoutMaxShared);
      if (s != cudaSuccess) return s;
    }
    return cudaFuncSetAttribute(Kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(*out));
  };
  if (device < 0 || device >= kMaxDevices) return raise(device, bytes);
  std::call_once(once[device], [&] { status[device] = raise(device, &limit[device]); });
  *bytes = limit[device];
  return status[device];
}

}  // namespace cuda
}  // namespace tconv
