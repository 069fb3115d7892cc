// parse_model_config / load_model_config: config.json -> ModelConfig, following transformers'
// LlamaConfig defaults and its rope precedence (a non-empty rope_scaling wins over
// rope_parameters; a rope_theta inside the chosen object wins over the top-level one).
#include "io/model_config.h"

#include <limits>

#include "core/error.h"
#include "io/json_fields.h"

namespace swallow {
namespace {

constexpr int64_t kMaxDim = std::numeric_limits<int32_t>::max();
constexpr double kDefaultRopeTheta = 10000.0;      // transformers' default_theta
constexpr int64_t kDefaultMaxPositions = 2048;     // LlamaConfig default
constexpr double kDefaultRmsNormEps = 1e-6;        // LlamaConfig default

std::string parse_architecture(const JsonFields& f) {
  const nlohmann::json* archs = f.find("architectures");
  if (archs == nullptr) {
    std::optional<std::string> model_type = f.optional_string("model_type");
    if (model_type == "llama") return "LlamaForCausalLM";
    throw unsupported(f.path() + ": no 'architectures' field and model_type '" + model_type.value_or("") +
                      "' is not 'llama'; swallow runs LlamaForCausalLM checkpoints");
  }
  if (!archs->is_array() || archs->empty()) f.fail("architectures", "must be a non-empty list of strings");
  for (const nlohmann::json& arch : *archs) {
    if (!arch.is_string()) f.fail("architectures", "must be a non-empty list of strings");
    if (arch.get<std::string>() == "LlamaForCausalLM") return "LlamaForCausalLM";
  }
  throw unsupported(f.path() + ": field 'architectures' is " + archs->dump() +
                    "; swallow runs LlamaForCausalLM checkpoints only");
}

DType parse_dtype(const JsonFields& f) {
  const char* key = f.find("dtype") != nullptr ? "dtype" : "torch_dtype";
  std::optional<std::string> name = f.optional_string(key);
  if (!name || *name == "float32") return DType::kF32;
  if (*name == "bfloat16") return DType::kBF16;
  if (*name == "float16") return DType::kF16;
  throw unsupported(f.path() + ": field '" + key + "' is '" + *name + "'; supported: bfloat16, float16, float32");
}

void parse_llama3_rope(const JsonFields& rope, RopeScaling& out) {
  out.factor = rope.number("factor");
  out.low_freq_factor = rope.number("low_freq_factor");
  out.high_freq_factor = rope.number("high_freq_factor");
  out.original_max_position_embeddings = rope.integer("original_max_position_embeddings", 1);
  if (!(out.factor > 0)) rope.fail("factor", "must be > 0");
  if (!(out.low_freq_factor > 0)) rope.fail("low_freq_factor", "must be > 0");
  if (!(out.high_freq_factor > out.low_freq_factor)) {
    rope.fail("high_freq_factor", "must be greater than low_freq_factor (" + std::to_string(out.low_freq_factor) + ")");
  }
}

void parse_rope(const JsonFields& f, ModelConfig& c) {
  double top_level_theta = f.optional_number("rope_theta").value_or(kDefaultRopeTheta);
  const char* key = nullptr;
  const nlohmann::json* scaling = f.find("rope_scaling");
  if (scaling != nullptr && !(scaling->is_object() && scaling->empty())) {
    key = "rope_scaling";
  } else if (f.find("rope_parameters") != nullptr) {
    key = "rope_parameters";
  }
  c.rope_theta = top_level_theta;
  if (key != nullptr) {
    JsonFields rope(*f.find(key), f.path(), std::string(key) + ".");
    c.rope_theta = rope.optional_number("rope_theta").value_or(top_level_theta);
    const char* type_key = rope.find("rope_type") != nullptr ? "rope_type" : "type";
    std::string type = rope.optional_string(type_key).value_or("default");
    if (type == "llama3") {
      c.rope_scaling.rope_type = "llama3";
      parse_llama3_rope(rope, c.rope_scaling);
    } else if (type != "default") {
      throw unsupported(f.path() + ": field '" + rope.field_name(type_key) + "' is '" + type +
                        "'; supported rope types: default, llama3");
    }
  }
  if (!(c.rope_theta > 0)) {
    throw invalid_file(f.path(), "rope_theta must be > 0 (got " + std::to_string(c.rope_theta) + ")");
  }
}

void refuse_unsupported_features(const JsonFields& f) {
  std::optional<std::string> act = f.optional_string("hidden_act");
  if (act && *act != "silu") {
    throw unsupported(f.path() + ": field 'hidden_act' is '" + *act + "'; only 'silu' (SwiGLU) is supported");
  }
  for (const char* bias : {"attention_bias", "mlp_bias"}) {
    if (f.optional_bool(bias).value_or(false)) {
      throw unsupported(f.path() + ": field '" + bias + "' is true; Llama checkpoints with biases are not supported");
    }
  }
}

}  // namespace

ModelConfig parse_model_config(const nlohmann::json& config, const std::string& path_for_errors) {
  JsonFields f(config, path_for_errors);
  ModelConfig c;
  c.architecture = parse_architecture(f);
  refuse_unsupported_features(f);

  c.vocab_size = f.integer("vocab_size", 1, kMaxDim);
  c.hidden_size = f.integer("hidden_size", 1, kMaxDim);
  c.intermediate_size = f.integer("intermediate_size", 1, kMaxDim);
  c.n_layers = f.integer("num_hidden_layers", 1, kMaxDim);
  c.n_heads = f.integer("num_attention_heads", 1, kMaxDim);
  c.n_kv_heads = f.optional_integer("num_key_value_heads", 1, kMaxDim).value_or(c.n_heads);
  if (c.n_heads % c.n_kv_heads != 0) {
    f.fail("num_key_value_heads", "must divide num_attention_heads (" + std::to_string(c.n_heads) + ")");
  }
  if (std::optional<int64_t> head_dim = f.optional_integer("head_dim", 1, kMaxDim)) {
    c.head_dim = *head_dim;
  } else if (c.hidden_size % c.n_heads == 0) {
    c.head_dim = c.hidden_size / c.n_heads;
  } else {
    f.fail("num_attention_heads", "must divide hidden_size (" + std::to_string(c.hidden_size) +
                                      ") when head_dim is not given");
  }
  if (c.head_dim % 2 != 0) {
    throw invalid_file(f.path(), "head_dim " + std::to_string(c.head_dim) +
                                     " must be even (rotary embedding rotates pairs of dimensions)");
  }
  c.max_position_embeddings = f.optional_integer("max_position_embeddings", 1).value_or(kDefaultMaxPositions);
  c.rms_norm_eps = f.optional_number("rms_norm_eps").value_or(kDefaultRmsNormEps);
  if (!(c.rms_norm_eps >= 0)) f.fail("rms_norm_eps", "must be >= 0");
  parse_rope(f, c);
  c.tie_word_embeddings = f.optional_bool("tie_word_embeddings").value_or(false);
  c.dtype = parse_dtype(f);
  if (std::optional<int64_t> bos = f.optional_integer("bos_token_id", 0, std::numeric_limits<int32_t>::max())) {
    c.bos_token_id = static_cast<int32_t>(*bos);
  }
  c.eos_token_ids = f.token_ids("eos_token_id");
  return c;
}

ModelConfig load_model_config(const std::string& model_dir) {
  std::string path = model_dir + "/config.json";
  return parse_model_config(read_json_file(path), path);
}

}  // namespace swallow
