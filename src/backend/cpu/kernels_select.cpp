// Chooses the kernel table for this CPU at run time (cpuid through __builtin_cpu_supports).
#include "backend/cpu/cpu_kernels.h"
#include "backend/cpu/kernels_avx2.h"

namespace swallow::cpu {

const CpuKernels* avx2_kernels() {
  static const bool supported =
      __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
  static const CpuKernels kernels{"avx2", matmul_avx2, attention_avx2, silu_mul_avx2};
  return supported ? &kernels : nullptr;
}

const CpuKernels& best_kernels() {
  const CpuKernels* avx2 = avx2_kernels();
  return avx2 != nullptr ? *avx2 : reference_kernels();
}

}  // namespace swallow::cpu
