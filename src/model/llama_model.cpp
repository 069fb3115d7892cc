// LlamaModel: the HF LlamaForCausalLM computation as a sequence of backend ops.
#include "model/llama_model.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "model/rope.h"

namespace swallow {
namespace {

constexpr int64_t kCapacityQuantum = 64;  // scratch grows in multiples of this many rows

int64_t grown_capacity(int64_t current, int64_t needed) {
  int64_t target = std::max(needed, current + current / 2);
  return (target + kCapacityQuantum - 1) / kCapacityQuantum * kCapacityQuantum;
}

}  // namespace

LlamaModel::LlamaModel(Backend& backend, const ModelConfig& config, LlamaWeights weights)
    : backend_(backend), config_(config), weights_(std::move(weights)), act_(backend.activation_dtype()) {
  const std::vector<float> inv_freq = rope_inv_freq(config_);  // [head_dim / 2] f32
  inv_freq_ = backend_.allocate(inv_freq.size() * sizeof(float));
  backend_.copy_to_device(inv_freq_->data(), inv_freq.data(), inv_freq.size() * sizeof(float));
  rope_ = {static_cast<const float*>(inv_freq_->data()), static_cast<int32_t>(config_.head_dim)};
  attn_params_ = {static_cast<int32_t>(config_.n_heads), static_cast<int32_t>(config_.n_kv_heads),
                  static_cast<int32_t>(config_.head_dim),
                  static_cast<float>(1.0 / std::sqrt(static_cast<double>(config_.head_dim)))};
}

uint64_t LlamaModel::scratch_bytes(const ModelConfig& c, DType activation, int64_t n_tokens, int64_t n_rows) {
  const int64_t q_dim = c.n_heads * c.head_dim, kv_dim = c.n_kv_heads * c.head_dim;
  // Per token: hidden, normed, proj [d]; q, attn [q_dim]; k, v [kv_dim]; gate, up, mlp [f].
  const int64_t token_cols = 3 * c.hidden_size + 2 * q_dim + 2 * kv_dim + 3 * c.intermediate_size;
  // Per logits row: picked, final [d] activations; logits [vocab] f32; the row index.
  const auto act = static_cast<int64_t>(dtype_size(activation));
  const int64_t row_bytes = 2 * c.hidden_size * act + c.vocab_size * 4 + 4;
  return static_cast<uint64_t>(n_tokens * token_cols * act + n_rows * row_bytes);
}

Tensor LlamaModel::scratch(const std::unique_ptr<Buffer>& buffer, int64_t rows, int64_t cols) const {
  return {buffer->data(), act_, rows, cols};
}

void LlamaModel::reserve_tokens(int64_t n_tokens) {
  if (n_tokens <= token_capacity_) return;
  const int64_t cap = grown_capacity(token_capacity_, n_tokens);
  const size_t row = dtype_size(act_) * static_cast<size_t>(cap);
  const auto d = static_cast<size_t>(config_.hidden_size);
  const auto q_dim = static_cast<size_t>(config_.n_heads * config_.head_dim);
  const auto kv_dim = static_cast<size_t>(config_.n_kv_heads * config_.head_dim);
  const auto f = static_cast<size_t>(config_.intermediate_size);
  for (auto* b : {&hidden_, &normed_, &q_, &k_, &v_, &attn_, &proj_, &gate_, &up_, &mlp_}) b->reset();
  hidden_ = backend_.allocate(row * d);
  normed_ = backend_.allocate(row * d);
  q_ = backend_.allocate(row * q_dim);
  k_ = backend_.allocate(row * kv_dim);
  v_ = backend_.allocate(row * kv_dim);
  attn_ = backend_.allocate(row * q_dim);
  proj_ = backend_.allocate(row * d);
  gate_ = backend_.allocate(row * f);
  up_ = backend_.allocate(row * f);
  mlp_ = backend_.allocate(row * f);
  token_capacity_ = cap;
  ++buffer_generation_;
}

void LlamaModel::reserve_rows(int64_t n_rows) {
  if (n_rows <= row_capacity_) return;
  const int64_t cap = grown_capacity(row_capacity_, n_rows);
  const size_t act_row = dtype_size(act_) * static_cast<size_t>(config_.hidden_size);
  for (auto* b : {&rows_, &picked_, &final_, &logits_}) b->reset();
  rows_ = backend_.allocate(sizeof(int32_t) * static_cast<size_t>(cap));
  picked_ = backend_.allocate(act_row * static_cast<size_t>(cap));
  final_ = backend_.allocate(act_row * static_cast<size_t>(cap));
  logits_ = backend_.allocate(sizeof(float) * static_cast<size_t>(config_.vocab_size * cap));
  row_capacity_ = cap;
  ++buffer_generation_;
}

void LlamaModel::upload_ints(std::span<const int32_t> host, std::unique_ptr<Buffer>& device) {
  const size_t n_bytes = host.size_bytes();
  if (!device || device->n_bytes() < n_bytes) {
    device.reset();
    device = backend_.allocate(std::max<size_t>(n_bytes * 2, 4096));
  }
  backend_.copy_to_device(device->data(), host.data(), n_bytes);
}

void LlamaModel::forward(const BatchInput& batch, KvCache& cache) {
  const auto n = static_cast<int64_t>(batch.token_ids.size());
  const auto n_seqs = static_cast<int32_t>(batch.seq_len.size());
  reserve_tokens(n);

  // One transfer for all integer inputs: [ids | positions | slots | seq starts | block tables].
  packed_.clear();
  for (std::span<const int32_t> part : {batch.token_ids, batch.positions, batch.slot_mapping, batch.seq_token_start,
                                        batch.block_tables}) {
    packed_.insert(packed_.end(), part.begin(), part.end());
  }
  upload_ints(packed_, ints_);
  const auto* base = static_cast<const int32_t*>(ints_->data());
  const int32_t* ids = base;
  AttentionBatch attn;
  attn.n_tokens = static_cast<int32_t>(n);
  attn.n_seqs = n_seqs;
  attn.token_pos = base + n;
  attn.slot_mapping = base + 2 * n;
  attn.seq_token_start = base + 3 * n;
  attn.block_tables = base + 3 * n + n_seqs + 1;
  attn.max_blocks_per_seq = batch.max_blocks_per_seq;
  attn.host_seq_token_start = batch.seq_token_start;
  attn.host_seq_len = batch.seq_len;
  enqueue_forward(n, ids, attn, cache);
}

void LlamaModel::enqueue_forward(int64_t n, const int32_t* ids, const AttentionBatch& attn, KvCache& cache) {
  n_tokens_ = n;
  const auto eps = static_cast<float>(config_.rms_norm_eps);
  const Tensor hidden = scratch(hidden_, n, config_.hidden_size);
  backend_.embedding(weights_.embed_tokens, ids, hidden);
  backend_.rms_norm(hidden, weights_.layers.front().input_norm, eps, scratch(normed_, n, config_.hidden_size));
  for (int32_t layer = 0; layer < static_cast<int32_t>(config_.n_layers); ++layer) {
    run_layer(layer, n, attn, cache);
  }
}

// Expects normed = input_norm(hidden) of this layer; leaves the next layer's input_norm(hidden)
// in normed (the last layer leaves hidden only: logits() norms the rows it picks).
void LlamaModel::run_layer(int32_t layer, int64_t n, const AttentionBatch& attn, KvCache& cache) {
  const LlamaLayerWeights& w = weights_.layers[static_cast<size_t>(layer)];
  const auto eps = static_cast<float>(config_.rms_norm_eps);
  const int64_t d = config_.hidden_size;
  const int64_t q_dim = config_.n_heads * config_.head_dim;
  const int64_t kv_dim = config_.n_kv_heads * config_.head_dim;
  const int64_t f = config_.intermediate_size;
  const Tensor hidden = scratch(hidden_, n, d);
  const Tensor normed = scratch(normed_, n, d);
  const Tensor q = scratch(q_, n, q_dim);
  const Tensor k = scratch(k_, n, kv_dim);
  const Tensor v = scratch(v_, n, kv_dim);
  const Tensor attn_out = scratch(attn_, n, q_dim);
  const Tensor proj = scratch(proj_, n, d);
  const Tensor gate = scratch(gate_, n, f);
  const Tensor up = scratch(up_, n, f);
  const Tensor mlp = scratch(mlp_, n, f);

  const Tensor qkv_w[] = {w.q_proj, w.k_proj, w.v_proj};
  const Tensor qkv[] = {q, k, v};
  backend_.matmuls(normed, qkv_w, qkv);
  backend_.rope_store_kv(q, k, v, rope_, cache, layer, attn);
  backend_.attention(cache, layer, q, attn, attn_params_, attn_out);
  backend_.matmul(attn_out, w.o_proj, proj);
  backend_.add_rms_norm(hidden, proj, w.post_norm, eps, normed);

  backend_.swiglu(normed, w.gate_proj, w.up_proj, gate, up, mlp);
  backend_.matmul(mlp, w.down_proj, proj);
  if (layer + 1 < static_cast<int32_t>(config_.n_layers)) {
    backend_.add_rms_norm(hidden, proj, weights_.layers[static_cast<size_t>(layer) + 1].input_norm, eps, normed);
  } else {
    backend_.add(hidden, proj, hidden);
  }
}

Tensor LlamaModel::logits(std::span<const int32_t> rows) {
  const auto m = static_cast<int64_t>(rows.size());
  reserve_rows(std::max<int64_t>(m, 1));
  upload_ints(rows, rows_);
  return enqueue_logits(m, static_cast<const int32_t*>(rows_->data()));
}

Tensor LlamaModel::enqueue_logits(int64_t m, const int32_t* rows) {
  const int64_t d = config_.hidden_size;
  const Tensor picked = scratch(picked_, m, d);
  const Tensor normed = scratch(final_, m, d);
  const Tensor out{logits_->data(), DType::kF32, m, config_.vocab_size};
  // Every op here is row-wise, so gathering before the final norm gives HF's values.
  backend_.gather_rows(scratch(hidden_, n_tokens_, d), rows, picked);
  backend_.rms_norm(picked, weights_.final_norm, static_cast<float>(config_.rms_norm_eps), normed);
  backend_.matmul(normed, weights_.lm_head, out);
  return out;
}

void LlamaModel::use_decode_graphs(const DecodeGraphOptions& options) {
  graphs_ = std::make_unique<DecodeGraphs>(backend_, options,
                                           [this] { return buffer_generation_ + backend_.workspace_generation(); });
}

Tensor LlamaModel::decode(const BatchInput& batch, KvCache& cache) {
  const auto n = static_cast<int64_t>(batch.token_ids.size());
  if (graphs_ && graphs_->fits(batch)) {
    // Buffers for the largest bucket first, so that they do not move between recordings.
    reserve_tokens(DecodeGraphs::kMaxBatch);
    reserve_rows(DecodeGraphs::kMaxBatch);
    return graphs_->run(batch, [&](const DecodeStep& step) {
      enqueue_forward(step.n_tokens, step.token_ids, step.attn, cache);
      return enqueue_logits(step.n_tokens, step.rows);
    });
  }
  forward(batch, cache);
  all_rows_.resize(static_cast<size_t>(n));
  std::iota(all_rows_.begin(), all_rows_.end(), 0);
  return logits(all_rows_);
}

}  // namespace swallow
