// The compute kernels behind CpuBackend's heavy ops (matmul, attention, silu_mul), as a table of
// function pointers chosen once at start-up: the portable reference kernels (plain loops,
// accumulation in double), the AVX2/FMA/F16C kernels, or those with an AMX matmul for bf16
// weights (bf16-rounded activations) when the CPU and the OS allow AMX. Each kernel
// computes a caller-given index range so the backend can split work over its thread pool;
// results never depend on how the range is split. Kernels are pure: thread-safe.
#pragma once

#include <cstdint>
#include <string_view>

#include "core/dtype.h"

namespace swallow::cpu {

// out = x @ w^T.
struct MatmulProblem {
  const float* x = nullptr;  // [n, k] f32
  const void* w = nullptr;   // [m, k] w_dtype (F32, BF16 or F16)
  DType w_dtype = DType::kF32;
  float* out = nullptr;      // [n, m] f32
  int64_t n = 0;
  int64_t k = 0;
  int64_t m = 0;
};

// Paged causal attention of a ragged batch; one work item per (KV head, token): the query heads
// of that KV head for that token. Items are KV-head-major so that an even split of the items is
// an even split of the work. The backend has validated every block-table entry and position the
// items read.
struct AttentionProblem {
  const float* q = nullptr;             // [n_tokens, n_heads * head_dim] f32
  float* out = nullptr;                 // [n_tokens, n_heads * head_dim] f32
  const void* k_cache = nullptr;        // [n_blocks, block_size, n_kv_heads, head_dim] kv_dtype
  const void* v_cache = nullptr;        // same shape and dtype as k_cache
  DType kv_dtype = DType::kF32;
  const int32_t* token_pos = nullptr;   // [n_tokens] position of each token
  const int32_t* token_seq = nullptr;   // [n_tokens] sequence index of each token
  const int32_t* block_tables = nullptr;  // [n_seqs, max_blocks_per_seq]
  int32_t max_blocks_per_seq = 0;
  int32_t n_tokens = 0;
  int32_t block_size = 0;
  int32_t n_heads = 0;
  int32_t n_kv_heads = 0;
  int32_t head_dim = 0;
  float scale = 1.0f;
};

struct CpuKernels {
  const char* name = "";
  // Columns [col_begin, col_end) of out (rows of w), every row of x.
  void (*matmul)(const MatmulProblem& p, int64_t col_begin, int64_t col_end) = nullptr;
  // Items [begin, end) of n_kv_heads * n_tokens; item = kv_head * n_tokens + token.
  void (*attention)(const AttentionProblem& p, int64_t begin, int64_t end) = nullptr;
  // out[i] = silu(gate[i]) * up[i] for i in [0, n); all f32.
  void (*silu_mul)(const float* gate, const float* up, float* out, int64_t n) = nullptr;
};

const CpuKernels& reference_kernels();
// nullptr when the CPU lacks AVX2, FMA or F16C.
const CpuKernels* avx2_kernels();
// nullptr when the CPU or the OS does not allow AMX (or the CPU lacks the AVX2 kernels' needs).
const CpuKernels* amx_kernels();
// The fastest table this CPU runs: amx, else avx2, else reference.
const CpuKernels& best_kernels();
// The table called `name`: "reference", "avx2" or "amx"; nullptr when this CPU cannot run it.
// Throws invalid_argument for other names.
const CpuKernels* kernels_named(std::string_view name);

}  // namespace swallow::cpu
