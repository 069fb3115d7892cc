// Construction of the flat hash tables (lookups are inline in the header).
#include "tokenizer/flat_maps.h"

#include <algorithm>
#include <bit>

namespace swallow {
namespace {

// Power-of-two capacity keeping the load factor at or below one half.
size_t capacity_for(size_t n) { return std::bit_ceil(std::max<size_t>(16, n * 2)); }

}  // namespace

void TokenBytes::set(int32_t id, std::string_view bytes) {
  if (pending_.empty()) pending_.resize(present_.size());
  pending_[id].assign(bytes);
  present_[id] = true;
}

void TokenBytes::finish() {
  size_t total = 0;
  for (const auto& s : pending_) total += s.size();
  arena_.reserve(total);
  for (size_t id = 0; id < present_.size(); ++id) {
    offsets_[id] = static_cast<uint32_t>(arena_.size());
    if (id < pending_.size()) arena_ += pending_[id];
  }
  offsets_[present_.size()] = static_cast<uint32_t>(arena_.size());
  pending_ = {};
}

BytesTable::BytesTable(const TokenBytes& tokens, const std::vector<int32_t>& ids) : tokens_(&tokens) {
  slots_.resize(capacity_for(ids.size()));
  mask_ = slots_.size() - 1;
  for (const int32_t id : ids) {
    const std::string_view bytes = tokens.get(id);
    const uint64_t h = hash_bytes(bytes);
    size_t slot = h & mask_;
    bool duplicate = false;
    while (slots_[slot].id >= 0) {
      if (tokens.get(slots_[slot].id) == bytes) {
        duplicate = true;
        break;
      }
      slot = (slot + 1) & mask_;
    }
    if (!duplicate) slots_[slot] = {static_cast<uint32_t>(h >> 32), id};
  }
}

}  // namespace swallow
