// The device sample op: one block of 1024 threads per logits row. Order and rules follow the CPU
// sampler (src/backend/cpu/cpu_sampler.cpp): logit_bias, repetition / frequency / presence
// penalties; greedy argmax (lowest id on ties); or temperature, min_p, top_k (ties with the k-th
// kept), top_p (smallest set by probability, then lower id, reaching top_p), and the draw: the
// first token in id order whose cumulative probability exceeds u. Thresholds are found by a
// 4-pass radix select over order-preserving float keys with warp-aggregated shared histograms;
// probabilities are f32 exponentials summed in f64.
#include <climits>

#include "backend/cuda/cuda_check.h"
#include "backend/cuda/device_math.cuh"
#include "backend/cuda/sampling_kernel.h"

namespace swallow::cuda {
namespace {

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
};

// Larger float -> larger key (the sign bit flips the order of negatives).
__device__ __forceinline__ uint32_t order_key(float f) {
  const uint32_t b = __float_as_uint(f);
  return (b & 0x80000000u) ? ~b : (b | 0x80000000u);
}

__device__ __forceinline__ int lane_id() { return threadIdx.x & 31; }
__device__ __forceinline__ int warp_id() { return threadIdx.x >> 5; }

// Block-wide reductions; every thread gets the same result (warp partials summed in one order).
__device__ double block_sum_d(double v, Shared& sh) {
  for (int off = 16; off > 0; off >>= 1) v += __shfl_xor_sync(kFull, v, off);
  __syncthreads();
  if (lane_id() == 0) sh.warp_d[warp_id()] = v;
  __syncthreads();
  double total = 0.0;
  for (int w = 0; w < kWarps; ++w) total += sh.warp_d[w];
  return total;
}

__device__ float block_max_f(float v, Shared& sh) {
  v = warp_max(v);
  __syncthreads();
  if (lane_id() == 0) sh.warp_f[warp_id()] = v;
  __syncthreads();
  float m = -INFINITY;
  for (int w = 0; w < kWarps; ++w) m = fmaxf(m, sh.warp_f[w]);
  return m;
}

__device__ int32_t block_max_i(int32_t v, Shared& sh) {
  for (int off = 16; off > 0; off >>= 1) v = max(v, __shfl_xor_sync(kFull, v, off));
  __syncthreads();
  if (lane_id() == 0) sh.warp_i[warp_id()] = v;
  __syncthreads();
  int32_t m = INT_MIN;
  for (int w = 0; w < kWarps; ++w) m = max(m, sh.warp_i[w]);
  return m;
}

// (value, index) with the larger value, the lower index on ties.
__device__ __forceinline__ void better(float& v, int32_t& i, float ov, int32_t oi) {
  if (ov > v || (ov == v && oi < i)) {
    v = ov;
    i = oi;
  }
}

__device__ int32_t block_argmax(float v, int32_t i, Shared& sh) {
  for (int off = 16; off > 0; off >>= 1) {
    const float ov = __shfl_xor_sync(kFull, v, off);
    const int32_t oi = __shfl_xor_sync(kFull, i, off);
    better(v, i, ov, oi);
  }
  __syncthreads();
  if (lane_id() == 0) {
    sh.warp_f[warp_id()] = v;
    sh.warp_i[warp_id()] = i;
  }
  __syncthreads();
  float bv = sh.warp_f[0];
  int32_t bi = sh.warp_i[0];
  for (int w = 1; w < kWarps; ++w) better(bv, bi, sh.warp_f[w], sh.warp_i[w]);
  return bi;
}

// Exclusive prefix sum over the threads in thread order.
__device__ double block_exclusive_scan_d(double v, Shared& sh) {
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

// Adds w to histogram bin `bin` for the active lanes; lanes with the same bin are combined first
// so a skewed distribution does not serialise on one shared-memory atomic. All 32 lanes call it.
__device__ void hist_add(Shared& sh, bool active, uint32_t bin, double w) {
  const int lane = lane_id();
  const uint32_t peers = __match_any_sync(kFull, active ? bin : 0xffffffffu);
  sh.lane_w[warp_id()][lane] = w;
  __syncwarp();
  if (active && lane == __ffs(peers) - 1) {
    double sum = 0.0;
    for (uint32_t m = peers; m != 0; m &= m - 1) sum += sh.lane_w[warp_id()][__ffs(m) - 1];
    atomicAdd(&sh.hist_w[bin], sum);
    atomicAdd(&sh.hist_c[bin], static_cast<uint32_t>(__popc(peers)));
  }
  __syncwarp();
}

struct Selection {
  uint32_t key;    // the boundary key
  double above;    // weight of the elements with a larger key
  double tie_w;    // weight of the elements with exactly this key
  uint32_t tie_c;  // and their number
};

// Radix select, largest keys first: the key K with weight(key > K) < target <= weight(key >= K)
// over the elements elem(i, key, weight) accepts (K the smallest key if the target is never
// reached). Weights: 1 to select by count, probabilities to select by mass.
template <typename Elem>
__device__ Selection block_select(int32_t n, double target, const Elem& elem, Shared& sh) {
  __syncthreads();
  if (threadIdx.x == 0) {
    sh.sel_prefix = 0;
    sh.sel_mask = 0;
    sh.sel_above = 0.0;
  }
  for (int shift = 24; shift >= 0; shift -= 8) {
    for (int b = threadIdx.x; b < 256; b += kThreads) {
      sh.hist_w[b] = 0.0;
      sh.hist_c[b] = 0;
    }
    __syncthreads();
    const uint32_t prefix = sh.sel_prefix;
    const uint32_t mask = sh.sel_mask;
    for (int32_t base = 0; base < n; base += kThreads) {
      const int32_t i = base + static_cast<int32_t>(threadIdx.x);
      uint32_t key = 0;
      double w = 0.0;
      const bool active = i < n && elem(i, key, w) && (key & mask) == prefix;
      hist_add(sh, active, (key >> shift) & 255u, w);
    }
    __syncthreads();
    if (threadIdx.x == 0) {
      double cum = sh.sel_above;
      int chosen = -1, lowest = -1;
      for (int b = 255; b >= 0; --b) {
        if (sh.hist_c[b] == 0) continue;
        lowest = b;
        if (cum + sh.hist_w[b] >= target) {
          chosen = b;
          break;
        }
        cum += sh.hist_w[b];
      }
      if (chosen < 0) {
        chosen = lowest < 0 ? 0 : lowest;
        if (lowest >= 0) cum -= sh.hist_w[chosen];
      }
      sh.sel_above = cum;
      sh.sel_prefix = prefix | (static_cast<uint32_t>(chosen) << shift);
      sh.sel_mask = mask | (255u << shift);
      sh.sel_tie_w = sh.hist_w[chosen];
      sh.sel_tie_c = sh.hist_c[chosen];
    }
    __syncthreads();
  }
  return {sh.sel_prefix, sh.sel_above, sh.sel_tie_w, sh.sel_tie_c};
}

// The c-th (from 1) index in [0, n) with pred(i), in index order; -1 when there are fewer.
template <typename Pred>
__device__ int32_t block_nth(int32_t n, uint32_t c, const Pred& pred, Shared& sh) {
  __syncthreads();
  if (threadIdx.x == 0) sh.found = -1;
  uint32_t running = 0;
  for (int32_t base = 0; base < n; base += kThreads) {
    const int32_t i = base + static_cast<int32_t>(threadIdx.x);
    const bool f = i < n && pred(i);
    const uint32_t ballot = __ballot_sync(kFull, f);
    if (lane_id() == 0) sh.warp_u[warp_id()] = static_cast<uint32_t>(__popc(ballot));
    __syncthreads();
    uint32_t before = running + static_cast<uint32_t>(__popc(ballot & ((1u << lane_id()) - 1u)));
    uint32_t total = 0;
    for (int w = 0; w < kWarps; ++w) {
      if (w < warp_id()) before += sh.warp_u[w];
      total += sh.warp_u[w];
    }
    if (f && before + 1 == c) sh.found = i;
    running += total;
    __syncthreads();
    if (running >= c) break;
  }
  __syncthreads();
  return sh.found;
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
__device__ void apply_edit(float* z, const SampleEdit& e, const float* biases, const SampleRowParams& p) {
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

// Raw-logit logprobs: log_z, then the top n (value desc, id asc) into the row's output.
template <typename TL>
__device__ double raw_logprobs(const TL* raw, int32_t V, int32_t n_top, int32_t* top_ids, float* top_lp, Shared& sh) {
  const int32_t tid = threadIdx.x;
  float mx = -INFINITY;
  for (int32_t i = tid; i < V; i += kThreads) mx = fmaxf(mx, to_f32(raw[i]));
  mx = block_max_f(mx, sh);
  double sum = 0.0;
  for (int32_t i = tid; i < V; i += kThreads) sum += expf(to_f32(raw[i]) - mx);
  const double log_z = static_cast<double>(mx) + log(block_sum_d(sum, sh));
  if (n_top <= 0) return log_z;
  auto elem = [&](int32_t i, uint32_t& key, double& w) {
    key = order_key(to_f32(raw[i]));
    w = 1.0;
    return true;
  };
  const Selection sel = block_select(V, n_top, elem, sh);
  const auto need = static_cast<uint32_t>(n_top - static_cast<int32_t>(sel.above));  // ties to take, lowest ids
  int32_t cut = INT_MAX;
  if (need < sel.tie_c) {
    cut = block_nth(V, need, [&](int32_t i) { return order_key(to_f32(raw[i])) == sel.key; }, sh);
  }
  if (tid == 0) sh.list_n = 0;
  __syncthreads();
  for (int32_t i = tid; i < V; i += kThreads) {
    const uint32_t key = order_key(to_f32(raw[i]));
    if (key > sel.key || (key == sel.key && i <= cut)) {
      const int32_t slot = atomicAdd(&sh.list_n, 1);
      if (slot < n_top) {
        sh.list_ids[slot] = i;
        sh.list_vals[slot] = to_f32(raw[i]);
      }
    }
  }
  __syncthreads();
  const int32_t n_list = min(sh.list_n, n_top);
  for (int32_t j = tid; j < n_list; j += kThreads) {
    const float v = sh.list_vals[j];
    const int32_t id = sh.list_ids[j];
    int32_t rank = 0;
    for (int32_t l = 0; l < n_list; ++l) {
      const float ov = sh.list_vals[l];
      rank += (ov > v || (ov == v && sh.list_ids[l] < id)) ? 1 : 0;
    }
    top_ids[rank] = id;
    top_lp[rank] = static_cast<float>(static_cast<double>(v) - log_z);
  }
  return log_z;
}

// The random draw for a non-greedy row of processed logits z (scaled by 1/T in place).
__device__ int32_t draw_token(float* z, int32_t V, const SampleRowParams& p, Shared& sh, uint32_t* status) {
  const int32_t tid = threadIdx.x;
  for (int32_t i = tid; i < V; i += kThreads) z[i] = __fdiv_rn(z[i], p.temperature);
  __syncthreads();
  float mx = -INFINITY;
  for (int32_t i = tid; i < V; i += kThreads) mx = fmaxf(mx, z[i]);
  mx = block_max_f(mx, sh);
  if (!isfinite(mx)) {
    if (tid == 0) atomicOr(status, kStatusBadLogits);
    return 0;
  }
  auto prob = [&](int32_t i) { return static_cast<double>(expf(z[i] - mx)); };  // unnormalised
  double s0 = 0.0;
  for (int32_t i = tid; i < V; i += kThreads) s0 += prob(i);
  s0 = block_sum_d(s0, sh);
  const double min_p_threshold = static_cast<double>(p.min_p) * (1.0 / s0);
  auto kept_min_p = [&](int32_t i, double& e) {
    e = prob(i);
    return e > 0.0 && (p.min_p <= 0.0f || e / s0 >= min_p_threshold);
  };
  // top_k: keep keys >= the k-th largest kept key (ties kept), when more than k are kept.
  bool use_k = false;
  uint32_t k_key = 0;
  if (p.top_k > 0 && p.top_k < V) {
    double n_kept = 0.0;
    for (int32_t i = tid; i < V; i += kThreads) {
      double e;
      n_kept += kept_min_p(i, e) ? 1.0 : 0.0;
    }
    if (block_sum_d(n_kept, sh) > static_cast<double>(p.top_k)) {
      auto elem = [&](int32_t i, uint32_t& key, double& w) {
        double e;
        key = order_key(z[i]);
        w = 1.0;
        return kept_min_p(i, e);
      };
      k_key = block_select(V, p.top_k, elem, sh).key;
      use_k = true;
    }
  }
  auto kept_k = [&](int32_t i, double& e) { return kept_min_p(i, e) && (!use_k || order_key(z[i]) >= k_key); };
  // top_p: the most probable tokens (lower id first on ties) until their mass reaches top_p.
  bool use_p = false;
  uint32_t p_key = 0;
  int32_t p_cut = INT_MAX;
  if (p.top_p < 1.0f) {
    double s1 = 0.0;
    for (int32_t i = tid; i < V; i += kThreads) {
      double e;
      s1 += kept_k(i, e) ? e : 0.0;
    }
    s1 = block_sum_d(s1, sh);
    const double target = static_cast<double>(p.top_p) * s1;
    auto elem = [&](int32_t i, uint32_t& key, double& w) {
      key = order_key(z[i]);
      return kept_k(i, w);
    };
    const Selection sel = block_select(V, target, elem, sh);
    use_p = true;
    p_key = sel.key;
    if (sel.tie_c > 1) {
      const double each = sel.tie_w / sel.tie_c;
      const double need = target - sel.above;
      double c = need > 0.0 ? ceil(need / each) : 1.0;
      c = fmin(fmax(c, 1.0), static_cast<double>(sel.tie_c));
      if (c < sel.tie_c) {
        p_cut = block_nth(V, static_cast<uint32_t>(c), [&](int32_t i) {
          double e;
          return kept_k(i, e) && order_key(z[i]) == p_key;
        }, sh);
      }
    }
  }
  auto final_weight = [&](int32_t i) {
    double e;
    if (!kept_k(i, e)) return 0.0;
    if (use_p) {
      const uint32_t key = order_key(z[i]);
      if (key < p_key || (key == p_key && i > p_cut)) return 0.0;
    }
    return e;
  };
  double s2 = 0.0;
  for (int32_t i = tid; i < V; i += kThreads) s2 += final_weight(i);
  s2 = block_sum_d(s2, sh);
  return block_draw(V, p.u * s2, final_weight, sh);
}

template <typename TL>
__global__ void __launch_bounds__(kThreads) sample_kernel(SampleLaunch a, uint32_t* status) {
  __shared__ Shared sh;
  const int32_t r = blockIdx.x;
  const int32_t V = a.n_vocab;
  const int32_t tid = threadIdx.x;
  const TL* raw = static_cast<const TL*>(a.logits) + static_cast<int64_t>(r) * V;
  float* z = a.work + static_cast<int64_t>(r) * V;  // [V] processed logits
  const SampleRowParams p = a.rows[r];

  for (int32_t i = tid; i < V; i += kThreads) z[i] = to_f32(raw[i]);
  __syncthreads();
  for (int32_t e = tid; e < p.edit_count; e += kThreads) apply_edit(z, a.edits[p.edit_begin + e], a.biases, p);
  __syncthreads();

  int32_t token;
  if (p.greedy) {
    float best = -INFINITY;
    int32_t best_i = INT_MAX;
    for (int32_t i = tid; i < V; i += kThreads) better(best, best_i, z[i], i);
    token = block_argmax(best, best_i, sh);
  } else {
    token = draw_token(z, V, p, sh, status);
  }
  float logprob = 0.0f;
  if (p.n_logprobs >= 0) {
    const int32_t n_top = min(p.n_logprobs, V);
    int32_t* top_ids = a.top_ids + static_cast<int64_t>(r) * a.max_top;
    float* top_lp = a.top_logprobs + static_cast<int64_t>(r) * a.max_top;
    const double log_z = raw_logprobs(raw, V, n_top, top_ids, top_lp, sh);
    logprob = static_cast<float>(static_cast<double>(to_f32(raw[token])) - log_z);
  }
  if (tid == 0) a.results[r] = {token, logprob};
}

}  // namespace

void launch_sample(const SampleLaunch& a, const LaunchContext& ctx) {
  if (a.n_rows == 0) return;
  if (a.logits_dtype == DType::kF32) {
    sample_kernel<float><<<static_cast<unsigned>(a.n_rows), kThreads, 0, ctx.stream>>>(a, ctx.status);
  } else if (a.logits_dtype == DType::kBF16) {
    sample_kernel<__nv_bfloat16><<<static_cast<unsigned>(a.n_rows), kThreads, 0, ctx.stream>>>(a, ctx.status);
  } else {
    throw unsupported(std::string("sample: logits dtype ") + dtype_name(a.logits_dtype) + " (expected F32 or BF16)");
  }
  check_launch(ctx.op, "sample_kernel");
}

}  // namespace swallow::cuda
