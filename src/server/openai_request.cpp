// Parsing and validation of chat and completion requests (see openai_request.h).
#include "server/openai_request.h"

#include <limits>

#include "server/api_error.h"
#include "server/json_fields.h"

namespace swallow::server {

namespace {

using nlohmann::json;

constexpr int64_t kInt32Max = std::numeric_limits<int32_t>::max();
constexpr int64_t kInt64Min = std::numeric_limits<int64_t>::min();
constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();

int32_t token_id_limit(const SchemaLimits& limits) {
  return limits.vocab_size > 0 ? limits.vocab_size - 1 : static_cast<int32_t>(kInt32Max);
}

std::vector<int32_t> token_ids_param(const json& value, const std::string& param, const SchemaLimits& limits) {
  if (!value.is_array()) throw bad_param(param, "expected an array of token ids, got " + json_type_name(value), "invalid_type");
  std::vector<int32_t> ids;
  ids.reserve(value.size());
  for (size_t i = 0; i < value.size(); ++i) {
    ids.push_back(static_cast<int32_t>(integer_value(value[i], param + "[" + std::to_string(i) + "]", 0, token_id_limit(limits))));
  }
  return ids;
}

std::vector<std::string> read_stop(FieldReader& fields, const SchemaLimits& limits) {
  const json* value = fields.raw("stop");
  if (value == nullptr) return {};
  std::vector<std::string> stop;
  if (value->is_string()) {
    stop.push_back(value->get<std::string>());
  } else if (value->is_array()) {
    for (size_t i = 0; i < value->size(); ++i) {
      if (!(*value)[i].is_string()) {
        throw bad_param("stop", "expected a string or an array of strings; element " + std::to_string(i) + " is " +
                                    json_type_name((*value)[i]), "invalid_type");
      }
      stop.push_back((*value)[i].get<std::string>());
    }
  } else {
    throw bad_param("stop", "expected a string or an array of strings, got " + json_type_name(*value), "invalid_type");
  }
  std::erase_if(stop, [](const std::string& s) { return s.empty(); });
  if (static_cast<int64_t>(stop.size()) > limits.max_stop) {
    throw bad_param("stop", "at most " + std::to_string(limits.max_stop) + " stop strings are allowed, got " +
                                std::to_string(stop.size()));
  }
  return stop;
}

std::vector<std::pair<int32_t, float>> read_logit_bias(FieldReader& fields, const SchemaLimits& limits) {
  const json* value = fields.raw("logit_bias");
  if (value == nullptr) return {};
  if (!value->is_object()) throw bad_param("logit_bias", "expected an object {\"token id\": bias}, got " + json_type_name(*value), "invalid_type");
  std::vector<std::pair<int32_t, float>> bias;
  for (const auto& [key, entry] : value->items()) {
    int64_t id = -1;
    size_t used = 0;
    try {
      id = std::stoll(key, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != key.size() || id < 0 || id > token_id_limit(limits)) {
      throw bad_param("logit_bias", "keys must be token ids in [0, " + std::to_string(token_id_limit(limits)) +
                                        "], got \"" + key + "\"");
    }
    if (!entry.is_number() || entry.get<double>() < -100.0 || entry.get<double>() > 100.0) {
      throw bad_param("logit_bias", "values must be numbers in [-100, 100], got " + entry.dump() + " for token " + key);
    }
    bias.emplace_back(static_cast<int32_t>(id), entry.get<float>());
  }
  return bias;
}

void reject_unsupported(FieldReader& fields) {
  if (fields.raw("chat_template") != nullptr) {
    throw bad_param("chat_template", "a request cannot supply a chat template; the server uses the model's (or --chat-template)",
                    "unsupported");
  }
  if (auto v = fields.boolean("include_stop_str_in_output"); v && *v) {
    throw bad_param("include_stop_str_in_output", "only false is supported", "unsupported");
  }
  if (auto format = fields.raw("response_format")) {
    if (!format->is_object() || format->value("type", std::string()) != "text") {
      throw bad_param("response_format", "only {\"type\": \"text\"} is supported", "unsupported");
    }
  }
}

// Sampling and stopping fields shared by both endpoints; `max_tokens_default` is the
// endpoint's (-1: until the context is full).
GenerationRequest read_generation(FieldReader& fields, const SchemaLimits& limits, const SamplingDefaults& defaults,
                                  int32_t max_tokens_default) {
  GenerationRequest gen;
  SamplingParams& s = gen.sampling;
  s.temperature = static_cast<float>(fields.number("temperature", 0.0, 100.0).value_or(defaults.temperature.value_or(1.0f)));
  s.top_p = static_cast<float>(fields.number("top_p", 0.0, 1.0).value_or(defaults.top_p.value_or(1.0f)));
  if (s.top_p <= 0.0f) throw bad_param("top_p", "expected a number in (0, 1], got 0");
  int64_t top_k = fields.integer("top_k", -1, kInt32Max).value_or(defaults.top_k.value_or(0));
  s.top_k = top_k < 0 ? 0 : static_cast<int32_t>(top_k);
  s.min_p = static_cast<float>(fields.number("min_p", 0.0, 1.0).value_or(defaults.min_p.value_or(0.0f)));
  s.presence_penalty = static_cast<float>(fields.number("presence_penalty", -2.0, 2.0).value_or(0.0));
  s.frequency_penalty = static_cast<float>(fields.number("frequency_penalty", -2.0, 2.0).value_or(0.0));
  s.repetition_penalty =
      static_cast<float>(fields.number("repetition_penalty", 0.0, 100.0).value_or(defaults.repetition_penalty.value_or(1.0f)));
  if (s.repetition_penalty <= 0.0f) throw bad_param("repetition_penalty", "expected a number in (0, 100], got 0");
  if (auto seed = fields.integer("seed", kInt64Min, kInt64Max)) gen.seed = static_cast<uint64_t>(*seed);
  s.logit_bias = read_logit_bias(fields, limits);

  const int64_t max_tokens_cap = limits.max_tokens > 0 ? limits.max_tokens
                                 : limits.max_model_len > 0 ? limits.max_model_len
                                                            : kInt32Max;
  auto read_max = [&](const char* name) -> std::optional<int64_t> {
    const json* value = fields.raw(name);
    if (value == nullptr) return std::nullopt;
    auto v = fields.integer(name, 1, kInt64Max);
    if (*v > max_tokens_cap) {
      std::string why = limits.max_tokens > 0 ? "the server's limit" : "the model's context length";
      throw bad_param(name, "must be at most " + std::to_string(max_tokens_cap) + " (" + why + "), got " + std::to_string(*v));
    }
    return v;
  };
  auto max_tokens = read_max("max_tokens");
  if (auto max_completion = read_max("max_completion_tokens")) max_tokens = max_completion;
  gen.max_tokens = max_tokens ? static_cast<int32_t>(*max_tokens) : defaults.max_tokens.value_or(max_tokens_default);

  gen.min_tokens = static_cast<int32_t>(fields.integer("min_tokens", 0, kInt32Max).value_or(0));
  if (gen.max_tokens > 0 && gen.min_tokens > gen.max_tokens) {
    throw bad_param("min_tokens", "must be at most max_tokens (" + std::to_string(gen.max_tokens) + "), got " +
                                      std::to_string(gen.min_tokens));
  }
  gen.stop = read_stop(fields, limits);
  if (const json* ids = fields.raw("stop_token_ids")) {
    gen.stop_token_ids = token_ids_param(*ids, "stop_token_ids", limits);
    if (static_cast<int64_t>(gen.stop_token_ids.size()) > limits.max_stop) {
      throw bad_param("stop_token_ids", "at most " + std::to_string(limits.max_stop) + " are allowed");
    }
  }
  gen.ignore_eos = fields.boolean("ignore_eos").value_or(false);
  gen.skip_special_tokens = fields.boolean("skip_special_tokens").value_or(true);
  gen.priority = static_cast<int32_t>(fields.integer("priority", -kInt32Max, kInt32Max).value_or(0));
  fields.string("user");
  return gen;
}

std::string message_content(const json& content, const std::string& param) {
  if (content.is_string()) return content.get<std::string>();
  if (!content.is_array()) throw bad_param(param, "expected a string or an array of content parts, got " + json_type_name(content), "invalid_type");
  std::string text;
  for (size_t i = 0; i < content.size(); ++i) {
    const json& part = content[i];
    const std::string part_param = param + "[" + std::to_string(i) + "]";
    if (!part.is_object()) throw bad_param(part_param, "expected a content part object", "invalid_type");
    FieldReader fields(part, part_param + ".");
    auto type = fields.string("type");
    if (!type || *type != "text") throw bad_param(part_param + ".type", "only \"text\" content parts are supported", "unsupported");
    auto part_text = fields.string("text");
    if (!part_text) throw bad_param(part_param + ".text", "is required", "missing_required_parameter");
    if (i > 0) text += "\n";  // vLLM joins text parts with newlines
    text += *part_text;
  }
  return text;
}

json read_messages(FieldReader& fields) {
  const json* messages = fields.raw("messages");
  if (messages == nullptr) throw bad_param("messages", "is required", "missing_required_parameter");
  if (!messages->is_array() || messages->empty()) {
    throw bad_param("messages", "expected a non-empty array of messages, got " +
                                    (messages->is_array() ? std::string("an empty array") : json_type_name(*messages)), "invalid_type");
  }
  json out = json::array();
  for (size_t i = 0; i < messages->size(); ++i) {
    const json& message = (*messages)[i];
    const std::string param = "messages[" + std::to_string(i) + "]";
    if (!message.is_object()) throw bad_param(param, "expected a message object, got " + json_type_name(message), "invalid_type");
    FieldReader m(message, param + ".");
    auto role = m.string("role");
    if (!role || role->empty()) throw bad_param(param + ".role", "is required", "missing_required_parameter");
    json normalized = message;
    const json* content = m.raw("content");
    normalized["content"] = content == nullptr ? json("") : json(message_content(*content, param + ".content"));
    out.push_back(std::move(normalized));
  }
  return out;
}

json read_chat(FieldReader& fields) {
  json chat = json::object();
  if (const json* kwargs = fields.raw("chat_template_kwargs")) {
    if (!kwargs->is_object()) throw bad_param("chat_template_kwargs", "expected an object, got " + json_type_name(*kwargs), "invalid_type");
    chat = *kwargs;
  }
  chat["messages"] = read_messages(fields);
  if (const json* tools = fields.raw("tools")) {
    if (!tools->is_array()) throw bad_param("tools", "expected an array of tool objects, got " + json_type_name(*tools), "invalid_type");
    for (const json& tool : *tools) {
      if (!tool.is_object()) throw bad_param("tools", "expected an array of tool objects", "invalid_type");
    }
    chat["tools"] = *tools;
  } else {
    chat.erase("tools");
  }
  if (const json* choice = fields.raw("tool_choice")) {
    if (!choice->is_string() || (*choice != "none" && *choice != "auto")) {
      throw bad_param("tool_choice", "only \"none\" and \"auto\" are supported", "unsupported");
    }
  }
  fields.raw("parallel_tool_calls");
  return chat;
}

std::vector<GenerationRequest> read_prompts(FieldReader& fields, const GenerationRequest& base, const SchemaLimits& limits) {
  const json* prompt = fields.raw("prompt");
  if (prompt == nullptr) throw bad_param("prompt", "is required", "missing_required_parameter");
  std::vector<GenerationRequest> out;
  auto add_text = [&](const std::string& text) {
    out.push_back(base);
    out.back().prompt_text = text;
  };
  auto add_ids = [&](const json& ids, const std::string& param) {
    out.push_back(base);
    out.back().prompt_ids = token_ids_param(ids, param, limits);
    if (out.back().prompt_ids->empty()) throw bad_param(param, "must not be empty");
  };
  if (prompt->is_string()) {
    add_text(prompt->get<std::string>());
  } else if (prompt->is_array() && !prompt->empty() && (*prompt)[0].is_number()) {
    add_ids(*prompt, "prompt");
  } else if (prompt->is_array() && !prompt->empty()) {
    if (static_cast<int64_t>(prompt->size()) > limits.max_prompts) {
      throw bad_param("prompt", "at most " + std::to_string(limits.max_prompts) + " prompts per request, got " +
                                    std::to_string(prompt->size()));
    }
    for (size_t i = 0; i < prompt->size(); ++i) {
      const json& item = (*prompt)[i];
      if (item.is_string()) {
        add_text(item.get<std::string>());
      } else if (item.is_array()) {
        add_ids(item, "prompt[" + std::to_string(i) + "]");
      } else {
        throw bad_param("prompt[" + std::to_string(i) + "]", "expected a string or an array of token ids, got " +
                                                                json_type_name(item), "invalid_type");
      }
    }
  } else {
    throw bad_param("prompt", "expected a string, an array of strings or an array of token ids" +
                                  std::string(prompt->is_array() ? " (got an empty array)" : ", got " + json_type_name(*prompt)),
                    "invalid_type");
  }
  return out;
}

}  // namespace

json parse_json_body(std::string_view body, int32_t max_depth) {
  int32_t depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < body.size(); ++i) {
    char c = body[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) throw bad_request("request body is nested deeper than " + std::to_string(max_depth) + " levels", "invalid_json");
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  json value;
  try {
    value = json::parse(body);
  } catch (const json::parse_error& e) {
    throw bad_request(std::string("request body is not valid JSON: ") + e.what(), "invalid_json");
  }
  if (!value.is_object()) throw bad_request("request body must be a JSON object, got " + json_type_name(value), "invalid_json");
  return value;
}

ApiRequest parse_api_request(Endpoint endpoint, const json& body, const SchemaLimits& limits, const SamplingDefaults& defaults) {
  ApiRequest request;
  request.endpoint = endpoint;
  const bool chat = endpoint == Endpoint::kChatCompletions;
  FieldReader fields(body);
  reject_unsupported(fields);
  request.model = fields.string("model");
  request.n = static_cast<int32_t>(fields.integer("n", 1, limits.max_n).value_or(1));
  if (auto best_of = fields.integer("best_of", 1, kInt32Max); best_of && *best_of != request.n) {
    throw bad_param("best_of", "only best_of == n is supported", "unsupported");
  }
  request.stream = fields.boolean("stream").value_or(false);
  if (const json* options = fields.raw("stream_options")) {
    if (!request.stream) throw bad_param("stream_options", "can only be given when stream is true");
    if (!options->is_object()) throw bad_param("stream_options", "expected an object, got " + json_type_name(*options), "invalid_type");
    FieldReader stream_fields(*options, "stream_options.");
    request.include_usage = stream_fields.boolean("include_usage").value_or(false);
    stream_fields.boolean("continuous_usage_stats");
  }

  GenerationRequest base = read_generation(fields, limits, defaults, chat ? -1 : 16);
  base.n = request.n;
  if (chat) {
    request.logprobs = fields.boolean("logprobs").value_or(false);
    auto top = fields.integer("top_logprobs", 0, limits.max_logprobs);
    if (top && *top > 0 && !request.logprobs) throw bad_param("top_logprobs", "requires logprobs to be true");
    if (request.logprobs) base.sampling.n_logprobs = static_cast<int32_t>(top.value_or(0));
    base.add_generation_prompt = fields.boolean("add_generation_prompt").value_or(true);
    base.chat = read_chat(fields);
    request.prompts.push_back(std::move(base));
  } else {
    if (auto logprobs = fields.integer("logprobs", 0, limits.max_logprobs)) {
      request.logprobs = true;
      base.sampling.n_logprobs = static_cast<int32_t>(*logprobs);
    }
    if (auto echo = fields.boolean("echo"); echo && *echo) throw bad_param("echo", "echo is not supported", "unsupported");
    if (fields.string("suffix")) throw bad_param("suffix", "suffix is not supported", "unsupported");
    request.prompts = read_prompts(fields, base, limits);
  }
  request.ignored_fields = fields.unread();
  return request;
}

}  // namespace swallow::server
