// tokenizer_config.json as the chat layer needs it: the chat template(s) and the special-token
// strings a template sees (bos_token, eos_token ...). A chat_template.jinja file beside the
// config takes precedence over its chat_template field, as in transformers 5. Plain data.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace swallow {

struct TokenizerConfig {
  std::optional<std::string> chat_template;          // the default template
  std::optional<std::string> tool_use_chat_template; // a template named "tool_use", if any
  std::string bos_token, eos_token;                  // "" when the config has none
  // Every special token the config names (bos_token, eos_token, unk_token, sep_token,
  // pad_token, cls_token, mask_token), in that order: the template variables HF passes.
  std::vector<std::pair<std::string, std::string>> special_tokens;
  std::string path;  // the tokenizer_config.json that was read

  // The template apply_chat_template would use: "tool_use" when tools are given and it exists,
  // else the default. Throws swallow::Error (not_found) when the model has none.
  const std::string& template_for(bool has_tools) const;
};

// Reads `model_dir_or_config_path` (a folder holding tokenizer_config.json, or the file itself).
// The chat template is a string or a list of {name, template} (the one named "default" is used).
// Special tokens are strings or AddedToken objects ({"content": ...}).
TokenizerConfig load_tokenizer_config(const std::string& model_dir_or_config_path);

}  // namespace swallow
