// CudaBackend compute ops: argument validation (messages name the op, the tensor and the
// expected shape / dtype) and dispatch to the kernels, cuBLASLt or the small-batch matmul.
#include <algorithm>
#include <string>

#include "backend/cuda/attention.h"
#include "backend/cuda/cuda_backend.h"
#include "backend/cuda/cuda_check.h"
#include "core/error.h"

namespace swallow {
namespace {

std::string shape_str(const Tensor& t) {
  return "[" + std::to_string(t.rows) + ", " + std::to_string(t.cols) + "] " + dtype_name(t.dtype);
}

void check_float(const char* op, const char* name, const Tensor& t) {
  if (t.dtype == DType::kI32) {
    throw invalid_argument(std::string(op) + ": " + name + " must be F32, BF16 or F16, got " + shape_str(t));
  }
  if (t.data == nullptr && t.n_elements() > 0) throw invalid_argument(std::string(op) + ": " + name + " has no data");
}

void check_shape(const char* op, const char* name, const Tensor& t, int64_t rows, int64_t cols) {
  if (t.rows != rows || t.cols != cols) {
    throw invalid_argument(std::string(op) + ": " + name + " is " + shape_str(t) + ", expected [" + std::to_string(rows) +
                           ", " + std::to_string(cols) + "]");
  }
}

void check_same_dtype(const char* op, const char* name, const Tensor& t, const Tensor& like, const char* like_name) {
  if (t.dtype != like.dtype) {
    throw invalid_argument(std::string(op) + ": " + name + " " + shape_str(t) + " must have the dtype of " + like_name +
                           " " + shape_str(like));
  }
}

void check_grid_rows(const char* op, int64_t rows) {
  if (rows > int64_t{0x7fffffff}) throw unsupported(std::string(op) + ": " + std::to_string(rows) + " rows");
}

void check_rope(const char* op, const Tensor& q, const Tensor& k, const RopeTable& table) {
  check_float(op, "q", q);
  check_same_dtype(op, "k", k, q, "q");
  const int32_t head_dim = table.head_dim;
  if (head_dim <= 0 || head_dim % 2 != 0 || table.inv_freq == nullptr) {
    throw invalid_argument(std::string(op) + ": head_dim must be even and > 0 with an inv_freq table, got " +
                           std::to_string(head_dim));
  }
  if (q.cols % head_dim != 0 || k.cols % head_dim != 0 || k.rows != q.rows) {
    throw invalid_argument(std::string(op) + ": q " + shape_str(q) + " and k " + shape_str(k) +
                           " must have the same rows and a multiple of head_dim " + std::to_string(head_dim) +
                           " columns");
  }
  check_grid_rows(op, q.rows);
}

}  // namespace

Tensor CudaBackend::as_dtype(const Tensor& x, DType dtype, const char* op) {
  if (x.dtype == dtype) return x;
  Tensor converted{convert_scratch_.get(static_cast<size_t>(x.n_elements()) * dtype_size(dtype)), dtype, x.rows, x.cols};
  cuda::launch_convert(x, converted, ctx(op));
  return converted;
}

void CudaBackend::embedding(const Tensor& table, const int32_t* ids, const Tensor& out) {
  check_float("embedding", "table", table);
  check_float("embedding", "out", out);
  check_shape("embedding", "out", out, out.rows, table.cols);
  check_grid_rows("embedding", out.rows);
  cuda::launch_gather_rows(table, ids, out, ctx("embedding"));
}

void CudaBackend::rms_norm(const Tensor& x, const Tensor& weight, float eps, const Tensor& out) {
  check_float("rms_norm", "x", x);
  check_float("rms_norm", "weight", weight);
  check_same_dtype("rms_norm", "out", out, x, "x");
  check_shape("rms_norm", "weight", weight, 1, x.cols);
  check_shape("rms_norm", "out", out, x.rows, x.cols);
  check_grid_rows("rms_norm", x.rows);
  cuda::launch_rms_norm(x, weight, eps, out, ctx("rms_norm"));
}

void CudaBackend::check_matmul(const char* op, const Tensor& x, const Tensor& w, const Tensor& out) const {
  check_float(op, "x", x);
  check_float(op, "w", w);
  check_float(op, "out", out);
  check_shape(op, "w", w, w.rows, x.cols);
  check_shape(op, "out", out, x.rows, w.rows);
  if (!cuda::CublasLtMatmul::supported(w.dtype, out.dtype)) {
    throw unsupported(std::string(op) + ": " + dtype_name(w.dtype) + " weights with " + dtype_name(out.dtype) +
                      " output (expected the weight dtype or F32)");
  }
}

void CudaBackend::matmul(const Tensor& x, const Tensor& w, const Tensor& out) {
  check_matmul("matmul", x, w, out);
  if (x.rows == 0 || w.rows == 0) return;
  const Tensor x_in = as_dtype(x, w.dtype, "matmul");  // [n, k] in the weight dtype
  const cuda::LaunchContext c = ctx("matmul");
  if (cuda::gemv_supported(x_in, w, out)) {
    cuda::launch_gemv(x_in, &w, &out, 1, c);
  } else {
    cublas_->run(x_in, w, out, cublas_workspace_->data(), cublas_workspace_->n_bytes(), c.stream);
  }
}

void CudaBackend::matmuls(const Tensor& x, std::span<const Tensor> ws, std::span<const Tensor> outs) {
  if (ws.size() != outs.size()) throw invalid_argument("matmuls: as many outputs as weights are needed");
  for (size_t i = 0; i < ws.size(); ++i) check_matmul("matmuls", x, ws[i], outs[i]);
  if (ws.empty() || x.rows == 0) return;
  // One launch when x is already in the weights' dtype and the small-batch kernel fits every pair;
  // otherwise one matmul each (which converts x as needed).
  bool fused = ws.size() <= static_cast<size_t>(cuda::kGemvMaxSegments);
  for (size_t i = 0; i < ws.size() && fused; ++i) {
    fused = ws[i].dtype == ws[0].dtype && outs[i].dtype == outs[0].dtype && cuda::gemv_supported(x, ws[i], outs[i]);
  }
  if (!fused) {
    Backend::matmuls(x, ws, outs);
    return;
  }
  cuda::launch_gemv(x, ws.data(), outs.data(), static_cast<int>(ws.size()), ctx("matmuls"));
}

void CudaBackend::swiglu(const Tensor& x, const Tensor& gate_w, const Tensor& up_w, const Tensor& gate,
                         const Tensor& up, const Tensor& out) {
  check_matmul("swiglu", x, gate_w, gate);
  check_matmul("swiglu", x, up_w, up);
  check_float("swiglu", "out", out);
  check_shape("swiglu", "out", out, gate.rows, gate.cols);
  if (x.rows == 0 || gate_w.rows == 0) return;
  // One launch when x and out are in the weights' dtype and the small-batch kernel fits; otherwise
  // the two matmuls (converting x as needed) and silu_mul.
  const bool fused = up_w.dtype == gate_w.dtype && out.dtype == gate_w.dtype && cuda::gemv_supported(x, gate_w, out) &&
                     cuda::gemv_supported(x, up_w, out);
  if (!fused) {
    Backend::swiglu(x, gate_w, up_w, gate, up, out);
    return;
  }
  cuda::launch_swiglu_gemv(x, gate_w, up_w, out, ctx("swiglu"));
}

void CudaBackend::rope(const Tensor& q, const Tensor& k, const int32_t* positions, const RopeTable& table) {
  check_rope("rope", q, k, table);
  cuda::launch_rope(q, k, positions, table.inv_freq, table.head_dim, ctx("rope"));
}

cuda::StoreKvArgs CudaBackend::store_kv_args(const char* op, KvCache& cache, int32_t layer, const Tensor& k,
                                             const Tensor& v, const AttentionBatch& batch) const {
  const KvCacheShape& shape = cache.shape();
  const int64_t row = int64_t{shape.n_kv_heads} * shape.head_dim;
  check_float(op, "k", k);
  check_same_dtype(op, "v", v, k, "k");
  check_shape(op, "k", k, batch.n_tokens, row);
  check_shape(op, "v", v, batch.n_tokens, row);
  check_grid_rows(op, k.rows);
  cuda::StoreKvArgs args;
  args.k = k;
  args.v = v;
  args.slot_mapping = batch.slot_mapping;
  args.k_cache = cache.keys(layer);
  args.v_cache = cache.values(layer);
  args.cache_dtype = shape.dtype;
  args.n_slots = int64_t{shape.n_blocks} * shape.block_size;
  return args;
}

void CudaBackend::store_kv(KvCache& cache, int32_t layer, const Tensor& k, const Tensor& v, const AttentionBatch& batch) {
  cuda::launch_store_kv(store_kv_args("store_kv", cache, layer, k, v, batch), ctx("store_kv"));
}

void CudaBackend::rope_store_kv(const Tensor& q, const Tensor& k, const Tensor& v, const RopeTable& table,
                                KvCache& cache, int32_t layer, const AttentionBatch& batch) {
  check_rope("rope_store_kv", q, k, table);
  const cuda::StoreKvArgs args = store_kv_args("rope_store_kv", cache, layer, k, v, batch);
  cuda::launch_rope_store_kv(q, batch.token_pos, table.inv_freq, table.head_dim, args, ctx("rope_store_kv"));
}

void CudaBackend::attention(const KvCache& cache, int32_t layer, const Tensor& q, const AttentionBatch& batch,
                            const AttentionParams& params, const Tensor& out) {
  const KvCacheShape& shape = cache.shape();
  check_float("attention", "q", q);
  check_same_dtype("attention", "out", out, q, "q");
  if (params.n_kv_heads != shape.n_kv_heads || params.head_dim != shape.head_dim || params.n_heads <= 0 ||
      params.n_kv_heads <= 0 || params.n_heads % params.n_kv_heads != 0) {
    throw invalid_argument("attention: n_heads " + std::to_string(params.n_heads) + " / n_kv_heads " +
                           std::to_string(params.n_kv_heads) + " / head_dim " + std::to_string(params.head_dim) +
                           " do not fit the KV cache (n_kv_heads " + std::to_string(shape.n_kv_heads) + ", head_dim " +
                           std::to_string(shape.head_dim) + ")");
  }
  const int64_t q_cols = int64_t{params.n_heads} * params.head_dim;
  check_shape("attention", "q", q, batch.n_tokens, q_cols);
  check_shape("attention", "out", out, batch.n_tokens, q_cols);
  const auto& starts = batch.host_seq_token_start;
  if (batch.n_seqs <= 0 || static_cast<int64_t>(starts.size()) != int64_t{batch.n_seqs} + 1 || starts[0] != 0 ||
      starts[batch.n_seqs] != batch.n_tokens) {
    throw invalid_argument("attention: host_seq_token_start must have n_seqs + 1 entries from 0 to n_tokens");
  }
  if (batch.n_tokens == 0) return;
  cuda::AttentionArgs args;
  for (int32_t s = 0; s < batch.n_seqs; ++s) {
    if (starts[s + 1] < starts[s]) throw invalid_argument("attention: seq_token_start must not decrease");
    args.max_q_len = std::max(args.max_q_len, starts[s + 1] - starts[s]);
  }
  const int32_t table_keys = batch.max_blocks_per_seq * shape.block_size;
  if (static_cast<int64_t>(batch.host_seq_len.size()) == batch.n_seqs) {
    for (int32_t len : batch.host_seq_len) args.max_context = std::max(args.max_context, len);
    args.max_context = std::min(args.max_context, table_keys);
  } else {
    args.max_context = table_keys;  // no host lengths: bound by the block tables
  }
  args.q = q.data;
  args.out = out.data;
  args.q_dtype = q.dtype;
  args.k_cache = cache.keys(layer);
  args.v_cache = cache.values(layer);
  args.kv_dtype = shape.dtype;
  args.token_pos = batch.token_pos;
  args.seq_token_start = batch.seq_token_start;
  args.block_tables = batch.block_tables;
  args.n_tokens = batch.n_tokens;
  args.n_seqs = batch.n_seqs;
  args.max_blocks_per_seq = batch.max_blocks_per_seq;
  args.block_size = shape.block_size;
  args.n_blocks = shape.n_blocks;
  args.n_heads = params.n_heads;
  args.n_kv_heads = params.n_kv_heads;
  args.head_dim = params.head_dim;
  args.scale = params.scale;
  const cuda::LaunchContext c = ctx("attention");
  if (args.max_q_len > 1 && cuda::prefill_attention_supported(args)) {
    cuda::launch_prefill_attention(args, c);
    return;
  }
  const int32_t group = params.n_heads / params.n_kv_heads;
  if (params.head_dim > cuda::kDecodeMaxHeadDim || int64_t{group} * params.head_dim > cuda::kDecodeMaxGroupElems) {
    throw unsupported("attention: head_dim " + std::to_string(params.head_dim) + " with " + std::to_string(group) +
                      " query heads per kv head exceeds the CUDA kernels' limits (head_dim <= " +
                      std::to_string(cuda::kDecodeMaxHeadDim) + ", group * head_dim <= " +
                      std::to_string(cuda::kDecodeMaxGroupElems) + ")");
  }
  const cuda::DecodeSplit split = cuda::plan_decode_split(args, n_sms_);
  const size_t workspace_bytes = cuda::decode_workspace_bytes(args, split);
  auto* workspace = workspace_bytes > 0 ? static_cast<float*>(attention_scratch_.get(workspace_bytes)) : nullptr;
  cuda::launch_decode_attention(args, split, workspace, c);
}

void CudaBackend::silu_mul(const Tensor& gate, const Tensor& up, const Tensor& out) {
  check_float("silu_mul", "gate", gate);
  check_same_dtype("silu_mul", "up", up, gate, "gate");
  check_same_dtype("silu_mul", "out", out, gate, "gate");
  check_shape("silu_mul", "up", up, gate.rows, gate.cols);
  check_shape("silu_mul", "out", out, gate.rows, gate.cols);
  cuda::launch_silu_mul(gate, up, out, ctx("silu_mul"));
}

void CudaBackend::add(const Tensor& a, const Tensor& b, const Tensor& out) {
  check_float("add", "a", a);
  check_same_dtype("add", "b", b, a, "a");
  check_same_dtype("add", "out", out, a, "a");
  check_shape("add", "b", b, a.rows, a.cols);
  check_shape("add", "out", out, a.rows, a.cols);
  cuda::launch_add(a, b, out, ctx("add"));
}

void CudaBackend::add_rms_norm(const Tensor& hidden, const Tensor& delta, const Tensor& weight, float eps,
                               const Tensor& normed) {
  check_float("add_rms_norm", "hidden", hidden);
  check_float("add_rms_norm", "weight", weight);
  check_same_dtype("add_rms_norm", "delta", delta, hidden, "hidden");
  check_same_dtype("add_rms_norm", "normed", normed, hidden, "hidden");
  check_shape("add_rms_norm", "delta", delta, hidden.rows, hidden.cols);
  check_shape("add_rms_norm", "weight", weight, 1, hidden.cols);
  check_shape("add_rms_norm", "normed", normed, hidden.rows, hidden.cols);
  check_grid_rows("add_rms_norm", hidden.rows);
  cuda::launch_add_rms_norm(hidden, delta, weight, eps, normed, ctx("add_rms_norm"));
}

void CudaBackend::gather_rows(const Tensor& x, const int32_t* rows, const Tensor& out) {
  check_shape("gather_rows", "out", out, out.rows, x.cols);
  check_grid_rows("gather_rows", out.rows);
  if (x.dtype == DType::kI32 || out.dtype == DType::kI32) {
    // Integer rows are copied bit for bit through the f32 path.
    check_same_dtype("gather_rows", "out", out, x, "x");
    cuda::launch_gather_rows({x.data, DType::kF32, x.rows, x.cols}, rows, {out.data, DType::kF32, out.rows, out.cols},
                             ctx("gather_rows"));
    return;
  }
  check_float("gather_rows", "x", x);
  check_float("gather_rows", "out", out);
  cuda::launch_gather_rows(x, rows, out, ctx("gather_rows"));
}

}  // namespace swallow
