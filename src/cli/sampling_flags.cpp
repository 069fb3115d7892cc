// Sampling flags: each value comes from the first of flag, generation_config.json, model card.
#include "cli/sampling_flags.h"

namespace swallow::cli {
namespace {

// Llama 3.1 Swallow model card defaults for chat and generate.
constexpr float kCardTemperature = 0.6f;
constexpr float kCardTopP = 0.9f;
constexpr int32_t kCardMaxTokens = 512;

template <typename T, typename U>
T first_of(const std::optional<T>& flag, const std::optional<U>& generation, T card) {
  if (flag) return *flag;
  if (generation) return static_cast<T>(*generation);
  return card;
}

}  // namespace

void add_sampling_flags(CLI::App& app, SamplingFlags& f) {
  app.add_option("--temperature", f.temperature, "sampling temperature; 0 is greedy (default: model's, else 0.6)");
  app.add_option("--top-p", f.top_p, "nucleus sampling mass in (0, 1] (default: model's, else 0.9)");
  app.add_option("--top-k", f.top_k, "keep the k most likely tokens; 0 or -1 disables");
  app.add_option("--min-p", f.min_p, "drop tokens below min_p x the top probability");
  app.add_option("--repetition-penalty", f.repetition_penalty, "penalty > 0 on prompt and output tokens (1: none)");
  app.add_option("--presence-penalty", f.presence_penalty, "in [-2, 2], on tokens already generated");
  app.add_option("--frequency-penalty", f.frequency_penalty, "in [-2, 2], per occurrence in the output");
  app.add_option("--seed", f.seed, "fixes the random draws (default: random)");
  app.add_option("--max-tokens", f.max_tokens, "most tokens to generate (default: model's, else 512)");
  app.add_option("--stop", f.stop, "stop string (repeatable); not included in the output")->allow_extra_args(false);
  app.add_flag("--ignore-eos", f.ignore_eos, "keep generating after end-of-sequence tokens");
}

void apply_sampling_flags(const SamplingFlags& f, const GenerationConfig& g, GenerationRequest& r) {
  SamplingParams& s = r.sampling;
  s.temperature = first_of(f.temperature, g.temperature, kCardTemperature);
  s.top_p = first_of(f.top_p, g.top_p, kCardTopP);
  s.top_k = first_of(f.top_k, g.top_k, s.top_k);
  s.min_p = first_of(f.min_p, g.min_p, s.min_p);
  s.repetition_penalty = first_of(f.repetition_penalty, g.repetition_penalty, s.repetition_penalty);
  s.presence_penalty = f.presence_penalty.value_or(s.presence_penalty);
  s.frequency_penalty = f.frequency_penalty.value_or(s.frequency_penalty);
  r.max_tokens = first_of(f.max_tokens, g.max_new_tokens, kCardMaxTokens);
  r.seed = f.seed;
  r.stop = f.stop;
  r.ignore_eos = f.ignore_eos;
}

}  // namespace swallow::cli
