// The weights of a LlamaForCausalLM as backend tensors, bound by Hugging Face name and checked
// against the ModelConfig: from a checkpoint (used in place from the mapped files when the
// backend computes on host memory, else copied into backend buffers) or generated as dummy
// weights (dummy_weights.cpp). A LlamaWeights owns what its tensors point into (the checkpoint
// and/or backend buffers); it must not outlive the backend that made those buffers.
// Built once on one thread, read-only afterwards.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "core/dummy_hash.h"
#include "io/model_config.h"
#include "io/safetensors.h"

namespace swallow {

struct LlamaLayerWeights {
  Tensor input_norm;  // [1, hidden]
  Tensor q_proj;      // [n_heads * head_dim, hidden]
  Tensor k_proj;      // [n_kv_heads * head_dim, hidden]
  Tensor v_proj;      // [n_kv_heads * head_dim, hidden]
  Tensor o_proj;      // [hidden, n_heads * head_dim]
  Tensor post_norm;   // [1, hidden]
  Tensor gate_proj;   // [intermediate, hidden]
  Tensor up_proj;     // [intermediate, hidden]
  Tensor down_proj;   // [hidden, intermediate]
};

// Every tensor is in its stored dtype (F32, F16 or BF16), in backend memory.
struct LlamaWeights {
  Tensor embed_tokens;  // [vocab, hidden]
  std::vector<LlamaLayerWeights> layers;
  Tensor final_norm;    // [1, hidden]
  Tensor lm_head;       // [vocab, hidden]; the same memory as embed_tokens when tied
  uint64_t n_bytes = 0; // distinct weight bytes

  std::unique_ptr<Checkpoint> checkpoint;        // mapped files the tensors may point into
  std::vector<std::unique_ptr<Buffer>> buffers;  // backend memory the tensors may point into
};

enum class WeightRole { kEmbedding, kNorm, kLinear };

// One tensor the model expects: its Hugging Face name, the 2-D view the model uses and the shape
// stored in checkpoints ([cols] for norms, [rows, cols] otherwise).
struct WeightSlot {
  std::string name;
  WeightRole role = WeightRole::kLinear;
  int64_t rows = 0;
  int64_t cols = 0;
  const char* shape_formula = "";  // the stored shape in config terms, for error messages
  Tensor* tensor = nullptr;        // where the bound tensor goes
  std::vector<int64_t> stored_shape() const;
};

// The expected tensors of `config`, pointing into `weights` (whose layers it resizes). lm_head is
// listed only when the embeddings are not tied. Throws invalid_argument for a config the
// forward pass cannot run (non-positive sizes, heads not divisible by kv heads, odd head_dim).
std::vector<WeightSlot> llama_weight_slots(const ModelConfig& config, LlamaWeights& weights);

struct WeightLoadOptions {
  // The backend computes on host memory (CPU): use mapped tensors in place and fill dummy
  // weights directly in backend buffers instead of staging them and calling copy_to_device.
  bool host_memory = false;
  int n_threads = 0;  // threads for dummy generation and page prefetching; <= 0: all cores
  // Called now and then with (bytes done, bytes total) while weights are read or generated.
  std::function<void(uint64_t, uint64_t)> progress;
};

// Opens the safetensors of `model_dir` and binds every expected tensor. Throws swallow::Error
// naming the file and the tensor for missing, unexpected, misshapen or non-floating-point
// tensors. A tied checkpoint may also carry lm_head.weight, and old ones rotary_emb.inv_freq
// buffers; both are ignored as transformers does.
LlamaWeights load_llama_weights(const std::string& model_dir, const ModelConfig& config, Backend& backend,
                                const WeightLoadOptions& options);

// The spread of a dummy tensor: norms 1 +- 1/16; embeddings and linear weights uniform in +-a with
// a the largest power of two <= 1/sqrt(cols) (cols = in_features; hidden for the embedding).
dummy::Distribution dummy_distribution(const WeightSlot& slot);

// Dummy weights (DESIGN.md), bf16: element i of tensor `name` is
// dummy::value_bf16(dummy::name_seed(name), i, dummy_distribution(slot)). Throws
// resource_exhausted when the backend lacks the memory (the message gives the size).
LlamaWeights make_dummy_llama_weights(const ModelConfig& config, Backend& backend, const WeightLoadOptions& options);

}  // namespace swallow
