// BatchInput: one step's tokens on the host, grouped by sequence, as LlamaRunner lays them out for
// the forward pass (LlamaModel) and for graph replay (DecodeGraphs). Plain views; the owner keeps
// the arrays alive for the step.
#pragma once

#include <cstdint>
#include <span>

namespace swallow {

// Sequences are contiguous runs of tokens (see AttentionBatch in backend/backend.h).
struct BatchInput {
  std::span<const int32_t> token_ids;        // [n_tokens]
  std::span<const int32_t> positions;        // [n_tokens]
  std::span<const int32_t> slot_mapping;     // [n_tokens] KV slot = block * block_size + offset
  std::span<const int32_t> seq_token_start;  // [n_seqs + 1]
  std::span<const int32_t> seq_len;          // [n_seqs] last position + 1
  std::span<const int32_t> block_tables;     // [n_seqs, max_blocks_per_seq], unused entries -1
  int32_t max_blocks_per_seq = 0;
};

}  // namespace swallow
