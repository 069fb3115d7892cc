// The LlamaForCausalLM weight map and checkpoint binding: every expected tensor is looked up,
// checked (presence, shape, dtype) and bound in place or copied into backend memory (cast to the
// backend's activation dtype there when the backend computes in a 16-bit type).
#include "model/llama_weights.h"

#include <algorithm>
#include <cstring>
#include <set>

#include "core/error.h"
#include "core/thread_pool.h"

namespace swallow {
namespace {

std::string shape_string(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

void check_config(const ModelConfig& c) {
  const std::pair<const char*, int64_t> sizes[] = {
      {"vocab_size", c.vocab_size}, {"hidden_size", c.hidden_size}, {"intermediate_size", c.intermediate_size},
      {"num_hidden_layers", c.n_layers}, {"num_attention_heads", c.n_heads}, {"num_key_value_heads", c.n_kv_heads},
      {"head_dim", c.head_dim}};
  for (const auto& [field, value] : sizes) {
    if (value <= 0 || value > INT32_MAX) {
      throw invalid_argument("model config: " + std::string(field) + " is " + std::to_string(value) +
                             "; expected a positive 32-bit size");
    }
  }
  if (c.n_heads % c.n_kv_heads != 0) {
    throw invalid_argument("model config: num_key_value_heads " + std::to_string(c.n_kv_heads) +
                           " must divide num_attention_heads " + std::to_string(c.n_heads));
  }
  if (c.head_dim % 2 != 0) throw invalid_argument("model config: head_dim " + std::to_string(c.head_dim) + " must be even");
}

bool is_float(DType t) { return t == DType::kF32 || t == DType::kF16 || t == DType::kBF16; }

bool ignored_tensor(const std::string& name, const ModelConfig& config) {
  constexpr std::string_view kInvFreq = ".rotary_emb.inv_freq";
  bool inv_freq = name.size() >= kInvFreq.size() && name.compare(name.size() - kInvFreq.size(), kInvFreq.size(), kInvFreq) == 0;
  return inv_freq || (config.tie_word_embeddings && name == "lm_head.weight");
}

void check_no_unexpected(const Checkpoint& ckpt, const std::vector<WeightSlot>& slots, const ModelConfig& config,
                         const std::string& model_dir) {
  std::set<std::string, std::less<>> expected;
  for (const WeightSlot& s : slots) expected.insert(s.name);
  std::vector<std::string> unexpected;
  for (const std::string& name : ckpt.names()) {
    if (!expected.contains(name) && !ignored_tensor(name, config)) unexpected.push_back(name);
  }
  if (unexpected.empty()) return;
  std::string more = unexpected.size() > 1 ? " (and " + std::to_string(unexpected.size() - 1) + " more)" : "";
  throw invalid_file(ckpt.find(unexpected[0])->file,
                     "unexpected tensor '" + unexpected[0] + "'" + more + ": not part of a LlamaForCausalLM with " +
                         std::to_string(config.n_layers) + " layers" +
                         (config.tie_word_embeddings ? " and tied embeddings" : "") + " as config.json in " +
                         model_dir + " describes");
}

const TensorInfo& checked_tensor(const Checkpoint& ckpt, const WeightSlot& slot, const std::string& model_dir) {
  const std::vector<int64_t> shape = slot.stored_shape();
  const TensorInfo* info = ckpt.find(slot.name);
  if (info == nullptr) {
    throw not_found(model_dir + ": tensor '" + slot.name + "' is missing from the checkpoint (expected shape " +
                    shape_string(shape) + " = " + slot.shape_formula + ")");
  }
  if (info->shape != shape) {
    throw invalid_file(info->file, "tensor '" + slot.name + "' has shape " + shape_string(info->shape) +
                                       ", expected " + shape_string(shape) + " = " + slot.shape_formula +
                                       " from config.json");
  }
  if (!is_float(info->dtype)) {
    throw invalid_file(info->file, "tensor '" + slot.name + "' has dtype " + dtype_name(info->dtype) +
                                       "; weights must be F32, F16 or BF16");
  }
  return *info;
}

// Reads one byte of every page so that the first forward pass does not stall on page faults.
void prefetch(ThreadPool& pool, std::span<const uint8_t> bytes) {
  constexpr int64_t kPage = 4096;
  const int64_t n_pages = (static_cast<int64_t>(bytes.size()) + kPage - 1) / kPage;
  pool.parallel_for(n_pages, [&](int64_t begin, int64_t end) {
    uint8_t sum = 0;
    for (int64_t p = begin; p < end; ++p) sum ^= *static_cast<const volatile uint8_t*>(&bytes[p * kPage]);
    (void)sum;
  }, 256);
}

// The tensor's values as `to` (bf16 or f16), converted on the host by the pool. Device backends
// take weights in their activation dtype, so an f32 (or other 16-bit) checkpoint is cast once at
// load, as vLLM casts a checkpoint to the model dtype.
std::vector<uint16_t> cast_to_16bit(ThreadPool& pool, const TensorInfo& info, DType to) {
  const size_t n = info.data.size() / dtype_size(info.dtype);
  std::vector<uint16_t> out(n);
  const uint8_t* src = info.data.data();
  const auto convert = [&](int64_t begin, int64_t end) {
    for (auto i = static_cast<size_t>(begin); i < static_cast<size_t>(end); ++i) {
      float x = 0;
      if (info.dtype == DType::kF32) {
        std::memcpy(&x, src + i * 4, 4);
      } else {
        uint16_t h = 0;
        std::memcpy(&h, src + i * 2, 2);
        x = info.dtype == DType::kBF16 ? bf16_to_f32(h) : f16_to_f32(h);
      }
      out[i] = to == DType::kBF16 ? f32_to_bf16(x) : f32_to_f16(x);
    }
  };
  pool.parallel_for(static_cast<int64_t>(n), convert, int64_t{1} << 16);
  return out;
}

}  // namespace

std::vector<int64_t> WeightSlot::stored_shape() const {
  if (role == WeightRole::kNorm) return {cols};
  return {rows, cols};
}

std::vector<WeightSlot> llama_weight_slots(const ModelConfig& c, LlamaWeights& w) {
  check_config(c);
  const int64_t d = c.hidden_size;
  const int64_t q_dim = c.n_heads * c.head_dim;
  const int64_t kv_dim = c.n_kv_heads * c.head_dim;
  const int64_t f = c.intermediate_size;
  w.layers.assign(static_cast<size_t>(c.n_layers), {});
  std::vector<WeightSlot> slots;
  slots.push_back({"model.embed_tokens.weight", WeightRole::kEmbedding, c.vocab_size, d, "[vocab_size, hidden_size]",
                   &w.embed_tokens});
  for (int64_t i = 0; i < c.n_layers; ++i) {
    const std::string p = "model.layers." + std::to_string(i) + ".";
    LlamaLayerWeights& l = w.layers[static_cast<size_t>(i)];
    slots.push_back({p + "input_layernorm.weight", WeightRole::kNorm, 1, d, "[hidden_size]", &l.input_norm});
    slots.push_back({p + "self_attn.q_proj.weight", WeightRole::kLinear, q_dim, d,
                     "[num_attention_heads * head_dim, hidden_size]", &l.q_proj});
    slots.push_back({p + "self_attn.k_proj.weight", WeightRole::kLinear, kv_dim, d,
                     "[num_key_value_heads * head_dim, hidden_size]", &l.k_proj});
    slots.push_back({p + "self_attn.v_proj.weight", WeightRole::kLinear, kv_dim, d,
                     "[num_key_value_heads * head_dim, hidden_size]", &l.v_proj});
    slots.push_back({p + "self_attn.o_proj.weight", WeightRole::kLinear, d, q_dim,
                     "[hidden_size, num_attention_heads * head_dim]", &l.o_proj});
    slots.push_back({p + "post_attention_layernorm.weight", WeightRole::kNorm, 1, d, "[hidden_size]", &l.post_norm});
    slots.push_back({p + "mlp.gate_proj.weight", WeightRole::kLinear, f, d, "[intermediate_size, hidden_size]",
                     &l.gate_proj});
    slots.push_back({p + "mlp.up_proj.weight", WeightRole::kLinear, f, d, "[intermediate_size, hidden_size]",
                     &l.up_proj});
    slots.push_back({p + "mlp.down_proj.weight", WeightRole::kLinear, d, f, "[hidden_size, intermediate_size]",
                     &l.down_proj});
  }
  slots.push_back({"model.norm.weight", WeightRole::kNorm, 1, d, "[hidden_size]", &w.final_norm});
  if (!c.tie_word_embeddings) {
    slots.push_back({"lm_head.weight", WeightRole::kLinear, c.vocab_size, d, "[vocab_size, hidden_size]", &w.lm_head});
  }
  return slots;
}

LlamaWeights load_llama_weights(const std::string& model_dir, const ModelConfig& config, Backend& backend,
                                const WeightLoadOptions& options) {
  LlamaWeights w;
  w.checkpoint = std::make_unique<Checkpoint>(Checkpoint::open(model_dir));
  const std::vector<WeightSlot> slots = llama_weight_slots(config, w);
  std::vector<const TensorInfo*> infos;
  for (const WeightSlot& slot : slots) infos.push_back(&checked_tensor(*w.checkpoint, slot, model_dir));
  check_no_unexpected(*w.checkpoint, slots, config, model_dir);

  const DType compute = backend.activation_dtype();
  const auto stored_dtype = [&](const TensorInfo& info) {
    return options.host_memory || compute == DType::kF32 ? info.dtype : compute;
  };
  for (const TensorInfo* info : infos) {
    w.n_bytes += info->data.size() / dtype_size(info->dtype) * dtype_size(stored_dtype(*info));
  }
  ThreadPool pool(options.n_threads);
  uint64_t done = 0;
  for (size_t i = 0; i < slots.size(); ++i) {
    const TensorInfo& info = *infos[i];
    const DType dtype = stored_dtype(info);
    void* data = const_cast<uint8_t*>(info.data.data());  // weights are never written
    const bool aligned = reinterpret_cast<uintptr_t>(data) % dtype_size(info.dtype) == 0;
    if (options.host_memory && aligned) {
      prefetch(pool, info.data);
    } else if (dtype == info.dtype) {
      std::unique_ptr<Buffer> buffer = backend.allocate(info.data.size());
      backend.copy_to_device(buffer->data(), info.data.data(), info.data.size());
      data = buffer->data();
      w.buffers.push_back(std::move(buffer));
    } else {
      const std::vector<uint16_t> cast = cast_to_16bit(pool, info, dtype);
      std::unique_ptr<Buffer> buffer = backend.allocate(cast.size() * sizeof(uint16_t));
      backend.copy_to_device(buffer->data(), cast.data(), cast.size() * sizeof(uint16_t));
      data = buffer->data();
      w.buffers.push_back(std::move(buffer));
    }
    *slots[i].tensor = {data, dtype, slots[i].rows, slots[i].cols};
    done += info.data.size() / dtype_size(info.dtype) * dtype_size(dtype);
    if (options.progress) options.progress(done, w.n_bytes);
  }
  if (config.tie_word_embeddings) w.lm_head = w.embed_tokens;
  if (w.buffers.size() == slots.size()) w.checkpoint.reset();  // everything was copied: unmap
  backend.synchronize();
  return w;
}

}  // namespace swallow
