// What the engine asks the model to compute in one step: a ragged batch of sequences, each with
// the new tokens to process (a prefill chunk or one decode token), the position of the first,
// its KV block table, and whether to sample a token after the last one. Plain data built by
// the scheduler; spans point into scheduler-owned storage valid for the step.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "backend/sampling.h"

namespace swallow {

struct SequenceStep {
  int64_t seq_id = 0;
  std::span<const int32_t> tokens;       // new tokens; token i is at position start_pos + i
  int32_t start_pos = 0;
  std::span<const int32_t> block_table;  // KV blocks covering positions [0, start_pos + tokens.size())
  bool sample = false;                   // sample the token that follows the last one
  SequenceSampling sampling;             // used when sample
};

struct StepPlan {
  std::vector<SequenceStep> seqs;
  int64_t n_tokens() const {
    int64_t n = 0;
    for (const auto& s : seqs) n += static_cast<int64_t>(s.tokens.size());
    return n;
  }
};

struct StepResult {
  // One entry per sequence with sample == true, in plan order.
  std::vector<SampledToken> sampled;
};

}  // namespace swallow
