// CpuBackend: argument validation, work splitting over the thread pool, and the light ops
// (embedding, rms_norm, rope, store_kv, add, gather_rows, read_f32) written as plain loops.
// The heavy ops call the kernel table chosen at construction.
#include "backend/cpu/cpu_backend.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>

#include "backend/cpu/cpu_elements.h"
#include "backend/cpu/cpu_kv_cache.h"
#include "backend/cpu/cpu_sampler.h"
#include "core/error.h"

namespace swallow {
namespace {

using cpu::visit_float_dtype;

// Elements per thread-pool chunk for cheap element-wise ops.
constexpr int64_t kElementwiseChunk = 1 << 16;

std::string shape_str(const Tensor& t) {
  return std::string("[") + std::to_string(t.rows) + ", " + std::to_string(t.cols) + "] " + dtype_name(t.dtype);
}

void check_f32(const char* op, const char* name, const Tensor& t) {
  if (t.dtype != DType::kF32) throw invalid_argument(std::string(op) + ": " + name + " must be F32, got " + shape_str(t));
  if (t.data == nullptr && t.n_elements() > 0) throw invalid_argument(std::string(op) + ": " + name + " has no data");
}

void check_shape(const char* op, const char* name, const Tensor& t, int64_t rows, int64_t cols) {
  if (t.rows != rows || t.cols != cols) {
    throw invalid_argument(std::string(op) + ": " + name + " is " + shape_str(t) + ", expected [" +
                           std::to_string(rows) + ", " + std::to_string(cols) + "]");
  }
}

void check_index(const char* op, const char* what, int64_t index, int64_t limit) {
  if (index < 0 || index >= limit) {
    throw invalid_argument(std::string(op) + ": " + what + " " + std::to_string(index) + " out of range [0, " +
                           std::to_string(limit) + ")");
  }
}

// Rotates one token's heads in place: x [n_heads, head_dim] f32, HF rotate_half pairs (i, i + half).
void rotate_heads(float* x, int64_t n_heads, int32_t head_dim, const float* cos, const float* sin) {
  const int32_t half = head_dim / 2;
  for (int64_t h = 0; h < n_heads; ++h) {
    float* head = x + h * head_dim;
    for (int32_t i = 0; i < half; ++i) {
      const float x1 = head[i];
      const float x2 = head[i + half];
      head[i] = x1 * cos[i] - x2 * sin[i];
      head[i + half] = x2 * cos[i] + x1 * sin[i];
    }
  }
}

// The kernel table the options ask for (see CpuBackendOptions::kernels).
const cpu::CpuKernels* choose_kernels(const CpuBackendOptions& options) {
  if (options.reference_kernels) return &cpu::reference_kernels();
  std::string name = options.kernels;
  std::string source = "CpuBackendOptions::kernels";
  if (name.empty()) {
    const char* env = std::getenv("SWALLOW_CPU_KERNELS");
    if (env == nullptr || *env == '\0') return &cpu::best_kernels();
    name = env;
    source = "SWALLOW_CPU_KERNELS";
  }
  const cpu::CpuKernels* kernels = cpu::kernels_named(name);
  if (kernels == nullptr) {
    throw unsupported(source + "=" + name + ": this CPU or OS cannot run these kernels (best here: " +
                      cpu::best_kernels().name + ")");
  }
  return kernels;
}

}  // namespace

CpuBackend::CpuBackend(const CpuBackendOptions& options)
    : kernels_(choose_kernels(options)),
      budget_(std::make_shared<cpu::MemoryBudget>(options.memory_budget_bytes > 0 ? options.memory_budget_bytes
                                                                                  : cpu::physical_memory_bytes())),
      pool_(options.n_threads) {}

std::string CpuBackend::name() const {
  return std::string("cpu (") + kernels_->name + " kernels, " + std::to_string(pool_.n_threads()) + " threads)";
}

std::unique_ptr<Buffer> CpuBackend::allocate(size_t n_bytes) {
  return std::make_unique<cpu::HostBuffer>(budget_, n_bytes, "a buffer");
}

void CpuBackend::copy_to_device(void* dst, const void* src, size_t n_bytes) {
  if (n_bytes > 0) std::memcpy(dst, src, n_bytes);
}

void CpuBackend::copy_to_host(void* dst, const void* src, size_t n_bytes) {
  if (n_bytes > 0) std::memcpy(dst, src, n_bytes);
}

std::unique_ptr<KvCache> CpuBackend::create_kv_cache(const KvCacheShape& shape) {
  return std::make_unique<cpu::CpuKvCache>(shape, budget_);
}

void CpuBackend::embedding(const Tensor& table, const int32_t* ids, const Tensor& out) {
  check_f32("embedding", "out", out);
  check_shape("embedding", "out", out, out.rows, table.cols);
  for (int64_t i = 0; i < out.rows; ++i) check_index("embedding", "token id", ids[i], table.rows);
  visit_float_dtype(table.dtype, "embedding table", [&](auto elem) {
    using E = decltype(elem);
    const auto* rows = table.as<const typename E::Storage>();  // [n_vocab, d]
    pool_.parallel_for(out.rows, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) {
        const auto* src = rows + int64_t{ids[i]} * table.cols;
        float* dst = out.as<float>() + i * out.cols;
        for (int64_t c = 0; c < out.cols; ++c) dst[c] = E::load(src[c]);
      }
    });
  });
}

void CpuBackend::rms_norm(const Tensor& x, const Tensor& weight, float eps, const Tensor& out) {
  check_f32("rms_norm", "x", x);
  check_f32("rms_norm", "out", out);
  check_shape("rms_norm", "weight", weight, 1, x.cols);
  check_shape("rms_norm", "out", out, x.rows, x.cols);
  visit_float_dtype(weight.dtype, "rms_norm weight", [&](auto elem) {
    using E = decltype(elem);
    const auto* w = weight.as<const typename E::Storage>();  // [d]
    const int64_t d = x.cols;
    pool_.parallel_for(x.rows, [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r) {
        const float* src = x.as<const float>() + r * d;
        float* dst = out.as<float>() + r * d;
        double sum_squares = 0.0;  // HF: hidden.pow(2).mean(-1) in f32; squares rounded to f32
        for (int64_t c = 0; c < d; ++c) sum_squares += src[c] * src[c];
        const float variance = static_cast<float>(sum_squares / static_cast<double>(d));
        const float inv_rms = 1.0f / std::sqrt(variance + eps);
        for (int64_t c = 0; c < d; ++c) dst[c] = E::load(w[c]) * (src[c] * inv_rms);
      }
    }, std::max<int64_t>(1, kElementwiseChunk / std::max<int64_t>(1, d)));
  });
}

void CpuBackend::matmul(const Tensor& x, const Tensor& w, const Tensor& out) {
  check_f32("matmul", "x", x);
  check_f32("matmul", "out", out);
  check_shape("matmul", "w", w, w.rows, x.cols);
  check_shape("matmul", "out", out, x.rows, w.rows);
  if (w.dtype != DType::kF32 && w.dtype != DType::kBF16 && w.dtype != DType::kF16) {
    throw unsupported(std::string("matmul: weight dtype ") + dtype_name(w.dtype) + " (expected F32, BF16 or F16)");
  }
  const cpu::MatmulProblem problem{x.as<const float>(), w.data, w.dtype, out.as<float>(), x.rows, x.cols, w.rows};
  // Split the output columns (weight rows) so each thread streams its own share of the weights.
  pool_.parallel_for(w.rows, [&](int64_t begin, int64_t end) { kernels_->matmul(problem, begin, end); }, 16);
}

void CpuBackend::rope(const Tensor& q, const Tensor& k, const int32_t* positions, const RopeTable& table) {
  check_f32("rope", "q", q);
  check_f32("rope", "k", k);
  const int32_t head_dim = table.head_dim;
  if (head_dim <= 0 || head_dim % 2 != 0 || table.inv_freq == nullptr) {
    throw invalid_argument("rope: head_dim must be even and > 0 with an inv_freq table, got " + std::to_string(head_dim));
  }
  if (q.cols % head_dim != 0 || k.cols % head_dim != 0 || k.rows != q.rows) {
    throw invalid_argument("rope: q " + shape_str(q) + " and k " + shape_str(k) + " must have the same rows and a " +
                           "multiple of head_dim " + std::to_string(head_dim) + " columns");
  }
  const int32_t half = head_dim / 2;
  pool_.parallel_for(q.rows, [&](int64_t begin, int64_t end) {
    std::vector<float> cos(half), sin(half);  // [head_dim / 2] f32
    for (int64_t t = begin; t < end; ++t) {
      const float pos = static_cast<float>(positions[t]);
      for (int32_t i = 0; i < half; ++i) {
        const float angle = pos * table.inv_freq[i];  // HF: inv_freq @ position_ids in f32
        cos[i] = std::cos(angle);
        sin[i] = std::sin(angle);
      }
      rotate_heads(q.as<float>() + t * q.cols, q.cols / head_dim, head_dim, cos.data(), sin.data());
      rotate_heads(k.as<float>() + t * k.cols, k.cols / head_dim, head_dim, cos.data(), sin.data());
    }
  }, 4);
}

void CpuBackend::store_kv(KvCache& cache, int32_t layer, const Tensor& k, const Tensor& v, const AttentionBatch& batch) {
  const KvCacheShape& shape = cache.shape();
  const int64_t row = int64_t{shape.n_kv_heads} * shape.head_dim;
  check_f32("store_kv", "k", k);
  check_f32("store_kv", "v", v);
  check_shape("store_kv", "k", k, batch.n_tokens, row);
  check_shape("store_kv", "v", v, batch.n_tokens, row);
  const int64_t n_slots = int64_t{shape.n_blocks} * shape.block_size;
  for (int32_t t = 0; t < batch.n_tokens; ++t) check_index("store_kv", "slot_mapping entry", batch.slot_mapping[t], n_slots);
  visit_float_dtype(shape.dtype, "KV cache", [&](auto elem) {
    using E = decltype(elem);
    auto* keys = static_cast<typename E::Storage*>(cache.keys(layer));      // [n_slots, row]
    auto* values = static_cast<typename E::Storage*>(cache.values(layer));  // [n_slots, row]
    pool_.parallel_for(batch.n_tokens, [&](int64_t begin, int64_t end) {
      for (int64_t t = begin; t < end; ++t) {
        const int64_t slot = batch.slot_mapping[t];
        for (int64_t c = 0; c < row; ++c) {
          keys[slot * row + c] = E::store(k.as<const float>()[t * row + c]);
          values[slot * row + c] = E::store(v.as<const float>()[t * row + c]);
        }
      }
    }, std::max<int64_t>(1, kElementwiseChunk / row));
  });
}

void CpuBackend::attention(const KvCache& cache, int32_t layer, const Tensor& q, const AttentionBatch& batch,
                           const AttentionParams& params, const Tensor& out) {
  const KvCacheShape& shape = cache.shape();
  check_f32("attention", "q", q);
  check_f32("attention", "out", out);
  if (params.n_kv_heads != shape.n_kv_heads || params.head_dim != shape.head_dim || params.n_heads <= 0 ||
      params.n_heads % params.n_kv_heads != 0) {
    throw invalid_argument("attention: n_heads " + std::to_string(params.n_heads) + " / n_kv_heads " +
                           std::to_string(params.n_kv_heads) + " / head_dim " + std::to_string(params.head_dim) +
                           " do not fit the KV cache (n_kv_heads " + std::to_string(shape.n_kv_heads) +
                           ", head_dim " + std::to_string(shape.head_dim) + ")");
  }
  const int64_t q_cols = int64_t{params.n_heads} * params.head_dim;
  check_shape("attention", "q", q, batch.n_tokens, q_cols);
  check_shape("attention", "out", out, batch.n_tokens, q_cols);
  if (static_cast<int64_t>(batch.host_seq_token_start.size()) != int64_t{batch.n_seqs} + 1 ||
      batch.host_seq_token_start[0] != 0 || batch.host_seq_token_start[batch.n_seqs] != batch.n_tokens) {
    throw invalid_argument("attention: seq_token_start must have n_seqs + 1 entries from 0 to n_tokens");
  }
  // Sequence of every token, and every block-table entry the tokens will read.
  token_seq_.assign(static_cast<size_t>(batch.n_tokens), 0);
  const int64_t max_pos = int64_t{batch.max_blocks_per_seq} * shape.block_size;
  for (int32_t s = 0; s < batch.n_seqs; ++s) {
    const int32_t begin = batch.host_seq_token_start[s];
    const int32_t end = batch.host_seq_token_start[s + 1];
    if (end < begin) throw invalid_argument("attention: seq_token_start must not decrease");
    int32_t last_pos = -1;
    for (int32_t t = begin; t < end; ++t) {
      check_index("attention", "token position", batch.token_pos[t], max_pos);
      token_seq_[t] = s;
      last_pos = std::max(last_pos, batch.token_pos[t]);
    }
    const int32_t* table = batch.block_tables + int64_t{s} * batch.max_blocks_per_seq;
    const int32_t n_blocks_read = last_pos < 0 ? 0 : last_pos / shape.block_size + 1;
    for (int32_t b = 0; b < n_blocks_read; ++b) check_index("attention", "block table entry", table[b], shape.n_blocks);
  }
  const cpu::AttentionProblem problem{
      q.as<const float>(), out.as<float>(), cache.keys(layer), cache.values(layer), shape.dtype,
      batch.token_pos, token_seq_.data(), batch.block_tables, batch.max_blocks_per_seq, batch.n_tokens, shape.block_size,
      params.n_heads, params.n_kv_heads, params.head_dim, params.scale};
  pool_.parallel_for(int64_t{batch.n_tokens} * params.n_kv_heads,
                     [&](int64_t begin, int64_t end) { kernels_->attention(problem, begin, end); });
}

void CpuBackend::silu_mul(const Tensor& gate, const Tensor& up, const Tensor& out) {
  check_f32("silu_mul", "gate", gate);
  check_f32("silu_mul", "up", up);
  check_f32("silu_mul", "out", out);
  check_shape("silu_mul", "up", up, gate.rows, gate.cols);
  check_shape("silu_mul", "out", out, gate.rows, gate.cols);
  pool_.parallel_for(gate.n_elements(), [&](int64_t begin, int64_t end) {
    kernels_->silu_mul(gate.as<const float>() + begin, up.as<const float>() + begin, out.as<float>() + begin, end - begin);
  }, kElementwiseChunk);
}

void CpuBackend::add(const Tensor& a, const Tensor& b, const Tensor& out) {
  check_f32("add", "a", a);
  check_f32("add", "b", b);
  check_f32("add", "out", out);
  check_shape("add", "b", b, a.rows, a.cols);
  check_shape("add", "out", out, a.rows, a.cols);
  pool_.parallel_for(a.n_elements(), [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) out.as<float>()[i] = a.as<const float>()[i] + b.as<const float>()[i];
  }, kElementwiseChunk);
}

void CpuBackend::gather_rows(const Tensor& x, const int32_t* rows, const Tensor& out) {
  if (out.dtype != x.dtype) throw invalid_argument("gather_rows: out " + shape_str(out) + " must have x's dtype " + shape_str(x));
  check_shape("gather_rows", "out", out, out.rows, x.cols);
  for (int64_t i = 0; i < out.rows; ++i) check_index("gather_rows", "row", rows[i], x.rows);
  const size_t row_bytes = static_cast<size_t>(x.cols) * dtype_size(x.dtype);
  for (int64_t i = 0; i < out.rows; ++i) {
    std::memcpy(static_cast<uint8_t*>(out.data) + i * row_bytes, static_cast<const uint8_t*>(x.data) + rows[i] * row_bytes,
                row_bytes);
  }
}

void CpuBackend::sample(const Tensor& logits, std::span<const SequenceSampling> seqs, std::span<SampledToken> out) {
  check_f32("sample", "logits", logits);
  if (static_cast<int64_t>(seqs.size()) != logits.rows || out.size() != seqs.size()) {
    throw invalid_argument("sample: logits " + shape_str(logits) + ", " + std::to_string(seqs.size()) +
                           " sequences and " + std::to_string(out.size()) + " outputs must agree");
  }
  for (const SequenceSampling& seq : seqs) {
    if (seq.params == nullptr) throw invalid_argument("sample: a sequence has no sampling parameters");
  }
  pool_.parallel_for(logits.rows, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      std::span<const float> row(logits.as<const float>() + r * logits.cols, static_cast<size_t>(logits.cols));
      out[r] = cpu::sample_row(row, seqs[r]);
    }
  });
}

void CpuBackend::read_f32(const Tensor& x, float* dst) {
  if (x.dtype == DType::kI32) {
    for (int64_t i = 0; i < x.n_elements(); ++i) dst[i] = static_cast<float>(x.as<const int32_t>()[i]);
    return;
  }
  visit_float_dtype(x.dtype, "read_f32 tensor", [&](auto elem) {
    using E = decltype(elem);
    for (int64_t i = 0; i < x.n_elements(); ++i) dst[i] = E::load(x.as<const typename E::Storage>()[i]);
  });
}

}  // namespace swallow
