// LlamaRunner: KV cache sizing, StepPlan -> BatchInput translation with validation, sampling.
#include "model/llama_runner.h"

#include <algorithm>

#include "core/error.h"

namespace swallow {
namespace {

constexpr int64_t kLogitsChunkRows = 64;  // rows of logits computed per lm_head call in logits()

std::string mib(int64_t n_bytes) { return std::to_string(n_bytes / (1 << 20)) + " MiB"; }

std::string seq_name(const SequenceStep& s) { return "step plan: sequence " + std::to_string(s.seq_id); }

}  // namespace

LlamaRunner::LlamaRunner(std::unique_ptr<Backend> backend, const ModelConfig& config, LlamaWeights weights,
                         const LlamaRunnerOptions& options)
    : backend_(std::move(backend)) {
  if (options.block_size <= 0) throw invalid_argument("KV block size must be > 0");
  model_ = std::make_unique<LlamaModel>(*backend_, config, std::move(weights));

  kv_shape_.n_layers = static_cast<int32_t>(config.n_layers);
  kv_shape_.block_size = options.block_size;
  kv_shape_.n_kv_heads = static_cast<int32_t>(config.n_kv_heads);
  kv_shape_.head_dim = static_cast<int32_t>(config.head_dim);
  kv_shape_.dtype = backend_->activation_dtype();
  const int64_t block_bytes = kv_shape_.bytes_per_token() * options.block_size;
  int64_t n_blocks = std::min<int64_t>(options.kv_cache_bytes / block_bytes, INT32_MAX / options.block_size);
  // Recorded decode steps pad their batches with sequences that write into one reserved block.
  const bool graphs = backend_->supports_graphs() && n_blocks >= 2;
  if (graphs) --n_blocks;
  if (n_blocks < 1) {
    throw resource_exhausted("KV cache memory " + mib(options.kv_cache_bytes) + " holds no block of " +
                             std::to_string(options.block_size) + " tokens (one block needs " + mib(block_bytes) +
                             "); raise --kv-cache-memory");
  }
  kv_shape_.n_blocks = static_cast<int32_t>(n_blocks);
  const int64_t capacity = n_blocks * options.block_size;
  const int64_t max_positions = std::min<int64_t>(config.max_position_embeddings, INT32_MAX);
  if (options.max_model_len > max_positions) {
    throw invalid_argument("--max-model-len " + std::to_string(options.max_model_len) +
                           " exceeds the model's max_position_embeddings " + std::to_string(max_positions));
  }
  if (options.max_model_len > capacity) {
    throw resource_exhausted("the KV cache (" + mib(options.kv_cache_bytes) + ") holds " + std::to_string(capacity) +
                             " tokens, fewer than --max-model-len " + std::to_string(options.max_model_len) +
                             "; raise --kv-cache-memory or lower --max-model-len");
  }
  max_model_len_ = static_cast<int32_t>(options.max_model_len > 0 ? options.max_model_len
                                                                   : std::min(max_positions, capacity));
  KvCacheShape cache_shape = kv_shape_;
  if (graphs) {
    cache_shape.n_blocks += 1;  // block n_blocks: the padding block, outside what the engine sees
    model_->use_decode_graphs({options.block_size, kv_shape_.n_blocks, max_model_len_});
  }
  cache_ = backend_->create_kv_cache(cache_shape);
}

void LlamaRunner::prepare(const StepPlan& plan) {
  if (plan.seqs.empty()) throw invalid_argument("step plan has no sequences");
  const int32_t bs = kv_shape_.block_size;
  const int64_t vocab = model_->config().vocab_size;
  token_ids_.clear();
  positions_.clear();
  slot_mapping_.clear();
  seq_start_.assign(1, 0);
  seq_len_.clear();
  max_blocks_ = 1;
  for (const SequenceStep& s : plan.seqs) {
    const auto n = static_cast<int64_t>(s.tokens.size());
    if (n == 0) throw invalid_argument(seq_name(s) + " has no tokens");
    if (s.start_pos < 0 || s.start_pos + n > max_model_len_) {
      throw invalid_argument(seq_name(s) + ": positions " + std::to_string(s.start_pos) + ".." +
                             std::to_string(s.start_pos + n - 1) + " exceed max_model_len " +
                             std::to_string(max_model_len_));
    }
    const auto len = static_cast<int32_t>(s.start_pos + n);
    const int32_t blocks_needed = (len + bs - 1) / bs;
    if (static_cast<int32_t>(s.block_table.size()) < blocks_needed) {
      throw invalid_argument(seq_name(s) + ": block table has " + std::to_string(s.block_table.size()) +
                             " blocks, positions up to " + std::to_string(len - 1) + " need " +
                             std::to_string(blocks_needed));
    }
    for (int32_t b = 0; b < blocks_needed; ++b) {
      if (s.block_table[b] < 0 || s.block_table[b] >= kv_shape_.n_blocks) {
        throw invalid_argument(seq_name(s) + ": block " + std::to_string(s.block_table[b]) +
                               " is outside the KV cache (" + std::to_string(kv_shape_.n_blocks) + " blocks)");
      }
    }
    for (int64_t i = 0; i < n; ++i) {
      const int32_t token = s.tokens[i];
      if (token < 0 || token >= vocab) {
        throw invalid_argument(seq_name(s) + ": token id " + std::to_string(token) + " is outside the vocabulary (" +
                               std::to_string(vocab) + ")");
      }
      const auto pos = static_cast<int32_t>(s.start_pos + i);
      token_ids_.push_back(token);
      positions_.push_back(pos);
      slot_mapping_.push_back(s.block_table[pos / bs] * bs + pos % bs);
    }
    seq_start_.push_back(static_cast<int32_t>(token_ids_.size()));
    seq_len_.push_back(len);
    max_blocks_ = std::max(max_blocks_, blocks_needed);
  }
  block_tables_.assign(plan.seqs.size() * static_cast<size_t>(max_blocks_), -1);
  for (size_t i = 0; i < plan.seqs.size(); ++i) {
    const int32_t blocks_needed = (seq_len_[i] + bs - 1) / bs;
    std::copy_n(plan.seqs[i].block_table.begin(), blocks_needed, block_tables_.begin() + static_cast<ptrdiff_t>(i * max_blocks_));
  }
}

BatchInput LlamaRunner::batch_input() const {
  return {token_ids_, positions_, slot_mapping_, seq_start_, seq_len_, block_tables_, max_blocks_};
}

StepResult LlamaRunner::execute(const StepPlan& plan) {
  prepare(plan);
  std::vector<int32_t> rows;                // [n_sampled] last token of each sampled sequence
  std::vector<SequenceSampling> sampling;   // [n_sampled]
  for (size_t i = 0; i < plan.seqs.size(); ++i) {
    const SequenceStep& s = plan.seqs[i];
    if (!s.sample) continue;
    if (s.sampling.params == nullptr) throw invalid_argument(seq_name(s) + ": sample is set without sampling params");
    rows.push_back(seq_start_[i + 1] - 1);
    sampling.push_back(s.sampling);
  }
  StepResult result;
  // A decode-only step (every sequence adds one token and samples) may replay a recorded graph.
  const bool decode_only = rows.size() == plan.seqs.size() && token_ids_.size() == plan.seqs.size();
  Tensor logits;  // [rows.size(), vocab] f32
  if (decode_only) {
    logits = model_->decode(batch_input(), *cache_);
  } else {
    model_->forward(batch_input(), *cache_);
    if (rows.empty()) return result;
    logits = model_->logits(rows);
  }
  result.sampled.resize(rows.size());
  backend_->sample(logits, sampling, result.sampled);
  return result;
}

std::vector<float> LlamaRunner::logits(const StepPlan& plan, std::span<const int32_t> rows) {
  prepare(plan);
  const auto n_tokens = static_cast<int32_t>(token_ids_.size());
  for (int32_t row : rows) {
    if (row < 0 || row >= n_tokens) {
      throw invalid_argument("logits: row " + std::to_string(row) + " is outside the plan's " +
                             std::to_string(n_tokens) + " tokens");
    }
  }
  model_->forward(batch_input(), *cache_);
  const int64_t vocab = model_->config().vocab_size;
  std::vector<float> out(rows.size() * static_cast<size_t>(vocab));  // [rows, vocab] f32
  for (size_t first = 0; first < rows.size(); first += kLogitsChunkRows) {
    const size_t count = std::min<size_t>(kLogitsChunkRows, rows.size() - first);
    backend_->read_f32(model_->logits(rows.subspan(first, count)), out.data() + first * static_cast<size_t>(vocab));
  }
  return out;
}

}  // namespace swallow
