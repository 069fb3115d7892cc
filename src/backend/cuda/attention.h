// Launchers of the paged-attention kernels. Prefill (attention_prefill.cu): FlashAttention-style
// tiles of query rows against 64-key tiles of the paged cache on bf16 tensor cores, online
// softmax in f32, GQA rows packed so one K/V tile serves a whole query-head group. Decode
// (attention_decode.cu): one block per (token, kv head, key split), works for any token count,
// head_dim and cache dtype (tensor cores for bf16 with head_dim 64/128), partial results merged
// by a combine kernel. Host-side only types.
#pragma once

#include <cstddef>
#include <cstdint>

#include "backend/cuda/kernels.h"
#include "core/dtype.h"

namespace swallow::cuda {

struct AttentionArgs {
  const void* q = nullptr;  // [n_tokens, n_heads * head_dim] q_dtype
  void* out = nullptr;      // [n_tokens, n_heads * head_dim] q_dtype
  DType q_dtype = DType::kBF16;
  const void* k_cache = nullptr;  // [n_blocks, block_size, n_kv_heads, head_dim] kv_dtype
  const void* v_cache = nullptr;  // same as k_cache
  DType kv_dtype = DType::kBF16;
  const int32_t* token_pos = nullptr;        // [n_tokens] (device)
  const int32_t* seq_token_start = nullptr;  // [n_seqs + 1] (device)
  const int32_t* block_tables = nullptr;     // [n_seqs, max_blocks_per_seq] (device)
  int32_t n_tokens = 0;
  int32_t n_seqs = 0;
  int32_t max_blocks_per_seq = 0;
  int32_t block_size = 0;
  int32_t n_blocks = 0;
  int32_t n_heads = 0;
  int32_t n_kv_heads = 0;
  int32_t head_dim = 0;
  float scale = 1.0f;
  int32_t max_q_len = 0;    // host: most new tokens of one sequence in this batch
  int32_t max_context = 0;  // host: longest sequence (last position + 1)
};

// True when the tensor-core prefill kernel handles these shapes and dtypes.
bool prefill_attention_supported(const AttentionArgs& args);
void launch_prefill_attention(const AttentionArgs& args, const LaunchContext& ctx);

// How the decode kernel splits each token's keys: n_splits ranges of split_len keys.
struct DecodeSplit {
  int32_t n_splits = 1;
  int32_t split_len = 0;
};
// Splits so the grid fills the `n_sms` multiprocessors (about one wave of resident blocks).
DecodeSplit plan_decode_split(const AttentionArgs& args, int n_sms);
// f32 workspace the decode kernel needs for partial results (0 when n_splits == 1).
size_t decode_workspace_bytes(const AttentionArgs& args, const DecodeSplit& split);
// Largest head_dim and group (n_heads / n_kv_heads) * head_dim the decode kernel supports.
constexpr int32_t kDecodeMaxHeadDim = 256;
constexpr int32_t kDecodeMaxGroupElems = 2048;
void launch_decode_attention(const AttentionArgs& args, const DecodeSplit& split, float* workspace,
                             const LaunchContext& ctx);

}  // namespace swallow::cuda
