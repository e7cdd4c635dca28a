// Hopper (sm_90a) building blocks for wgmma_gemm.cu and wgmma_image_gemm.cu: warpgroup MMA (wgmma) with shared-memory
// matrix descriptors and the fences that order it with ordinary instructions, and the mbarriers
// its producer and consumer warpgroups hand shared-memory stages over with.
//
// Operands are K-major with no swizzle: a core matrix is 8 rows x 16 bytes stored contiguously;
// the descriptor's leading byte offset is the distance between core matrices adjacent in K, its
// stride byte offset between core matrices adjacent in M (or N), and its start address may be any
// 16-byte boundary (all three checked on the H100 against a CPU product in session 3). 16-bit B
// may also be N-major (mma_b_nmajor; checked in session 12 by the image GEMM's suite).
// Accumulators of m64nN: thread (warp w of the warpgroup, lane = 4 g + t) holds, for n8 block j,
// d[4j] = (row 16w + g, column 8j + 2t), d[4j+1] = (.., column + 1), d[4j+2], d[4j+3] = row + 8.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>
#include <type_traits>

// Defined in the device pass of sm_90a code, the only code in which wgmma exists: the kernels'
// bodies compile under it (and trap elsewhere: supported() keeps other devices away).
#if defined(__CUDA_ARCH__) && defined(__CUDA_ARCH_FEAT_SM90_ALL)
#define TCONV_WGMMA_DEVICE 1
#endif

namespace tconv {
namespace cuda {
namespace wgmma {

__device__ __forceinline__ uint64_t descriptor(uint32_t shared_address, uint32_t k_stride_bytes,
                                               uint32_t mn_stride_bytes) {
  return uint64_t((shared_address & 0x3FFFF) >> 4) | (uint64_t(k_stride_bytes >> 4) << 16) |
         (uint64_t(mn_stride_bytes >> 4) << 32);
}

// Before the first wgmma that reads accumulators other instructions wrote.
__device__ __forceinline__ void fence() { asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory"); }
__device__ __forceinline__ void commit() { asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory"); }
// Waits until at most `Pending` of this warpgroup's committed wgmma groups are still running.
template <int Pending> __device__ __forceinline__ void wait() {
  asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(Pending) : "memory");
}
// Pins accumulator registers around a batch of wgmmas, so that the compiler does not move or
// reuse them while wgmmas in flight write them (ptxas still reports C7519, a wgmma.fence it
// inserts at the loop's wgmmas: informational).
template <int N> __device__ __forceinline__ void fence_operands(float (&d)[N]) {
#pragma unroll
  for (int i = 0; i < N; ++i) asm volatile("" : "+f"(d[i])::"memory");
}
// Ordinary (generic-proxy) shared-memory writes become visible to wgmma (the async proxy) only
// after this fence and a barrier.
__device__ __forceinline__ void fence_proxy_async() {
  asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
}

// Moves this warpgroup's registers per thread up (Increase) or down to `Count` (a multiple of 8):
// warp-specialized kernels give the math warpgroups what the copying one does not need.
template <bool Increase, int Count> __device__ __forceinline__ void set_max_registers() {
  if constexpr (Increase)
    asm volatile("setmaxnreg.inc.sync.aligned.u32 %0;\n" ::"n"(Count));
  else
    asm volatile("setmaxnreg.dec.sync.aligned.u32 %0;\n" ::"n"(Count));
}

// The wrappers: one m64nNk8 (TF32) or m64nNk16 (bf16, fp16) step, D += A * B, both operands from
// shared memory, K-major. The operand lists are spelled out per accumulator count (N / 2).
#define TCONV_WGMMA_OPERANDS_32                                                                    \
  "{%0,%1,%2,%3,%4,%5,%6,%7,%8,%9,%10,%11,%12,%13,%14,%15,%16,%17,%18,%19,%20,%21,%22,%23,%24,%25," \
  "%26,%27,%28,%29,%30,%31}, %32, %33"
#define TCONV_WGMMA_OPERANDS_52                                                                    \
  "{%0,%1,%2,%3,%4,%5,%6,%7,%8,%9,%10,%11,%12,%13,%14,%15,%16,%17,%18,%19,%20,%21,%22,%23,%24,%25," \
  "%26,%27,%28,%29,%30,%31,%32,%33,%34,%35,%36,%37,%38,%39,%40,%41,%42,%43,%44,%45,%46,%47,%48,"   \
  "%49,%50,%51}, %52, %53"
#define TCONV_WGMMA_OPERANDS_64                                                                    \
  "{%0,%1,%2,%3,%4,%5,%6,%7,%8,%9,%10,%11,%12,%13,%14,%15,%16,%17,%18,%19,%20,%21,%22,%23,%24,%25," \
  "%26,%27,%28,%29,%30,%31,%32,%33,%34,%35,%36,%37,%38,%39,%40,%41,%42,%43,%44,%45,%46,%47,%48,"   \
  "%49,%50,%51,%52,%53,%54,%55,%56,%57,%58,%59,%60,%61,%62,%63}, %64, %65"
#define TCONV_WGMMA_OPERANDS_128                                                                   \
  "{%0,%1,%2,%3,%4,%5,%6,%7,%8,%9,%10,%11,%12,%13,%14,%15,%16,%17,%18,%19,%20,%21,%22,%23,%24," \
  "%25,%26,%27,%28,%29,%30,%31,%32,%33,%34,%35,%36,%37,%38,%39,%40,%41,%42,%43,%44,%45,%46,%47," \
  "%48,%49,%50,%51,%52,%53,%54,%55,%56,%57,%58,%59,%60,%61,%62,%63,%64,%65,%66,%67,%68,%69,%70," \
  "%71,%72,%73,%74,%75,%76,%77,%78,%79,%80,%81,%82,%83,%84,%85,%86,%87,%88,%89,%90,%91,%92,%93," \
  "%94,%95,%96,%97,%98,%99,%100,%101,%102,%103,%104,%105,%106,%107,%108,%109,%110,%111,%112," \
  "%113,%114,%115,%116,%117,%118,%119,%120,%121,%122,%123,%124,%125,%126,%127}, %128, %129"
#define TCONV_WGMMA_A_REGISTERS_OPERANDS_32                                                        \
  "{%0,%1,%2,%3,%4,%5,%6,%7,%8,%9,%10,%11,%12,%13,%14,%15,%16,%17,%18,%19,%20,%21,%22,%23,%24," \
  "%25,%26,%27,%28,%29,%30,%31}, {%32,%33,%34,%35}, %36"
#define TCONV_WGMMA_A_REGISTERS_OPERANDS_128                                                       \
  "{%0,%1,%2,%3,%4,%5,%6,%7,%8,%9,%10,%11,%12,%13,%14,%15,%16,%17,%18,%19,%20,%21,%22,%23,%24," \
  "%25,%26,%27,%28,%29,%30,%31,%32,%33,%34,%35,%36,%37,%38,%39,%40,%41,%42,%43,%44,%45,%46,%47," \
  "%48,%49,%50,%51,%52,%53,%54,%55,%56,%57,%58,%59,%60,%61,%62,%63,%64,%65,%66,%67,%68,%69,%70," \
  "%71,%72,%73,%74,%75,%76,%77,%78,%79,%80,%81,%82,%83,%84,%85,%86,%87,%88,%89,%90,%91,%92,%93," \
  "%94,%95,%96,%97,%98,%99,%100,%101,%102,%103,%104,%105,%106,%107,%108,%109,%110,%111,%112," \
  "%113,%114,%115,%116,%117,%118,%119,%120,%121,%122,%123,%124,%125,%126,%127}, {%128,%129,%130,%131}, %132"
#define TCONV_D4(i) "+f"(d[i]), "+f"(d[i + 1]), "+f"(d[i + 2]), "+f"(d[i + 3])
#define TCONV_D16(i) TCONV_D4(i), TCONV_D4(i + 4), TCONV_D4(i + 8), TCONV_D4(i + 12)
#define TCONV_WGMMA_D_32 TCONV_D16(0), TCONV_D16(16)
#define TCONV_WGMMA_D_52 TCONV_D16(0), TCONV_D16(16), TCONV_D16(32), TCONV_D4(48)
#define TCONV_WGMMA_D_64 TCONV_D16(0), TCONV_D16(16), TCONV_D16(32), TCONV_D16(48)
#define TCONV_WGMMA_D_128 TCONV_WGMMA_D_64, TCONV_D16(64), TCONV_D16(80), TCONV_D16(96), TCONV_D16(112)

// TAIL: the scale and (16-bit only) transpose immediates after the accumulate predicate.
#define TCONV_DEFINE_WGMMA(NAME, REGS, SHAPE, TAIL)                                                 \
  __device__ __forceinline__ void NAME(float (&d)[REGS], uint64_t a, uint64_t b) {                  \
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, 1, 0;\nwgmma.mma_async.sync.aligned." SHAPE " " \
                 TCONV_WGMMA_OPERANDS_##REGS ", p" TAIL ";\n}\n"                                   \
                 : TCONV_WGMMA_D_##REGS                                                           \
                 : "l"(a), "l"(b));                                                               \
  }

TCONV_DEFINE_WGMMA(tf32_n64, 32, "m64n64k8.f32.tf32.tf32", ", 1, 1")
TCONV_DEFINE_WGMMA(tf32_n104, 52, "m64n104k8.f32.tf32.tf32", ", 1, 1")
TCONV_DEFINE_WGMMA(tf32_n128, 64, "m64n128k8.f32.tf32.tf32", ", 1, 1")
TCONV_DEFINE_WGMMA(bf16_n64, 32, "m64n64k16.f32.bf16.bf16", ", 1, 1, 0, 0")
TCONV_DEFINE_WGMMA(bf16_n104, 52, "m64n104k16.f32.bf16.bf16", ", 1, 1, 0, 0")
TCONV_DEFINE_WGMMA(bf16_n128, 64, "m64n128k16.f32.bf16.bf16", ", 1, 1, 0, 0")
TCONV_DEFINE_WGMMA(f16_n64, 32, "m64n64k16.f32.f16.f16", ", 1, 1, 0, 0")
TCONV_DEFINE_WGMMA(f16_n104, 52, "m64n104k16.f32.f16.f16", ", 1, 1, 0, 0")
TCONV_DEFINE_WGMMA(f16_n128, 64, "m64n128k16.f32.f16.f16", ", 1, 1, 0, 0")
// B N-major (transpose immediate 1: 16-bit types only): each core matrix is 8 K rows of 8
// consecutive N values; the descriptor's leading offset steps K (8 rows), its stride offset N.
TCONV_DEFINE_WGMMA(bf16_n128_b_nmajor, 64, "m64n128k16.f32.bf16.bf16", ", 1, 1, 0, 1")
TCONV_DEFINE_WGMMA(f16_n128_b_nmajor, 64, "m64n128k16.f32.f16.f16", ", 1, 1, 0, 1")

// A from registers (4 per thread, the layout of mma.sync's m16n8k8 (TF32) or m16n8k16 (16-bit: two
// values per register) A per warp, warp w taking rows 16 w .. 16 w + 15), B from shared memory,
// K-major. TAIL: the scale immediates, and for 16-bit types B's transpose immediate.
#define TCONV_DEFINE_WGMMA_A_REGISTERS(NAME, REGS, SHAPE, TAIL)                                        \
  __device__ __forceinline__ void NAME(float (&d)[REGS], const uint32_t (&a)[4], uint64_t b) {         \
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, 1, 0;\nwgmma.mma_async.sync.aligned." SHAPE " "     \
                 TCONV_WGMMA_A_REGISTERS_OPERANDS_##REGS ", p" TAIL ";\n}\n"                            \
                 : TCONV_WGMMA_D_##REGS                                                               \
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(b));                               \
  }
TCONV_DEFINE_WGMMA_A_REGISTERS(tf32_n64_a_registers, 32, "m64n64k8.f32.tf32.tf32", ", 1, 1")
TCONV_DEFINE_WGMMA_A_REGISTERS(tf32_n256_a_registers, 128, "m64n256k8.f32.tf32.tf32", ", 1, 1")
TCONV_DEFINE_WGMMA_A_REGISTERS(bf16_n64_a_registers, 32, "m64n64k16.f32.bf16.bf16", ", 1, 1, 0")
TCONV_DEFINE_WGMMA_A_REGISTERS(bf16_n256_a_registers, 128, "m64n256k16.f32.bf16.bf16", ", 1, 1, 0")
TCONV_DEFINE_WGMMA_A_REGISTERS(f16_n64_a_registers, 32, "m64n64k16.f32.f16.f16", ", 1, 1, 0")
TCONV_DEFINE_WGMMA_A_REGISTERS(f16_n256_a_registers, 128, "m64n256k16.f32.f16.f16", ", 1, 1, 0")
#undef TCONV_DEFINE_WGMMA_A_REGISTERS

#undef TCONV_DEFINE_WGMMA
#undef TCONV_WGMMA_D_32
#undef TCONV_WGMMA_D_52
#undef TCONV_WGMMA_D_64
#undef TCONV_WGMMA_D_128
#undef TCONV_D16
#undef TCONV_D4
#undef TCONV_WGMMA_OPERANDS_32
#undef TCONV_WGMMA_OPERANDS_52
#undef TCONV_WGMMA_OPERANDS_64
#undef TCONV_WGMMA_OPERANDS_128
#undef TCONV_WGMMA_A_REGISTERS_OPERANDS_32
#undef TCONV_WGMMA_A_REGISTERS_OPERANDS_128

// One K step (32 bytes of K: 8 TF32 values or 16 bf16/fp16) of an m64 x N tile for storage type T.
template <typename T, int N>
__device__ __forceinline__ void mma(float (&d)[N / 2], uint64_t a, uint64_t b) {
  static_assert(N == 64 || N == 104 || N == 128, "instantiated tile widths");
  constexpr bool tf32 = std::is_same<T, float>::value, bf16 = std::is_same<T, __nv_bfloat16>::value;
  if constexpr (N == 64) {
    if constexpr (tf32) tf32_n64(d, a, b);
    else if constexpr (bf16) bf16_n64(d, a, b);
    else f16_n64(d, a, b);
  } else if constexpr (N == 104) {
    if constexpr (tf32) tf32_n104(d, a, b);
    else if constexpr (bf16) bf16_n104(d, a, b);
    else f16_n104(d, a, b);
  } else {
    if constexpr (tf32) tf32_n128(d, a, b);
    else if constexpr (bf16) bf16_n128(d, a, b);
    else f16_n128(d, a, b);
  }
}

// One K step (8 TF32 or 16 bf16/fp16 values) of an m64 x 64 or m64 x 256 tile, A from registers.
template <typename T, int R>
__device__ __forceinline__ void mma_a_registers(float (&d)[R], const uint32_t (&a)[4], uint64_t b) {
  static_assert(R == 32 || R == 128, "instantiated tile widths: 64 and 256");
  constexpr bool tf32 = std::is_same<T, float>::value, bf16 = std::is_same<T, __nv_bfloat16>::value;
  if constexpr (R == 32) {
    if constexpr (tf32) tf32_n64_a_registers(d, a, b);
    else if constexpr (bf16) bf16_n64_a_registers(d, a, b);
    else f16_n64_a_registers(d, a, b);
  } else {
    if constexpr (tf32) tf32_n256_a_registers(d, a, b);
    else if constexpr (bf16) bf16_n256_a_registers(d, a, b);
    else f16_n256_a_registers(d, a, b);
  }
}

// One K step (16 values) of an m64 x 128 tile, A K-major and B N-major, for bf16 or fp16.
template <typename T>
__device__ __forceinline__ void mma_b_nmajor(float (&d)[64], uint64_t a, uint64_t b) {
  static_assert(sizeof(T) == 2, "N-major operands exist for 16-bit types only");
  if constexpr (std::is_same<T, __nv_bfloat16>::value)
    bf16_n128_b_nmajor(d, a, b);
  else
    f16_n128_b_nmajor(d, a, b);
}

}  // namespace wgmma

// mbarriers in shared memory (addresses from shared_address()): a phase completes when `count`
// threads have arrived; waiters name the parity of the phase they wait for.
namespace mbarrier {

__device__ __forceinline__ void init(uint32_t address, uint32_t count) {
  asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(address), "r"(count) : "memory");
}
// One arrival from the lane that passes `arrives` (release semantics: that thread's earlier
// shared-memory writes, and those ordered before them, are visible to the waiter): a predicated
// instruction, not a branch (ptxas would fence wgmma around divergent code).
__device__ __forceinline__ void arrive_if(uint32_t address, bool arrives) {
  asm volatile(
      "{\n.reg .pred p;\n.reg .b64 state;\nsetp.ne.b32 p, %1, 0;\n@p mbarrier.arrive.shared::cta.b64 state, [%0];\n}\n" ::"r"(
          address),
      "r"(uint32_t(arrives))
      : "memory");
}
// One arrival that also announces `bytes` of bulk copies (cp_async_bulk) completing on the barrier.
__device__ __forceinline__ void arrive_expect_bytes(uint32_t address, uint32_t bytes) {
  asm volatile("{\n.reg .b64 state;\nmbarrier.arrive.expect_tx.shared::cta.b64 state, [%0], %1;\n}\n" ::"r"(address),
               "r"(bytes)
               : "memory");
}
// A bulk copy (the TMA unit, no registers): `bytes` (a multiple of 16, both addresses 16-byte
// aligned) from global to shared memory, counted against the barrier's expected bytes.
__device__ __forceinline__ void cp_async_bulk(uint32_t shared_destination, const void* global_source, uint32_t bytes,
                                              uint32_t barrier) {
  asm volatile(
      "cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1], %2, [%3];\n" ::"r"(
          shared_destination),
      "l"(global_source), "r"(bytes), "r"(barrier)
      : "memory");
}
__device__ __forceinline__ bool try_wait(uint32_t address, uint32_t parity) {
  uint32_t done;
  asm volatile(
      "{\n.reg .pred p;\nmbarrier.try_wait.parity.shared::cta.b64 p, [%1], %2;\nselp.u32 %0, 1, 0, p;\n}\n"
      : "=r"(done)
      : "r"(address), "r"(parity)
      : "memory");
  return done != 0;
}
// Returns once the phase of the given parity has completed. A fresh barrier is in phase 0, and
// waiting for parity 1 (the phase "before" it) returns at once: how a producer finds every stage
// free on its first pass.
__device__ __forceinline__ void wait(uint32_t address, uint32_t parity) {
  while (!try_wait(address, parity)) {
  }
}

}  // namespace mbarrier
}  // namespace cuda
}  // namespace tconv
