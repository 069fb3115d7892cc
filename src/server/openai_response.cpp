// Response JSON in OpenAI's shapes (see openai_response.h).
#include "server/openai_response.h"

#include <cmath>

namespace swallow::server {

namespace {

using nlohmann::json;

bool is_chat(const ResponseContext& ctx) { return ctx.endpoint == Endpoint::kChatCompletions; }

// vLLM reports -inf logprobs as -9999.0; JSON has no infinities.
double finite_logprob(float logprob) { return std::isfinite(logprob) ? logprob : -9999.0; }

// A token's text for JSON: its bytes with invalid UTF-8 (a partial character) replaced by
// U+FFFD, through nlohmann's replacing serializer.
std::string display_token(const ResponseContext& ctx, int32_t token) {
  return json::parse(json(ctx.token_bytes(token)).dump(-1, ' ', false, json::error_handler_t::replace)).get<std::string>();
}

json bytes_json(const std::string& bytes) {
  json out = json::array();
  for (unsigned char c : bytes) out.push_back(static_cast<int>(c));
  return out;
}

json chat_token_entry(const ResponseContext& ctx, int32_t token, float logprob) {
  std::string bytes = ctx.token_bytes(token);
  return {{"token", display_token(ctx, token)}, {"logprob", finite_logprob(logprob)}, {"bytes", bytes_json(bytes)}};
}

json chat_logprobs(const ResponseContext& ctx, const std::vector<SampledToken>& tokens) {
  json content = json::array();
  for (const SampledToken& sampled : tokens) {
    json entry = chat_token_entry(ctx, sampled.token, sampled.logprob);
    json top = json::array();
    for (const TokenLogprob& alt : sampled.top) top.push_back(chat_token_entry(ctx, alt.token, alt.logprob));
    entry["top_logprobs"] = std::move(top);
    content.push_back(std::move(entry));
  }
  return {{"content", std::move(content)}};
}

json completion_logprobs(const ResponseContext& ctx, const std::vector<SampledToken>& tokens, size_t& text_offset) {
  json out = {{"tokens", json::array()}, {"token_logprobs", json::array()}, {"top_logprobs", json::array()},
              {"text_offset", json::array()}};
  for (const SampledToken& sampled : tokens) {
    std::string text = display_token(ctx, sampled.token);
    out["tokens"].push_back(text);
    out["token_logprobs"].push_back(finite_logprob(sampled.logprob));
    json top = json::object();
    for (const TokenLogprob& alt : sampled.top) top[display_token(ctx, alt.token)] = finite_logprob(alt.logprob);
    out["top_logprobs"].push_back(std::move(top));
    out["text_offset"].push_back(text_offset);
    text_offset += text.size();
  }
  return out;
}

json finish_json(const ChoiceOutput& choice) {
  return choice.finish_reason ? json(openai_finish_reason(*choice.finish_reason)) : json(nullptr);
}

// vLLM's stop_reason: the stop string, the stop token id, or null (EOS or length).
json stop_reason_json(const ChoiceOutput& choice) {
  if (choice.stop_reason) return *choice.stop_reason;
  if (choice.stop_token_id) return *choice.stop_token_id;
  return nullptr;
}

json envelope(const ResponseContext& ctx, const char* object) {
  return {{"id", ctx.id}, {"object", object}, {"created", ctx.created}, {"model", ctx.model}};
}

}  // namespace

const char* openai_finish_reason(FinishReason reason) {
  switch (reason) {
    case FinishReason::kStop: return "stop";
    case FinishReason::kLength: return "length";
    case FinishReason::kAbort: return "abort";
    case FinishReason::kError: return "error";
  }
  return "error";
}

json usage_json(const Usage& usage) {
  return {{"prompt_tokens", usage.prompt_tokens},
          {"completion_tokens", usage.completion_tokens},
          {"total_tokens", usage.prompt_tokens + usage.completion_tokens}};
}

json build_response(const ResponseContext& ctx, const std::vector<ChoiceOutput>& choices, const Usage& usage) {
  json out = envelope(ctx, is_chat(ctx) ? "chat.completion" : "text_completion");
  json list = json::array();
  for (const ChoiceOutput& choice : choices) {
    json item = {{"index", choice.index}, {"finish_reason", finish_json(choice)},
                 {"stop_reason", stop_reason_json(choice)}};
    size_t offset = 0;
    if (is_chat(ctx)) {
      item["message"] = {{"role", "assistant"}, {"content", choice.text}};
      item["logprobs"] = ctx.logprobs ? chat_logprobs(ctx, choice.logprobs) : json(nullptr);
    } else {
      item["text"] = choice.text;
      item["logprobs"] = ctx.logprobs ? completion_logprobs(ctx, choice.logprobs, offset) : json(nullptr);
    }
    list.push_back(std::move(item));
  }
  out["choices"] = std::move(list);
  out["usage"] = usage_json(usage);
  return out;
}

json build_role_chunk(const ResponseContext& ctx, int32_t index) {
  json out = envelope(ctx, "chat.completion.chunk");
  out["choices"] = json::array(
      {{{"index", index}, {"delta", {{"role", "assistant"}, {"content", ""}}}, {"logprobs", nullptr}, {"finish_reason", nullptr}}});
  return out;
}

json build_delta_chunk(const ResponseContext& ctx, const ChoiceOutput& delta, size_t& text_offset) {
  json out = envelope(ctx, is_chat(ctx) ? "chat.completion.chunk" : "text_completion");
  json item = {{"index", delta.index}, {"finish_reason", finish_json(delta)}};
  if (delta.finish_reason) item["stop_reason"] = stop_reason_json(delta);
  if (is_chat(ctx)) {
    item["delta"] = delta.text.empty() && delta.finish_reason ? json::object() : json{{"content", delta.text}};
    item["logprobs"] = ctx.logprobs && !delta.logprobs.empty() ? chat_logprobs(ctx, delta.logprobs) : json(nullptr);
  } else {
    item["text"] = delta.text;
    item["logprobs"] = ctx.logprobs && !delta.logprobs.empty() ? completion_logprobs(ctx, delta.logprobs, text_offset) : json(nullptr);
  }
  out["choices"] = json::array({std::move(item)});
  return out;
}

json build_usage_chunk(const ResponseContext& ctx, const Usage& usage) {
  json out = envelope(ctx, is_chat(ctx) ? "chat.completion.chunk" : "text_completion");
  out["choices"] = json::array();
  out["usage"] = usage_json(usage);
  return out;
}

std::string to_wire(const json& value) { return value.dump(-1, ' ', false, json::error_handler_t::replace); }

std::string sse_event(const json& value) { return "data: " + to_wire(value) + "\n\n"; }

}  // namespace swallow::server
