// The io layer on the committed checkpoints written by transformers (tests/golden/model/data,
// made by tools/model/make_tiny_checkpoints.py): every config parses, every checkpoint holds
// exactly the Llama tensors its config implies with the right shapes and dtype, every golden
// file matches its golden.json, and together the fixtures cover the features issue 4 lists.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>

#include "io/json_fields.h"
#include "io/model_config.h"
#include "io/safetensors.h"
#include "support/test_support.h"

using namespace swallow;
namespace fs = std::filesystem;

namespace {

std::vector<std::string> fixture_dirs() {
  std::vector<std::string> dirs;
  for (const fs::directory_entry& e : fs::directory_iterator(test::source_path("tests/golden/model/data"))) {
    if (fs::exists(e.path() / "config.json")) dirs.push_back(e.path().string());
  }
  std::sort(dirs.begin(), dirs.end());
  return dirs;
}

// name -> shape of every tensor a Hugging Face LlamaForCausalLM checkpoint stores.
std::map<std::string, std::vector<int64_t>> expected_tensors(const ModelConfig& c) {
  std::map<std::string, std::vector<int64_t>> t;
  t["model.embed_tokens.weight"] = {c.vocab_size, c.hidden_size};
  t["model.norm.weight"] = {c.hidden_size};
  if (!c.tie_word_embeddings) t["lm_head.weight"] = {c.vocab_size, c.hidden_size};
  for (int64_t i = 0; i < c.n_layers; ++i) {
    std::string p = "model.layers." + std::to_string(i) + ".";
    t[p + "self_attn.q_proj.weight"] = {c.n_heads * c.head_dim, c.hidden_size};
    t[p + "self_attn.k_proj.weight"] = {c.n_kv_heads * c.head_dim, c.hidden_size};
    t[p + "self_attn.v_proj.weight"] = {c.n_kv_heads * c.head_dim, c.hidden_size};
    t[p + "self_attn.o_proj.weight"] = {c.hidden_size, c.n_heads * c.head_dim};
    t[p + "mlp.gate_proj.weight"] = {c.intermediate_size, c.hidden_size};
    t[p + "mlp.up_proj.weight"] = {c.intermediate_size, c.hidden_size};
    t[p + "mlp.down_proj.weight"] = {c.hidden_size, c.intermediate_size};
    t[p + "input_layernorm.weight"] = {c.hidden_size};
    t[p + "post_attention_layernorm.weight"] = {c.hidden_size};
  }
  return t;
}

}  // namespace

TEST(HfFixtures, CheckpointsHoldExactlyTheLlamaTensors) {
  std::vector<std::string> dirs = fixture_dirs();
  ASSERT_FALSE(dirs.empty());
  for (const std::string& dir : dirs) {
    SCOPED_TRACE(dir);
    ModelConfig config = load_model_config(dir);
    Checkpoint ckpt = Checkpoint::open(dir);
    std::map<std::string, std::vector<int64_t>> expected = expected_tensors(config);
    std::vector<std::string> names;
    for (const auto& [name, shape] : expected) names.push_back(name);
    EXPECT_EQ(ckpt.names(), names);
    for (const auto& [name, shape] : expected) {
      const TensorInfo* t = ckpt.find(name);
      ASSERT_NE(t, nullptr) << name;
      EXPECT_EQ(t->shape, shape) << name;
      EXPECT_EQ(t->dtype, config.dtype) << name;
    }
  }
}

TEST(HfFixtures, GoldensMatchTheirDescription) {
  for (const std::string& dir : fixture_dirs()) {
    SCOPED_TRACE(dir);
    ModelConfig config = load_model_config(dir);
    load_generation_config(dir);
    nlohmann::json golden = read_json_file(dir + "/golden.json");
    SafetensorsFile logits(dir + "/golden.safetensors");
    ASSERT_FALSE(golden["prompts"].empty());
    for (const nlohmann::json& prompt : golden["prompts"]) {
      const TensorInfo* t = logits.find(prompt["logits_tensor"].get<std::string>());
      ASSERT_NE(t, nullptr);
      EXPECT_EQ(t->dtype, DType::kF32);
      int64_t n_positions = static_cast<int64_t>(prompt["logits_positions"].size());
      EXPECT_EQ(t->shape, (std::vector<int64_t>{n_positions, config.vocab_size}));
      EXPECT_EQ(prompt["greedy_tokens"].size(), 16u);
    }
  }
}

TEST(HfFixtures, CoverTheFeaturesOfIssue4) {
  std::map<std::string, bool> covered = {{"legacy rope_scaling form", false}, {"rope_parameters form", false},
                                         {"GQA", false}, {"MQA", false}, {"head_dim != hidden/heads", false},
                                         {"tied", false}, {"untied", false}, {"bf16", false}, {"f32", false},
                                         {"sharded", false}, {"real vocabulary", false},
                                         {"llama3 rope used past the original context", false}};
  for (const std::string& dir : fixture_dirs()) {
    nlohmann::json raw = read_json_file(dir + "/config.json");
    ModelConfig c = load_model_config(dir);
    covered["legacy rope_scaling form"] |= raw.contains("rope_scaling") && raw.contains("torch_dtype");
    covered["rope_parameters form"] |= raw.contains("rope_parameters") && raw.contains("dtype");
    covered["GQA"] |= c.n_kv_heads > 1 && c.n_kv_heads < c.n_heads;
    covered["MQA"] |= c.n_kv_heads == 1;
    covered["head_dim != hidden/heads"] |= c.head_dim * c.n_heads != c.hidden_size;
    covered["tied"] |= c.tie_word_embeddings;
    covered["untied"] |= !c.tie_word_embeddings;
    covered["bf16"] |= c.dtype == DType::kBF16;
    covered["f32"] |= c.dtype == DType::kF32;
    covered["sharded"] |= fs::exists(dir + "/model.safetensors.index.json");
    covered["real vocabulary"] |= c.vocab_size == 128256;
    size_t longest = 0;
    nlohmann::json golden = read_json_file(dir + "/golden.json");
    for (const nlohmann::json& prompt : golden["prompts"]) {
      longest = std::max(longest, prompt["ids"].size());
    }
    covered["llama3 rope used past the original context"] |=
        c.rope_scaling.rope_type == "llama3" &&
        static_cast<int64_t>(longest) > c.rope_scaling.original_max_position_embeddings;
  }
  for (const auto& [feature, yes] : covered) EXPECT_TRUE(yes) << "no fixture covers " << feature;
}
