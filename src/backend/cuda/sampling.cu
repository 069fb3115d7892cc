// The device sample op. Order and rules follow the CPU sampler (src/backend/cpu/cpu_sampler.cpp):
// logit_bias, repetition / frequency / presence penalties; greedy argmax (lowest id on ties); or
// temperature, min_p, top_k (ties with the k-th kept), top_p (smallest set by probability, then
// lower id, reaching top_p), and the draw: the first token in id order whose cumulative
// probability exceeds u. Probabilities are f32 exponentials summed in f64.
//
// Rows with only temperature and top_p (uses_split_path) take the split path first
// (sampling_split.cu); the one-block kernel here takes every other row and the split path's
// fallbacks: one block of 1024 threads per row, thresholds by a 4-pass radix select over
// order-preserving float keys with warp-aggregated shared histograms.
#include <climits>

#include "backend/cuda/cuda_check.h"
#include "backend/cuda/sampling_block.cuh"
#include "backend/cuda/sampling_kernel.h"
#include "backend/cuda/sampling_split.cuh"

namespace swallow::cuda {
namespace sampling {
namespace {

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

// Adds w to histogram bin `bin` for the active lanes; lanes with the same bin are combined first
// so a skewed distribution does not serialise on one shared-memory atomic. All 32 lanes call it.
__device__ void hist_add(Shared& sh, bool active, uint32_t bin, double w) {
  uint32_t peers;
  if (combine_bin_peers(sh, active, bin, w, peers)) {
    atomicAdd(&sh.hist_w[bin], w);
    atomicAdd(&sh.hist_c[bin], static_cast<uint32_t>(__popc(peers)));
  }
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
  if (a.n_split_rows > 0 && uses_split_path(p, V) && !split_view(a, r).row->fallback) return;

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

template <typename TL>
void launch_kernels(const SampleLaunch& a, const LaunchContext& ctx) {
  if (a.n_split_rows > 0) launch_split_kernels<TL>(a, ctx);
  sample_kernel<TL><<<static_cast<unsigned>(a.n_rows), kThreads, 0, ctx.stream>>>(a, ctx.status);
}

}  // namespace
}  // namespace sampling

size_t sample_work_bytes(int32_t n_rows, int32_t n_vocab) {
  const auto rows = static_cast<size_t>(n_rows);
  return sampling::align256(rows * static_cast<size_t>(n_vocab) * sizeof(float)) +
         rows * sampling::split_row_bytes(sampling::chunking(n_rows, n_vocab).n_chunk);
}

void launch_sample(const SampleLaunch& a, const LaunchContext& ctx) {
  if (a.n_rows == 0) return;
  if (a.n_split_rows > 0 && a.n_rows > 65535) {
    throw unsupported("sample: " + std::to_string(a.n_rows) + " rows exceed the split kernels' grid limit 65535");
  }
  if (a.logits_dtype == DType::kF32) {
    sampling::launch_kernels<float>(a, ctx);
  } else if (a.logits_dtype == DType::kBF16) {
    sampling::launch_kernels<__nv_bfloat16>(a, ctx);
  } else {
    throw unsupported(std::string("sample: logits dtype ") + dtype_name(a.logits_dtype) + " (expected F32 or BF16)");
  }
  check_launch(ctx.op, "sample kernels");
}

}  // namespace swallow::cuda
