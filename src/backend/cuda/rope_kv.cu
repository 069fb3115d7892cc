// Rotary embedding (HF rotate_half, angles in f32), the paged KV-cache write, and both in one
// kernel (the model's path).
#include <algorithm>

#include "backend/cuda/cuda_check.h"
#include "backend/cuda/dependent_launch.cuh"
#include "backend/cuda/device_math.cuh"
#include "backend/cuda/kernels.h"

namespace swallow::cuda {
namespace {

constexpr int kRopeThreads = 128;
constexpr int kMaxHalfDim = 256;  // head_dim up to 512

// One block per token. q [n, n_q * head_dim] T, k [n, n_kv * head_dim] T, rotated in place.
template <typename T>
__global__ void rope_kernel(T* __restrict__ q, T* __restrict__ k, int32_t n_q_heads, int32_t n_kv_heads,
                            const int32_t* __restrict__ positions, const float* __restrict__ inv_freq,
                            int32_t head_dim) {
  __shared__ float cos_s[kMaxHalfDim];
  __shared__ float sin_s[kMaxHalfDim];
  const int32_t half = head_dim / 2;
  const int64_t t = blockIdx.x;
  const float pos = static_cast<float>(positions[t]);
  for (int i = threadIdx.x; i < half; i += blockDim.x) {
    const float angle = __fmul_rn(pos, inv_freq[i]);
    sincosf(angle, &sin_s[i], &cos_s[i]);
  }
  __syncthreads();
  const int32_t n_pairs = (n_q_heads + n_kv_heads) * half;
  for (int32_t p = threadIdx.x; p < n_pairs; p += blockDim.x) {
    const int32_t h = p / half;
    const int32_t i = p % half;
    T* head = h < n_q_heads ? q + (t * n_q_heads + h) * head_dim : k + (t * n_kv_heads + (h - n_q_heads)) * head_dim;
    const float x1 = to_f32(head[i]);
    const float x2 = to_f32(head[i + half]);
    head[i] = from_f32<T>(__fsub_rn(__fmul_rn(x1, cos_s[i]), __fmul_rn(x2, sin_s[i])));
    head[i + half] = from_f32<T>(__fadd_rn(__fmul_rn(x2, cos_s[i]), __fmul_rn(x1, sin_s[i])));
  }
}

// One block per token: k, v [n, row] TS -> caches [n_slots, row] TC at slot_mapping[t].
template <typename TS, typename TC, bool kVec>
__global__ void store_kv_kernel(const TS* __restrict__ k, const TS* __restrict__ v,
                                const int32_t* __restrict__ slot_mapping, TC* __restrict__ k_cache,
                                TC* __restrict__ v_cache, int64_t row, int64_t n_slots, uint32_t* status) {
  const int64_t t = blockIdx.x;
  const int64_t slot = slot_mapping[t];
  if (slot < 0) return;
  if (slot >= n_slots) {
    if (threadIdx.x == 0) atomicOr(status, kStatusBadSlot);
    return;
  }
  const TS* ks = k + t * row;
  const TS* vs = v + t * row;
  TC* kd = k_cache + slot * row;
  TC* vd = v_cache + slot * row;
  if constexpr (kVec) {
    for (int64_t c = threadIdx.x * 8; c < row; c += blockDim.x * 8) {
      float a[8], b[8];
      load8(ks + c, a);
      load8(vs + c, b);
      store8(kd + c, a);
      store8(vd + c, b);
    }
  } else {
    for (int64_t c = threadIdx.x; c < row; c += blockDim.x) {
      kd[c] = from_f32<TC>(to_f32(ks[c]));
      vd[c] = from_f32<TC>(to_f32(vs[c]));
    }
  }
}

// One block per (token, head) of q [n, n_q * head_dim] and k, v [n, n_kv * head_dim] TS: each
// thread rotates its pairs like rope_kernel; a kv head's block also writes the rotated k (as
// rounded to TS) and v to the caches [n_slots, n_kv * head_dim] TC at slot_mapping[t], as
// store_kv_kernel would. Many small blocks keep one decode token from running on a single SM.
template <typename TS, typename TC>
__global__ void rope_store_kv_kernel(TS* __restrict__ q, TS* __restrict__ k, const TS* __restrict__ v,
                                     int32_t n_q_heads, int32_t n_kv_heads, const int32_t* __restrict__ positions,
                                     const float* __restrict__ inv_freq, int32_t head_dim,
                                     const int32_t* __restrict__ slot_mapping, TC* __restrict__ k_cache,
                                     TC* __restrict__ v_cache, int64_t n_slots, uint32_t* status) {
  allow_next_kernel();
  wait_for_previous_kernel();
  const int64_t t = blockIdx.x;
  const int32_t h = static_cast<int32_t>(blockIdx.y);
  const int32_t half = head_dim / 2;
  const bool is_kv = h >= n_q_heads;
  const int64_t kv_row = int64_t{n_kv_heads} * head_dim;
  const int64_t head_offset = is_kv ? (t * n_kv_heads + (h - n_q_heads)) * head_dim : (t * n_q_heads + h) * head_dim;
  TS* head = (is_kv ? k : q) + head_offset;
  const int64_t slot = is_kv ? slot_mapping[t] : -1;
  if (slot >= n_slots) {
    if (threadIdx.x == 0) atomicOr(status, kStatusBadSlot);
  }
  const bool store = slot >= 0 && slot < n_slots;
  const int64_t cache_offset = slot * kv_row + (h - n_q_heads) * int64_t{head_dim};
  const float pos = static_cast<float>(positions[t]);
  for (int32_t i = threadIdx.x; i < half; i += blockDim.x) {
    float sin_a, cos_a;
    sincosf(__fmul_rn(pos, inv_freq[i]), &sin_a, &cos_a);
    const float x1 = to_f32(head[i]);
    const float x2 = to_f32(head[i + half]);
    const TS r1 = from_f32<TS>(__fsub_rn(__fmul_rn(x1, cos_a), __fmul_rn(x2, sin_a)));
    const TS r2 = from_f32<TS>(__fadd_rn(__fmul_rn(x2, cos_a), __fmul_rn(x1, sin_a)));
    head[i] = r1;
    head[i + half] = r2;
    if (store) {
      const TS* vh = v + head_offset;
      k_cache[cache_offset + i] = from_f32<TC>(to_f32(r1));
      k_cache[cache_offset + i + half] = from_f32<TC>(to_f32(r2));
      v_cache[cache_offset + i] = from_f32<TC>(to_f32(vh[i]));
      v_cache[cache_offset + i + half] = from_f32<TC>(to_f32(vh[i + half]));
    }
  }
}

}  // namespace

void launch_rope(const Tensor& q, const Tensor& k, const int32_t* positions, const float* inv_freq, int32_t head_dim,
                 const LaunchContext& ctx) {
  if (q.rows == 0) return;
  if (head_dim / 2 > kMaxHalfDim) throw unsupported("rope: head_dim " + std::to_string(head_dim) + " > 512");
  const auto n_q = static_cast<int32_t>(q.cols / head_dim);
  const auto n_kv = static_cast<int32_t>(k.cols / head_dim);
  visit_float(q.dtype, "rope q", [&](auto e) {
    using T = decltype(e);
    rope_kernel<T><<<static_cast<unsigned>(q.rows), kRopeThreads, 0, ctx.stream>>>(q.as<T>(), k.as<T>(), n_q, n_kv,
                                                                                   positions, inv_freq, head_dim);
  });
  check_launch(ctx.op, "rope_kernel");
}

void launch_store_kv(const StoreKvArgs& a, const LaunchContext& ctx) {
  if (a.k.rows == 0) return;
  const int64_t row = a.k.cols;
  const bool vec = row % 8 == 0 && aligned(a.k.data, 16) && aligned(a.v.data, 16) && aligned(a.k_cache, 16) &&
                   aligned(a.v_cache, 16);
  visit_float(a.k.dtype, "store_kv k", [&](auto s) {
    visit_float(a.cache_dtype, "store_kv cache", [&](auto c) {
      using TS = decltype(s);
      using TC = decltype(c);
      const auto grid = static_cast<unsigned>(a.k.rows);
      auto* kc = static_cast<TC*>(a.k_cache);
      auto* vc = static_cast<TC*>(a.v_cache);
      if (vec) {
        store_kv_kernel<TS, TC, true><<<grid, 128, 0, ctx.stream>>>(a.k.as<const TS>(), a.v.as<const TS>(),
                                                                    a.slot_mapping, kc, vc, row, a.n_slots, ctx.status);
      } else {
        store_kv_kernel<TS, TC, false><<<grid, 128, 0, ctx.stream>>>(a.k.as<const TS>(), a.v.as<const TS>(),
                                                                     a.slot_mapping, kc, vc, row, a.n_slots,
                                                                     ctx.status);
      }
    });
  });
  check_launch(ctx.op, "store_kv_kernel");
}

void launch_rope_store_kv(const Tensor& q, const int32_t* positions, const float* inv_freq, int32_t head_dim,
                          const StoreKvArgs& a, const LaunchContext& ctx) {
  if (q.rows == 0) return;
  const auto n_q = static_cast<int32_t>(q.cols / head_dim);
  const auto n_kv = static_cast<int32_t>(a.k.cols / head_dim);
  if (n_q + n_kv > 65535) throw unsupported("rope_store_kv: more than 65535 heads");
  const dim3 grid(static_cast<unsigned>(q.rows), static_cast<unsigned>(n_q + n_kv));
  const auto threads = static_cast<unsigned>(std::clamp(head_dim / 2, 32, kRopeThreads));
  visit_float(q.dtype, "rope_store_kv q", [&](auto s) {
    visit_float(a.cache_dtype, "rope_store_kv cache", [&](auto c) {
      using TS = decltype(s);
      using TC = decltype(c);
      launch_kernel(rope_store_kv_kernel<TS, TC>, grid, threads, ctx, q.as<TS>(), a.k.as<TS>(), a.v.as<const TS>(), n_q,
                    n_kv, positions, inv_freq, head_dim, a.slot_mapping, static_cast<TC*>(a.k_cache),
                    static_cast<TC*>(a.v_cache), a.n_slots, ctx.status);
    });
  });
  check_launch(ctx.op, "rope_store_kv_kernel");
}

}  // namespace swallow::cuda
