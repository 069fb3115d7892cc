// DecodeGraphs: bucketing and padding of decode batches, recording and replay of their steps.
#include "model/decode_graphs.h"

#include <algorithm>
#include <numeric>
#include <string>

#include "core/error.h"
#include "core/log.h"

namespace swallow {
namespace {

// Batch sizes recorded; a batch runs in the smallest bucket that holds it. Dense where padding a
// row costs most (the small-batch matmuls), sparser where the matmuls are cuBLASLt GEMMs.
constexpr int32_t kBatchBuckets[] = {1,  2,  3,  4,  5,  6,  7,   8,   12,  16,  20,  24,  28,
                                     32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256};
static_assert(kBatchBuckets[std::size(kBatchBuckets) - 1] == DecodeGraphs::kMaxBatch);
// Context buckets are powers of two from this many keys up to max_model_len.
constexpr int64_t kMinContextKeys = 256;
// Recorded graphs kept; the least recently used one goes first.
constexpr size_t kMaxGraphs = 128;

int32_t batch_bucket(int32_t n_seqs) {
  return *std::lower_bound(std::begin(kBatchBuckets), std::end(kBatchBuckets), n_seqs);
}

int32_t blocks_for(int64_t keys, int32_t block_size) { return static_cast<int32_t>((keys + block_size - 1) / block_size); }

}  // namespace

DecodeGraphs::DecodeGraphs(Backend& backend, const DecodeGraphOptions& options, Generation generation)
    : backend_(backend), options_(options), generation_(std::move(generation)) {
  if (options_.block_size <= 0 || options_.pad_block < 0 || options_.max_model_len <= 0) {
    throw invalid_argument("decode graphs need a block size, a padding block and max_model_len");
  }
  max_blocks_ = blocks_for(options_.max_model_len, options_.block_size);
  const size_t max_ints = 4 * size_t{kMaxBatch} + 1 + size_t{kMaxBatch} * static_cast<size_t>(max_blocks_);
  inputs_ = backend_.allocate(max_ints * sizeof(int32_t));
  seq_start_.resize(kMaxBatch + 1);
  std::iota(seq_start_.begin(), seq_start_.end(), 0);
  rows_ = backend_.allocate(kMaxBatch * sizeof(int32_t));
  backend_.copy_to_device(rows_->data(), seq_start_.data(), kMaxBatch * sizeof(int32_t));
  graphs_generation_ = generation_();
}

bool DecodeGraphs::fits(const BatchInput& batch) const {
  const size_t n_seqs = batch.seq_len.size();
  return !recording_failed_ && n_seqs >= 1 && n_seqs <= kMaxBatch && batch.token_ids.size() == n_seqs;
}

DecodeGraphs::Key DecodeGraphs::key_for(const BatchInput& batch) const {
  const int32_t longest = *std::max_element(batch.seq_len.begin(), batch.seq_len.end());
  int64_t keys = kMinContextKeys;
  while (keys < longest) keys *= 2;
  keys = std::min<int64_t>(keys, int64_t{max_blocks_} * options_.block_size);
  return {batch_bucket(static_cast<int32_t>(batch.seq_len.size())), blocks_for(keys, options_.block_size)};
}

DecodeStep DecodeGraphs::upload(const BatchInput& batch, const Key& key) {
  const int32_t b = key.batch, width = key.blocks, bs = options_.block_size;
  const auto n = static_cast<int32_t>(batch.seq_len.size());
  // [ids b | positions b | slots b | seq starts b + 1 | block tables b * width]
  packed_.assign(static_cast<size_t>(4 * b + 1) + static_cast<size_t>(b) * static_cast<size_t>(width), -1);
  int32_t* ids = packed_.data();
  int32_t* positions = ids + b;
  int32_t* slots = positions + b;
  int32_t* starts = slots + b;
  int32_t* tables = starts + b + 1;
  for (int32_t i = 0; i < b; ++i) {
    int32_t* table = tables + static_cast<ptrdiff_t>(i) * width;
    if (i < n) {
      ids[i] = batch.token_ids[i];
      positions[i] = batch.positions[i];
      slots[i] = batch.slot_mapping[i];
      const int32_t used = blocks_for(batch.seq_len[i], bs);
      std::copy_n(batch.block_tables.begin() + static_cast<ptrdiff_t>(i) * batch.max_blocks_per_seq, used, table);
    } else {  // a padding sequence: token 0 at position 0 in the padding block
      ids[i] = 0;
      positions[i] = 0;
      slots[i] = options_.pad_block * bs;
      table[0] = options_.pad_block;
    }
    starts[i] = i;
  }
  starts[b] = b;
  backend_.copy_to_device(inputs_->data(), packed_.data(), packed_.size() * sizeof(int32_t));

  const auto* base = static_cast<const int32_t*>(inputs_->data());
  DecodeStep step;
  step.n_tokens = b;
  step.token_ids = base;
  step.attn.n_tokens = b;
  step.attn.n_seqs = b;
  step.attn.token_pos = base + b;
  step.attn.slot_mapping = base + 2 * b;
  step.attn.seq_token_start = base + 3 * b;
  step.attn.block_tables = base + 4 * b + 1;
  step.attn.max_blocks_per_seq = width;
  step.attn.host_seq_token_start = std::span<const int32_t>(seq_start_).first(static_cast<size_t>(b) + 1);
  step.rows = static_cast<const int32_t*>(rows_->data());
  return step;
}

void DecodeGraphs::drop_stale_graphs() {
  const uint64_t now = generation_();
  if (now == graphs_generation_) return;
  graphs_.clear();
  graphs_generation_ = now;
}

void DecodeGraphs::record(const Key& key, const DecodeStep& step, const Enqueue& enqueue, const Tensor& logits) {
  if (graphs_.size() >= kMaxGraphs) {
    graphs_.erase(std::min_element(graphs_.begin(), graphs_.end(), [](const auto& a, const auto& b) {
      return a.second.last_use < b.second.last_use;
    }));
  }
  try {
    backend_.begin_capture();
    Tensor recorded;
    try {
      recorded = enqueue(step);
    } catch (...) {
      try {
        backend_.end_capture();  // only to end the recording: the enqueue's error is the one to report
      } catch (const Error&) {
      }
      throw;
    }
    std::unique_ptr<Graph> graph = backend_.end_capture();
    if (recorded.data != logits.data) throw internal_error("decode graph: the recorded step moved its logits");
    graphs_[key] = {std::move(graph), recorded, ++uses_};
    ++recorded_;
    log_debug("recorded a decode step of " + std::to_string(key.batch) + " sequences, " +
              std::to_string(int64_t{key.blocks} * options_.block_size) + " keys (" + std::to_string(graphs_.size()) +
              " graphs held)");
  } catch (const Error& e) {
    recording_failed_ = true;
    graphs_.clear();
    log_warn(std::string("decode steps run without graphs from now on: ") + e.what());
  }
}

Tensor DecodeGraphs::run(const BatchInput& batch, const Enqueue& enqueue) {
  drop_stale_graphs();
  const Key key = key_for(batch);
  const DecodeStep step = upload(batch, key);
  Tensor logits;
  if (auto it = graphs_.find(key); it != graphs_.end()) {
    it->second.graph->replay();
    it->second.last_use = ++uses_;
    ++replayed_;
    logits = it->second.logits;
  } else {
    logits = enqueue(step);
    drop_stale_graphs();  // the eager run may have grown a workspace
    record(key, step, enqueue, logits);
  }
  return {logits.data, logits.dtype, static_cast<int64_t>(batch.seq_len.size()), logits.cols};
}

}  // namespace swallow
