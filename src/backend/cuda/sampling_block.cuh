// Device building blocks shared by the sample kernels (sampling.cu, sampling_split.cu): the
// block shape (1024 threads), the shared-memory layout, order-preserving float keys, block-wide
// reductions and scan, the warp-level combine of same-bin lanes for histograms, the block draw
// (first index whose cumulative weight exceeds a target) and the per-token bias / penalty edit.
// Included by those .cu files only.
#pragma once

#include <climits>
#include <cstdint>

#include "backend/cuda/device_math.cuh"
#include "backend/cuda/sampling_kernel.h"

namespace swallow::cuda::sampling {

constexpr int kThreads = 1024;
constexpr int kWarps = kThreads / 32;
constexpr unsigned kFull = 0xffffffffu;

struct Shared {
  double hist_w[256];
  uint32_t hist_c[256];
  double lane_w[kWarps][32];  // per-warp staging for warp-aggregated histogram adds
  double warp_d[kWarps];
  float warp_f[kWarps];
  int32_t warp_i[kWarps];
  uint32_t warp_u[kWarps];
  uint32_t sel_prefix;
  uint32_t sel_mask;
  double sel_above;
  double sel_tie_w;
  uint32_t sel_tie_c;
  int32_t found;
  int32_t list_n;
  int32_t list_ids[kMaxTopLogprobs];
  float list_vals[kMaxTopLogprobs];
  int32_t is_last;       // split path: this block arrived last
  double draw_offset;    // split path: kept mass of the chunks before this one
  double draw_target;    // split path: u * kept mass of the row
  int32_t draw_role;     // split path: a DrawRole
};

// Larger float -> larger key (the sign bit flips the order of negatives).
__device__ __forceinline__ uint32_t order_key(float f) {
  const uint32_t b = __float_as_uint(f);
  return (b & 0x80000000u) ? ~b : (b | 0x80000000u);
}

__device__ __forceinline__ float key_value(uint32_t key) {
  return __uint_as_float((key & 0x80000000u) ? (key & 0x7fffffffu) : ~key);
}

__device__ __forceinline__ int lane_id() { return threadIdx.x & 31; }
__device__ __forceinline__ int warp_id() { return threadIdx.x >> 5; }

// Block-wide reductions; every thread gets the same result (warp partials summed in one order).
inline __device__ double block_sum_d(double v, Shared& sh) {
  for (int off = 16; off > 0; off >>= 1) v += __shfl_xor_sync(kFull, v, off);
  __syncthreads();
  if (lane_id() == 0) sh.warp_d[warp_id()] = v;
  __syncthreads();
  double total = 0.0;
  for (int w = 0; w < kWarps; ++w) total += sh.warp_d[w];
  return total;
}

inline __device__ float block_max_f(float v, Shared& sh) {
  v = warp_max(v);
  __syncthreads();
  if (lane_id() == 0) sh.warp_f[warp_id()] = v;
  __syncthreads();
  float m = -INFINITY;
  for (int w = 0; w < kWarps; ++w) m = fmaxf(m, sh.warp_f[w]);
  return m;
}

inline __device__ int32_t block_max_i(int32_t v, Shared& sh) {
  for (int off = 16; off > 0; off >>= 1) v = max(v, __shfl_xor_sync(kFull, v, off));
  __syncthreads();
  if (lane_id() == 0) sh.warp_i[warp_id()] = v;
  __syncthreads();
  int32_t m = INT_MIN;
  for (int w = 0; w < kWarps; ++w) m = max(m, sh.warp_i[w]);
  return m;
}

// Exclusive prefix sum over the threads in thread order.
inline __device__ double block_exclusive_scan_d(double v, Shared& sh) {
  double inclusive = v;
  for (int off = 1; off < 32; off <<= 1) {
    const double y = __shfl_up_sync(kFull, inclusive, off);
    if (lane_id() >= off) inclusive += y;
  }
  __syncthreads();
  if (lane_id() == 31) sh.warp_d[warp_id()] = inclusive;
  __syncthreads();
  double offset = 0.0;
  for (int w = 0; w < warp_id(); ++w) offset += sh.warp_d[w];
  return offset + inclusive - v;
}

// Combines w over the active lanes with the same bin: true in the lowest such lane, which gets
// their sum in w and their lanes in peers. All 32 lanes call it.
inline __device__ bool combine_bin_peers(Shared& sh, bool active, uint32_t bin, double& w, uint32_t& peers) {
  const int lane = lane_id();
  peers = __match_any_sync(kFull, active ? bin : 0xffffffffu);
  sh.lane_w[warp_id()][lane] = w;
  __syncwarp();
  const bool leader = active && lane == __ffs(peers) - 1;
  if (leader) {
    double sum = 0.0;
    for (uint32_t m = peers; m != 0; m &= m - 1) sum += sh.lane_w[warp_id()][__ffs(m) - 1];
    w = sum;
  }
  __syncwarp();
  return leader;
}

// The first index whose inclusive prefix of weight(i) (in index order) exceeds target; the last
// index of positive weight when rounding leaves target unreached. Thread t owns a contiguous range.
template <typename Weight>
__device__ int32_t block_draw(int32_t n, double target, const Weight& weight, Shared& sh) {
  const int32_t per = (n + kThreads - 1) / kThreads;
  const int32_t begin = min(n, static_cast<int32_t>(threadIdx.x) * per);
  const int32_t end = min(n, begin + per);
  double sum = 0.0;
  int32_t last = -1;
  for (int32_t i = begin; i < end; ++i) {
    const double w = weight(i);
    if (w > 0.0) {
      sum += w;
      last = i;
    }
  }
  const double before = block_exclusive_scan_d(sum, sh);
  const int32_t last_any = block_max_i(last, sh);
  if (threadIdx.x == 0) sh.found = INT_MAX;
  __syncthreads();
  if (sum > 0.0 && before <= target && target < before + sum) {
    double cum = before;
    for (int32_t i = begin; i < end; ++i) {
      const double w = weight(i);
      if (w <= 0.0) continue;
      cum += w;
      if (target < cum) {
        atomicMin(&sh.found, i);
        break;
      }
    }
  }
  __syncthreads();
  return sh.found != INT_MAX ? sh.found : last_any;
}

// Applies one token's bias / penalties exactly as the CPU sampler does (no contraction).
inline __device__ void apply_edit(float* z, const SampleEdit& e, const float* biases, const SampleRowParams& p) {
  float v = z[e.token];
  for (int32_t b = 0; b < e.bias_count; ++b) v = __fadd_rn(v, biases[e.bias_begin + b]);
  if (p.repetition_penalty != 1.0f && e.repeated) {
    v = v > 0.0f ? __fdiv_rn(v, p.repetition_penalty) : __fmul_rn(v, p.repetition_penalty);
  }
  if ((p.frequency_penalty != 0.0f || p.presence_penalty != 0.0f) && e.out_count > 0) {
    v = __fsub_rn(v, __fmul_rn(p.frequency_penalty, static_cast<float>(e.out_count)));
    v = __fsub_rn(v, p.presence_penalty);
  }
  z[e.token] = v;
}

}  // namespace swallow::cuda::sampling
