// What the server needs from the model's tokenizer besides the engine: /tokenize and
// /detokenize, and each token's bytes for logprobs. The real implementation
// (tokenizer_model_text.h) wraps the Tokenizer and chat template the engine uses; tests use
// fakes. Implementations must be safe to call from many threads at once.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "swallow/engine.h"

namespace swallow::server {

class ModelText {
 public:
  virtual ~ModelText() = default;
  // The prompt's token ids as the engine builds them (prompt_ids as given; prompt_text with the
  // BOS when add_special_tokens; chat rendered with the model's template). Throws swallow::Error.
  virtual std::vector<int32_t> tokenize(const GenerationRequest& prompt, bool add_special_tokens) const = 0;
  virtual std::string detokenize(const std::vector<int32_t>& ids) const = 0;
  // Raw bytes of one token (may be part of a UTF-8 character).
  virtual std::string token_bytes(int32_t id) const = 0;
};

}  // namespace swallow::server
