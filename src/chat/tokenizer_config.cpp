// Loading tokenizer_config.json (+ chat_template.jinja).
#include "chat/tokenizer_config.h"

#include <filesystem>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/mmap_file.h"

namespace swallow {
namespace {

std::optional<std::string> token_text(const nlohmann::json& config, const std::string& field, const std::string& path) {
  const auto it = config.find(field);
  if (it == config.end() || it->is_null()) return std::nullopt;
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object() && it->contains("content") && (*it)["content"].is_string()) return (*it)["content"].get<std::string>();
  throw invalid_file(path, "field '" + field + "' must be a string or an AddedToken object with a string 'content'");
}

void read_chat_templates(const nlohmann::json& value, const std::string& path, TokenizerConfig& config) {
  if (value.is_null()) return;
  if (value.is_string()) {
    config.chat_template = value.get<std::string>();
    return;
  }
  if (!value.is_array()) throw invalid_file(path, "field 'chat_template' must be a string or a list of {name, template}");
  for (const auto& entry : value) {
    if (!entry.is_object() || !entry.contains("name") || !entry["name"].is_string() || !entry.contains("template") ||
        !entry["template"].is_string()) {
      throw invalid_file(path, "each 'chat_template' entry must be an object with string 'name' and 'template'");
    }
    const std::string name = entry["name"].get<std::string>();
    if (name == "default") config.chat_template = entry["template"].get<std::string>();
    if (name == "tool_use") config.tool_use_chat_template = entry["template"].get<std::string>();
  }
}

}  // namespace

const std::string& TokenizerConfig::template_for(bool has_tools) const {
  if (has_tools && tool_use_chat_template) return *tool_use_chat_template;
  if (chat_template) return *chat_template;
  throw not_found(path + ": the tokenizer has no chat template (no 'chat_template' field and no chat_template.jinja)");
}

TokenizerConfig load_tokenizer_config(const std::string& model_dir_or_config_path) {
  namespace fs = std::filesystem;
  fs::path path(model_dir_or_config_path);
  if (fs::is_directory(path)) path /= "tokenizer_config.json";
  if (!fs::exists(path)) throw not_found("tokenizer config not found: " + path.string());
  TokenizerConfig config;
  config.path = path.string();
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(read_file(path.string()));
  } catch (const nlohmann::json::exception& e) {
    throw invalid_file(config.path, std::string("invalid JSON: ") + e.what());
  }
  if (!json.is_object()) throw invalid_file(config.path, "expected a JSON object");
  if (json.contains("chat_template")) read_chat_templates(json["chat_template"], config.path, config);
  const fs::path jinja_file = path.parent_path() / "chat_template.jinja";
  if (fs::exists(jinja_file)) config.chat_template = read_file(jinja_file.string());
  for (const char* field : {"bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"}) {
    if (std::optional<std::string> text = token_text(json, field, config.path)) config.special_tokens.emplace_back(field, *text);
  }
  for (const auto& [field, text] : config.special_tokens) {
    if (field == "bos_token") config.bos_token = text;
    if (field == "eos_token") config.eos_token = text;
  }
  return config;
}

}  // namespace swallow
