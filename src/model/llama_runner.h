// LlamaRunner: the ModelRunner for LlamaForCausalLM on any Backend. Owns the backend, the model
// (weights + scratch) and the paged KV cache sized from a byte budget (on a backend that records
// graphs, one block of it is kept for padding recorded decode steps); turns a StepPlan into the
// backend's batch layout (positions, KV slots, block tables), runs the forward pass and samples
// with the backend's sample op. Also returns the raw logits of chosen tokens (`swallow logits`,
// perplexity, golden tests). Used by one thread at a time (the engine thread).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "backend/backend.h"
#include "io/model_config.h"
#include "model/llama_model.h"
#include "model/llama_weights.h"
#include "model/model_runner.h"

namespace swallow {

struct LlamaRunnerOptions {
  int64_t kv_cache_bytes = 0;  // memory for the paged KV cache; must hold at least one block
  int32_t block_size = 16;     // token slots per KV block
  int32_t max_model_len = 0;   // 0: min(max_position_embeddings, tokens the KV cache holds)
};

class LlamaRunner final : public ModelRunner {
 public:
  // Creates the KV cache (dtype: the backend's activation dtype). Throws invalid_argument for a
  // bad option, resource_exhausted when the cache cannot hold one block or max_model_len tokens.
  LlamaRunner(std::unique_ptr<Backend> backend, const ModelConfig& config, LlamaWeights weights,
              const LlamaRunnerOptions& options);

  // Throws invalid_argument (naming the sequence) for a malformed plan: no tokens, token ids
  // outside the vocabulary, positions past max_model_len, block tables that do not cover the
  // positions or name blocks outside the cache.
  StepResult execute(const StepPlan& plan) override;
  const KvCacheShape& kv_shape() const override { return kv_shape_; }
  int32_t max_model_len() const override { return max_model_len_; }
  int32_t vocab_size() const override { return static_cast<int32_t>(model_->config().vocab_size); }

  // Runs the plan like execute() (KV cache written, nothing sampled) and returns the f32 logits
  // of the chosen tokens: rows index the plan's tokens in order (sequence after sequence).
  // Result [rows.size(), vocab] row-major.
  std::vector<float> logits(const StepPlan& plan, std::span<const int32_t> rows);

  const ModelConfig& config() const { return model_->config(); }
  const LlamaWeights& weights() const { return model_->weights(); }
  Backend& backend() { return *backend_; }
  // Decode steps recorded as graphs and replayed so far (zeros when the backend records none).
  DecodeGraphs::Stats decode_graph_stats() const { return model_->decode_graph_stats(); }

 private:
  void prepare(const StepPlan& plan);  // checks the plan, fills the host arrays below
  BatchInput batch_input() const;

  std::unique_ptr<Backend> backend_;  // first member: destroyed after everything it allocated
  std::unique_ptr<LlamaModel> model_;
  std::unique_ptr<KvCache> cache_;
  KvCacheShape kv_shape_;
  int32_t max_model_len_ = 0;

  // Host layout of the current step (reused between steps).
  std::vector<int32_t> token_ids_;     // [n_tokens]
  std::vector<int32_t> positions_;     // [n_tokens]
  std::vector<int32_t> slot_mapping_;  // [n_tokens]
  std::vector<int32_t> seq_start_;     // [n_seqs + 1]
  std::vector<int32_t> seq_len_;       // [n_seqs]
  std::vector<int32_t> block_tables_;  // [n_seqs, max_blocks_]
  int32_t max_blocks_ = 0;
};

}  // namespace swallow
