// BlockManager: allocation and reference counts, prefix-cache matching (never the whole
// prompt), LRU eviction order, hit statistics, and blocks computed twice.
#include <gtest/gtest.h>

#include <numeric>

#include "engine/block_manager.h"

namespace swallow {
namespace {

std::vector<int32_t> iota_tokens(int32_t n, int32_t start = 0) {
  std::vector<int32_t> t(n);
  std::iota(t.begin(), t.end(), start);
  return t;
}

// Allocates and computes `tokens` in a fresh table, as a finished prefill would.
BlockTable compute(BlockManager& bm, const std::vector<int32_t>& tokens) {
  BlockTable table;
  PrefixMatch match = bm.match_prefix(tokens);
  EXPECT_TRUE(bm.allocate_with_prefix(table, match, static_cast<int64_t>(tokens.size())));
  bm.commit(table, tokens, static_cast<int64_t>(tokens.size()));
  return table;
}

TEST(BlockManager, AllocatesAndReleases) {
  BlockManager bm(8, 4, /*enable_prefix_caching=*/false);
  BlockTable a;
  ASSERT_TRUE(bm.allocate(a, 9));  // 3 blocks
  EXPECT_EQ(a.blocks.size(), 3u);
  EXPECT_EQ(bm.n_free(), 5);
  ASSERT_TRUE(bm.allocate(a, 12));  // still 3
  EXPECT_EQ(a.blocks.size(), 3u);
  BlockTable b;
  EXPECT_FALSE(bm.allocate(b, 24));  // 6 > 5 free: nothing taken
  EXPECT_TRUE(b.blocks.empty());
  EXPECT_EQ(bm.n_free(), 5);
  bm.release(a);
  EXPECT_TRUE(a.blocks.empty());
  EXPECT_EQ(bm.n_free(), 8);
}

TEST(BlockManager, MatchesFullBlocksButNeverTheLastToken) {
  BlockManager bm(16, 4, true);
  std::vector<int32_t> prompt = iota_tokens(12);
  BlockTable first = compute(bm, prompt);
  // Same 12 tokens: only 2 blocks may be reused, the last token must be computed.
  PrefixMatch same = bm.match_prefix(prompt);
  EXPECT_EQ(same.blocks, std::vector<int32_t>(first.blocks.begin(), first.blocks.begin() + 2));
  // 13 tokens with the same start: all three blocks.
  std::vector<int32_t> longer = iota_tokens(13);
  EXPECT_EQ(bm.match_prefix(longer).blocks, first.blocks);
  // A different second block stops the chain there.
  std::vector<int32_t> diverging = prompt;
  diverging[5] = 99;
  diverging.push_back(1);
  EXPECT_EQ(bm.match_prefix(diverging).blocks.size(), 1u);
  // The chain depends on the parent: the same second block after a different first misses.
  std::vector<int32_t> other_parent = longer;
  other_parent[0] = 77;
  EXPECT_TRUE(bm.match_prefix(other_parent).blocks.empty());
}

TEST(BlockManager, SharedPrefixIsReferenceCounted) {
  BlockManager bm(8, 4, true);
  std::vector<int32_t> tokens = iota_tokens(9);
  BlockTable a = compute(bm, tokens);  // 3 blocks
  BlockTable b;
  PrefixMatch match = bm.match_prefix(tokens);
  ASSERT_EQ(match.blocks.size(), 2u);
  ASSERT_TRUE(bm.allocate_with_prefix(b, match, 9));
  EXPECT_EQ(bm.n_free(), 4);  // 3 for a, 1 new for b
  bm.release(a);
  EXPECT_EQ(bm.n_free(), 5);  // the shared two stay with b
  bm.release(b);
  EXPECT_EQ(bm.n_free(), 8);
  EXPECT_EQ(bm.n_cached_free(), 2);  // b's third block was never committed
}

TEST(BlockManager, CountsQueriesAndHits) {
  BlockManager bm(8, 4, true);
  bm.record_query(10, 8);
  bm.record_query(5, 0);
  EXPECT_EQ(bm.stats().prefix_queries, 15);
  EXPECT_EQ(bm.stats().prefix_hits, 8);
}

TEST(BlockManager, EvictsLeastRecentlyUsedTailFirst) {
  BlockManager bm(6, 2, true);
  BlockTable a = compute(bm, iota_tokens(6, 0));    // blocks a0 a1 a2
  BlockTable b = compute(bm, iota_tokens(6, 100));  // blocks b0 b1 b2
  const std::vector<int32_t> a_blocks = a.blocks;
  bm.release(a);  // LRU: a2 a1 a0
  bm.release(b);  // LRU: a2 a1 a0 b2 b1 b0
  EXPECT_EQ(bm.n_cached_free(), 6);
  // Two fresh blocks evict a2 then a1; a0 still matches.
  BlockTable c;
  ASSERT_TRUE(bm.allocate(c, 4));
  std::vector<int32_t> a_again = iota_tokens(7, 0);
  EXPECT_EQ(bm.match_prefix(a_again).blocks, std::vector<int32_t>{a_blocks[0]});
  EXPECT_EQ(bm.match_prefix(iota_tokens(7, 100)).blocks.size(), 3u);
  // Reusing b's prefix takes its blocks out of the LRU: the one new block evicts a0.
  PrefixMatch b_match = bm.match_prefix(iota_tokens(7, 100));
  BlockTable b2;
  ASSERT_TRUE(bm.allocate_with_prefix(b2, b_match, 7));
  EXPECT_TRUE(bm.match_prefix(a_again).blocks.empty());
  EXPECT_EQ(bm.n_free(), 0);
}

TEST(BlockManager, PrefixRevivalCountsAgainstFreeBlocks) {
  BlockManager bm(4, 2, true);
  BlockTable a = compute(bm, iota_tokens(4));  // 2 blocks
  bm.release(a);                               // both cached, free
  PrefixMatch match = bm.match_prefix(iota_tokens(5));
  ASSERT_EQ(match.blocks.size(), 2u);
  BlockTable b;
  // 5 tokens need 3 blocks: 2 revived + 1 new of the 2 that are left.
  EXPECT_FALSE(bm.allocate_with_prefix(b, match, 12));  // 6 blocks: too many, nothing changes
  EXPECT_EQ(bm.n_free(), 4);
  ASSERT_TRUE(bm.allocate_with_prefix(b, match, 5));
  EXPECT_EQ(bm.n_free(), 1);
}

TEST(BlockManager, BlockComputedTwiceStaysUncached) {
  BlockManager bm(8, 2, true);
  std::vector<int32_t> tokens = iota_tokens(4);
  BlockTable a = compute(bm, tokens);
  BlockTable b;  // computed the same prefix at the same time, without a match
  ASSERT_TRUE(bm.allocate(b, 4));
  bm.commit(b, tokens, 4);
  EXPECT_EQ(b.hashes, a.hashes);
  bm.release(b);
  EXPECT_EQ(bm.n_cached_free(), 0);  // b's copies were not registered
  bm.release(a);
  EXPECT_EQ(bm.n_cached_free(), 2);
}

TEST(BlockManager, CachingOffNeverMatches) {
  BlockManager bm(8, 2, false);
  BlockTable a = compute(bm, iota_tokens(6));
  EXPECT_TRUE(a.hashes.empty());
  bm.release(a);
  EXPECT_TRUE(bm.match_prefix(iota_tokens(6)).blocks.empty());
  EXPECT_EQ(bm.n_cached_free(), 0);
}

}  // namespace
}  // namespace swallow
