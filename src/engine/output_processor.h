// Turns one sequence's sampled tokens into stream events: detokenizes them into whole UTF-8
// characters, applies the stop rules (eos and stop token ids, stop strings, min/max tokens) and
// holds back text that could still become a stop string. Stop tokens are not detokenized and
// stop strings are not part of the text, as in vLLM. One per sequence; engine thread only.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/stop_strings.h"
#include "engine/text_codec.h"
#include "swallow/engine.h"

namespace swallow {

// The stop rules of one request.
struct StopRules {
  std::vector<int32_t> eos_token_ids;   // the engine's eos ids, empty with ignore_eos
  std::vector<int32_t> stop_token_ids;
  std::vector<std::string> stop;
  int32_t min_tokens = 0;               // no stop before this many output tokens
  int32_t max_tokens = 0;               // resolved: always >= 1
  bool logprobs = false;
};

class OutputProcessor {
 public:
  OutputProcessor(const StopRules& rules, std::unique_ptr<IncrementalDecoder> decoder);

  // Adds the sequence's n_output-th output token (1-based) to `event` (token id, text, logprob)
  // and returns the finish reason when this token ends the sequence; event.stop_reason /
  // stop_token_id say which rule stopped it.
  std::optional<FinishReason> add(const SampledToken& sampled, int32_t n_output, RequestEvent& event);

 private:
  bool is_stop_token(int32_t token, RequestEvent& event) const;
  // Appends the decoder's and matcher's pending text at the end of the sequence; returns true
  // when that text completed a stop string.
  bool flush(RequestEvent& event);

  const StopRules& rules_;
  std::unique_ptr<IncrementalDecoder> decoder_;
  StopStringMatcher matcher_;
};

}  // namespace swallow
