// Token bytes by id (TokenBytes) and an open-addressing hash table from raw token bytes to id
// (BytesTable; std::unordered_map is several times slower on the BPE hot path). Filled once
// while loading; read-only and thread-safe afterwards.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace swallow {

inline uint64_t mix64(uint64_t x) {
  x ^= x >> 31;
  x *= 0x9E3779B97F4A7C15ull;
  x ^= x >> 29;
  return x;
}

inline uint64_t hash_bytes(std::string_view bytes) {
  uint64_t h = 0x243F6A8885A308D3ull ^ bytes.size();
  const char* p = bytes.data();
  size_t n = bytes.size();
  for (; n >= 8; p += 8, n -= 8) {
    uint64_t word;
    std::memcpy(&word, p, 8);
    h = (h ^ word) * 0xFF51AFD7ED558CCDull;
    h ^= h >> 32;
  }
  if (n > 0) {
    uint64_t word = 0;
    std::memcpy(&word, p, n);
    h = (h ^ word) * 0xC4CEB9FE1A85EC53ull;
  }
  return mix64(h);
}

// The bytes of every token id, back to back.
class TokenBytes {
 public:
  explicit TokenBytes(size_t n_ids) : offsets_(n_ids + 1, 0), present_(n_ids, false) {}
  // Ids must be set in any order, each at most once; call finish() after the last.
  void set(int32_t id, std::string_view bytes);
  void finish();
  bool has(int32_t id) const { return id >= 0 && static_cast<size_t>(id) < present_.size() && present_[id]; }
  std::string_view get(int32_t id) const {
    return std::string_view(arena_).substr(offsets_[id], offsets_[id + 1] - offsets_[id]);
  }
  size_t size() const { return present_.size(); }

 private:
  std::vector<std::string> pending_;
  std::string arena_;
  std::vector<uint32_t> offsets_;
  std::vector<bool> present_;
};

class BytesTable {
 public:
  // Indexes the given ids of `tokens` by their bytes; a later id with the same bytes is ignored.
  BytesTable(const TokenBytes& tokens, const std::vector<int32_t>& ids);
  std::optional<int32_t> find(std::string_view bytes) const {
    const uint64_t h = hash_bytes(bytes);
    const auto tag = static_cast<uint32_t>(h >> 32);
    for (size_t slot = h & mask_;; slot = (slot + 1) & mask_) {
      const Slot& s = slots_[slot];
      if (s.id < 0) return std::nullopt;
      if (s.tag == tag && tokens_->get(s.id) == bytes) return s.id;
    }
  }

 private:
  struct Slot {
    uint32_t tag = 0;
    int32_t id = -1;
  };
  const TokenBytes* tokens_;
  std::vector<Slot> slots_;
  size_t mask_ = 0;
};

}  // namespace swallow
