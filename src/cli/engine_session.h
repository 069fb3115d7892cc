// Running the engine from a CLI subcommand: the engine flags (--max-num-seqs,
// --max-num-batched-tokens, --no-enable-prefix-caching) and start_engine(), which loads the model
// (model_options.h), the tokenizer and tokenizer_config.json, and creates the Engine. Used on the
// main thread; the Engine inside is thread-safe as documented in swallow/engine.h.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <memory>
#include <optional>

#include "cli/model_options.h"
#include "swallow/engine.h"
#include "tokenizer/tokenizer.h"

namespace swallow::cli {

struct EngineFlags {
  int32_t max_num_seqs = 256;
  int32_t max_num_batched_tokens = 2048;
  bool no_prefix_caching = false;
};

// Adds the flags to a subcommand, writing into `flags` (which must outlive parsing).
void add_engine_flags(CLI::App& app, EngineFlags& flags);

struct EngineSession {
  LoadedModel model;
  std::optional<Tokenizer> tokenizer;
  std::unique_ptr<Engine> engine;  // declared last: stopped before what it uses is destroyed
};

// Throws swallow::Error naming the flag or file (e.g. no tokenizer.json to be found).
std::unique_ptr<EngineSession> start_engine(const ModelOptions& model_options, const EngineFlags& flags);

}  // namespace swallow::cli
