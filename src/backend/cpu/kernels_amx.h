// The Intel AMX matmul kernel (kernels_amx_matmul.cpp) and the run-time check that the CPU and the
// OS allow AMX (kernels_amx_support.cpp); amx_kernels() puts them in a table with the AVX2
// attention and activation kernels. Call matmul_amx only after amx_supported() returned true.
// Pure functions: thread-safe; each thread loads its own tile configuration on first use.
#pragma once

#include <cstdint>

#include "backend/cpu/cpu_kernels.h"

namespace swallow::cpu {

// True when the CPU has AMX-TILE, AMX-BF16, AVX2, FMA and F16C and Linux granted this process the
// AMX tile data state (asked for once, on the first call). Thread-safe.
bool amx_supported();

// bf16 weights: x rounded to bf16 (nearest even), products accumulated in f32 by TDPBF16PS, 32 k at
// a time in ascending k order for every n (k zero-padded to a multiple of 32), so rows are
// batch-invariant. Other weight dtypes use matmul_avx2. The choice depends on the dtype alone.
void matmul_amx(const MatmulProblem& p, int64_t col_begin, int64_t col_end);

}  // namespace swallow::cpu
