// Host-callable launchers of the CUDA backend's element-wise, rotary, KV-store and small-batch
// matmul kernels (implemented in *.cu). Each validates nothing beyond what the kernel needs:
// CudaBackend checks shapes and dtypes first. Launches are asynchronous on ctx.stream and are
// checked with cudaGetLastError (throwing swallow::Error that names `op`). Thread-safe as long
// as each stream is used by one thread.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "backend/tensor.h"
#include "core/dummy_hash.h"

namespace swallow::cuda {

// Bits the kernels OR into the device status word when they meet an index they must not
// follow; they skip that element instead of touching memory out of bounds. The backend reads
// the word at its next host synchronisation and throws a swallow::Error naming the problem.
enum StatusBit : uint32_t {
  kStatusBadRowIndex = 1u << 0,   // embedding / gather_rows index outside the table
  kStatusBadSlot = 1u << 1,       // store_kv slot outside the cache
  kStatusBadBlock = 1u << 2,      // attention block-table entry outside the cache
  kStatusBadPosition = 1u << 3,   // attention position beyond the block table
  kStatusBadLogits = 1u << 4,     // sample: the largest logit is not finite
};

struct LaunchContext {
  cudaStream_t stream = nullptr;
  uint32_t* status = nullptr;     // [1] device word of StatusBit flags
  const char* op = "";            // names the backend op in errors
  bool dependent_launch = false;  // let kernels start before the previous one ends (dependent_launch.cuh)
};

// out[i, :] = convert(src[rows[i], :]); rows [out.rows] i32 (device). src, out any float dtype.
void launch_gather_rows(const Tensor& src, const int32_t* rows, const Tensor& out, const LaunchContext& ctx);
// out = x * rsqrt(mean(x^2) + eps) * weight in f32; x, out [n, d] same dtype; weight [1, d].
void launch_rms_norm(const Tensor& x, const Tensor& weight, float eps, const Tensor& out, const LaunchContext& ctx);
// out = silu(gate) * up, all [n, f] of one dtype.
void launch_silu_mul(const Tensor& gate, const Tensor& up, const Tensor& out, const LaunchContext& ctx);
// out = a + b, all [n, d] of one dtype (out may alias a or b).
void launch_add(const Tensor& a, const Tensor& b, const Tensor& out, const LaunchContext& ctx);
// hidden += delta (rounded to hidden's dtype), then normed = rms_norm(hidden) * weight exactly as
// launch_rms_norm computes it. hidden, delta, normed [n, d] one dtype; weight [1, d].
void launch_add_rms_norm(const Tensor& hidden, const Tensor& delta, const Tensor& weight, float eps,
                         const Tensor& normed, const LaunchContext& ctx);
// dst = src with dtype conversion; same number of elements.
void launch_convert(const Tensor& src, const Tensor& dst, const LaunchContext& ctx);

// In-place HF rotate_half rotary embedding of q [n, n_q_heads * head_dim] and k [n, n_kv_heads *
// head_dim] (one dtype), angle = positions[t] * inv_freq[i] in f32. inv_freq [head_dim / 2] f32.
void launch_rope(const Tensor& q, const Tensor& k, const int32_t* positions, const float* inv_freq, int32_t head_dim,
                 const LaunchContext& ctx);

struct StoreKvArgs {
  Tensor k;                             // [n, row] (row = n_kv_heads * head_dim)
  Tensor v;                             // [n, row], k's dtype
  const int32_t* slot_mapping = nullptr;  // [n] (device); negative: skip the token
  void* k_cache = nullptr;              // [n_slots, row] cache_dtype
  void* v_cache = nullptr;              // [n_slots, row] cache_dtype
  DType cache_dtype = DType::kBF16;
  int64_t n_slots = 0;
};
void launch_store_kv(const StoreKvArgs& args, const LaunchContext& ctx);
// launch_rope on q and args.k, then launch_store_kv(args), in one launch (one block per token
// and head).
void launch_rope_store_kv(const Tensor& q, const int32_t* positions, const float* inv_freq, int32_t head_dim,
                          const StoreKvArgs& args, const LaunchContext& ctx);

// Memory-bound matmul for few rows: out = x @ w^T with x [n, k] in w's dtype (BF16 or F16),
// w [m, k], out [n, m] in w's dtype or F32. True when the shapes/alignment suit the kernel.
bool gemv_supported(const Tensor& x, const Tensor& w, const Tensor& out);
// Largest number of rows the small-batch kernels handle, and of weights one launch serves.
constexpr int64_t kGemvMaxRows = 8;
constexpr int kGemvMaxSegments = 4;
// outs[i] = x @ ws[i]^T for i < count (<= kGemvMaxSegments) in one launch. gemv_supported holds
// for every (x, ws[i], outs[i]); all ws share one dtype and all outs another.
void launch_gemv(const Tensor& x, const Tensor* ws, const Tensor* outs, int count, const LaunchContext& ctx);
// out = silu(x @ gate^T) * (x @ up^T) in one launch, each product rounded to the weight dtype
// before the SwiGLU (as matmul + silu_mul do). gemv_supported holds for (x, gate, out) and
// (x, up, out); gate, up [f, k] one dtype; out [n, f] in that dtype.
void launch_swiglu_gemv(const Tensor& x, const Tensor& gate, const Tensor& up, const Tensor& out,
                        const LaunchContext& ctx);

// out[i] = dummy::value_bf16(seed, first + i, dist) for i < n; out [n] bf16 bits (device).
void launch_fill_dummy_bf16(uint16_t* out, int64_t n, uint64_t seed, const dummy::Distribution& dist, uint64_t first,
                            const LaunchContext& ctx);

}  // namespace swallow::cuda
