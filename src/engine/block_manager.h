// KV block manager: hands out the fixed-size blocks of the paged KV cache to sequences, counts
// references (blocks shared by a common prefix or by the samples of one request), and keeps the
// automatic prefix cache: every full, computed block is identified by a hash chain of
// (parent block hash, the block's tokens); freed blocks that hold a cached prefix stay in an LRU
// and are evicted only when a fresh block is needed. Used by the engine thread only.
#pragma once

#include <cstdint>
#include <list>
#include <span>
#include <unordered_map>
#include <vector>

namespace swallow {

// The blocks one sequence holds, in position order, and the chain hashes of its full computed
// blocks (hashes[i] identifies blocks[i]; empty when prefix caching is off).
struct BlockTable {
  std::vector<int32_t> blocks;
  std::vector<uint64_t> hashes;
};

// A cached prefix found for a token sequence: its blocks (not yet referenced) and their hashes.
struct PrefixMatch {
  std::vector<int32_t> blocks;
  std::vector<uint64_t> hashes;
};

struct BlockManagerStats {
  int64_t prefix_queries = 0;  // tokens looked up in the prefix cache
  int64_t prefix_hits = 0;     // tokens found there
};

class BlockManager {
 public:
  BlockManager(int32_t n_blocks, int32_t block_size, bool enable_prefix_caching);

  int32_t block_size() const { return block_size_; }
  int32_t n_blocks() const { return static_cast<int32_t>(blocks_.size()); }
  // Blocks not referenced by any sequence (including cached ones that may be evicted).
  int32_t n_free() const { return static_cast<int32_t>(free_.size() + lru_.size()); }
  // Cached blocks not referenced by any sequence.
  int32_t n_cached_free() const { return static_cast<int32_t>(lru_.size()); }
  const BlockManagerStats& stats() const { return stats_; }
  int32_t blocks_for(int64_t n_tokens) const {
    return static_cast<int32_t>((n_tokens + block_size_ - 1) / block_size_);
  }

  // The longest cached prefix of `tokens` made of full blocks, leaving at least the last token
  // uncovered (its logits must be computed). No side effects; empty when caching is off.
  PrefixMatch match_prefix(std::span<const int32_t> tokens) const;
  // The first n_blocks blocks of `table` as a prefix another sequence can share.
  static PrefixMatch shared_prefix(const BlockTable& table, int32_t n_blocks);
  // Starts an empty table with `prefix` and grows it to cover n_tokens slots. Returns false and
  // changes nothing when blocks run out.
  bool allocate_with_prefix(BlockTable& table, const PrefixMatch& prefix, int64_t n_tokens);
  // Counts a prefix-cache lookup of n_queried tokens of which n_hit were found.
  void record_query(int64_t n_queried, int64_t n_hit) {
    stats_.prefix_queries += n_queried;
    stats_.prefix_hits += n_hit;
  }
  // Grows the table to cover n_tokens slots; false (nothing changed) when blocks run out.
  bool allocate(BlockTable& table, int64_t n_tokens);
  // Registers the table's full blocks among tokens[0, n_computed) in the prefix cache.
  void commit(BlockTable& table, std::span<const int32_t> tokens, int64_t n_computed);
  // Drops the table's references; cached blocks go to the LRU, last block first, so a
  // prefix's tail is evicted before its head. Leaves the table empty.
  void release(BlockTable& table);

 private:
  struct Block {
    int32_t ref_count = 0;
    bool cached = false;             // registered in index_ under `hash`
    uint64_t hash = 0;
    uint64_t parent_hash = 0;
    std::vector<int32_t> tokens;     // [block_size] the block's tokens, to verify cache hits
    std::list<int32_t>::iterator lru_pos;  // valid while cached and ref_count == 0
  };

  static uint64_t chain_hash(uint64_t parent, std::span<const int32_t> tokens);
  // A free block for new data: never-cached blocks first, else the least recently used cached
  // one (evicted from the cache).
  int32_t take_free_block();
  void add_reference(int32_t block);

  int32_t block_size_;
  bool enable_prefix_caching_;
  std::vector<Block> blocks_;
  std::vector<int32_t> free_;                  // unreferenced blocks holding no cached prefix
  std::list<int32_t> lru_;                     // unreferenced cached blocks, least recent first
  std::unordered_map<uint64_t, int32_t> index_;  // chain hash -> cached block
  BlockManagerStats stats_;
};

}  // namespace swallow
