// Division by a per-launch constant without the integer divide: the one-pass kernels turn flat work
// indices into (image, row, column) with it, where a 32-bit `/` costs about 20 instructions.
#pragma once

#include <cstdint>

namespace tconv {
namespace cuda {

// n / d for 0 <= n < 2^31 by multiply and shift (Granlund-Montgomery), d >= 1.
struct FastDivmod {
  uint32_t divisor = 1, magic = 0, shift = 0;
  FastDivmod() = default;
  explicit FastDivmod(uint32_t d) : divisor(d) {
    while ((uint64_t(1) << shift) < d) ++shift;
    magic = static_cast<uint32_t>(((uint64_t(1) << 32) * ((uint64_t(1) << shift) - d)) / d + 1);
  }
  __device__ __forceinline__ uint32_t div(uint32_t n) const {
    return (__umulhi(n, magic) + n) >> shift;
  }
};

}  // namespace cuda
}  // namespace tconv
