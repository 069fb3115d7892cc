// The reference kernels: plain loops that favour clarity and accuracy over speed (long
// reductions accumulate in double). They define what the fast kernels compute and are what the
// CPU backend runs on CPUs without AVX2.
#include <cmath>
#include <vector>

#include "backend/cpu/cpu_elements.h"
#include "backend/cpu/cpu_kernels.h"

namespace swallow::cpu {
namespace {

template <typename W>
void matmul_reference_typed(const MatmulProblem& p, int64_t col_begin, int64_t col_end) {
  const auto* w = static_cast<const typename W::Storage*>(p.w);
  for (int64_t i = 0; i < p.n; ++i) {
    const float* x_row = p.x + i * p.k;  // [k]
    for (int64_t j = col_begin; j < col_end; ++j) {
      const auto* w_row = w + j * p.k;  // [k]
      double acc = 0.0;
      for (int64_t kk = 0; kk < p.k; ++kk) acc += double{x_row[kk]} * double{W::load(w_row[kk])};
      p.out[i * p.m + j] = static_cast<float>(acc);
    }
  }
}

void matmul_reference(const MatmulProblem& p, int64_t col_begin, int64_t col_end) {
  visit_float_dtype(p.w_dtype, "matmul weight",
                    [&](auto elem) { matmul_reference_typed<decltype(elem)>(p, col_begin, col_end); });
}

// One (head, token): scores over positions [0, pos], softmax in f32 (sum in double), weighted
// sum of values.
template <typename KV>
void attention_reference_head(const AttentionProblem& p, int32_t head, int64_t token, std::vector<float>& scores) {
  const int32_t kv_head = head / (p.n_heads / p.n_kv_heads);
  const int32_t pos = p.token_pos[token];
  const int32_t* block_table = p.block_tables + int64_t{p.token_seq[token]} * p.max_blocks_per_seq;
  const int64_t row_stride = int64_t{p.n_kv_heads} * p.head_dim;
  const float* q = p.q + (token * p.n_heads + head) * p.head_dim;  // [head_dim]
  const auto* keys = static_cast<const typename KV::Storage*>(p.k_cache);
  const auto* values = static_cast<const typename KV::Storage*>(p.v_cache);
  auto slot_offset = [&](int32_t position) {
    int64_t slot = int64_t{block_table[position / p.block_size]} * p.block_size + position % p.block_size;
    return slot * row_stride + int64_t{kv_head} * p.head_dim;
  };

  scores.resize(static_cast<size_t>(pos) + 1);
  float max_score = -INFINITY;
  for (int32_t t = 0; t <= pos; ++t) {
    const auto* k = keys + slot_offset(t);  // [head_dim]
    double dot = 0.0;
    for (int32_t d = 0; d < p.head_dim; ++d) dot += double{q[d]} * double{KV::load(k[d])};
    scores[t] = static_cast<float>(dot) * p.scale;
    max_score = std::max(max_score, scores[t]);
  }
  double sum = 0.0;
  for (int32_t t = 0; t <= pos; ++t) {
    scores[t] = std::exp(scores[t] - max_score);
    sum += scores[t];
  }
  float* out = p.out + (token * p.n_heads + head) * p.head_dim;  // [head_dim]
  for (int32_t d = 0; d < p.head_dim; ++d) {
    double acc = 0.0;
    for (int32_t t = 0; t <= pos; ++t) acc += double{scores[t]} * double{KV::load(values[slot_offset(t) + d])};
    out[d] = static_cast<float>(acc / sum);
  }
}

void attention_reference(const AttentionProblem& p, int64_t begin, int64_t end) {
  const int32_t group = p.n_heads / p.n_kv_heads;
  std::vector<float> scores;  // [pos + 1] f32
  visit_float_dtype(p.kv_dtype, "KV cache", [&](auto elem) {
    for (int64_t item = begin; item < end; ++item) {
      const int32_t kv_head = static_cast<int32_t>(item / p.n_tokens);
      for (int32_t h = kv_head * group; h < (kv_head + 1) * group; ++h) {
        attention_reference_head<decltype(elem)>(p, h, item % p.n_tokens, scores);
      }
    }
  });
}

void silu_mul_reference(const float* gate, const float* up, float* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    float silu = gate[i] / (1.0f + std::exp(-gate[i]));
    out[i] = silu * up[i];
  }
}

}  // namespace

const CpuKernels& reference_kernels() {
  static const CpuKernels kernels{"reference", matmul_reference, attention_reference, silu_mul_reference};
  return kernels;
}

}  // namespace swallow::cpu
