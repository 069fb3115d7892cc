// MergeTable construction (lookups are inline in the header).
#include "tokenizer/merge_table.h"

#include <algorithm>
#include <atomic>
#include <bit>

namespace swallow {

bool MergeTable::fits(size_t n_ids, size_t n_merges) {
  return 2 * std::bit_width(n_ids) + std::bit_width(n_merges) <= 64;
}

MergeTable::MergeTable(size_t n_ids, size_t n_merges)
    : id_bits_(std::bit_width(n_ids)),
      rank_bits_(std::bit_width(n_merges)),
      rank_mask_((uint64_t{1} << rank_bits_) - 1),
      results_(n_merges, -1) {
  static std::atomic<uint64_t> next_serial{1};
  serial_ = next_serial++;
  slots_.assign(std::bit_ceil(std::max<size_t>(16, n_merges * 2)), kEmpty);
  mask_ = slots_.size() - 1;
  shift_ = 64 - std::countr_zero(slots_.size());
}

void MergeTable::set(int32_t left, int32_t right, uint32_t rank, int32_t result) {
  const uint64_t k = key(left, right);
  size_t slot = (k * 0x9E3779B97F4A7C15ull) >> shift_;
  while (slots_[slot] != kEmpty && (slots_[slot] >> rank_bits_) != k) slot = (slot + 1) & mask_;
  slots_[slot] = (k << rank_bits_) | rank;
  results_[rank] = result;
}

}  // namespace swallow
