// start_engine: model + tokenizer + chat config -> Engine.
#include "cli/engine_session.h"

#include <filesystem>

#include "chat/tokenizer_config.h"
#include "core/error.h"

namespace swallow::cli {

void add_engine_flags(CLI::App& app, EngineFlags& f) {
  app.add_option("--max-num-seqs", f.max_num_seqs, "most sequences in one step")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--max-num-batched-tokens", f.max_num_batched_tokens,
                 "most tokens in one step (long prompts are prefilled in chunks of this size)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_flag("--no-enable-prefix-caching", f.no_prefix_caching, "turn automatic prefix caching off");
}

std::unique_ptr<EngineSession> start_engine(const ModelOptions& model_options, const EngineFlags& flags) {
  auto session = std::make_unique<EngineSession>();
  session->model = load_model(model_options);
  const std::string& dir = session->model.tokenizer_dir;
  if (dir.empty()) {
    throw not_found(model_options.model_dir.empty()
                        ? "--dummy-weights needs the Llama 3.1 tokenizer of the set-up cache (run scripts/setup.sh)"
                        : "--model " + model_options.model_dir + ": no tokenizer.json in the folder");
  }
  session->tokenizer = Tokenizer::from_model_dir(dir);
  std::optional<TokenizerConfig> chat_config;
  if (std::filesystem::exists(dir + "/tokenizer_config.json")) chat_config = load_tokenizer_config(dir);

  EngineOptions options;
  options.max_num_seqs = flags.max_num_seqs;
  options.max_num_batched_tokens = flags.max_num_batched_tokens;
  options.enable_prefix_caching = !flags.no_prefix_caching;
  options.eos_token_ids = session->model.generation.eos_token_ids;
  if (options.eos_token_ids.empty()) options.eos_token_ids = session->model.config.eos_token_ids;
  session->engine = Engine::create(*session->model.runner, *session->tokenizer, std::move(chat_config), options);
  return session;
}

}  // namespace swallow::cli
