// AVX2 paged attention: per (KV head, token) one pass over the KV blocks of the token's
// sequence, every query head of the group in turn per block, with an online softmax (running max
// and sum; a head's value accumulator is rescaled when its max grows). Scores come 8 positions at
// a time (8 independent dot-product chains, then one transposing horizontal sum), exp is
// vectorized over them, and values are accumulated 64 dims at a time in registers. A head's
// operations depend only on its token's position and block table, so its output is the same
// whatever else is in the batch.
#include <algorithm>
#include <array>
#include <cmath>
#include <memory>
#include <utility>
#include <vector>

#include "backend/cpu/kernels_avx2.h"
#include "backend/cpu/simd_avx2.h"

namespace swallow::cpu {
namespace {

constexpr int kGroup = 8;  // positions per score vector; value dims (vectors of 8) per pass

// Lane i = sum of the lanes of v[i] (a fixed tree of horizontal adds).
SWALLOW_AVX2 inline __m256 transpose_sum(const __m256 v[8]) {
  const __m256 t0 = _mm256_hadd_ps(v[0], v[1]), t1 = _mm256_hadd_ps(v[2], v[3]);
  const __m256 t2 = _mm256_hadd_ps(v[4], v[5]), t3 = _mm256_hadd_ps(v[6], v[7]);
  const __m256 u0 = _mm256_hadd_ps(t0, t1), u1 = _mm256_hadd_ps(t2, t3);
  return _mm256_add_ps(_mm256_permute2f128_ps(u0, u1, 0x20), _mm256_permute2f128_ps(u0, u1, 0x31));
}

SWALLOW_AVX2 inline float hmax(__m256 v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_movehdup_ps(m));
  return _mm_cvtss_f32(m);
}

// out[c] = dot(q, key row c) for c < kCount (rows row_stride apart), 0 for c >= kCount.
template <typename KV, int kCount>
SWALLOW_AVX2 void dot_group(const float* q, const typename KV::Storage* k, int64_t row_stride, int32_t n_vec, float* out) {
  __m256 acc[kGroup];
#pragma GCC unroll 8
  for (int c = 0; c < kGroup; ++c) acc[c] = _mm256_setzero_ps();
  for (int32_t v = 0; v < n_vec; ++v) {
    const __m256 qv = avx2::load8(q + 8 * v);
#pragma GCC unroll 8
    for (int c = 0; c < kCount; ++c) acc[c] = _mm256_fmadd_ps(qv, avx2::load8<KV>(k + c * row_stride + 8 * v), acc[c]);
  }
  _mm256_store_ps(out, transpose_sum(acc));
}

// acc[0, 8 * kVecs) += sum over j < n of weights[j] * value row j (rows row_stride apart).
template <typename KV, int kVecs>
SWALLOW_AVX2 void accumulate_values(float* acc, const float* weights, const typename KV::Storage* v, int64_t row_stride,
                                    int32_t n) {
  __m256 sum[kVecs];
#pragma GCC unroll 8
  for (int i = 0; i < kVecs; ++i) sum[i] = _mm256_load_ps(acc + 8 * i);
  for (int32_t j = 0; j < n; ++j) {
    const __m256 w = _mm256_set1_ps(weights[j]);
#pragma GCC unroll 8
    for (int i = 0; i < kVecs; ++i) sum[i] = _mm256_fmadd_ps(w, avx2::load8<KV>(v + j * row_stride + 8 * i), sum[i]);
  }
#pragma GCC unroll 8
  for (int i = 0; i < kVecs; ++i) _mm256_store_ps(acc + 8 * i, sum[i]);
}

template <typename KV>
using DotFn = void (*)(const float*, const typename KV::Storage*, int64_t, int32_t, float*);
template <typename KV>
using AccumulateFn = void (*)(float*, const float*, const typename KV::Storage*, int64_t, int32_t);

// kDots<KV>[c - 1] = dot_group<KV, c>; kAccumulate<KV>[c - 1] = accumulate_values<KV, c>.
template <typename KV, int... Cs>
constexpr std::array<DotFn<KV>, kGroup> dot_table(std::integer_sequence<int, Cs...>) {
  return {&dot_group<KV, Cs + 1>...};
}
template <typename KV, int... Cs>
constexpr std::array<AccumulateFn<KV>, kGroup> accumulate_table(std::integer_sequence<int, Cs...>) {
  return {&accumulate_values<KV, Cs + 1>...};
}
template <typename KV>
constexpr auto kDots = dot_table<KV>(std::make_integer_sequence<int, kGroup>{});
template <typename KV>
constexpr auto kAccumulate = accumulate_table<KV>(std::make_integer_sequence<int, kGroup>{});

// Per-thread scratch of one item: the running softmax state of every head of a KV group.
struct GroupScratch {
  int32_t group = 0;       // query heads per KV head
  int32_t padded_block = 0;  // block_size rounded up to 8
  std::vector<float> storage;
  float* scores = nullptr;  // [group, padded_block] f32, 32-byte aligned
  float* acc = nullptr;     // [group, head_dim] f32, 32-byte aligned: weighted sums of values
  std::vector<float> running_max, running_sum;  // [group] f32

  GroupScratch(int32_t n_group, int32_t block_size, int32_t head_dim)
      : group(n_group), padded_block((block_size + kGroup - 1) / kGroup * kGroup) {
    const size_t n_floats = static_cast<size_t>(group) * (padded_block + head_dim);
    storage.resize(n_floats + kGroup);
    void* aligned = storage.data();
    size_t space = storage.size() * sizeof(float);
    scores = static_cast<float*>(std::align(32, n_floats * sizeof(float), aligned, space));
    acc = scores + static_cast<size_t>(group) * padded_block;
    running_max.resize(group);
    running_sum.resize(group);
  }
};

// One item: every query head of KV head `item / n_tokens` for token `item % n_tokens`. The heads
// of a group are interleaved per block so each key/value block is read from memory once.
template <typename KV>
SWALLOW_AVX2 void attention_group(const AttentionProblem& p, int64_t item, GroupScratch& scratch) {
  const int32_t kv_head = static_cast<int32_t>(item / p.n_tokens);
  const int64_t token = item % p.n_tokens;
  const int32_t group = scratch.group;
  const int32_t pos = p.token_pos[token];
  const int32_t* block_table = p.block_tables + int64_t{p.token_seq[token]} * p.max_blocks_per_seq;
  const int64_t row_stride = int64_t{p.n_kv_heads} * p.head_dim;
  const int32_t n_vec = p.head_dim / 8;
  const float* q = p.q + (token * p.n_heads + int64_t{kv_head} * group) * p.head_dim;  // [group, head_dim]
  const auto* keys = static_cast<const typename KV::Storage*>(p.k_cache);
  const auto* values = static_cast<const typename KV::Storage*>(p.v_cache);
  const __m256 scale = _mm256_set1_ps(p.scale);
  const __m256 lane = _mm256_setr_ps(0, 1, 2, 3, 4, 5, 6, 7);

  std::fill(scratch.acc, scratch.acc + static_cast<size_t>(group) * p.head_dim, 0.0f);
  std::fill(scratch.running_max.begin(), scratch.running_max.end(), -INFINITY);
  std::fill(scratch.running_sum.begin(), scratch.running_sum.end(), 0.0f);
  for (int32_t b = 0; b <= pos / p.block_size; ++b) {
    const int32_t n_in_block = std::min(p.block_size, pos + 1 - b * p.block_size);
    const int64_t base = int64_t{block_table[b]} * p.block_size * row_stride + int64_t{kv_head} * p.head_dim;
    for (int32_t h = 0; h < group; ++h) {
      float* scores = scratch.scores + static_cast<size_t>(h) * scratch.padded_block;  // [padded_block]
      float* acc = scratch.acc + static_cast<size_t>(h) * p.head_dim;                  // [head_dim]
      __m256 block_max = _mm256_set1_ps(-INFINITY);
      for (int32_t j = 0; j < n_in_block; j += kGroup) {
        const int32_t count = std::min(kGroup, n_in_block - j);
        kDots<KV>[count - 1](q + h * p.head_dim, keys + base + j * row_stride, row_stride, n_vec, scores + j);
        const __m256 valid = _mm256_cmp_ps(lane, _mm256_set1_ps(static_cast<float>(count)), _CMP_LT_OQ);
        const __m256 s = _mm256_blendv_ps(_mm256_set1_ps(-INFINITY), _mm256_mul_ps(_mm256_load_ps(scores + j), scale), valid);
        _mm256_store_ps(scores + j, s);
        block_max = _mm256_max_ps(block_max, s);
      }
      const float old_max = scratch.running_max[h];
      const float new_max = std::max(old_max, hmax(block_max));
      if (new_max != old_max) {  // rescale what was accumulated under the old max (nothing at first)
        const __m256 correction = avx2::exp8(_mm256_set1_ps(old_max - new_max));
        scratch.running_sum[h] *= _mm256_cvtss_f32(correction);
        for (int32_t d = 0; d < p.head_dim; d += 8) _mm256_store_ps(acc + d, _mm256_mul_ps(_mm256_load_ps(acc + d), correction));
        scratch.running_max[h] = new_max;
      }
      const __m256 max8 = _mm256_set1_ps(new_max);
      for (int32_t j = 0; j < n_in_block; j += kGroup) {
        const __m256 e = avx2::exp8(_mm256_sub_ps(_mm256_load_ps(scores + j), max8));  // masked lanes: 0
        _mm256_store_ps(scores + j, e);
        scratch.running_sum[h] += avx2::hsum(e);
      }
      for (int32_t v = 0; v < n_vec; v += kGroup) {
        const int32_t n_vecs = std::min(kGroup, n_vec - v);
        kAccumulate<KV>[n_vecs - 1](acc + 8 * v, scores, values + base + 8 * v, row_stride, n_in_block);
      }
    }
  }
  for (int32_t h = 0; h < group; ++h) {
    const float* acc = scratch.acc + static_cast<size_t>(h) * p.head_dim;
    float* out = p.out + (token * p.n_heads + int64_t{kv_head} * group + h) * p.head_dim;  // [head_dim]
    const __m256 sum8 = _mm256_set1_ps(scratch.running_sum[h]);
    for (int32_t d = 0; d < p.head_dim; d += 8) _mm256_storeu_ps(out + d, _mm256_div_ps(_mm256_load_ps(acc + d), sum8));
  }
}

}  // namespace

void attention_avx2(const AttentionProblem& p, int64_t begin, int64_t end) {
  if (p.head_dim % 8 != 0) {
    reference_kernels().attention(p, begin, end);
    return;
  }
  GroupScratch scratch(p.n_heads / p.n_kv_heads, p.block_size, p.head_dim);
  visit_float_dtype(p.kv_dtype, "KV cache", [&](auto elem) {
    for (int64_t item = begin; item < end; ++item) attention_group<decltype(elem)>(p, item, scratch);
  });
}

}  // namespace swallow::cpu
