// `swallow chat-template`: renders a model's chat template for a messages file exactly as
// Hugging Face apply_chat_template does, and prints the prompt (text) or the prompt and its token
// ids (json: special tokens recognised, no BOS added, as tokenizer.encode(prompt,
// add_special_tokens=False)).
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "chat/chat_template.h"
#include "chat/template_variables.h"
#include "chat/tokenizer_config.h"
#include "cli/command.h"
#include "core/error.h"
#include "core/mmap_file.h"
#include "tokenizer/tokenizer.h"

namespace swallow::cli {
namespace {

struct ChatTemplateOptions {
  std::string model_dir;
  std::string tokenizer_file;
  std::string template_file;
  std::string messages_file;
  bool add_generation_prompt = false;
  std::string format = "text";
};

// The messages file: a JSON list of messages, or an object with `messages`, optional `tools`,
// optional `add_generation_prompt` and any other template variables.
ChatTemplateInputs read_messages_file(const std::string& path) {
  nlohmann::ordered_json json;
  try {
    json = nlohmann::ordered_json::parse(read_file(path));
  } catch (const nlohmann::json::exception& e) {
    throw invalid_file(path, std::string("invalid JSON: ") + e.what());
  }
  ChatTemplateInputs inputs;
  if (json.is_array()) {
    inputs.messages = std::move(json);
    return inputs;
  }
  if (!json.is_object() || !json.contains("messages") || !json["messages"].is_array()) {
    throw invalid_file(path, "expected a JSON list of messages or an object with a 'messages' list");
  }
  for (auto& [key, value] : json.items()) {
    if (key == "messages") {
      inputs.messages = value;
    } else if (key == "tools") {
      if (!value.is_null()) inputs.tools = value;
    } else if (key == "add_generation_prompt") {
      if (!value.is_boolean()) throw invalid_file(path, "'add_generation_prompt' must be true or false");
      inputs.add_generation_prompt = value.get<bool>();
    } else {
      inputs.extra[key] = value;
    }
  }
  return inputs;
}

int run_chat_template(const ChatTemplateOptions& options) {
  if (options.model_dir.empty() == options.tokenizer_file.empty()) {
    throw invalid_argument("chat-template needs exactly one of --model DIR or --tokenizer FILE");
  }
  const std::string config_source =
      options.model_dir.empty() ? std::filesystem::path(options.tokenizer_file).parent_path().string() : options.model_dir;
  const TokenizerConfig config = load_tokenizer_config(config_source.empty() ? "." : config_source);
  ChatTemplateInputs inputs = read_messages_file(options.messages_file);
  if (options.add_generation_prompt) inputs.add_generation_prompt = true;
  const std::string source =
      options.template_file.empty() ? config.template_for(inputs.tools.has_value()) : read_file(options.template_file);
  const RenderedPrompt prompt = ChatTemplate(source).render(make_template_variables(config, inputs));
  if (options.format == "text") {
    std::fwrite(prompt.text.data(), 1, prompt.text.size(), stdout);
    return 0;
  }
  const Tokenizer tokenizer = options.model_dir.empty() ? Tokenizer::from_file(options.tokenizer_file)
                                                        : Tokenizer::from_model_dir(options.model_dir);
  nlohmann::ordered_json out;
  out["prompt"] = prompt.text;
  out["ids"] = tokenizer.encode(prompt.text, {.add_special_tokens = false, .parse_special = true});
  const std::string text = out.dump() + "\n";
  std::fwrite(text.data(), 1, text.size(), stdout);
  return 0;
}

const SubcommandRegistration kRegistration(
    "chat-template", "Render a model's chat template for a messages file (as HF apply_chat_template)",
    [](CLI::App& sub) -> SubcommandRun {
      auto options = std::make_shared<ChatTemplateOptions>();
      sub.add_option("--model", options->model_dir, "Model folder (tokenizer_config.json, tokenizer.json)");
      sub.add_option("--tokenizer", options->tokenizer_file,
                     "Path of a tokenizer.json; the tokenizer_config.json beside it is used");
      sub.add_option("--chat-template", options->template_file, "Use this .jinja template instead of the model's");
      sub.add_option("--messages", options->messages_file,
                     "JSON file: a list of messages, or {messages, tools, ...extra variables}")
          ->required();
      sub.add_flag("--add-generation-prompt", options->add_generation_prompt,
                   "End with the assistant header the model continues from");
      sub.add_option("--format", options->format, "text: the prompt exactly; json: {prompt, ids}")
          ->check(CLI::IsMember({"text", "json"}))
          ->capture_default_str();
      return [options]() { return run_chat_template(*options); };
    });

}  // namespace
}  // namespace swallow::cli
