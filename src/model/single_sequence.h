// SingleSequence: drives a LlamaRunner for one sequence that owns the whole KV cache (blocks 0,
// 1, 2, ...), without the engine: prefill in chunks, logits of chosen positions, sampling the
// next token. For front ends and tests that handle one sequence (logits, perplexity, bench
// latency, golden tests). Not thread-safe; nothing else may use the runner meanwhile.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "backend/sampling.h"
#include "model/llama_runner.h"

namespace swallow {

class SingleSequence {
 public:
  // chunk_tokens: most tokens per forward pass when appending.
  explicit SingleSequence(LlamaRunner& runner, int32_t chunk_tokens = 512);

  int32_t length() const { return static_cast<int32_t>(tokens_.size()); }
  // Forgets all tokens; the next append starts again at position 0.
  void clear();

  // Appends tokens and returns the f32 logits [positions.size(), vocab] (row-major) at the given
  // absolute positions, each of which must be among the appended tokens. On an error (e.g. the
  // sequence outgrows max_model_len) the tokens are not appended.
  std::vector<float> append(std::span<const int32_t> tokens, std::span<const int32_t> logit_positions = {});

  // Appends tokens (at least one) and samples the token that follows. Tokens appended before the
  // first call are the prompt for the sampling penalties; later ones count as output.
  SampledToken append_and_sample(std::span<const int32_t> tokens, const SamplingParams& params);

 private:
  // Runs tokens_[begin, length()) in chunks, collecting the logits of logit_positions.
  std::vector<float> run_chunks(int32_t begin, std::span<const int32_t> logit_positions);
  // The plan for tokens_[begin, end), with blocks up to `end` allocated.
  StepPlan plan(int32_t begin, int32_t end);

  LlamaRunner& runner_;
  int32_t chunk_tokens_;
  std::vector<int32_t> tokens_;       // every token so far
  std::vector<int32_t> block_table_;  // 0, 1, 2, ...
  int32_t prompt_len_ = -1;           // tokens before the first sample; -1 until then
};

}  // namespace swallow
