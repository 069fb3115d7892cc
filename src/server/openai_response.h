// Builds OpenAI response JSON from engine results: whole chat.completion / text_completion
// objects, streaming chunks (SSE), usage and logprobs in the chat and completions shapes.
// Strings that came from the model may hold partial UTF-8 (a single token's bytes); dump with
// `to_wire`, which replaces invalid bytes instead of throwing. Pure functions.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "server/openai_request.h"
#include "swallow/engine.h"

namespace swallow::server {

// The raw bytes of one token (its byte-level BPE piece decoded), used for logprobs.
using TokenBytesFn = std::function<std::string(int32_t)>;

struct ResponseContext {
  Endpoint endpoint = Endpoint::kChatCompletions;
  std::string id;       // "chatcmpl-..." or "cmpl-..."
  int64_t created = 0;  // unix seconds
  std::string model;
  bool logprobs = false;  // include logprobs objects
  TokenBytesFn token_bytes;
};

struct Usage {
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
};

// Everything one choice produced (non-streaming), or one chunk's worth of it (streaming).
struct ChoiceOutput {
  int32_t index = 0;
  std::string text;
  std::vector<SampledToken> logprobs;  // one per generated token, when asked
  std::optional<FinishReason> finish_reason;
  std::optional<std::string> stop_reason;   // the stop string that ended it
  std::optional<int32_t> stop_token_id;     // or the stop_token_ids entry
};

// OpenAI's finish_reason for an engine one: "stop", "length", "abort", "error".
const char* openai_finish_reason(FinishReason reason);

nlohmann::json usage_json(const Usage& usage);

// A whole non-streaming response; `choices` sorted by index.
nlohmann::json build_response(const ResponseContext& ctx, const std::vector<ChoiceOutput>& choices, const Usage& usage);

// Streaming: the chat role chunk that opens each choice (delta {"role": "assistant"}).
nlohmann::json build_role_chunk(const ResponseContext& ctx, int32_t index);
// A chunk with new text (and logprobs) and, on the last one, finish_reason. For completions
// logprobs, `text_offset` is the choice's text length before this chunk; it is advanced.
nlohmann::json build_delta_chunk(const ResponseContext& ctx, const ChoiceOutput& delta, size_t& text_offset);
// The final usage chunk of stream_options.include_usage (choices empty).
nlohmann::json build_usage_chunk(const ResponseContext& ctx, const Usage& usage);

// Compact JSON with invalid UTF-8 replaced by U+FFFD (never throws on model text).
std::string to_wire(const nlohmann::json& value);
// One SSE event: "data: <json>\n\n".
std::string sse_event(const nlohmann::json& value);
inline constexpr const char* kSseDone = "data: [DONE]\n\n";

}  // namespace swallow::server
