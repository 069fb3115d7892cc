// The engine's seam to text: turning a request's prompt into token ids and a sequence's output
// tokens back into text. The real implementation (tokenizer_codec.h) uses the Tokenizer and the
// chat template; unit tests use a small fake. encode_prompt may be called from any thread
// (submit); each IncrementalDecoder is used by one thread (the engine thread).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "swallow/engine.h"

namespace swallow {

class IncrementalDecoder {
 public:
  virtual ~IncrementalDecoder() = default;
  // The whole UTF-8 characters completed by `token` (possibly empty).
  virtual std::string push(int32_t token) = 0;
  // What is still pending at the end of the sequence (incomplete bytes as U+FFFD).
  virtual std::string finish() = 0;
};

class TextCodec {
 public:
  virtual ~TextCodec() = default;
  // Token ids of the request's prompt_ids / prompt_text / chat. Throws swallow::Error
  // (kInvalidArgument naming the field) when the prompt cannot be built.
  virtual std::vector<int32_t> encode_prompt(const GenerationRequest& request) const = 0;
  virtual std::unique_ptr<IncrementalDecoder> new_decoder(bool skip_special_tokens) const = 0;
};

}  // namespace swallow
