// Gathers a non-streaming request's engine events into OpenAI choices and usage: text,
// logprobs and finish reason per choice, completion tokens summed, the first engine error
// kept. Shared by the HTTP handler and the batch runner. One collector per request; not
// thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "server/openai_response.h"
#include "swallow/engine.h"

namespace swallow::server {

class ResponseCollector {
 public:
  explicit ResponseCollector(int32_t n_choices);
  // An event of the prompt whose sample 0 is choice `first_index`.
  void add(int32_t first_index, const RequestEvent& event);
  void add_prompt_tokens(int64_t n) { usage_.prompt_tokens += n; }

  const std::vector<ChoiceOutput>& choices() const { return choices_; }
  const Usage& usage() const { return usage_; }
  // The engine's error message, when a kError event came ("" otherwise).
  const std::string& error() const { return error_; }
  bool failed() const { return failed_; }

 private:
  std::vector<ChoiceOutput> choices_;
  Usage usage_;
  std::string error_;
  bool failed_ = false;
};

}  // namespace swallow::server
