// The OpenAI request schema: parses and validates the JSON body of /v1/chat/completions and
// /v1/completions into engine GenerationRequests, with vLLM's defaults and extra sampling
// fields. Errors are ApiError 400 naming the parameter. A request can never supply a chat
// template (the `chat_template` field is rejected). Pure functions of their inputs.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "swallow/engine.h"

namespace swallow::server {

enum class Endpoint { kChatCompletions, kCompletions };

// Server-configurable caps on what one request may ask for.
struct SchemaLimits {
  int32_t max_n = 16;
  int32_t max_stop = 16;          // stop strings (and stop_token_ids) per request
  int32_t max_logprobs = 20;      // top logprobs per token
  int32_t max_tokens = 0;         // cap on max_tokens; 0: only the context length
  int32_t max_prompts = 64;       // prompts in one /v1/completions request
  int32_t max_model_len = 0;      // context length; 0: unchecked
  int32_t vocab_size = 0;         // token ids must be below this; 0: unchecked
  int32_t max_json_depth = 64;    // nesting of the request body
};

// The model's sampling defaults (generation_config.json), used for fields a request leaves out,
// as vLLM does with --generation-config auto; fields absent here fall back to OpenAI's.
struct SamplingDefaults {
  std::optional<float> temperature;
  std::optional<float> top_p;
  std::optional<int32_t> top_k;
  std::optional<float> min_p;
  std::optional<float> repetition_penalty;
  std::optional<int32_t> max_tokens;  // generation_config max_new_tokens
};

struct ApiRequest {
  Endpoint endpoint = Endpoint::kChatCompletions;
  std::optional<std::string> model;
  // One per prompt (chat: exactly one; completions: one per prompt of a batched request).
  // Choice index of sample s of prompt p is p * n + s.
  std::vector<GenerationRequest> prompts;
  int32_t n = 1;
  bool stream = false;
  bool include_usage = false;       // stream_options.include_usage
  bool logprobs = false;            // return logprobs (chat: logprobs=true; completions: logprobs set)
  std::vector<std::string> ignored_fields;  // present but unknown: logged by the caller
};

// Parses a request body, rejecting invalid JSON, nesting deeper than `max_depth` (checked
// before parsing, so hostile input cannot exhaust the stack) and non-object bodies.
nlohmann::json parse_json_body(std::string_view body, int32_t max_depth);

ApiRequest parse_api_request(Endpoint endpoint, const nlohmann::json& body, const SchemaLimits& limits,
                             const SamplingDefaults& defaults);

}  // namespace swallow::server
