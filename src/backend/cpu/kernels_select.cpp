// Chooses the kernel table for this CPU at run time (cpuid through __builtin_cpu_supports, and
// amx_supported() for AMX), or by name for tests, benchmarks and SWALLOW_CPU_KERNELS.
#include <string>

#include "backend/cpu/cpu_kernels.h"
#include "backend/cpu/kernels_amx.h"
#include "backend/cpu/kernels_avx2.h"
#include "core/error.h"

namespace swallow::cpu {

const CpuKernels* avx2_kernels() {
  static const bool supported =
      __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
  static const CpuKernels kernels{"avx2", matmul_avx2, attention_avx2, silu_mul_avx2};
  return supported ? &kernels : nullptr;
}

const CpuKernels* amx_kernels() {
  static const CpuKernels kernels{"amx", matmul_amx, attention_avx2, silu_mul_avx2};
  return amx_supported() ? &kernels : nullptr;
}

const CpuKernels& best_kernels() {
  if (const CpuKernels* amx = amx_kernels()) return *amx;
  if (const CpuKernels* avx2 = avx2_kernels()) return *avx2;
  return reference_kernels();
}

const CpuKernels* kernels_named(std::string_view name) {
  if (name == "reference") return &reference_kernels();
  if (name == "avx2") return avx2_kernels();
  if (name == "amx") return amx_kernels();
  throw invalid_argument("CPU kernels '" + std::string(name) + "': expected reference, avx2 or amx");
}

}  // namespace swallow::cpu
