// TokenizerModelText::tokenize (see tokenizer_model_text.h).
#include "server/tokenizer_model_text.h"

namespace swallow::server {

std::vector<int32_t> TokenizerModelText::tokenize(const GenerationRequest& prompt, bool add_special_tokens) const {
  // The engine always adds the BOS to completion text; /tokenize may ask for the text alone.
  if (prompt.prompt_text && !add_special_tokens) {
    return tokenizer_.encode(*prompt.prompt_text, {.add_special_tokens = false, .parse_special = true});
  }
  return codec_.encode_prompt(prompt);
}

}  // namespace swallow::server
