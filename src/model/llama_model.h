// The Llama forward pass, written once against the Backend interface: embedding, per layer
// RMSNorm -> q/k/v -> rope -> paged KV store -> attention -> o_proj -> residual -> RMSNorm ->
// SwiGLU MLP -> residual, then final norm and lm_head for chosen rows only. Works on a ragged
// batch of sequences with their own positions and block tables; decode-only batches can replay
// recorded graphs (DecodeGraphs). Owns the weights and scratch activations (grown on demand, never
// shrunk); borrows the backend. One thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "backend/backend.h"
#include "io/model_config.h"
#include "model/batch_input.h"
#include "model/decode_graphs.h"
#include "model/llama_weights.h"

namespace swallow {

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

  // From now on, decode() replays recorded graphs (the backend must support them); options name
  // the KV block reserved for padding sequences.
  void use_decode_graphs(const DecodeGraphOptions& options);
  // forward() and logits() of every token for a decode-only batch (one new token per sequence):
  // [n_seqs, vocab] f32 in backend memory, valid until the next step. Replays a recorded graph
  // when use_decode_graphs() was called and the batch fits one.
  Tensor decode(const BatchInput& batch, KvCache& cache);
  // What decode() did with graphs so far (zeros without use_decode_graphs()).
  DecodeGraphs::Stats decode_graph_stats() const { return graphs_ ? graphs_->stats() : DecodeGraphs::Stats{}; }

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
  // The ops of forward() on inputs already in backend memory (ids [n] i32).
  void enqueue_forward(int64_t n, const int32_t* ids, const AttentionBatch& attn, KvCache& cache);
  void run_layer(int32_t layer, int64_t n, const AttentionBatch& attn, KvCache& cache);
  // The ops of logits() for m rows already in backend memory (rows [m] i32).
  Tensor enqueue_logits(int64_t m, const int32_t* rows);

  Backend& backend_;
  ModelConfig config_;
  LlamaWeights weights_;
  DType act_;  // activation dtype of the backend
  std::unique_ptr<Buffer> inv_freq_;  // [head_dim / 2] f32
  RopeTable rope_;
  AttentionParams attn_params_;

  std::unique_ptr<DecodeGraphs> graphs_;  // set by use_decode_graphs()
  std::vector<int32_t> all_rows_;         // 0, 1, ..., n - 1 for decode() without graphs
  uint64_t buffer_generation_ = 0;        // bumped whenever a scratch buffer below moves

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
