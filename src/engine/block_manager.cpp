// BlockManager: reference counting, free lists and the hash-chained prefix cache.
#include "engine/block_manager.h"

#include <algorithm>

#include "core/error.h"

namespace swallow {
namespace {

constexpr uint64_t kRootHash = 0x5be0cd19137e2179ull;  // parent hash of a sequence's first block

uint64_t mix64(uint64_t x) {  // splitmix64 finalizer
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  x ^= x >> 31;
  return x;
}

}  // namespace

BlockManager::BlockManager(int32_t n_blocks, int32_t block_size, bool enable_prefix_caching)
    : block_size_(block_size), enable_prefix_caching_(enable_prefix_caching), blocks_(n_blocks) {
  if (n_blocks <= 0 || block_size <= 0) {
    throw invalid_argument("KV cache needs at least one block of at least one token (got " + std::to_string(n_blocks) +
                           " blocks of " + std::to_string(block_size) + ")");
  }
  free_.reserve(n_blocks);
  for (int32_t b = n_blocks - 1; b >= 0; --b) free_.push_back(b);  // block 0 is handed out first
}

uint64_t BlockManager::chain_hash(uint64_t parent, std::span<const int32_t> tokens) {
  uint64_t h = mix64(parent);
  for (int32_t t : tokens) h = mix64(h ^ static_cast<uint32_t>(t));
  return h;
}

PrefixMatch BlockManager::match_prefix(std::span<const int32_t> tokens) const {
  PrefixMatch match;
  if (!enable_prefix_caching_ || tokens.empty()) return match;
  const size_t max_blocks = (tokens.size() - 1) / static_cast<size_t>(block_size_);
  uint64_t parent = kRootHash;
  for (size_t i = 0; i < max_blocks; ++i) {
    auto chunk = tokens.subspan(i * block_size_, block_size_);
    uint64_t h = chain_hash(parent, chunk);
    auto it = index_.find(h);
    if (it == index_.end()) break;
    const Block& block = blocks_[it->second];
    if (block.parent_hash != parent || !std::equal(chunk.begin(), chunk.end(), block.tokens.begin())) break;
    match.blocks.push_back(it->second);
    match.hashes.push_back(h);
    parent = h;
  }
  return match;
}

PrefixMatch BlockManager::shared_prefix(const BlockTable& table, int32_t n_blocks) {
  PrefixMatch prefix;
  prefix.blocks.assign(table.blocks.begin(), table.blocks.begin() + n_blocks);
  size_t n_hashes = std::min(table.hashes.size(), static_cast<size_t>(n_blocks));
  prefix.hashes.assign(table.hashes.begin(), table.hashes.begin() + static_cast<std::ptrdiff_t>(n_hashes));
  return prefix;
}

bool BlockManager::allocate_with_prefix(BlockTable& table, const PrefixMatch& prefix, int64_t n_tokens) {
  if (!table.blocks.empty()) throw internal_error("allocate_with_prefix: the block table is not empty");
  int32_t n_new = std::max(0, blocks_for(n_tokens) - static_cast<int32_t>(prefix.blocks.size()));
  int32_t n_revived = 0;  // prefix blocks now free (in the LRU), which the prefix takes out of the pool
  for (int32_t b : prefix.blocks) n_revived += blocks_[b].ref_count == 0 ? 1 : 0;
  if (n_new > n_free() - n_revived) return false;
  for (int32_t b : prefix.blocks) add_reference(b);
  table.blocks = prefix.blocks;
  table.hashes = prefix.hashes;
  for (int32_t i = 0; i < n_new; ++i) table.blocks.push_back(take_free_block());
  return true;
}

bool BlockManager::allocate(BlockTable& table, int64_t n_tokens) {
  int32_t n_new = blocks_for(n_tokens) - static_cast<int32_t>(table.blocks.size());
  if (n_new <= 0) return true;
  if (n_new > n_free()) return false;
  for (int32_t i = 0; i < n_new; ++i) table.blocks.push_back(take_free_block());
  return true;
}

void BlockManager::commit(BlockTable& table, std::span<const int32_t> tokens, int64_t n_computed) {
  if (!enable_prefix_caching_) return;
  size_t n_full = std::min(static_cast<size_t>(n_computed / block_size_), table.blocks.size());
  for (size_t i = table.hashes.size(); i < n_full; ++i) {
    uint64_t parent = i == 0 ? kRootHash : table.hashes[i - 1];
    auto chunk = tokens.subspan(i * block_size_, block_size_);
    uint64_t h = chain_hash(parent, chunk);
    Block& block = blocks_[table.blocks[i]];
    // A block computed twice at once (same prefix in two sequences) stays uncached: the index
    // keeps the first one.
    if (!block.cached && index_.emplace(h, table.blocks[i]).second) {
      block.cached = true;
      block.hash = h;
      block.parent_hash = parent;
      block.tokens.assign(chunk.begin(), chunk.end());
    }
    table.hashes.push_back(h);
  }
}

void BlockManager::release(BlockTable& table) {
  for (auto it = table.blocks.rbegin(); it != table.blocks.rend(); ++it) {
    Block& block = blocks_[*it];
    if (block.ref_count <= 0) throw internal_error("KV block " + std::to_string(*it) + " released twice");
    if (--block.ref_count > 0) continue;
    if (block.cached) {
      block.lru_pos = lru_.insert(lru_.end(), *it);
    } else {
      free_.push_back(*it);
    }
  }
  table.blocks.clear();
  table.hashes.clear();
}

int32_t BlockManager::take_free_block() {
  int32_t id;
  if (!free_.empty()) {
    id = free_.back();
    free_.pop_back();
  } else {
    if (lru_.empty()) throw internal_error("KV block manager: no free block");
    id = lru_.front();
    lru_.pop_front();
    Block& evicted = blocks_[id];
    index_.erase(evicted.hash);
    evicted.cached = false;
    evicted.tokens.clear();
  }
  blocks_[id].ref_count = 1;
  return id;
}

void BlockManager::add_reference(int32_t block_id) {
  Block& block = blocks_[block_id];
  // An unreferenced block taken as a prefix is a cached one, parked in the LRU.
  if (block.ref_count++ == 0) lru_.erase(block.lru_pos);
}

}  // namespace swallow
