// The operations a compute backend (CPU, CUDA) provides to the model. The Llama forward pass in
// src/model is written once against this interface. Tensors live in the backend's memory; ops
// may run asynchronously and are ordered on the backend's one stream; synchronize() waits for
// them. A Backend is used by one thread at a time (the engine thread).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "backend/kv_cache.h"
#include "backend/sampling.h"
#include "backend/tensor.h"

namespace swallow {

// Owning handle of backend memory; freed by the backend that made it.
class Buffer {
 public:
  virtual ~Buffer() = default;
  virtual void* data() const = 0;
  virtual size_t n_bytes() const = 0;
};

// A recorded sequence of ops (a CUDA graph): replay() enqueues them again, with the arguments they
// were recorded with, on the backend that recorded them. The buffers they read may hold new
// contents; the buffers themselves must still exist.
class Graph {
 public:
  virtual ~Graph() = default;
  virtual void replay() = 0;
};

// Rotary embedding parameters: inv_freq[i] for i < head_dim / 2, already including llama3
// frequency scaling, computed on the host by the model and uploaded once.
struct RopeTable {
  const float* inv_freq = nullptr;  // [head_dim / 2] f32, backend memory
  int32_t head_dim = 0;
};

// Describes a ragged batch of tokens from several sequences for attention. Sequences are
// contiguous runs of tokens: tokens [seq_token_start[s], seq_token_start[s + 1]) belong to
// sequence s. A token at position p attends to positions [0, p] of its own sequence, read
// through that sequence's block table. Pointers marked (device) are in backend memory; the
// host copies let a backend plan its launches without a transfer.
struct AttentionBatch {
  int32_t n_tokens = 0;
  int32_t n_seqs = 0;
  const int32_t* token_pos = nullptr;        // [n_tokens] (device) position of each token
  const int32_t* slot_mapping = nullptr;     // [n_tokens] (device) cache slot = block * block_size + offset
  const int32_t* seq_token_start = nullptr;  // [n_seqs + 1] (device)
  const int32_t* block_tables = nullptr;     // [n_seqs, max_blocks_per_seq] (device), unused entries -1
  int32_t max_blocks_per_seq = 0;
  std::span<const int32_t> host_seq_token_start;  // [n_seqs + 1] host copy
  std::span<const int32_t> host_seq_len;          // [n_seqs] host: last position + 1 of each sequence
};

struct AttentionParams {
  int32_t n_heads = 0;
  int32_t n_kv_heads = 0;
  int32_t head_dim = 0;
  float scale = 1.0f;  // 1 / sqrt(head_dim)
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;
  // Dtype of activations between ops (f32 on the CPU reference path).
  virtual DType activation_dtype() const = 0;

  // --- memory ---
  virtual std::unique_ptr<Buffer> allocate(size_t n_bytes) = 0;
  // Bytes the backend could still allocate (device memory free; host: a budget).
  virtual size_t free_memory() const = 0;
  virtual void copy_to_device(void* dst, const void* src, size_t n_bytes) = 0;
  virtual void copy_to_host(void* dst, const void* src, size_t n_bytes) = 0;
  virtual void synchronize() = 0;
  virtual std::unique_ptr<KvCache> create_kv_cache(const KvCacheShape& shape) = 0;

  // --- ops (shapes in comments; n = number of tokens) ---
  // out[i, :] = table[ids[i], :]. table [n_vocab, d] weight dtype; ids [n] (device) i32; out [n, d].
  virtual void embedding(const Tensor& table, const int32_t* ids, const Tensor& out) = 0;
  // out = x / sqrt(mean(x^2) + eps) * weight, computed in f32. x, out [n, d]; weight [1, d].
  virtual void rms_norm(const Tensor& x, const Tensor& weight, float eps, const Tensor& out) = 0;
  // out = x @ w^T. x [n, k] activations; w [m, k] weights (bf16, f16 or f32); out [n, m].
  // Each out row must not depend on the other rows of x (batch invariance).
  virtual void matmul(const Tensor& x, const Tensor& w, const Tensor& out) = 0;
  // Rotates q [n, n_q_heads * head_dim] and k [n, n_kv_heads * head_dim] in place, HF
  // rotate_half convention, angle = pos * inv_freq computed in f32. positions [n] (device).
  virtual void rope(const Tensor& q, const Tensor& k, const int32_t* positions, const RopeTable& table) = 0;
  // Writes k, v [n, n_kv_heads * head_dim] into `layer` of the cache at batch.slot_mapping.
  virtual void store_kv(KvCache& cache, int32_t layer, const Tensor& k, const Tensor& v, const AttentionBatch& batch) = 0;
  // Causal attention of q [n, n_heads * head_dim] over the cached keys/values of each token's
  // sequence (positions [0, pos]); grouped-query: head h reads kv head h / (n_heads / n_kv_heads).
  virtual void attention(const KvCache& cache, int32_t layer, const Tensor& q, const AttentionBatch& batch,
                         const AttentionParams& params, const Tensor& out) = 0;
  // out = silu(gate) * up, all [n, f].
  virtual void silu_mul(const Tensor& gate, const Tensor& up, const Tensor& out) = 0;
  // out = a + b, all [n, d] (out may alias a).
  virtual void add(const Tensor& a, const Tensor& b, const Tensor& out) = 0;
  // out[i, :] = x[rows[i], :]. rows [m] (device); x [n, d]; out [m, d].
  virtual void gather_rows(const Tensor& x, const int32_t* rows, const Tensor& out) = 0;
  // Samples one token per row of logits [n_seqs, n_vocab] f32 with each row's parameters; results
  // come back to the host (only ids and requested logprobs leave the device).
  virtual void sample(const Tensor& logits, std::span<const SequenceSampling> seqs, std::span<SampledToken> out) = 0;
  // Converts any-dtype tensor rows into f32 host memory (debugging, `swallow logits`). dst [rows, cols].
  virtual void read_f32(const Tensor& x, float* dst) = 0;

  // --- fused ops (backend.cpp): the defaults run the ops above in order; a backend overrides one
  // where doing it in fewer passes pays, giving the same values as the default sequence. ---
  // outs[i] = x @ ws[i]^T for every i (the q, k and v projections of one input).
  virtual void matmuls(const Tensor& x, std::span<const Tensor> ws, std::span<const Tensor> outs);
  // out = silu(x @ gate_w^T) * (x @ up_w^T). x [n, k]; gate_w, up_w [f, k]; gate, up, out [n, f]
  // (gate and up are scratch a backend may leave unwritten).
  virtual void swiglu(const Tensor& x, const Tensor& gate_w, const Tensor& up_w, const Tensor& gate, const Tensor& up,
                      const Tensor& out);
  // hidden += delta, then normed = rms_norm(hidden) * weight. hidden, delta, normed [n, d].
  virtual void add_rms_norm(const Tensor& hidden, const Tensor& delta, const Tensor& weight, float eps,
                            const Tensor& normed);
  // rope(q, k) then store_kv(k, v) into `layer` of the cache.
  virtual void rope_store_kv(const Tensor& q, const Tensor& k, const Tensor& v, const RopeTable& table,
                             KvCache& cache, int32_t layer, const AttentionBatch& batch);

  // --- graph capture (backend.cpp defaults: not supported) ---
  virtual bool supports_graphs() const;
  // Ops enqueued between begin_capture() and end_capture() are recorded, not run; nothing may be
  // read back to the host meanwhile (sample, read_f32, copy_to_host). end_capture() ends the
  // recording also when it throws (an op could not be recorded), so a caller can always fall back.
  virtual void begin_capture();
  virtual std::unique_ptr<Graph> end_capture();
  // Changes whenever the backend moves a workspace that recorded ops may use: graphs recorded
  // under another value must not be replayed.
  virtual uint64_t workspace_generation() const;
};

}  // namespace swallow
