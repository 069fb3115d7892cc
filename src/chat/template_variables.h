// The variables transformers' apply_chat_template passes to a template: the tokenizer's special
// tokens, then extra keyword variables, then messages, tools (None when absent), documents
// (None) and add_generation_prompt. Shared by the CLI and the server so both render alike.
#pragma once

#include <optional>

#include <nlohmann/json.hpp>

#include "chat/tokenizer_config.h"

namespace swallow {

struct ChatTemplateInputs {
  nlohmann::ordered_json messages = nlohmann::ordered_json::array();
  std::optional<nlohmann::ordered_json> tools;
  bool add_generation_prompt = false;
  nlohmann::ordered_json extra = nlohmann::ordered_json::object();  // e.g. date_string, builtin_tools
};

nlohmann::ordered_json make_template_variables(const TokenizerConfig& config, const ChatTemplateInputs& inputs);

}  // namespace swallow
