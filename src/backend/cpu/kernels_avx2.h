// The AVX2/FMA/F16C kernels (kernels_avx2_*.cpp), gathered into a table by avx2_kernels().
// Callable only on a CPU with AVX2, FMA and F16C. Pure functions: thread-safe.
#pragma once

#include <cstdint>

#include "backend/cpu/cpu_kernels.h"

namespace swallow::cpu {

// Every out element is one 8-lane f32 FMA chain over k in ascending order, a fixed horizontal
// sum, then the zero-padded k % 8 tail: the same operations whatever n, the tile shape or the
// column range, which makes the result batch-invariant.
void matmul_avx2(const MatmulProblem& p, int64_t col_begin, int64_t col_end);
// Online softmax over KV blocks per (KV head, token); head_dim a multiple of 8 (else the
// reference kernel).
void attention_avx2(const AttentionProblem& p, int64_t begin, int64_t end);
void silu_mul_avx2(const float* gate, const float* up, float* out, int64_t n);

}  // namespace swallow::cpu
