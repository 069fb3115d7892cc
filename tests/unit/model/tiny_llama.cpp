// Tiny checkpoint writer and CPU runner factory for the model tests.
#include "tiny_llama.h"

#include <atomic>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <unistd.h>

#include "backend/cpu/cpu_backend.h"
#include "io/model_config.h"
#include "io/safetensors.h"
#include "model/llama_weights.h"

namespace swallow::test {
namespace {

float round_to(DType dtype, float v) {
  if (dtype == DType::kBF16) return bf16_to_f32(f32_to_bf16(v));
  if (dtype == DType::kF16) return f16_to_f32(f32_to_f16(v));
  return v;
}

std::vector<uint8_t> encode(DType dtype, const std::vector<float>& values) {
  std::vector<uint8_t> bytes(values.size() * dtype_size(dtype));
  for (size_t i = 0; i < values.size(); ++i) {
    if (dtype == DType::kF32) {
      std::memcpy(&bytes[i * 4], &values[i], 4);
    } else if (dtype == DType::kI32) {
      const auto v = static_cast<int32_t>(values[i]);
      std::memcpy(&bytes[i * 4], &v, 4);
    } else {
      uint16_t h = dtype == DType::kBF16 ? f32_to_bf16(values[i]) : f32_to_f16(values[i]);
      std::memcpy(&bytes[i * 2], &h, 2);
    }
  }
  return bytes;
}

}  // namespace

std::vector<NamedTensor> make_tiny_tensors(const TinySpec& s, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<NamedTensor> out;
  auto add = [&](const std::string& name, std::vector<int64_t> shape, float center, float half_width) {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    std::uniform_real_distribution<float> u(-half_width, half_width);
    NamedTensor t{name, std::move(shape), std::vector<float>(static_cast<size_t>(n))};
    for (float& v : t.values) v = round_to(s.dtype, center + u(rng));
    out.push_back(std::move(t));
  };
  auto linear = [&](const std::string& name, int64_t rows, int64_t cols) {
    add(name, {rows, cols}, 0.0f, 2.0f / std::sqrt(static_cast<float>(cols)));
  };
  const int64_t q_dim = s.n_heads * s.head_dim, kv_dim = s.n_kv_heads * s.head_dim;
  add("model.embed_tokens.weight", {s.vocab, s.hidden}, 0.0f, 1.0f);
  for (int64_t i = 0; i < s.n_layers; ++i) {
    const std::string p = "model.layers." + std::to_string(i) + ".";
    add(p + "input_layernorm.weight", {s.hidden}, 1.0f, 0.2f);
    linear(p + "self_attn.q_proj.weight", q_dim, s.hidden);
    linear(p + "self_attn.k_proj.weight", kv_dim, s.hidden);
    linear(p + "self_attn.v_proj.weight", kv_dim, s.hidden);
    linear(p + "self_attn.o_proj.weight", s.hidden, q_dim);
    add(p + "post_attention_layernorm.weight", {s.hidden}, 1.0f, 0.2f);
    linear(p + "mlp.gate_proj.weight", s.intermediate, s.hidden);
    linear(p + "mlp.up_proj.weight", s.intermediate, s.hidden);
    linear(p + "mlp.down_proj.weight", s.hidden, s.intermediate);
  }
  add("model.norm.weight", {s.hidden}, 1.0f, 0.2f);
  if (!s.tied) linear("lm_head.weight", s.vocab, s.hidden);
  return out;
}

void write_tiny_checkpoint(const std::string& dir, const TinySpec& s, const std::vector<NamedTensor>& tensors) {
  std::filesystem::create_directories(dir);
  nlohmann::json config = {
      {"architectures", {"LlamaForCausalLM"}}, {"model_type", "llama"}, {"hidden_act", "silu"},
      {"vocab_size", s.vocab}, {"hidden_size", s.hidden}, {"intermediate_size", s.intermediate},
      {"num_hidden_layers", s.n_layers}, {"num_attention_heads", s.n_heads}, {"num_key_value_heads", s.n_kv_heads},
      {"head_dim", s.head_dim}, {"max_position_embeddings", s.max_positions}, {"rms_norm_eps", s.rms_norm_eps},
      {"rope_theta", s.rope_theta}, {"tie_word_embeddings", s.tied}, {"bos_token_id", 1}, {"eos_token_id", 2},
      {"torch_dtype", s.dtype == DType::kBF16 ? "bfloat16" : s.dtype == DType::kF16 ? "float16" : "float32"}};
  if (s.llama3_rope) {
    config["rope_scaling"] = {{"rope_type", "llama3"}, {"factor", 4.0}, {"low_freq_factor", 1.0},
                              {"high_freq_factor", 4.0}, {"original_max_position_embeddings", 32}};
  }
  std::ofstream(dir + "/config.json") << config.dump(2);

  std::vector<std::vector<uint8_t>> bytes;
  std::vector<TensorToWrite> to_write;
  for (const NamedTensor& t : tensors) bytes.push_back(encode(t.dtype.value_or(s.dtype), t.values));
  for (size_t i = 0; i < tensors.size(); ++i) {
    to_write.push_back({tensors[i].name, tensors[i].dtype.value_or(s.dtype), tensors[i].shape, bytes[i]});
  }
  write_safetensors(dir + "/model.safetensors", to_write);
}

TempDir::TempDir() {
  static std::atomic<int> counter{0};
  path_ = (std::filesystem::temp_directory_path() /
           ("swallow_model_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++)))
              .string();
  std::filesystem::remove_all(path_);
  std::filesystem::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::unique_ptr<LlamaRunner> make_cpu_runner(const std::string& dir, const RunnerSetup& setup) {
  ModelConfig config = load_model_config(dir);
  std::string kernels = setup.kernels;
  if (kernels.empty() && cpu::avx2_kernels() != nullptr) kernels = "avx2";
  auto backend = std::make_unique<CpuBackend>(CpuBackendOptions{
      .n_threads = setup.n_threads, .reference_kernels = setup.reference_kernels, .kernels = kernels});
  LlamaWeights weights = load_llama_weights(dir, config, *backend, {.host_memory = true, .n_threads = 1});
  return std::make_unique<LlamaRunner>(std::move(backend), config, std::move(weights),
                                       LlamaRunnerOptions{.kv_cache_bytes = setup.kv_cache_bytes,
                                                          .block_size = setup.block_size});
}

}  // namespace swallow::test
