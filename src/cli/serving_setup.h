// What `swallow serve` and `swallow batch` share: the engine flags (vLLM's names), request caps,
// and loading the model into a running Engine with its tokenizer, chat template and the
// OpenAI-schema limits and sampling defaults derived from the model. Main thread only.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <optional>
#include <string>

#include "chat/tokenizer_config.h"
#include "cli/model_options.h"
#include "server/openai_request.h"
#include "server/tokenizer_model_text.h"
#include "swallow/engine.h"
#include "tokenizer/tokenizer.h"

namespace swallow::cli {

struct ServingFlags {
  ModelOptions model;
  std::string served_model_name;  // default: --model as given (vLLM's), or "dummy:<preset>"
  std::string chat_template_file;
  bool allow_special_in_content = false;
  int32_t max_num_seqs = 256;
  int32_t max_num_batched_tokens = 2048;
  int32_t max_waiting = 4096;
  bool no_prefix_caching = false;
  server::SchemaLimits limits;  // caps; max_model_len and vocab_size are filled from the model
};

void add_serving_flags(CLI::App& app, ServingFlags& flags);

// A loaded model with its engine running. Members are declared in destruction-safe order.
struct ServingModel {
  LoadedModel model;
  std::unique_ptr<Tokenizer> tokenizer;
  std::unique_ptr<server::TokenizerModelText> text;
  std::unique_ptr<Engine> engine;
  std::string name;  // the served model name
  server::SchemaLimits limits;
  server::SamplingDefaults defaults;

  ServingModel() = default;
  ServingModel(ServingModel&&) = default;
  ~ServingModel();  // shuts the engine down before the runner goes
};

ServingModel load_serving_model(const ServingFlags& flags);
// --served-model-name, else --model as given, else "dummy:<preset>".
std::string served_model_name(const ServingFlags& flags);

}  // namespace swallow::cli
