// PieceCache: open addressing with linear probing over (hash, key) with the keys and ids in two
// arenas; dropped wholesale when half full, which keeps every probe short.
#include "tokenizer/piece_cache.h"

namespace swallow {

PieceCache::PieceCache() : slots_(size_t{1} << kSlotBits) {}

void PieceCache::bind(uint64_t model_serial) {
  if (serial_ == model_serial) return;
  serial_ = model_serial;
  clear();
}

void PieceCache::clear() {
  for (Slot& s : slots_) s.used = false;
  n_entries_ = 0;
  keys_.clear();
  ids_.clear();
}

bool PieceCache::find(std::string_view piece, uint64_t hash, std::vector<int32_t>& out) const {
  const size_t mask = slots_.size() - 1;
  for (size_t i = hash & mask;; i = (i + 1) & mask) {
    const Slot& s = slots_[i];
    if (!s.used) return false;
    if (s.hash == hash && s.key_length == piece.size() &&
        std::string_view(keys_).substr(s.key_offset, s.key_length) == piece) {
      out.insert(out.end(), ids_.begin() + s.ids_offset, ids_.begin() + s.ids_offset + s.n_ids);
      return true;
    }
  }
}

void PieceCache::insert(std::string_view piece, uint64_t hash, const int32_t* ids, size_t n_ids) {
  if (piece.size() > kMaxPieceBytes) return;
  if (n_entries_ >= kMaxEntries) clear();
  const size_t mask = slots_.size() - 1;
  size_t i = hash & mask;
  while (slots_[i].used) i = (i + 1) & mask;
  slots_[i] = {hash, static_cast<uint32_t>(keys_.size()), static_cast<uint32_t>(ids_.size()),
               static_cast<uint16_t>(piece.size()), static_cast<uint16_t>(n_ids), true};
  keys_.append(piece);
  ids_.insert(ids_.end(), ids, ids + n_ids);
  ++n_entries_;
}

}  // namespace swallow
