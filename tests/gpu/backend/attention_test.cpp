// CUDA vs CPU paged attention on ragged batches: decode-only batches (split-KV kernels: tensor
// cores for bf16 head_dim 64/128 groups <= 16, the general kernel otherwise), prefill and
// chunked-prefill mixed with decode (tensor-core kernel), long contexts, non-contiguous block
// tables with partial last blocks, GQA groups 1-16, head_dim 16-128, f32 q / f32 cache; bad
// block-table entries and positions raise the status word.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#include "core/error.h"
#include "gpu_test_util.h"

namespace swallow::gpu_test {
namespace {

struct SeqSpec {
  int32_t context;  // last position + 1
  int32_t q_len;    // new tokens: positions [context - q_len, context)
};

struct AttnCase {
  int32_t n_heads, n_kv_heads, head_dim, block_size;
  DType q_dtype, cache_dtype;
  std::vector<SeqSpec> seqs;
};

void fill_cache_part(KvCache& g, KvCache& c, bool keys, int32_t layer, const std::vector<uint8_t>& bytes) {
  void* gp = keys ? g.keys(layer) : g.values(layer);
  void* cp = keys ? c.keys(layer) : c.values(layer);
  cuda().copy_to_device(gp, bytes.data(), bytes.size());
  cuda().synchronize();
  std::memcpy(cp, bytes.data(), bytes.size());
}

void run(const AttnCase& c) {
  SCOPED_TRACE(testing::Message() << "heads " << c.n_heads << "/" << c.n_kv_heads << " head_dim " << c.head_dim
                                  << " block " << c.block_size << " q " << dtype_name(c.q_dtype) << " cache "
                                  << dtype_name(c.cache_dtype));
  const auto n_seqs = static_cast<int32_t>(c.seqs.size());
  int32_t max_blocks = 0, used_blocks = 0, n_tokens = 0;
  for (const SeqSpec& s : c.seqs) {
    const int32_t blocks = (s.context + c.block_size - 1) / c.block_size;
    max_blocks = std::max(max_blocks, blocks);
    used_blocks += blocks;
    n_tokens += s.q_len;
  }
  max_blocks += 1;  // every table ends in unused (-1) entries
  const KvCacheShape shape{2, used_blocks + 7, c.block_size, c.n_kv_heads, c.head_dim, c.cache_dtype};
  auto g_cache = cuda().create_kv_cache(shape);
  auto c_cache = cpu().create_kv_cache(shape);
  const int64_t part_elems = int64_t{shape.n_blocks} * shape.block_size * shape.n_kv_heads * shape.head_dim;
  for (bool keys : {true, false}) {
    const std::vector<float> v = representable(random_floats(part_elems, -2, 2), c.cache_dtype);
    fill_cache_part(*g_cache, *c_cache, keys, 1, encode(v, c.cache_dtype));
  }
  // Block tables from a random permutation: blocks of one sequence are scattered.
  std::vector<int32_t> perm(shape.n_blocks);
  std::iota(perm.begin(), perm.end(), 0);
  std::shuffle(perm.begin(), perm.end(), rng());
  std::vector<int32_t> tables(static_cast<size_t>(n_seqs) * max_blocks, -1);
  std::vector<int32_t> token_pos, seq_start{0}, seq_len;
  size_t next = 0;
  for (int32_t s = 0; s < n_seqs; ++s) {
    const SeqSpec& spec = c.seqs[s];
    const int32_t blocks = (spec.context + c.block_size - 1) / c.block_size;
    for (int32_t b = 0; b < blocks; ++b) tables[s * max_blocks + b] = perm[next++];
    for (int32_t i = 0; i < spec.q_len; ++i) token_pos.push_back(spec.context - spec.q_len + i);
    seq_start.push_back(seq_start.back() + spec.q_len);
    seq_len.push_back(spec.context);
  }
  const int64_t q_cols = int64_t{c.n_heads} * c.head_dim;
  const std::vector<float> q = representable(random_floats(n_tokens * q_cols, -2, 2), c.q_dtype);
  const AttentionParams params{c.n_heads, c.n_kv_heads, c.head_dim, 1.0f / std::sqrt(static_cast<float>(c.head_dim))};

  DeviceTensor g_q(n_tokens, q_cols, c.q_dtype), g_out(n_tokens, q_cols, c.q_dtype);
  g_q.upload(q);
  DeviceInts g_pos(token_pos), g_start(seq_start), g_tables(tables);
  AttentionBatch g_batch{n_tokens, n_seqs, g_pos.data(), nullptr, g_start.data(), g_tables.data(), max_blocks,
                         seq_start, seq_len};
  cuda().attention(*g_cache, 1, g_q.t(), g_batch, params, g_out.t());

  HostTensor c_q(n_tokens, q_cols, DType::kF32), c_out(n_tokens, q_cols, DType::kF32);
  c_q.set(q);
  AttentionBatch c_batch{n_tokens, n_seqs, token_pos.data(), nullptr, seq_start.data(), tables.data(), max_blocks,
                         seq_start, seq_len};
  cpu().attention(*c_cache, 1, c_q.t(), c_batch, params, c_out.t());
  const bool exact_f32 = c.q_dtype == DType::kF32 && c.cache_dtype == DType::kF32;
  EXPECT_TRUE(close(g_out.download(), c_out.get(), exact_f32 ? 1e-5 : 1e-2));
}

TEST(GpuAttention, DecodeBatchSplitsLongContexts) {
  run({32, 8, 128, 16, DType::kBF16, DType::kBF16, {{1, 1}, {15, 1}, {16, 1}, {17, 1}, {100, 1}, {1000, 1}, {4096, 1}}});
}

TEST(GpuAttention, SingleLongDecode) {
  run({32, 8, 128, 16, DType::kBF16, DType::kBF16, {{4093, 1}}});
  run({64, 8, 128, 16, DType::kBF16, DType::kBF16, {{2500, 1}, {3, 1}}});  // 70B-like group of 8
}

TEST(GpuAttention, RaggedPrefillWithDecode) {
  run({32, 8, 128, 16, DType::kBF16, DType::kBF16, {{37, 37}, {300, 44}, {16, 16}, {1, 1}, {513, 1}}});
}

TEST(GpuAttention, HeadDim64Group8Block32) {
  run({8, 1, 64, 32, DType::kBF16, DType::kBF16, {{100, 100}, {77, 5}, {33, 1}}});
}

TEST(GpuAttention, LongContextChunkedPrefill) {
  run({32, 8, 128, 16, DType::kBF16, DType::kBF16, {{4096, 256}, {4000, 1}}});
}

TEST(GpuAttention, NoGroupingPrefill) {
  run({4, 4, 128, 16, DType::kBF16, DType::kBF16, {{70, 70}, {129, 65}}});
}

TEST(GpuAttention, F32QueriesOnBf16Cache) {
  run({16, 4, 128, 16, DType::kF32, DType::kBF16, {{65, 65}, {10, 1}}});
  run({16, 4, 128, 16, DType::kF32, DType::kBF16, {{500, 1}, {31, 1}}});
}

TEST(GpuAttention, F32CacheUsesTheGeneralKernel) {
  run({8, 4, 64, 16, DType::kF32, DType::kF32, {{50, 50}, {20, 1}}});
  run({8, 4, 64, 16, DType::kF32, DType::kF32, {{1500, 1}}});
}

TEST(GpuAttention, SmallAndOddHeadDims) {
  run({6, 2, 48, 16, DType::kBF16, DType::kBF16, {{40, 40}, {9, 2}}});
  run({4, 2, 32, 8, DType::kBF16, DType::kBF16, {{25, 25}, {300, 1}}});
  run({4, 1, 16, 16, DType::kBF16, DType::kBF16, {{18, 18}}});
}

TEST(GpuAttention, ManyRaggedDecodes) {
  std::vector<SeqSpec> seqs;
  for (int32_t ctx : random_ints(128, 100, 300)) seqs.push_back({ctx, 1});
  run({32, 8, 128, 16, DType::kBF16, DType::kBF16, seqs});
}

TEST(GpuAttention, DecodeGroupsAndBlockSizes) {
  const std::vector<SeqSpec> seqs{{1, 1}, {7, 1}, {16, 1}, {33, 1}, {250, 1}, {777, 1}};
  run({16, 16, 128, 16, DType::kBF16, DType::kBF16, seqs});  // group 1
  run({40, 8, 128, 16, DType::kBF16, DType::kBF16, seqs});   // group 5
  run({32, 2, 128, 16, DType::kBF16, DType::kBF16, seqs});   // group 16
  run({32, 1, 64, 16, DType::kBF16, DType::kBF16, seqs});    // group 32: general kernel
  run({32, 8, 128, 12, DType::kBF16, DType::kBF16, seqs});   // 16-key tiles across blocks
  run({32, 8, 128, 5, DType::kBF16, DType::kBF16, seqs});
  run({32, 8, 64, 32, DType::kBF16, DType::kBF16, seqs});
  run({12, 4, 64, 16, DType::kBF16, DType::kBF16, {{3000, 1}, {2, 1}}});
}

// One decode token whose block table holds `bad_entry` in its second slot, or whose position is
// beyond its table: the CUDA backend must report it at the next synchronisation.
void expect_status_error(DType dtype, int32_t block_size, int32_t bad_entry, int32_t pos) {
  SCOPED_TRACE(testing::Message() << dtype_name(dtype) << " block " << block_size << " entry " << bad_entry << " pos "
                                  << pos);
  const KvCacheShape shape{1, 8, block_size, 2, 128, dtype};
  auto cache = cuda().create_kv_cache(shape);
  const int64_t part_bytes = int64_t{shape.n_blocks} * shape.block_size * shape.n_kv_heads * shape.head_dim *
                             static_cast<int64_t>(dtype_size(dtype));
  const std::vector<uint8_t> zeros(static_cast<size_t>(part_bytes), 0);
  cuda().copy_to_device(cache->keys(0), zeros.data(), zeros.size());
  cuda().copy_to_device(cache->values(0), zeros.data(), zeros.size());
  const std::vector<int32_t> tables{3, bad_entry, 5, -1};
  const std::vector<int32_t> token_pos{pos}, seq_start{0, 1}, seq_len{pos + 1};
  DeviceInts g_pos(token_pos), g_start(seq_start), g_tables(tables);
  DeviceTensor g_q(1, 8 * 128, DType::kBF16), g_out(1, 8 * 128, DType::kBF16);
  g_q.upload(random_floats(8 * 128, -1, 1));
  const AttentionBatch batch{1, 1, g_pos.data(), nullptr, g_start.data(), g_tables.data(), 4, seq_start, seq_len};
  const AttentionParams params{8, 2, 128, 1.0f / std::sqrt(128.0f)};
  cuda().attention(*cache, 0, g_q.t(), batch, params, g_out.t());
  EXPECT_THROW(cuda().synchronize(), Error);
  EXPECT_NO_THROW(cuda().synchronize());  // the flag was cleared
}

TEST(GpuAttention, BadBlockEntriesAndPositionsRaiseStatus) {
  for (DType dtype : {DType::kBF16, DType::kF32}) {
    for (int32_t bs : {16, 12}) {
      expect_status_error(dtype, bs, 8, 2 * bs + 8);  // entry == n_blocks
      expect_status_error(dtype, bs, -1, bs + 4);     // unused entry inside the context
      expect_status_error(dtype, bs, 4, 4 * bs);      // position == max_blocks_per_seq * block_size
    }
  }
}

}  // namespace
}  // namespace swallow::gpu_test
