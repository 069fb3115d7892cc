// Binding checkpoint tensors to the Llama weight map: validation errors name the file, the tensor
// and the expected shape; tied extras are ignored; host backends use the mapped data in place.
#include "model/llama_weights.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>

#include "backend/cpu/cpu_backend.h"
#include "core/error.h"
#include "model/single_sequence.h"
#include "tiny_llama.h"

namespace swallow::test {
namespace {

// Loads `tensors` written as a checkpoint; returns the error, failing when loading succeeds.
Error load_error(const TinySpec& spec, const std::vector<NamedTensor>& tensors) {
  TempDir dir;
  write_tiny_checkpoint(dir.path(), spec, tensors);
  CpuBackend backend({.n_threads = 1});
  try {
    load_llama_weights(dir.path(), load_model_config(dir.path()), backend, {.host_memory = true});
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << "loading succeeded";
  return internal_error("no error");
}

NamedTensor& find(std::vector<NamedTensor>& tensors, const std::string& name) {
  return *std::find_if(tensors.begin(), tensors.end(), [&](const NamedTensor& t) { return t.name == name; });
}

TEST(LlamaWeights, MissingTensorIsNamedWithItsExpectedShape) {
  TinySpec spec;
  std::vector<NamedTensor> tensors = make_tiny_tensors(spec, 1);
  std::erase_if(tensors, [](const NamedTensor& t) { return t.name == "model.layers.1.mlp.up_proj.weight"; });
  Error e = load_error(spec, tensors);
  EXPECT_EQ(e.kind(), ErrorKind::kNotFound);
  EXPECT_NE(std::string(e.what()).find("'model.layers.1.mlp.up_proj.weight' is missing"), std::string::npos) << e.what();
  EXPECT_NE(std::string(e.what()).find("[80, 48] = [intermediate_size, hidden_size]"), std::string::npos) << e.what();
}

TEST(LlamaWeights, UnexpectedTensorIsNamedWithItsFile) {
  TinySpec spec;
  std::vector<NamedTensor> tensors = make_tiny_tensors(spec, 1);
  tensors.push_back({"model.layers.2.input_layernorm.weight", {48}, std::vector<float>(48, 1.0f)});
  Error e = load_error(spec, tensors);
  EXPECT_EQ(e.kind(), ErrorKind::kInvalidFile);
  EXPECT_NE(std::string(e.what()).find("model.safetensors"), std::string::npos) << e.what();
  EXPECT_NE(std::string(e.what()).find("unexpected tensor 'model.layers.2.input_layernorm.weight'"), std::string::npos)
      << e.what();
}

TEST(LlamaWeights, MisshapenTensorShowsBothShapes) {
  TinySpec spec;
  std::vector<NamedTensor> tensors = make_tiny_tensors(spec, 1);
  NamedTensor& k = find(tensors, "model.layers.0.self_attn.k_proj.weight");
  k.shape = {16, 48};
  k.values.resize(16 * 48);
  Error e = load_error(spec, tensors);
  EXPECT_EQ(e.kind(), ErrorKind::kInvalidFile);
  const std::string m = e.what();
  EXPECT_NE(m.find("model.safetensors"), std::string::npos) << m;
  EXPECT_NE(m.find("'model.layers.0.self_attn.k_proj.weight' has shape [16, 48], expected [32, 48] = "
                   "[num_key_value_heads * head_dim, hidden_size]"),
            std::string::npos)
      << m;
}

TEST(LlamaWeights, IntegerTensorIsRejected) {
  TinySpec spec;
  std::vector<NamedTensor> tensors = make_tiny_tensors(spec, 1);
  find(tensors, "model.norm.weight").dtype = DType::kI32;
  Error e = load_error(spec, tensors);
  EXPECT_EQ(e.kind(), ErrorKind::kInvalidFile);
  EXPECT_NE(std::string(e.what()).find("'model.norm.weight' has dtype I32; weights must be F32, F16 or BF16"),
            std::string::npos)
      << e.what();
}

TEST(LlamaWeights, TiedCheckpointMayCarryLmHeadAndInvFreq) {
  TinySpec spec;
  spec.tied = true;
  std::vector<NamedTensor> tensors = make_tiny_tensors(spec, 1);
  tensors.push_back({"lm_head.weight", {spec.vocab, spec.hidden}, find(tensors, "model.embed_tokens.weight").values});
  tensors.push_back({"model.layers.0.self_attn.rotary_emb.inv_freq", {8}, std::vector<float>(8, 1.0f)});
  TempDir dir;
  write_tiny_checkpoint(dir.path(), spec, tensors);
  CpuBackend backend({.n_threads = 1});
  LlamaWeights w = load_llama_weights(dir.path(), load_model_config(dir.path()), backend, {.host_memory = true});
  EXPECT_EQ(w.lm_head.data, w.embed_tokens.data);
}

TEST(LlamaWeights, HostBackendUsesTheMappedFileInPlaceAndCopiesOtherwise) {
  TinySpec spec;
  spec.dtype = DType::kBF16;
  TempDir dir;
  write_tiny_checkpoint(dir.path(), spec, make_tiny_tensors(spec, 5));
  const ModelConfig config = load_model_config(dir.path());
  CpuBackend backend({.n_threads = 1});
  LlamaWeights in_place = load_llama_weights(dir.path(), config, backend, {.host_memory = true});
  EXPECT_TRUE(in_place.buffers.empty());
  ASSERT_NE(in_place.checkpoint, nullptr);
  const TensorInfo* info = in_place.checkpoint->find("model.layers.1.self_attn.o_proj.weight");
  EXPECT_EQ(in_place.layers[1].o_proj.data, info->data.data());
  EXPECT_EQ(in_place.layers[1].o_proj.dtype, DType::kBF16);

  LlamaWeights copied = load_llama_weights(dir.path(), config, backend, {.host_memory = false});
  EXPECT_EQ(copied.checkpoint, nullptr);  // every tensor copied: files unmapped
  EXPECT_EQ(copied.buffers.size(), 2 + 9 * 2 + 1u);
  EXPECT_EQ(0, std::memcmp(copied.layers[1].o_proj.data, in_place.layers[1].o_proj.data, in_place.layers[1].o_proj.n_bytes()));
  EXPECT_EQ(copied.n_bytes, in_place.n_bytes);
}

TEST(LlamaWeights, ConfigTheForwardPassCannotRunIsRejected) {
  ModelConfig config;
  config.vocab_size = 10, config.hidden_size = 8, config.intermediate_size = 16, config.n_layers = 1;
  config.n_heads = 2, config.n_kv_heads = 2, config.head_dim = 3;
  LlamaWeights w;
  EXPECT_THROW(llama_weight_slots(config, w), Error);
  config.head_dim = 4, config.n_kv_heads = 0;
  EXPECT_THROW(llama_weight_slots(config, w), Error);
}

}  // namespace
}  // namespace swallow::test
