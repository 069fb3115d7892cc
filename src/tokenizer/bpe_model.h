// The BPE model of tokenizers.json ("model": {"type": "BPE", ...}) for byte-level vocabularies:
// turns one pre-tokenized piece (raw bytes) into token ids exactly as HF tokenizers' BPE does —
// with ignore_merges a piece that is itself a vocabulary entry is one token; otherwise its bytes
// are merged pairwise, lowest merge rank first, leftmost first among equal ranks.
// Short pieces use an array scan; long ones a heap over a linked list (O(n log n)), so a 10 MB
// piece is fine. Immutable after construction; encode_piece is thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "tokenizer/flat_maps.h"
#include "tokenizer/merge_table.h"
#include "tokenizer/piece_cache.h"

namespace swallow {

class BpeModel {
 public:
  struct Parts {
    const TokenBytes* tokens;           // bytes of every id (outlives the model)
    std::vector<int32_t> vocab_ids;     // ids of the model vocabulary (not added tokens)
    MergeTable merges;
    std::array<int32_t, 256> byte_ids;  // the single-byte token of each byte value
    bool ignore_merges;
  };
  explicit BpeModel(Parts parts);

  // Appends the ids of `piece` (non-empty raw bytes) to `out`.
  void encode_piece(std::string_view piece, std::vector<int32_t>& out) const;
  // The vocabulary entry whose byte-level decoding is `bytes`.
  std::optional<int32_t> find_vocab(std::string_view bytes) const { return vocab_.find(bytes); }

 private:
  static constexpr size_t kSmallPiece = 256;
  // Per-thread caches in front of merges_ and of whole results (see piece_cache.h).
  struct ThreadCaches {
    MergeCache merges;
    PieceCache pieces;
  };
  ThreadCaches& thread_caches() const;
  void merge_small(std::string_view piece, MergeCache& merges, std::vector<int32_t>& out) const;
  void merge_large(std::string_view piece, MergeCache& merges, std::vector<int32_t>& out) const;

  BytesTable vocab_;
  MergeTable merges_;
  std::array<int32_t, 256> byte_ids_;
  bool ignore_merges_;
};

}  // namespace swallow
