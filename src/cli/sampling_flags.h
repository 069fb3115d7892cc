// The sampling flags of `generate` and `chat` (--temperature --top-p --top-k --min-p
// --repetition-penalty --presence-penalty --frequency-penalty --seed --max-tokens --stop
// --ignore-eos) and their defaults: the flag, else generation_config.json, else the model card's
// (temperature 0.6, top_p 0.9, 512 tokens). Used on the main thread.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "io/model_config.h"
#include "swallow/engine.h"

namespace swallow::cli {

struct SamplingFlags {
  std::optional<float> temperature, top_p, min_p, repetition_penalty, presence_penalty, frequency_penalty;
  std::optional<int32_t> top_k, max_tokens;
  std::optional<uint64_t> seed;
  std::vector<std::string> stop;
  bool ignore_eos = false;
};

// Adds the flags to a subcommand, writing into `flags` (which must outlive parsing).
void add_sampling_flags(CLI::App& app, SamplingFlags& flags);

// Sets the sampling fields of `request` from the flags and defaults above.
void apply_sampling_flags(const SamplingFlags& flags, const GenerationConfig& generation, GenerationRequest& request);

}  // namespace swallow::cli
