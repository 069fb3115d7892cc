// Template variables in apply_chat_template's order.
#include "chat/template_variables.h"

namespace swallow {

nlohmann::ordered_json make_template_variables(const TokenizerConfig& config, const ChatTemplateInputs& inputs) {
  nlohmann::ordered_json variables = nlohmann::ordered_json::object();
  for (const auto& [name, text] : config.special_tokens) variables[name] = text;
  for (const auto& [key, value] : inputs.extra.items()) variables[key] = value;
  variables["messages"] = inputs.messages;
  variables["tools"] = inputs.tools ? *inputs.tools : nlohmann::ordered_json(nullptr);
  variables["documents"] = nullptr;
  variables["add_generation_prompt"] = inputs.add_generation_prompt;
  return variables;
}

}  // namespace swallow
