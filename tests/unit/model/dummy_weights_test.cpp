// Dummy weights: presets carry the published configs; every element is the counter-based hash of
// (tensor name, index) whatever the thread count or staging path; the model they make is finite.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "backend/cpu/cpu_backend.h"
#include "core/dummy_hash.h"
#include "core/error.h"
#include "model/dummy_presets.h"
#include "model/llama_weights.h"
#include "model/single_sequence.h"

namespace swallow {
namespace {

ModelConfig small_config() {
  ModelConfig c = dummy_preset_config("llama3.2-1b");
  c.vocab_size = 1000, c.hidden_size = 256, c.intermediate_size = 1024, c.n_layers = 8;
  c.n_heads = 8, c.n_kv_heads = 2, c.head_dim = 32;
  return c;
}

TEST(DummyPresets, CarryThePublishedConfigs) {
  const ModelConfig b1 = dummy_preset_config("llama3.2-1b");
  EXPECT_EQ(b1.hidden_size, 2048);
  EXPECT_EQ(b1.intermediate_size, 8192);
  EXPECT_EQ(b1.n_layers, 16);
  EXPECT_EQ(b1.n_heads, 32);
  EXPECT_EQ(b1.n_kv_heads, 8);
  EXPECT_EQ(b1.head_dim, 64);
  EXPECT_TRUE(b1.tie_word_embeddings);
  EXPECT_EQ(b1.rope_scaling.factor, 32.0);
  const ModelConfig b8 = dummy_preset_config("llama3.1-8b");
  EXPECT_EQ(b8.vocab_size, 128256);
  EXPECT_EQ(b8.intermediate_size, 14336);
  EXPECT_EQ(b8.rope_theta, 500000.0);
  EXPECT_EQ(b8.rope_scaling.rope_type, "llama3");
  EXPECT_EQ(b8.rope_scaling.factor, 8.0);
  EXPECT_EQ(b8.rope_scaling.original_max_position_embeddings, 8192);
  EXPECT_EQ(b8.max_position_embeddings, 131072);
  EXPECT_EQ(b8.rms_norm_eps, 1e-5);
  EXPECT_FALSE(b8.tie_word_embeddings);
  EXPECT_EQ(b8.dtype, DType::kBF16);
  const ModelConfig b3 = dummy_preset_config("llama3.2-3b");
  EXPECT_EQ(b3.n_layers, 28);
  EXPECT_EQ(b3.n_heads, 24);
  EXPECT_EQ(b3.head_dim, 128);
  const ModelConfig b70 = dummy_preset_config("llama3.1-70b");
  EXPECT_EQ(b70.hidden_size, 8192);
  EXPECT_EQ(b70.intermediate_size, 28672);
  EXPECT_EQ(b70.n_layers, 80);
  EXPECT_EQ(b70.n_heads, 64);
  try {
    dummy_preset_config("llama2-7b");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("llama3.2-1b"), std::string::npos) << e.what();
  }
}

TEST(DummyHash, ValuesAreExactAndRoundLikeTheCoreConversion) {
  const uint64_t seed = dummy::name_seed("x", 1);
  for (uint64_t i = 0; i < 100000; ++i) {
    const float v = dummy::value_f32(seed, i, {1.0f, 1.0f / 16});
    EXPECT_LT(std::abs(v - 1.0f), 1.0f / 16);
    const float w = dummy::value_f32(seed, i, {0.0f, 1.0f / 64});
    EXPECT_EQ(dummy::f32_to_bf16_bits(w * 3.0f), f32_to_bf16(w * 3.0f));
  }
  EXPECT_NE(dummy::name_seed("a.weight", 8), dummy::name_seed("b.weight", 8));
}

TEST(DummyWeights, EveryElementIsThePureHashWhateverThreadsOrStaging) {
  const ModelConfig config = small_config();
  CpuBackend backend({.n_threads = 1});
  LlamaWeights a = make_dummy_llama_weights(config, backend, {.host_memory = true, .n_threads = 2});
  LlamaWeights b = make_dummy_llama_weights(config, backend, {.host_memory = false, .n_threads = 1});
  LlamaWeights scratch;
  const std::vector<WeightSlot> slots = llama_weight_slots(config, scratch);
  ASSERT_EQ(a.buffers.size(), slots.size());
  for (size_t s = 0; s < slots.size(); ++s) {
    ASSERT_EQ(0, std::memcmp(a.buffers[s]->data(), b.buffers[s]->data(), a.buffers[s]->n_bytes())) << slots[s].name;
  }
  const Tensor& up = a.layers[3].up_proj;
  const std::string name = "model.layers.3.mlp.up_proj.weight";
  const dummy::Distribution dist = dummy_distribution({.name = name, .role = WeightRole::kLinear, .cols = 256});
  EXPECT_EQ(dist.half_width, 1.0f / 16);  // largest power of two <= 1 / sqrt(256)
  for (int64_t i : {int64_t{0}, int64_t{12345}, up.n_elements() - 1}) {
    EXPECT_EQ(up.as<const uint16_t>()[i], dummy::value_bf16(dummy::name_seed(name.data(), name.size()), i, dist));
  }
  EXPECT_EQ(a.lm_head.data, a.embed_tokens.data);  // tied preset
}

TEST(DummyWeights, EightLayerModelGivesFiniteVariedLogits) {
  const ModelConfig config = small_config();
  auto backend = std::make_unique<CpuBackend>(CpuBackendOptions{.n_threads = 2});
  LlamaWeights w = make_dummy_llama_weights(config, *backend, {.host_memory = true});
  LlamaRunner runner(std::move(backend), config, std::move(w), {.kv_cache_bytes = 16 << 20});
  SingleSequence seq(runner);
  const std::vector<int32_t> tokens = {128 % 1000, 7, 999, 3, 500, 42};
  const std::vector<float> logits = seq.append(tokens, std::vector<int32_t>{0, 5});
  float lo = logits[0], hi = logits[0];
  for (float v : logits) {
    ASSERT_TRUE(std::isfinite(v));
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  EXPECT_GT(hi - lo, 0.1f);
}

TEST(DummyWeights, TooLargeForTheBackendSaysHowMuchIsNeeded) {
  CpuBackend backend({.n_threads = 1, .memory_budget_bytes = 1 << 20});
  try {
    make_dummy_llama_weights(dummy_preset_config("llama3.1-70b"), backend, {.host_memory = true});
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kResourceExhausted);
    EXPECT_NE(std::string(e.what()).find("141."), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace swallow
