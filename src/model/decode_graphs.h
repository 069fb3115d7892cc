// DecodeGraphs: decode steps replayed from recorded graphs (CUDA graphs), so that a step costs the
// host one upload and one launch instead of a launch per op. A decode-only batch (one new token
// per sequence) is padded to a batch-size bucket and its block tables to a context bucket, which
// makes every launch argument of the step a function of the bucket pair. The first step of a pair
// runs eagerly (sizing every workspace), then is recorded; later steps upload the padded inputs
// and replay. Padding sequences write their one key and value into a KV block reserved for them.
// Owned by LlamaModel; one thread at a time.
#pragma once

#include <compare>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <vector>

#include "backend/backend.h"
#include "model/batch_input.h"

namespace swallow {

// The padded step in backend memory.
struct DecodeStep {
  int64_t n_tokens = 0;                // the batch bucket: one token per sequence
  const int32_t* token_ids = nullptr;  // [n_tokens] (device)
  AttentionBatch attn;                 // no host lengths: launches planned for the block tables' width
  const int32_t* rows = nullptr;       // [n_tokens] (device) 0 .. n_tokens - 1: every token's logits
};

struct DecodeGraphOptions {
  int32_t block_size = 0;     // KV block size (tokens)
  int32_t pad_block = -1;     // KV block the padding sequences write into; used by nothing else
  int32_t max_model_len = 0;  // longest sequence, which bounds the context buckets
};

class DecodeGraphs {
 public:
  // Enqueues the ops of a step and returns its logits [n_tokens, vocab] f32 in backend memory.
  using Enqueue = std::function<Tensor(const DecodeStep&)>;
  // Changes whenever a buffer that the enqueued ops use moves (graphs recorded before are dropped).
  using Generation = std::function<uint64_t()>;

  static constexpr int32_t kMaxBatch = 256;  // larger batches run eagerly

  DecodeGraphs(Backend& backend, const DecodeGraphOptions& options, Generation generation);

  // True for a decode-only batch of at most kMaxBatch sequences, while recording works.
  bool fits(const BatchInput& batch) const;
  // Runs a batch that fits(); returns the logits of its sequences [n_seqs, vocab] f32 (backend
  // memory, valid until the next step).
  Tensor run(const BatchInput& batch, const Enqueue& enqueue);

  struct Stats {
    int64_t recorded = 0;  // steps recorded (after running them eagerly)
    int64_t replayed = 0;  // steps replayed
    int64_t held = 0;      // graphs kept now
  };
  Stats stats() const { return {recorded_, replayed_, static_cast<int64_t>(graphs_.size())}; }

 private:
  struct Key {
    int32_t batch = 0;   // sequences, padded
    int32_t blocks = 0;  // block-table width: the context bucket in blocks
    auto operator<=>(const Key&) const = default;
  };
  struct Recorded {
    std::unique_ptr<Graph> graph;
    Tensor logits;  // where the recorded step leaves its logits
    uint64_t last_use = 0;
  };

  Key key_for(const BatchInput& batch) const;
  // Lays out the padded batch in packed_ and uploads it; returns its device views.
  DecodeStep upload(const BatchInput& batch, const Key& key);
  void record(const Key& key, const DecodeStep& step, const Enqueue& enqueue, const Tensor& logits);
  void drop_stale_graphs();

  Backend& backend_;
  DecodeGraphOptions options_;
  Generation generation_;
  int32_t max_blocks_ = 0;          // block-table width of the largest context bucket
  std::vector<int32_t> packed_;     // host [ids | positions | slots | seq starts | block tables]
  std::vector<int32_t> seq_start_;  // host [batch + 1] 0, 1, ..., batch
  std::unique_ptr<Buffer> inputs_;  // packed_ of the largest bucket pair (i32, backend memory)
  std::unique_ptr<Buffer> rows_;    // [kMaxBatch] i32 0, 1, ..., kMaxBatch - 1
  std::map<Key, Recorded> graphs_;
  uint64_t graphs_generation_ = 0;  // generation_() when graphs_ was recorded
  uint64_t uses_ = 0;
  int64_t recorded_ = 0;
  int64_t replayed_ = 0;
  bool recording_failed_ = false;
};

}  // namespace swallow
