// The merges of a BPE model: (left id, right id) -> rank, packed into 64-bit words — the pair
// in the high bits, the rank in the low ones — so a lookup touches one cache line of an
// open-addressing table half the size of a naive one; the token a merge makes is found by rank.
// MergeTable is filled while loading and read-only (thread-safe) afterwards; MergeCache is a
// small per-thread direct-mapped cache in front of it (not thread-safe).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace swallow {

class MergeTable {
 public:
  static constexpr uint32_t kNoRank = UINT32_MAX;
  static constexpr uint64_t kEmpty = UINT64_MAX;  // the key part of a packed word is never all ones

  // For ids < n_ids and ranks < n_merges; fits() says whether they pack into 64 bits.
  MergeTable(size_t n_ids, size_t n_merges);
  static bool fits(size_t n_ids, size_t n_merges);

  // Unique per constructed table (never 0), so caches can tell tables apart.
  uint64_t serial() const { return serial_; }
  // Sets the merge of (left, right); a later call for the same pair replaces the earlier one.
  void set(int32_t left, int32_t right, uint32_t rank, int32_t result);

  uint64_t key(int32_t left, int32_t right) const {
    return (static_cast<uint64_t>(left) << id_bits_) | static_cast<uint32_t>(right);
  }
  // Rank of the merge of a key(), or kNoRank.
  uint32_t rank(uint64_t key) const {
    for (size_t slot = (key * 0x9E3779B97F4A7C15ull) >> shift_;; slot = (slot + 1) & mask_) {
      const uint64_t word = slots_[slot];
      if ((word >> rank_bits_) == key) return static_cast<uint32_t>(word & rank_mask_);
      if (word == kEmpty) return kNoRank;
    }
  }
  // The token made by the merge of this rank.
  int32_t result(uint32_t rank) const { return results_[rank]; }
  int rank_bits() const { return rank_bits_; }
  uint64_t rank_mask() const { return rank_mask_; }

 private:
  int id_bits_;
  int rank_bits_;
  uint64_t rank_mask_;
  size_t mask_;
  int shift_;
  uint64_t serial_;
  std::vector<uint64_t> slots_;   // [capacity] key << rank_bits | rank, or kEmpty
  std::vector<int32_t> results_;  // [n_merges] token made by the merge of each rank
};

class MergeCache {
 public:
  static constexpr int kBits = 16;  // 64 Ki entries, 512 KiB

  MergeCache() : entries_(size_t{1} << kBits, MergeTable::kEmpty) {}
  // Serves `table`; empties the cache when it last served another one.
  void bind(const MergeTable& table) {
    table_ = &table;
    if (serial_ == table.serial()) return;
    serial_ = table.serial();
    entries_.assign(entries_.size(), MergeTable::kEmpty);
  }
  // Rank of merging (left, right), or kNoRank.
  uint32_t rank(int32_t left, int32_t right) {
    const uint64_t key = table_->key(left, right);
    uint64_t& entry = entries_[(key * 0xD6E8FEB86659FD93ull) >> (64 - kBits)];
    if ((entry >> table_->rank_bits()) != key) {
      const uint32_t rank = table_->rank(key);
      entry = (key << table_->rank_bits()) | (rank == MergeTable::kNoRank ? table_->rank_mask() : rank);
      return rank;
    }
    const uint64_t rank = entry & table_->rank_mask();
    return rank == table_->rank_mask() ? MergeTable::kNoRank : static_cast<uint32_t>(rank);
  }

 private:
  const MergeTable* table_ = nullptr;
  uint64_t serial_ = 0;
  std::vector<uint64_t> entries_;  // [1 << kBits] key << rank_bits | rank (all ones: no merge)
};

}  // namespace swallow
