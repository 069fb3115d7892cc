// A bounded cache of BPE results (piece bytes -> token ids) for one thread, so a word or phrase
// that recurs in a text is merged only once. It is emptied when full or when it is used with a
// different BPE model. Not thread-safe: BpeModel keeps one per thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace swallow {

class PieceCache {
 public:
  static constexpr size_t kMaxPieceBytes = 256;  // longer pieces are not cached

  PieceCache();
  // Serves the model with this serial; empties the cache when it last served another one.
  void bind(uint64_t model_serial);
  // Appends the cached ids of `piece` to `out` and returns true, or returns false.
  bool find(std::string_view piece, uint64_t hash, std::vector<int32_t>& out) const;
  void insert(std::string_view piece, uint64_t hash, const int32_t* ids, size_t n_ids);

 private:
  static constexpr int kSlotBits = 15;
  static constexpr size_t kMaxEntries = (size_t{1} << kSlotBits) / 2;
  struct Slot {
    uint64_t hash = 0;
    uint32_t key_offset = 0;
    uint32_t ids_offset = 0;
    uint16_t key_length = 0;
    uint16_t n_ids = 0;
    bool used = false;
  };
  void clear();

  uint64_t serial_ = 0;
  size_t n_entries_ = 0;
  std::vector<Slot> slots_;
  std::string keys_;          // bytes of the cached pieces, back to back
  std::vector<int32_t> ids_;  // their ids, back to back
};

}  // namespace swallow
