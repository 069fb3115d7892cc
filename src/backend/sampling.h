// Per-sequence sampling parameters and results, shared by every backend's sample op, the engine
// and the front ends. Semantics follow vLLM's SamplingParams: temperature 0 is greedy; top_k
// <= 0 disables top-k; repetition_penalty applies to prompt and output tokens, presence and
// frequency penalties to output tokens only; logprobs are of the unmodified model distribution.
// Plain data, no thread-safety concerns.
#pragma once

#include <cstdint>
#include <span>
#include <utility>
#include <vector>

namespace swallow {

struct SamplingParams {
  float temperature = 1.0f;
  float top_p = 1.0f;
  int32_t top_k = 0;
  float min_p = 0.0f;
  float repetition_penalty = 1.0f;
  float presence_penalty = 0.0f;
  float frequency_penalty = 0.0f;
  std::vector<std::pair<int32_t, float>> logit_bias;  // (token id, bias added to the logit)
  uint64_t seed = 0;        // with the per-sequence counter, fixes every random draw
  int32_t n_logprobs = -1;  // -1: no logprobs; 0: the sampled token's only; k: also the top k

  bool greedy() const { return temperature < 1e-5f; }
};

// One sequence's sampling input for one step. The random draw for the token at output index
// `n_generated` is a pure function of (params.seed, n_generated), so a sequence samples the same
// tokens whatever else is in the batch, and again after preemption and recompute.
struct SequenceSampling {
  const SamplingParams* params = nullptr;
  std::span<const int32_t> prompt_tokens;  // for the repetition penalty
  std::span<const int32_t> output_tokens;  // generated so far: penalties and the draw counter
};

struct TokenLogprob {
  int32_t token = 0;
  float logprob = 0.0f;
};

struct SampledToken {
  int32_t token = 0;
  float logprob = 0.0f;              // of `token`, when logprobs were asked for
  std::vector<TokenLogprob> top;     // the n_logprobs most likely tokens, best first
};

}  // namespace swallow
