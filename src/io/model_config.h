// Hugging Face config.json and generation_config.json of a Llama checkpoint, parsed into plain
// structs. Accepts both config forms seen in the wild (legacy rope_theta + rope_scaling, and
// transformers-5 rope_parameters) with transformers' precedence and defaults; rejects with a
// clear error (naming file and field) what the model cannot run: other architectures, rope
// types other than default/llama3, attention or MLP biases. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/dtype.h"

namespace swallow {

struct RopeScaling {
  std::string rope_type = "default";  // "default" or "llama3"
  double factor = 1.0, low_freq_factor = 1.0, high_freq_factor = 4.0;
  int64_t original_max_position_embeddings = 8192;
};

struct ModelConfig {
  std::string architecture;  // "LlamaForCausalLM"
  int64_t vocab_size = 0, hidden_size = 0, intermediate_size = 0, n_layers = 0, n_heads = 0, n_kv_heads = 0,
          head_dim = 0, max_position_embeddings = 0;
  double rms_norm_eps = 1e-6, rope_theta = 10000.0;
  RopeScaling rope_scaling;
  bool tie_word_embeddings = false;
  DType dtype = DType::kF32;  // "dtype" or "torch_dtype"; F32 when absent
  std::optional<int32_t> bos_token_id;
  std::vector<int32_t> eos_token_ids;  // int or list in the file
  bool attention_bias = false, mlp_bias = false;  // always false: true is refused as unsupported
};

// `config` is the parsed config.json; `path_for_errors` names it in messages.
ModelConfig parse_model_config(const nlohmann::json& config, const std::string& path_for_errors);
// Reads <model_dir>/config.json (not_found when missing, invalid_file when not JSON).
ModelConfig load_model_config(const std::string& model_dir);

// Sampling defaults and stop ids from generation_config.json; unset fields are absent there.
struct GenerationConfig {
  std::vector<int32_t> eos_token_ids;
  std::optional<int32_t> bos_token_id;
  std::optional<bool> do_sample;
  std::optional<double> temperature, top_p, min_p, repetition_penalty;
  std::optional<int64_t> top_k, max_new_tokens;
};

GenerationConfig parse_generation_config(const nlohmann::json& config, const std::string& path_for_errors);
// Reads <model_dir>/generation_config.json; a missing file gives an empty GenerationConfig.
GenerationConfig load_generation_config(const std::string& model_dir);

}  // namespace swallow
