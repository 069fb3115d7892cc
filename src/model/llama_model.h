// The Llama forward pass, written once against the Backend interface: embedding, per layer
// RMSNorm -> q/k/v -> rope -> paged KV store -> attention -> o_proj -> residual -> RMSNorm ->
// SwiGLU MLP -> residual, then final norm and lm_head for chosen rows only. Works on a ragged
// batch of sequences with their own positions and block tables. Owns the weights and scratch
// activations (grown on demand, never shrunk); borrows the backend. One thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "backend/backend.h"
#include "io/model_config.h"
#include "model/llama_weights.h"

namespace swallow {

// One step's tokens on the host, grouped by sequence (see AttentionBatch).
struct BatchInput {
  std::span<const int32_t> token_ids;        // [n_tokens]
  std::span<const int32_t> positions;        // [n_tokens]
  std::span<const int32_t> slot_mapping;     // [n_tokens] KV slot = block * block_size + offset
  std::span<const int32_t> seq_token_start;  // [n_seqs + 1]
  std::span<const int32_t> seq_len;          // [n_seqs] last position + 1
  std::span<const int32_t> block_tables;     // [n_seqs, max_blocks_per_seq], unused entries -1
  int32_t max_blocks_per_seq = 0;
};

class LlamaModel {
 public:
  // Throws unsupported for a rope type the model cannot compute.
  LlamaModel(Backend& backend, const ModelConfig& config, LlamaWeights weights);

  // Runs every layer over the batch, writing the new tokens' keys and values into `cache`. The
  // final hidden states stay in the model for logits(). Inputs are trusted (LlamaRunner checks).
  void forward(const BatchInput& batch, KvCache& cache);

  // Logits of rows (indices into the last forward's tokens): [rows.size(), vocab] f32 in backend
  // memory, valid until the next forward() or logits().
  Tensor logits(std::span<const int32_t> rows);

  const ModelConfig& config() const { return config_; }
  const LlamaWeights& weights() const { return weights_; }

  // Backend memory the scratch buffers take for batches of n_tokens with n_rows logits rows
  // (what to keep free beside weights and KV cache).
  static uint64_t scratch_bytes(const ModelConfig& config, DType activation, int64_t n_tokens, int64_t n_rows);

 private:
  void reserve_tokens(int64_t n_tokens);
  void reserve_rows(int64_t n_rows);
  Tensor scratch(const std::unique_ptr<Buffer>& buffer, int64_t rows, int64_t cols) const;
  void upload_ints(std::span<const int32_t> host, std::unique_ptr<Buffer>& device);
  void run_layer(int32_t layer, int64_t n, const AttentionBatch& attn, KvCache& cache);

  Backend& backend_;
  ModelConfig config_;
  LlamaWeights weights_;
  DType act_;  // activation dtype of the backend
  std::unique_ptr<Buffer> inv_freq_;  // [head_dim / 2] f32
  RopeTable rope_;
  AttentionParams attn_params_;

  int64_t token_capacity_ = 0;
  int64_t n_tokens_ = 0;            // tokens of the last forward()
  std::unique_ptr<Buffer> hidden_;  // [token_capacity, hidden] act: residual stream
  std::unique_ptr<Buffer> normed_;  // [token_capacity, hidden] act
  std::unique_ptr<Buffer> q_;       // [token_capacity, n_heads * head_dim] act
  std::unique_ptr<Buffer> k_;       // [token_capacity, n_kv_heads * head_dim] act
  std::unique_ptr<Buffer> v_;       // [token_capacity, n_kv_heads * head_dim] act
  std::unique_ptr<Buffer> attn_;    // [token_capacity, n_heads * head_dim] act
  std::unique_ptr<Buffer> proj_;    // [token_capacity, hidden] act: o_proj / down_proj output
  std::unique_ptr<Buffer> gate_;    // [token_capacity, intermediate] act
  std::unique_ptr<Buffer> up_;      // [token_capacity, intermediate] act
  std::unique_ptr<Buffer> mlp_;     // [token_capacity, intermediate] act: silu(gate) * up

  std::vector<int32_t> packed_;     // host staging of the step's int inputs
  std::unique_ptr<Buffer> ints_;    // packed_ in backend memory (i32)

  int64_t row_capacity_ = 0;
  std::unique_ptr<Buffer> rows_;    // [row_capacity] i32
  std::unique_ptr<Buffer> picked_;  // [row_capacity, hidden] act: gathered hidden states
  std::unique_ptr<Buffer> final_;   // [row_capacity, hidden] act: after the final norm
  std::unique_ptr<Buffer> logits_;  // [row_capacity, vocab] f32
};

}  // namespace swallow
