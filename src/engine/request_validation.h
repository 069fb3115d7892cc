// Validation of GenerationRequests at submit time, with vLLM's ranges. Every error is
// kInvalidArgument and names the offending parameter as the OpenAI API spells it
// ('temperature', 'max_tokens', ...). Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <vector>

#include "swallow/engine.h"

namespace swallow {

// Checks everything that does not depend on the tokenized prompt.
void validate_request(const GenerationRequest& request, int32_t vocab_size);

// Checks the prompt's length and ids against the model and returns max_tokens resolved
// (-1 becomes what is left of the context).
int32_t resolve_max_tokens(const GenerationRequest& request, const std::vector<int32_t>& prompt,
                           int32_t max_model_len, int32_t vocab_size);

}  // namespace swallow
