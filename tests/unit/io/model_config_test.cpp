// parse_model_config / load_model_config: the real Llama 3.1 Swallow config (legacy form), the
// transformers-5 rope_parameters form, defaults and derived fields, and every refusal.
#include <gtest/gtest.h>

#include "io/model_config.h"
#include "io_test_util.h"

using namespace swallow;
using swallow::test::TempDir;
using swallow::test::throws_error;
using swallow::test::write_bytes;

namespace {

// config.json of tokyotech-llm/Llama-3.1-Swallow-8B-Instruct-v0.3 (legacy rope_scaling form).
const char* kSwallow8B = R"({
  "architectures": ["LlamaForCausalLM"], "attention_bias": false, "attention_dropout": 0.0,
  "bos_token_id": 128000, "eos_token_id": [128001, 128008, 128009], "hidden_act": "silu",
  "hidden_size": 4096, "initializer_range": 0.02, "intermediate_size": 14336,
  "max_position_embeddings": 131072, "mlp_bias": false, "model_type": "llama",
  "num_attention_heads": 32, "num_hidden_layers": 32, "num_key_value_heads": 8, "pretraining_tp": 1,
  "rms_norm_eps": 1e-05,
  "rope_scaling": {"factor": 8.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
                   "original_max_position_embeddings": 8192, "rope_type": "llama3"},
  "rope_theta": 500000.0, "tie_word_embeddings": false, "torch_dtype": "bfloat16",
  "transformers_version": "4.45.1", "use_cache": true, "vocab_size": 128256})";

// A small config as transformers 5 writes it (rope_parameters, dtype).
const char* kTransformers5 = R"({
  "architectures": ["LlamaForCausalLM"], "model_type": "llama", "dtype": "float32",
  "hidden_size": 64, "intermediate_size": 128, "num_attention_heads": 4, "num_hidden_layers": 2,
  "num_key_value_heads": 1, "head_dim": 24, "vocab_size": 512, "max_position_embeddings": 512,
  "rms_norm_eps": 1e-06, "tie_word_embeddings": true, "bos_token_id": 1, "eos_token_id": 2,
  "rope_parameters": {"rope_type": "llama3", "rope_theta": 10000.0, "factor": 8.0, "low_freq_factor": 2.0,
                      "high_freq_factor": 8.0, "original_max_position_embeddings": 64}})";

// `base` with fields replaced (JSON merge patch: a null value removes the field).
nlohmann::json with(const char* base, const nlohmann::json& patch) {
  nlohmann::json j = nlohmann::json::parse(base);
  j.merge_patch(patch);
  return j;
}

ModelConfig parse(const nlohmann::json& j) { return parse_model_config(j, "m/config.json"); }

}  // namespace

TEST(ModelConfig, Swallow8BLegacyForm) {
  ModelConfig c = parse(nlohmann::json::parse(kSwallow8B));
  EXPECT_EQ(c.architecture, "LlamaForCausalLM");
  EXPECT_EQ(c.vocab_size, 128256);
  EXPECT_EQ(c.hidden_size, 4096);
  EXPECT_EQ(c.intermediate_size, 14336);
  EXPECT_EQ(c.n_layers, 32);
  EXPECT_EQ(c.n_heads, 32);
  EXPECT_EQ(c.n_kv_heads, 8);
  EXPECT_EQ(c.head_dim, 128);
  EXPECT_EQ(c.max_position_embeddings, 131072);
  EXPECT_DOUBLE_EQ(c.rms_norm_eps, 1e-5);
  EXPECT_DOUBLE_EQ(c.rope_theta, 500000.0);
  EXPECT_EQ(c.rope_scaling.rope_type, "llama3");
  EXPECT_DOUBLE_EQ(c.rope_scaling.factor, 8.0);
  EXPECT_DOUBLE_EQ(c.rope_scaling.low_freq_factor, 1.0);
  EXPECT_DOUBLE_EQ(c.rope_scaling.high_freq_factor, 4.0);
  EXPECT_EQ(c.rope_scaling.original_max_position_embeddings, 8192);
  EXPECT_FALSE(c.tie_word_embeddings);
  EXPECT_EQ(c.dtype, DType::kBF16);
  EXPECT_EQ(c.bos_token_id, 128000);
  EXPECT_EQ(c.eos_token_ids, (std::vector<int32_t>{128001, 128008, 128009}));
  EXPECT_FALSE(c.attention_bias);
  EXPECT_FALSE(c.mlp_bias);
}

TEST(ModelConfig, Transformers5RopeParametersForm) {
  ModelConfig c = parse(nlohmann::json::parse(kTransformers5));
  EXPECT_EQ(c.n_kv_heads, 1);
  EXPECT_EQ(c.head_dim, 24);  // given, differs from hidden / heads = 16
  EXPECT_DOUBLE_EQ(c.rope_theta, 10000.0);
  EXPECT_EQ(c.rope_scaling.rope_type, "llama3");
  EXPECT_DOUBLE_EQ(c.rope_scaling.low_freq_factor, 2.0);
  EXPECT_DOUBLE_EQ(c.rope_scaling.high_freq_factor, 8.0);
  EXPECT_EQ(c.rope_scaling.original_max_position_embeddings, 64);
  EXPECT_TRUE(c.tie_word_embeddings);
  EXPECT_EQ(c.dtype, DType::kF32);
  EXPECT_EQ(c.eos_token_ids, (std::vector<int32_t>{2}));
}

TEST(ModelConfig, DefaultsAndDerivedFields) {
  nlohmann::json j = nlohmann::json::parse(R"({"model_type": "llama", "vocab_size": 10, "hidden_size": 64,
      "intermediate_size": 32, "num_hidden_layers": 1, "num_attention_heads": 8})");
  ModelConfig c = parse(j);
  EXPECT_EQ(c.architecture, "LlamaForCausalLM");
  EXPECT_EQ(c.n_kv_heads, 8);
  EXPECT_EQ(c.head_dim, 8);
  EXPECT_EQ(c.max_position_embeddings, 2048);
  EXPECT_DOUBLE_EQ(c.rms_norm_eps, 1e-6);
  EXPECT_DOUBLE_EQ(c.rope_theta, 10000.0);
  EXPECT_EQ(c.rope_scaling.rope_type, "default");
  EXPECT_FALSE(c.tie_word_embeddings);
  EXPECT_EQ(c.dtype, DType::kF32);
  EXPECT_FALSE(c.bos_token_id.has_value());
  EXPECT_TRUE(c.eos_token_ids.empty());
}

TEST(ModelConfig, RopeTypeFromLegacyTypeKey) {
  nlohmann::json j = nlohmann::json::parse(kSwallow8B);
  j["rope_scaling"].erase("rope_type");
  j["rope_scaling"]["type"] = "llama3";
  EXPECT_EQ(parse(j).rope_scaling.rope_type, "llama3");
}

TEST(ModelConfig, NullRopeScalingAndNullHeadDimMeanDefaults) {
  nlohmann::json j = nlohmann::json::parse(kSwallow8B);
  j["rope_scaling"] = nullptr;
  j["head_dim"] = nullptr;
  j["rope_theta"] = 10000.0;
  ModelConfig c = parse(j);
  EXPECT_EQ(c.rope_scaling.rope_type, "default");
  EXPECT_DOUBLE_EQ(c.rope_theta, 10000.0);
  EXPECT_EQ(c.head_dim, 128);
}

TEST(ModelConfig, RopeScalingWinsOverRopeParametersAsInTransformers) {
  nlohmann::json j = nlohmann::json::parse(kSwallow8B);
  j["rope_parameters"] = {{"rope_type", "default"}, {"rope_theta", 1234.0}};
  ModelConfig c = parse(j);
  EXPECT_EQ(c.rope_scaling.rope_type, "llama3");
  EXPECT_DOUBLE_EQ(c.rope_theta, 500000.0);  // top level, since rope_scaling has none
}

TEST(ModelConfig, RopeParametersWithoutThetaUseTopLevelTheta) {
  nlohmann::json j = nlohmann::json::parse(kTransformers5);
  j["rope_parameters"].erase("rope_theta");
  j["rope_theta"] = 777.0;
  EXPECT_DOUBLE_EQ(parse(j).rope_theta, 777.0);
}

TEST(ModelConfig, DtypeKeyWinsOverTorchDtype) {
  EXPECT_EQ(parse(with(kSwallow8B, {{"dtype", "float16"}})).dtype, DType::kF16);
  EXPECT_TRUE(throws_error([&] { parse(with(kSwallow8B, {{"torch_dtype", "float64"}})); }, ErrorKind::kUnsupported,
                           {"m/config.json", "torch_dtype", "float64"}));
}

TEST(ModelConfig, EosAsIntListOrNull) {
  EXPECT_EQ(parse(with(kSwallow8B, {{"eos_token_id", 7}})).eos_token_ids, (std::vector<int32_t>{7}));
  nlohmann::json null_eos = nlohmann::json::parse(kSwallow8B);
  null_eos["eos_token_id"] = nullptr;
  EXPECT_TRUE(parse(null_eos).eos_token_ids.empty());
  EXPECT_TRUE(throws_error([&] { parse(with(kSwallow8B, {{"eos_token_id", "x"}})); }, ErrorKind::kInvalidFile,
                           {"m/config.json", "eos_token_id"}));
  EXPECT_TRUE(throws_error([&] { parse(with(kSwallow8B, {{"eos_token_id", {1, -2}}})); }, ErrorKind::kInvalidFile,
                           {"eos_token_id"}));
}

TEST(ModelConfig, UnsupportedRopeTypesNameTheField) {
  for (const char* type : {"yarn", "linear", "dynamic", "longrope"}) {
    nlohmann::json legacy = nlohmann::json::parse(kSwallow8B);
    legacy["rope_scaling"]["rope_type"] = type;
    EXPECT_TRUE(throws_error([&] { parse(legacy); }, ErrorKind::kUnsupported, {"m/config.json", "rope_scaling.rope_type", type}));
    nlohmann::json v5 = nlohmann::json::parse(kTransformers5);
    v5["rope_parameters"]["rope_type"] = type;
    EXPECT_TRUE(throws_error([&] { parse(v5); }, ErrorKind::kUnsupported, {"rope_parameters.rope_type", type}));
  }
  nlohmann::json typed = nlohmann::json::parse(kSwallow8B);
  typed["rope_scaling"] = {{"type", "linear"}, {"factor", 2.0}};
  EXPECT_TRUE(throws_error([&] { parse(typed); }, ErrorKind::kUnsupported, {"rope_scaling.type", "linear"}));
}

TEST(ModelConfig, Llama3RopeNeedsItsFields) {
  nlohmann::json j = nlohmann::json::parse(kSwallow8B);
  j["rope_scaling"].erase("factor");
  EXPECT_TRUE(throws_error([&] { parse(j); }, ErrorKind::kInvalidFile, {"m/config.json", "rope_scaling.factor", "required"}));
  j = nlohmann::json::parse(kSwallow8B);
  j["rope_scaling"]["high_freq_factor"] = 1.0;
  EXPECT_TRUE(throws_error([&] { parse(j); }, ErrorKind::kInvalidFile, {"rope_scaling.high_freq_factor", "greater"}));
  j = nlohmann::json::parse(kSwallow8B);
  j["rope_scaling"]["original_max_position_embeddings"] = "8192";
  EXPECT_TRUE(throws_error([&] { parse(j); }, ErrorKind::kInvalidFile, {"rope_scaling.original_max_position_embeddings"}));
}

TEST(ModelConfig, BiasesAreRefused) {
  EXPECT_TRUE(throws_error([&] { parse(with(kSwallow8B, {{"attention_bias", true}})); }, ErrorKind::kUnsupported,
                           {"m/config.json", "attention_bias"}));
  EXPECT_TRUE(throws_error([&] { parse(with(kSwallow8B, {{"mlp_bias", true}})); }, ErrorKind::kUnsupported,
                           {"m/config.json", "mlp_bias"}));
}

TEST(ModelConfig, OtherArchitecturesAndActivationsAreRefused) {
  EXPECT_TRUE(throws_error([&] { parse(with(kSwallow8B, {{"architectures", {"MistralForCausalLM"}}})); },
                           ErrorKind::kUnsupported, {"m/config.json", "MistralForCausalLM", "LlamaForCausalLM"}));
  nlohmann::json no_arch = nlohmann::json::parse(kSwallow8B);
  no_arch.erase("architectures");
  no_arch["model_type"] = "qwen2";
  EXPECT_TRUE(throws_error([&] { parse(no_arch); }, ErrorKind::kUnsupported, {"qwen2"}));
  EXPECT_TRUE(throws_error([&] { parse(with(kSwallow8B, {{"hidden_act", "gelu"}})); }, ErrorKind::kUnsupported,
                           {"hidden_act", "gelu"}));
}

TEST(ModelConfig, MissingOrMistypedDimensionsNameTheField) {
  nlohmann::json j = nlohmann::json::parse(kSwallow8B);
  j.erase("hidden_size");
  EXPECT_TRUE(throws_error([&] { parse(j); }, ErrorKind::kInvalidFile, {"m/config.json", "'hidden_size'", "required"}));
  EXPECT_TRUE(throws_error([&] { parse(with(kSwallow8B, {{"vocab_size", "big"}})); }, ErrorKind::kInvalidFile,
                           {"'vocab_size'", "integer", "\"big\""}));
  EXPECT_TRUE(throws_error([&] { parse(with(kSwallow8B, {{"num_hidden_layers", 0}})); }, ErrorKind::kInvalidFile,
                           {"'num_hidden_layers'"}));
  EXPECT_TRUE(throws_error([&] { parse(with(kSwallow8B, {{"intermediate_size", 14336.5}})); }, ErrorKind::kInvalidFile,
                           {"'intermediate_size'"}));
  EXPECT_TRUE(throws_error([&] { parse(with(kSwallow8B, {{"tie_word_embeddings", "yes"}})); }, ErrorKind::kInvalidFile,
                           {"'tie_word_embeddings'"}));
  EXPECT_TRUE(throws_error([&] { parse(with(kSwallow8B, {{"hidden_size", 5000000000}})); }, ErrorKind::kInvalidFile,
                           {"'hidden_size'"}));
}

TEST(ModelConfig, InconsistentHeadsAreRefused) {
  EXPECT_TRUE(throws_error([&] { parse(with(kSwallow8B, {{"num_key_value_heads", 5}})); }, ErrorKind::kInvalidFile,
                           {"'num_key_value_heads'", "divide"}));
  EXPECT_TRUE(throws_error([&] { parse(with(kSwallow8B, {{"num_attention_heads", 30}, {"num_key_value_heads", 10}})); },
                           ErrorKind::kInvalidFile, {"'num_attention_heads'", "hidden_size"}));
  EXPECT_TRUE(throws_error([&] { parse(with(kSwallow8B, {{"head_dim", 7}})); }, ErrorKind::kInvalidFile,
                           {"head_dim 7", "even"}));
}

TEST(ModelConfig, TopLevelMustBeAnObject) {
  EXPECT_TRUE(throws_error([&] { parse(nlohmann::json::array()); }, ErrorKind::kInvalidFile, {"m/config.json", "object"}));
  EXPECT_TRUE(throws_error([&] { parse(with(kSwallow8B, {{"rope_scaling", "llama3"}})); }, ErrorKind::kInvalidFile,
                           {"'rope_scaling'", "object"}));
}

TEST(ModelConfig, LoadFromFolder) {
  TempDir tmp;
  write_bytes(tmp.path("config.json"), kSwallow8B);
  EXPECT_EQ(load_model_config(tmp.dir()).n_kv_heads, 8);
  write_bytes(tmp.path("config.json"), "{\"vocab_size\": ");
  EXPECT_TRUE(throws_error([&] { load_model_config(tmp.dir()); }, ErrorKind::kInvalidFile,
                           {tmp.path("config.json"), "not valid JSON"}));
  TempDir empty;
  EXPECT_TRUE(throws_error([&] { load_model_config(empty.dir()); }, ErrorKind::kNotFound, {empty.path("config.json")}));
}
