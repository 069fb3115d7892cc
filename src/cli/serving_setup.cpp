// Engine flags and model loading shared by `serve` and `batch` (see serving_setup.h).
#include "cli/serving_setup.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "core/log.h"

namespace swallow::cli {

namespace {

std::string read_text_file(const std::string& path, const std::string& flag) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw not_found(flag + " " + path + ": cannot open the file");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

server::SamplingDefaults defaults_from(const GenerationConfig& g) {
  server::SamplingDefaults d;
  if (g.temperature) d.temperature = static_cast<float>(*g.temperature);
  if (g.top_p) d.top_p = static_cast<float>(*g.top_p);
  if (g.top_k) d.top_k = static_cast<int32_t>(*g.top_k);
  if (g.min_p) d.min_p = static_cast<float>(*g.min_p);
  if (g.repetition_penalty) d.repetition_penalty = static_cast<float>(*g.repetition_penalty);
  if (g.max_new_tokens) d.max_tokens = static_cast<int32_t>(*g.max_new_tokens);
  return d;
}

}  // namespace

void add_serving_flags(CLI::App& app, ServingFlags& flags) {
  add_model_options(app, flags.model);
  app.add_option("--served-model-name", flags.served_model_name, "Model name in the API (default: --model as given)");
  app.add_option("--chat-template", flags.chat_template_file, "Jinja chat template file replacing the model's");
  app.add_flag("--allow-special-tokens-in-content", flags.allow_special_in_content,
               "Let message content contain special tokens such as <|eot_id|> (exact HF behaviour; unsafe)");
  app.add_option("--max-num-seqs", flags.max_num_seqs, "Sequences in the running batch at most")->capture_default_str();
  app.add_option("--max-num-batched-tokens", flags.max_num_batched_tokens, "Tokens per engine step at most")->capture_default_str();
  app.add_option("--max-waiting", flags.max_waiting, "Queued requests at most; more are refused (HTTP 429)")->capture_default_str();
  app.add_flag("--no-enable-prefix-caching", flags.no_prefix_caching, "Turn automatic prefix caching off");
  app.add_option("--max-n", flags.limits.max_n, "Largest n a request may ask for")->capture_default_str();
  app.add_option("--max-stop", flags.limits.max_stop, "Most stop strings per request")->capture_default_str();
  app.add_option("--max-logprobs", flags.limits.max_logprobs, "Most top logprobs per token")->capture_default_str();
  app.add_option("--max-tokens-limit", flags.limits.max_tokens, "Largest max_tokens a request may ask for (0: the context)")
      ->capture_default_str();
}

std::string served_model_name(const ServingFlags& flags) {
  if (!flags.served_model_name.empty()) return flags.served_model_name;
  return flags.model.model_dir.empty() ? "dummy:" + flags.model.dummy_preset : flags.model.model_dir;
}

ServingModel::~ServingModel() {
  if (engine) engine->shutdown();
}

ServingModel load_serving_model(const ServingFlags& flags) {
  ServingModel m;
  m.model = load_model(flags.model);
  if (m.model.tokenizer_dir.empty()) {
    throw not_found("no tokenizer: give --model DIR with tokenizer.json (or run scripts/setup.sh for dummy weights)");
  }
  m.tokenizer = std::make_unique<Tokenizer>(Tokenizer::from_model_dir(m.model.tokenizer_dir));
  std::optional<TokenizerConfig> chat_config;
  if (std::filesystem::exists(m.model.tokenizer_dir + "/tokenizer_config.json")) {
    chat_config = load_tokenizer_config(m.model.tokenizer_dir);
  }
  if (!flags.chat_template_file.empty()) {
    if (!chat_config) chat_config = TokenizerConfig{};
    chat_config->chat_template = read_text_file(flags.chat_template_file, "--chat-template");
    chat_config->tool_use_chat_template.reset();
  }
  if (!chat_config || !chat_config->chat_template) log_warn("the model has no chat template: /v1/chat/completions is refused");

  EngineOptions engine_options;
  engine_options.max_num_seqs = flags.max_num_seqs;
  engine_options.max_num_batched_tokens = flags.max_num_batched_tokens;
  engine_options.enable_prefix_caching = !flags.no_prefix_caching;
  engine_options.max_waiting = flags.max_waiting;
  engine_options.eos_token_ids =
      m.model.generation.eos_token_ids.empty() ? m.model.config.eos_token_ids : m.model.generation.eos_token_ids;
  m.text = std::make_unique<server::TokenizerModelText>(*m.tokenizer, chat_config);
  m.engine = Engine::create(*m.model.runner, *m.tokenizer, std::move(chat_config), engine_options);

  m.name = served_model_name(flags);
  m.limits = flags.limits;
  m.limits.max_model_len = m.engine->max_model_len();
  m.limits.vocab_size = m.model.runner->vocab_size();
  m.defaults = defaults_from(m.model.generation);
  return m;
}

}  // namespace swallow::cli
