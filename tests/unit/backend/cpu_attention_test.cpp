// Paged causal attention against a double-precision reference: ragged batches of prefill chunks
// and decode tokens, shuffled (non-contiguous) blocks, GQA / MQA / MHA, contexts over many
// blocks, F32 and BF16 caches, both kernel sets. Batch invariance: a sequence's rows are
// bit-identical alone or batched, a token's row does not depend on its prefill chunk, and no row
// depends on the thread count.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <ostream>
#include <random>

#include "backend_test_util.h"

namespace swallow::test {
namespace {

struct Geometry {
  int32_t n_heads, n_kv_heads, head_dim, block_size;
  DType kv_dtype;
};

std::string geometry_name(const Geometry& g) {
  return "h" + std::to_string(g.n_heads) + "kv" + std::to_string(g.n_kv_heads) + "d" + std::to_string(g.head_dim) + "b" +
         std::to_string(g.block_size) + dtype_name(g.kv_dtype);
}
void PrintTo(const Geometry& g, std::ostream* os) { *os << geometry_name(g); }

// One sequence of the batch: `context` tokens cached, of which the last `n_new` are this step's.
struct Sequence {
  int32_t context;
  int32_t n_new;
  std::vector<int32_t> blocks;  // block table
  HostTensor keys, values;      // [context, n_kv_heads * head_dim] f32, what store_kv received
};

// The host arrays of an AttentionBatch over some of the sequences.
struct BatchArrays {
  std::vector<int32_t> token_pos, slots, seq_start{0}, tables, seq_len;
  int32_t max_blocks = 0;
  AttentionBatch view() const {
    return {.n_tokens = seq_start.back(), .n_seqs = static_cast<int32_t>(seq_len.size()), .token_pos = token_pos.data(),
            .slot_mapping = slots.data(), .seq_token_start = seq_start.data(), .block_tables = tables.data(),
            .max_blocks_per_seq = max_blocks, .host_seq_token_start = seq_start, .host_seq_len = seq_len};
  }
};

// Tokens at positions [first, last) of each listed sequence.
BatchArrays make_batch(const std::vector<const Sequence*>& seqs, const std::vector<std::pair<int32_t, int32_t>>& ranges,
                       int32_t block_size) {
  BatchArrays b;
  for (const Sequence* s : seqs) b.max_blocks = std::max(b.max_blocks, static_cast<int32_t>(s->blocks.size()));
  for (size_t i = 0; i < seqs.size(); ++i) {
    for (int32_t p = ranges[i].first; p < ranges[i].second; ++p) {
      b.token_pos.push_back(p);
      b.slots.push_back(seqs[i]->blocks[p / block_size] * block_size + p % block_size);
    }
    b.seq_start.push_back(static_cast<int32_t>(b.token_pos.size()));
    b.seq_len.push_back(ranges[i].second);
    std::vector<int32_t> row(static_cast<size_t>(b.max_blocks), -1);
    std::copy(seqs[i]->blocks.begin(), seqs[i]->blocks.end(), row.begin());
    b.tables.insert(b.tables.end(), row.begin(), row.end());
  }
  return b;
}

class AttentionFixture {
 public:
  AttentionFixture(const Geometry& g, std::vector<std::pair<int32_t, int32_t>> context_and_new, Kernels kernels, uint32_t seed,
                   int n_threads = 2)
      : g_(g), backend_(make_backend(kernels, n_threads)) {
    int32_t n_blocks = 0;
    for (auto [context, n_new] : context_and_new) n_blocks += (context + g.block_size - 1) / g.block_size;
    cache_ = backend_.create_kv_cache(
        {.n_layers = 2, .n_blocks = n_blocks + 3, .block_size = g.block_size, .n_kv_heads = g.n_kv_heads, .head_dim = g.head_dim, .dtype = g.kv_dtype});
    std::vector<int32_t> free_blocks(static_cast<size_t>(n_blocks + 3));
    std::iota(free_blocks.begin(), free_blocks.end(), 0);
    std::mt19937 rng(seed);
    std::shuffle(free_blocks.begin(), free_blocks.end(), rng);
    const int64_t row = int64_t{g.n_kv_heads} * g.head_dim;
    for (auto [context, n_new] : context_and_new) {
      Sequence s{context, n_new, {}, HostTensor::random(context, row, DType::kF32, seed++), HostTensor::random(context, row, DType::kF32, seed++)};
      for (int32_t b = 0; b < (context + g.block_size - 1) / g.block_size; ++b) {
        s.blocks.push_back(free_blocks.back());
        free_blocks.pop_back();
      }
      seqs_.push_back(std::move(s));
    }
    for (const Sequence& s : seqs_) {  // cache every position through store_kv, layer 1
      BatchArrays b = make_batch({&s}, {{0, s.context}}, g.block_size);
      backend_.store_kv(*cache_, 1, s.keys.view(), s.values.view(), b.view());
    }
  }

  // Attention of the tokens at positions [first, last) of the listed sequences; q [n_tokens, n_heads * head_dim].
  HostTensor run(const std::vector<int>& which, const std::vector<std::pair<int32_t, int32_t>>& ranges, const HostTensor& q) {
    std::vector<const Sequence*> seqs;
    for (int i : which) seqs.push_back(&seqs_[i]);
    BatchArrays b = make_batch(seqs, ranges, g_.block_size);
    HostTensor out(q.rows(), q.cols());
    const AttentionParams params{g_.n_heads, g_.n_kv_heads, g_.head_dim, 1.0f / std::sqrt(static_cast<float>(g_.head_dim))};
    backend_.attention(*cache_, 1, q.view(), b.view(), params, out.view());
    return out;
  }

  // The same attention as run(), in double precision from the values the cache holds.
  std::vector<double> reference(const std::vector<int>& which, const std::vector<std::pair<int32_t, int32_t>>& ranges,
                                const HostTensor& q) const {
    std::vector<double> out(static_cast<size_t>(q.size()));
    const double scale = 1.0 / std::sqrt(static_cast<double>(g_.head_dim));
    int64_t t = 0;
    for (size_t i = 0; i < which.size(); ++i) {
      const Sequence& s = seqs_[which[i]];
      for (int32_t pos = ranges[i].first; pos < ranges[i].second; ++pos, ++t) {
        for (int32_t h = 0; h < g_.n_heads; ++h) {
          const int64_t kv = int64_t{h / (g_.n_heads / g_.n_kv_heads)} * g_.head_dim;
          std::vector<double> w(static_cast<size_t>(pos) + 1);
          for (int32_t p = 0; p <= pos; ++p) {
            double dot = 0.0;
            for (int32_t d = 0; d < g_.head_dim; ++d) dot += q.at(t, h * g_.head_dim + d) * cached(s.keys, p, kv + d);
            w[p] = dot * scale;
          }
          const double max_w = *std::max_element(w.begin(), w.end());
          double sum = 0.0;
          for (double& x : w) sum += (x = std::exp(x - max_w));
          for (int32_t d = 0; d < g_.head_dim; ++d) {
            double acc = 0.0;
            for (int32_t p = 0; p <= pos; ++p) acc += w[p] * cached(s.values, p, kv + d);
            out[t * q.cols() + h * g_.head_dim + d] = acc / sum;
          }
        }
      }
    }
    return out;
  }

  const Sequence& seq(int i) const { return seqs_[i]; }
  int64_t q_cols() const { return int64_t{g_.n_heads} * g_.head_dim; }

 private:
  // What the cache holds for a stored f32 value: itself, or its bf16 rounding.
  double cached(const HostTensor& t, int64_t r, int64_t c) const {
    const float v = static_cast<float>(t.at(r, c));
    return g_.kv_dtype == DType::kBF16 ? bf16_to_f32(f32_to_bf16(v)) : v;
  }

  Geometry g_;
  CpuBackend backend_;
  std::unique_ptr<KvCache> cache_;
  std::vector<Sequence> seqs_;
};

// (context, new tokens): a decode at position 0, a prefill chunk, a decode over 63 blocks, one
// full block, and a 40-token chunk ending mid-block.
const std::vector<std::pair<int32_t, int32_t>> kMix = {{1, 1}, {37, 5}, {1000, 1}, {16, 16}, {300, 40}};

std::vector<std::pair<int32_t, int32_t>> new_token_ranges(const AttentionFixture& f, const std::vector<int>& which) {
  std::vector<std::pair<int32_t, int32_t>> ranges;
  for (int i : which) ranges.push_back({f.seq(i).context - f.seq(i).n_new, f.seq(i).context});
  return ranges;
}

class AttentionTest : public ::testing::TestWithParam<std::tuple<Kernels, Geometry>> {};

// Relative error (to the largest output) below 1e-5 with an F32 cache; a BF16 cache is compared
// with a reference that reads the same bf16-rounded keys and values.
TEST_P(AttentionTest, MatchesDoubleReference) {
  const auto [kernels, geometry] = GetParam();
  AttentionFixture f(geometry, kMix, kernels, 100);
  const std::vector<int> all = {0, 1, 2, 3, 4};
  const auto ranges = new_token_ranges(f, all);
  HostTensor q = HostTensor::random(1 + 5 + 1 + 16 + 40, f.q_cols(), DType::kF32, 7, -2.0f, 2.0f);
  HostTensor out = f.run(all, ranges, q);
  EXPECT_LT(max_rel_error(out, f.reference(all, ranges, q)), 1e-5);
}

TEST_P(AttentionTest, SequenceRowsAreBatchInvariant) {
  const auto [kernels, geometry] = GetParam();
  AttentionFixture f(geometry, kMix, kernels, 200);
  const std::vector<int> all = {0, 1, 2, 3, 4};
  HostTensor q = HostTensor::random(63, f.q_cols(), DType::kF32, 8, -2.0f, 2.0f);
  HostTensor batched = f.run(all, new_token_ranges(f, all), q);
  // Sequence 4 (rows 23..62) alone, then its token at position 279 as a one-token chunk.
  HostTensor q4(40, f.q_cols());
  for (int64_t i = 0; i < q4.size(); ++i) q4.set(i, static_cast<float>(q.at(23 * f.q_cols() + i)));
  HostTensor alone = f.run({4}, new_token_ranges(f, {4}), q4);
  EXPECT_EQ(row_bytes(alone, 0, 40), row_bytes(batched, 23, 40));
  HostTensor q_one(1, f.q_cols());
  for (int64_t i = 0; i < q_one.size(); ++i) q_one.set(i, static_cast<float>(q4.at(19 * f.q_cols() + i)));
  HostTensor one = f.run({4}, {{279, 280}}, q_one);
  EXPECT_EQ(row_bytes(one, 0, 1), row_bytes(alone, 19, 1));
  // One and three threads split the work differently.
  for (int n_threads : {1, 3}) {
    AttentionFixture other(geometry, kMix, kernels, 200, n_threads);
    EXPECT_EQ(row_bytes(other.run(all, new_token_ranges(other, all), q), 0, 63), row_bytes(batched, 0, 63)) << n_threads;
  }
}

const Geometry kGeometries[] = {
    {8, 2, 64, 16, DType::kF32},   // GQA, Llama 3.2 1B head_dim
    {8, 2, 64, 16, DType::kBF16},  // GQA, BF16 cache
    {4, 1, 32, 8, DType::kF32},    // MQA, small blocks
    {2, 2, 128, 16, DType::kBF16}, // MHA, Llama 3.1 8B head_dim
    {4, 2, 12, 16, DType::kF32},   // head_dim not a multiple of 8
};

INSTANTIATE_TEST_SUITE_P(KernelsAndGeometries, AttentionTest,
                         ::testing::Combine(::testing::Values(Kernels::kReference, Kernels::kFast),
                                            ::testing::ValuesIn(kGeometries)),
                         [](const auto& param_info) {
                           return kernels_name(std::get<0>(param_info.param)) + "_" + geometry_name(std::get<1>(param_info.param));
                         });

TEST(Attention, RejectsUnmappedBlocks) {
  CpuBackend backend = make_backend(Kernels::kFast);
  auto cache = backend.create_kv_cache({.n_layers = 1, .n_blocks = 4, .block_size = 4, .n_kv_heads = 1, .head_dim = 8});
  const std::vector<int32_t> pos = {5}, slots = {0}, start = {0, 1}, table = {0, -1}, len = {6};
  AttentionBatch batch{.n_tokens = 1, .n_seqs = 1, .token_pos = pos.data(), .slot_mapping = slots.data(),
                       .seq_token_start = start.data(), .block_tables = table.data(), .max_blocks_per_seq = 2,
                       .host_seq_token_start = start, .host_seq_len = len};
  HostTensor q(1, 8), out(1, 8);
  EXPECT_THROW(backend.attention(*cache, 0, q.view(), batch, {1, 1, 8, 1.0f}, out.view()), Error);
  EXPECT_THROW(backend.attention(*cache, 0, q.view(), batch, {1, 2, 8, 1.0f}, out.view()), Error);
}

}  // namespace
}  // namespace swallow::test
