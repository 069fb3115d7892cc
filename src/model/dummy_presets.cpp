// dummy_preset_config: Llama 3.1 8B / 70B and Llama 3.2 1B / 3B as in their config.json files.
#include "model/dummy_presets.h"

#include "core/error.h"

namespace swallow {
namespace {

struct Preset {
  const char* name;
  int64_t hidden_size, intermediate_size, n_layers, n_heads, head_dim;
  double rope_factor;
  bool tied;
};

constexpr Preset kPresets[] = {
    {"llama3.1-8b", 4096, 14336, 32, 32, 128, 8.0, false},
    {"llama3.1-70b", 8192, 28672, 80, 64, 128, 8.0, false},
    {"llama3.2-1b", 2048, 8192, 16, 32, 64, 32.0, true},
    {"llama3.2-3b", 3072, 8192, 28, 24, 128, 32.0, true},
};

ModelConfig to_config(const Preset& p) {
  ModelConfig c;
  c.architecture = "LlamaForCausalLM";
  c.vocab_size = 128256;
  c.hidden_size = p.hidden_size;
  c.intermediate_size = p.intermediate_size;
  c.n_layers = p.n_layers;
  c.n_heads = p.n_heads;
  c.n_kv_heads = 8;
  c.head_dim = p.head_dim;
  c.max_position_embeddings = 131072;
  c.rms_norm_eps = 1e-5;
  c.rope_theta = 500000.0;
  c.rope_scaling = {.rope_type = "llama3",
                    .factor = p.rope_factor,
                    .low_freq_factor = 1.0,
                    .high_freq_factor = 4.0,
                    .original_max_position_embeddings = 8192};
  c.tie_word_embeddings = p.tied;
  c.dtype = DType::kBF16;
  c.bos_token_id = 128000;
  c.eos_token_ids = {128001, 128008, 128009};
  return c;
}

}  // namespace

std::vector<std::string> dummy_preset_names() {
  std::vector<std::string> names;
  for (const Preset& p : kPresets) names.emplace_back(p.name);
  return names;
}

ModelConfig dummy_preset_config(const std::string& name) {
  for (const Preset& p : kPresets) {
    if (name == p.name) return to_config(p);
  }
  std::string known;
  for (const Preset& p : kPresets) known += std::string(known.empty() ? "" : ", ") + p.name;
  throw invalid_argument("--dummy-weights: unknown preset '" + name + "' (known: " + known + ")");
}

}  // namespace swallow
