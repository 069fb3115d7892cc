// The CPU sampler: logit processing in vLLM's order, then argmax or a counter-based draw.
#include "backend/cpu/cpu_sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>

#include "core/error.h"

namespace swallow::cpu {
namespace {

uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

void check_token(int32_t token, size_t n_vocab, const char* what) {
  if (token < 0 || static_cast<size_t>(token) >= n_vocab) {
    throw invalid_argument(std::string("sampling: ") + what + " token id " + std::to_string(token) +
                           " is outside the vocabulary [0, " + std::to_string(n_vocab) + ")");
  }
}

void check_params(const SamplingParams& p) {
  if (!(p.temperature >= 0.0f) || !(p.top_p > 0.0f && p.top_p <= 1.0f) || !(p.min_p >= 0.0f && p.min_p <= 1.0f) ||
      !(p.repetition_penalty > 0.0f)) {
    throw invalid_argument("sampling: need temperature >= 0, 0 < top_p <= 1, 0 <= min_p <= 1, repetition_penalty > 0 (got " +
                           std::to_string(p.temperature) + ", " + std::to_string(p.top_p) + ", " +
                           std::to_string(p.min_p) + ", " + std::to_string(p.repetition_penalty) + ")");
  }
}

// Sorted distinct tokens of a token list, and how often each occurs.
void count_tokens(std::span<const int32_t> tokens, std::vector<int32_t>& ids, std::vector<int32_t>& counts) {
  std::vector<int32_t> sorted(tokens.begin(), tokens.end());
  std::sort(sorted.begin(), sorted.end());
  for (size_t i = 0; i < sorted.size(); ++i) {
    if (i == 0 || sorted[i] != sorted[i - 1]) {
      ids.push_back(sorted[i]);
      counts.push_back(0);
    }
    ++counts.back();
  }
}

// Index of the largest value; the lowest index wins ties.
int32_t argmax(std::span<const float> values) {
  size_t best = 0;
  for (size_t i = 1; i < values.size(); ++i) {
    if (values[i] > values[best]) best = i;
  }
  return static_cast<int32_t>(best);
}

// True when token a ranks before token b (higher value, then lower id).
template <typename T>
bool ranks_before(std::span<const T> values, int32_t a, int32_t b) {
  return values[a] > values[b] || (values[a] == values[b] && a < b);
}

// Keeps the smallest set of most likely tokens whose probability reaches top_p (at least one).
// probs [n_vocab] f64 normalized over the kept tokens; others 0.
void apply_top_p(std::vector<double>& probs, double top_p) {
  std::vector<int32_t> order;  // kept token ids
  for (size_t i = 0; i < probs.size(); ++i) {
    if (probs[i] > 0.0) order.push_back(static_cast<int32_t>(i));
  }
  std::span<const double> view(probs);
  auto before = [&](int32_t a, int32_t b) { return ranks_before(view, a, b); };
  // Sort only a growing head of the ranking until it holds the top_p mass.
  size_t n_kept = order.size();
  for (size_t head = std::min<size_t>(order.size(), 1024);; head = std::min(order.size(), head * 8)) {
    std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(head), order.end(), before);
    double cumulative = 0.0;
    size_t i = 0;
    while (i < head && cumulative < top_p) cumulative += probs[order[i++]];
    if (cumulative >= top_p || head == order.size()) {
      n_kept = std::max<size_t>(i, 1);
      break;
    }
  }
  for (size_t i = n_kept; i < order.size(); ++i) probs[order[i]] = 0.0;
}

void normalize(std::vector<double>& probs) {
  double sum = std::accumulate(probs.begin(), probs.end(), 0.0);
  for (double& p : probs) p /= sum;
}

}  // namespace

double sampling_uniform(uint64_t seed, uint64_t counter) {
  const uint64_t bits = splitmix64(splitmix64(seed) ^ counter);
  return static_cast<double>(bits >> 11) * 0x1.0p-53;
}

std::vector<float> penalized_logits(std::span<const float> logits, const SequenceSampling& seq) {
  const SamplingParams& p = *seq.params;
  std::vector<float> z(logits.begin(), logits.end());  // [n_vocab] f32
  for (const auto& [token, bias] : p.logit_bias) {
    check_token(token, z.size(), "logit_bias");
    z[token] += bias;
  }
  if (p.repetition_penalty != 1.0f) {
    std::vector<int32_t> seen(seq.prompt_tokens.begin(), seq.prompt_tokens.end());
    seen.insert(seen.end(), seq.output_tokens.begin(), seq.output_tokens.end());
    std::sort(seen.begin(), seen.end());
    seen.erase(std::unique(seen.begin(), seen.end()), seen.end());
    for (int32_t token : seen) {
      check_token(token, z.size(), "prompt/output");
      z[token] = z[token] > 0.0f ? z[token] / p.repetition_penalty : z[token] * p.repetition_penalty;
    }
  }
  if (p.frequency_penalty != 0.0f || p.presence_penalty != 0.0f) {
    std::vector<int32_t> ids, counts;
    count_tokens(seq.output_tokens, ids, counts);
    for (size_t i = 0; i < ids.size(); ++i) {
      check_token(ids[i], z.size(), "output");
      z[ids[i]] -= p.frequency_penalty * static_cast<float>(counts[i]);
      z[ids[i]] -= p.presence_penalty;
    }
  }
  return z;
}

std::vector<double> sampling_distribution(std::span<const float> logits, const SequenceSampling& seq) {
  const SamplingParams& p = *seq.params;
  check_params(p);
  std::vector<float> z = penalized_logits(logits, seq);  // [n_vocab] f32
  std::vector<double> probs(z.size(), 0.0);               // [n_vocab] f64
  if (p.greedy()) {
    probs[argmax(z)] = 1.0;
    return probs;
  }
  for (float& v : z) v /= p.temperature;
  const double max_z = z[argmax(z)];
  if (!std::isfinite(max_z)) throw internal_error("sampling: the largest logit is " + std::to_string(max_z));
  for (size_t i = 0; i < z.size(); ++i) probs[i] = std::exp(static_cast<double>(z[i]) - max_z);
  normalize(probs);
  if (p.min_p > 0.0f) {  // relative to the most likely token, whose probability is the largest
    const double threshold = static_cast<double>(p.min_p) * *std::max_element(probs.begin(), probs.end());
    for (double& v : probs) {
      if (v < threshold) v = 0.0;
    }
  }
  if (p.top_k > 0 && static_cast<size_t>(p.top_k) < z.size()) {  // ties with the k-th are kept
    std::vector<float> kept;
    for (size_t i = 0; i < z.size(); ++i) {
      if (probs[i] > 0.0) kept.push_back(z[i]);
    }
    if (kept.size() > static_cast<size_t>(p.top_k)) {
      std::nth_element(kept.begin(), kept.begin() + (p.top_k - 1), kept.end(), std::greater<float>());
      const float kth = kept[p.top_k - 1];
      for (size_t i = 0; i < z.size(); ++i) {
        if (z[i] < kth) probs[i] = 0.0;
      }
    }
  }
  normalize(probs);
  if (p.top_p < 1.0f) {
    apply_top_p(probs, p.top_p);
    normalize(probs);
  }
  return probs;
}

SampledToken sample_row(std::span<const float> logits, const SequenceSampling& seq) {
  const SamplingParams& p = *seq.params;
  SampledToken result;
  if (p.greedy()) {
    check_params(p);
    result.token = argmax(penalized_logits(logits, seq));
  } else {
    const std::vector<double> probs = sampling_distribution(logits, seq);
    const double u = sampling_uniform(p.seed, seq.output_tokens.size());
    double cumulative = 0.0;
    result.token = -1;
    for (size_t i = 0; i < probs.size(); ++i) {
      if (probs[i] <= 0.0) continue;
      result.token = static_cast<int32_t>(i);  // the last kept token if rounding leaves u unreached
      cumulative += probs[i];
      if (u < cumulative) break;
    }
  }
  if (p.n_logprobs >= 0) {  // log_softmax of the raw logits
    const float max_logit = logits[argmax(logits)];
    double sum = 0.0;
    for (float v : logits) sum += std::exp(static_cast<double>(v) - max_logit);
    const double log_z = max_logit + std::log(sum);
    result.logprob = static_cast<float>(logits[result.token] - log_z);
    const size_t n_top = std::min<size_t>(static_cast<size_t>(p.n_logprobs), logits.size());
    std::vector<int32_t> order(logits.size());
    std::iota(order.begin(), order.end(), 0);
    std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(n_top), order.end(),
                      [&](int32_t a, int32_t b) { return ranks_before(logits, a, b); });
    for (size_t i = 0; i < n_top; ++i) {
      result.top.push_back({order[i], static_cast<float>(logits[order[i]] - log_z)});
    }
  }
  return result;
}

}  // namespace swallow::cpu
