// The device sample op. Order and rules follow the CPU sampler (src/backend/cpu/cpu_sampler.cpp):
// logit_bias, repetition / frequency / presence penalties; greedy argmax (lowest id on ties); or
// temperature, min_p, top_k (ties with the k-th kept), top_p (smallest set by probability, then
// lower id, reaching top_p), and the draw: the first token in id order whose cumulative
// probability exceeds u. Probabilities are f32 exponentials summed in f64.
//
// Rows with only temperature and top_p (uses_split_path) take the split path: each row is cut
// into chunks (more and shorter when there are few rows), one block each, over four kernels:
// prepare (processed logits, chunk maxima), histogram (probability mass per bin of distance below
// the max; the row's last block picks the bin where the top_p mass is reached), candidates (each
// chunk's mass before that bin, and its tokens in that bin appended to a list; the row's last
// block sorts the list by (logit desc, id asc) and cuts it where the mass reaches top_p) and draw
// (the chunk holding u's share of the kept mass walks its kept tokens in id order). A row with a
// non-finite max or mass, or more than kMaxCandidates boundary-bin tokens, falls back to the
// one-block kernel, which takes every other row: one block of 1024 threads per row, thresholds by
// a 4-pass radix select over order-preserving float keys with warp-aggregated shared histograms.
#include <climits>

#include "backend/cuda/cuda_check.h"
#include "backend/cuda/device_math.cuh"
#include "backend/cuda/sampling_kernel.h"

namespace swallow::cuda {
namespace {

constexpr int kThreads = 1024;
constexpr int kWarps = kThreads / 32;
constexpr unsigned kFull = 0xffffffffu;

// Split path: chunks of at least kMinChunk tokens, at most kTargetBlocks of them over all rows
// (two 1024-thread blocks per SM on a 132-SM H100) unless each row needs one; probability bins
// of width 1 / kBinScale in processed-logit distance below the max (the last bin takes everything
// further down); the most boundary-bin tokens of a row.
constexpr int32_t kMinChunk = kThreads * 4;
constexpr int32_t kTargetBlocks = 264;
constexpr int32_t kBins = 512;
constexpr float kBinScale = 16.0f;
constexpr uint32_t kMaxCandidates = 2048;

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

// Combines w over the active lanes with the same bin: true in the lowest such lane, which gets
// their sum in w and their lanes in peers. All 32 lanes call it.
__device__ bool combine_bin_peers(Shared& sh, bool active, uint32_t bin, double& w, uint32_t& peers) {
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

// ---- Split path ----

// One split-path row's state in the work scratch, followed by its chunk data (SplitView).
struct SplitRow {
  uint32_t hist_arrivals = 0;    // blocks done with the histogram kernel
  uint32_t select_arrivals = 0;  // blocks done with the candidates kernel
  uint32_t n_candidates = 0;     // tokens in the boundary bin
  int32_t fallback = 0;          // 1: the one-block kernel samples this row
  float max = 0.0f;              // largest processed logit
  int32_t boundary_bin = 0;      // the bin where the top_p mass is reached; kBins: keep all
  uint32_t cut_key = 0;          // kept: key > cut_key, or key == cut_key and id <= cut_id
  int32_t cut_id = 0;
  double above = 0.0;             // mass of the bins before boundary_bin
  double target = 0.0;            // top_p * the row's mass
};

struct SplitView {
  SplitRow* row;
  double* chunk_mass;    // [n_chunks] kept mass per chunk
  double* chunk_hist;    // [n_chunks, kBins] mass per bin per chunk
  uint64_t* candidates;  // [kMaxCandidates] (key << 32) | ~id of the boundary-bin tokens
  float* chunk_max;      // [n_chunks]
};

struct Chunking {
  int32_t n_chunk;  // chunks per row
  int32_t len;      // tokens per chunk (a multiple of kThreads; the last chunk may be shorter)
};

__host__ __device__ Chunking chunking(int32_t n_rows, int32_t n_vocab) {
  const int32_t most = (n_vocab + kMinChunk - 1) / kMinChunk;
  const int32_t wanted = kTargetBlocks / n_rows;
  const int32_t n_chunk = wanted < 1 ? 1 : (wanted > most ? most : wanted);
  const int32_t len = ((n_vocab + n_chunk - 1) / n_chunk + kThreads - 1) / kThreads * kThreads;
  return {(n_vocab + len - 1) / len, len};
}

__host__ __device__ size_t align256(size_t n) { return (n + 255) / 256 * 256; }

__host__ __device__ size_t split_row_bytes(int32_t n_chunk) {
  const auto c = static_cast<size_t>(n_chunk);
  return align256(sizeof(SplitRow) + c * (1 + kBins) * sizeof(double) + kMaxCandidates * sizeof(uint64_t) +
                  c * sizeof(float));
}

__device__ SplitView split_view(const SampleLaunch& a, int32_t r) {
  const int32_t n_chunk = chunking(a.n_rows, a.n_vocab).n_chunk;
  const auto c = static_cast<size_t>(n_chunk);
  uint8_t* base = reinterpret_cast<uint8_t*>(a.work) +
                  align256(static_cast<size_t>(a.n_rows) * static_cast<size_t>(a.n_vocab) * sizeof(float)) +
                  static_cast<size_t>(r) * split_row_bytes(n_chunk);
  SplitView v;
  v.row = reinterpret_cast<SplitRow*>(base);
  v.chunk_mass = reinterpret_cast<double*>(base + sizeof(SplitRow));
  v.chunk_hist = v.chunk_mass + c;
  v.candidates = reinterpret_cast<uint64_t*>(v.chunk_hist + c * kBins);
  v.chunk_max = reinterpret_cast<float*>(v.candidates + kMaxCandidates);
  return v;
}

// The unnormalised probability of processed logit z, exactly as draw_token computes it.
__device__ __forceinline__ double weight_of(float z, float mx) { return static_cast<double>(expf(z - mx)); }

// The bin of processed logit z: non-decreasing as z decreases, so bins follow the key order.
__device__ __forceinline__ uint32_t bin_of(float z, float mx) {
  return static_cast<uint32_t>(fminf(__fmul_rn(__fsub_rn(mx, z), kBinScale), static_cast<float>(kBins - 1)));
}

// True in every thread of the block that arrives last of n_blocks at *counter; that block then
// sees the global writes the others made before arriving.
__device__ bool arrive_last(uint32_t* counter, int32_t n_blocks, Shared& sh) {
  __threadfence();
  __syncthreads();
  if (threadIdx.x == 0) sh.is_last = atomicAdd(counter, 1u) == static_cast<uint32_t>(n_blocks - 1) ? 1 : 0;
  __syncthreads();
  const bool last = sh.is_last != 0;
  if (last) __threadfence();
  return last;
}

// Processed logits of chunk blockIdx.x of row blockIdx.y (edits, then / temperature) into the
// work row, and the chunk's max. Block 0 resets the row's state.
template <typename TL>
__global__ void __launch_bounds__(kThreads) split_prepare_kernel(SampleLaunch a) {
  __shared__ Shared sh;
  const int32_t r = blockIdx.y, c = blockIdx.x, V = a.n_vocab;
  const SampleRowParams p = a.rows[r];
  if (!uses_split_path(p, V)) return;
  const SplitView s = split_view(a, r);
  if (c == 0 && threadIdx.x == 0) *s.row = SplitRow{};
  const Chunking ch = chunking(a.n_rows, V);
  const int32_t begin = c * ch.len, end = min(V, begin + ch.len);
  const TL* raw = static_cast<const TL*>(a.logits) + static_cast<int64_t>(r) * V;
  float* z = a.work + static_cast<int64_t>(r) * V;
  if (p.edit_count > 0) {
    for (int32_t i = begin + threadIdx.x; i < end; i += kThreads) z[i] = to_f32(raw[i]);
    __syncthreads();
    for (int32_t e = threadIdx.x; e < p.edit_count; e += kThreads) {
      const SampleEdit& edit = a.edits[p.edit_begin + e];
      if (edit.token >= begin && edit.token < end) apply_edit(z, edit, a.biases, p);
    }
    __syncthreads();
  }
  float mx = -INFINITY;
  for (int32_t i = begin + threadIdx.x; i < end; i += kThreads) {
    const float v = __fdiv_rn(p.edit_count > 0 ? z[i] : to_f32(raw[i]), p.temperature);
    z[i] = v;
    mx = fmaxf(mx, v);
  }
  mx = block_max_f(mx, sh);
  if (threadIdx.x == 0) s.chunk_max[c] = mx;
}

// Sum over the chunks of bin `bin` (in chunk order), reading what other blocks wrote.
__device__ double row_bin_mass(const SplitView& s, int32_t n_chunk, int32_t bin) {
  constexpr int kBatch = 8;
  double sum = 0.0;
  for (int32_t c0 = 0; c0 < n_chunk; c0 += kBatch) {
    double m[kBatch];
#pragma unroll
    for (int k = 0; k < kBatch; ++k) {
      m[k] = c0 + k < n_chunk ? __ldcg(&s.chunk_hist[static_cast<int64_t>(c0 + k) * kBins + bin]) : 0.0;
    }
#pragma unroll
    for (int k = 0; k < kBatch; ++k) sum += m[k];
  }
  return sum;
}

// The row's last histogram block: total mass, and the boundary bin where the mass of the bins
// before it plus its own first reaches top_p of the total (kBins when top_p is 1).
__device__ void choose_boundary(const SplitView& s, const SampleRowParams& p, float mx, int32_t n_chunk,
                                double* hist) {
  for (int32_t b = threadIdx.x; b < kBins; b += kThreads) hist[b] = row_bin_mass(s, n_chunk, b);
  __syncthreads();
  if (warp_id() != 0) return;
  constexpr int32_t kPerLane = kBins / 32;
  const int lane = lane_id();
  double own = 0.0;
  for (int32_t j = 0; j < kPerLane; ++j) own += hist[lane * kPerLane + j];
  double inclusive = own;
  for (int off = 1; off < 32; off <<= 1) {
    const double y = __shfl_up_sync(kFull, inclusive, off);
    if (lane >= off) inclusive += y;
  }
  const double before_lane = __shfl_up_sync(kFull, inclusive, 1);
  const double exclusive = lane == 0 ? 0.0 : before_lane;
  const double total = __shfl_sync(kFull, inclusive, 31);
  const double target = static_cast<double>(p.top_p) * total;
  if (!isfinite(total)) {
    if (lane == 0) s.row->fallback = 1;
    return;
  }
  if (p.top_p >= 1.0f) {
    if (lane == 0) {
      s.row->max = mx;
      s.row->boundary_bin = kBins;
      s.row->cut_key = 0;
      s.row->cut_id = INT_MAX;
    }
    return;
  }
  const uint32_t reached = __ballot_sync(kFull, inclusive >= target);
  if (lane != __ffs(reached) - 1) return;
  double cum = exclusive, above = exclusive;
  int32_t boundary = lane * kPerLane;
  for (int32_t b = lane * kPerLane; b < (lane + 1) * kPerLane; ++b) {
    if (hist[b] == 0.0) continue;
    boundary = b;
    above = cum;
    if (cum + hist[b] >= target) break;
    cum += hist[b];
  }
  s.row->max = mx;
  s.row->boundary_bin = boundary;
  s.row->above = above;
  s.row->target = target;
}

// Probability mass per bin of each chunk; the row's last block chooses the boundary bin.
__global__ void __launch_bounds__(kThreads) split_histogram_kernel(SampleLaunch a) {
  __shared__ Shared sh;
  __shared__ double hist[kBins];
  const int32_t r = blockIdx.y, c = blockIdx.x, V = a.n_vocab;
  const SampleRowParams p = a.rows[r];
  if (!uses_split_path(p, V)) return;
  const SplitView s = split_view(a, r);
  const Chunking ch = chunking(a.n_rows, V);
  const int32_t n_chunk = ch.n_chunk;
  float mx = -INFINITY;
  for (int32_t j = threadIdx.x; j < n_chunk; j += kThreads) mx = fmaxf(mx, s.chunk_max[j]);
  mx = block_max_f(mx, sh);
  if (!isfinite(mx)) {
    if (c == 0 && threadIdx.x == 0) s.row->fallback = 1;
    return;
  }
  for (int32_t b = threadIdx.x; b < kBins; b += kThreads) hist[b] = 0.0;
  __syncthreads();
  const int32_t begin = c * ch.len, end = min(V, begin + ch.len);
  const float* z = a.work + static_cast<int64_t>(r) * V;
  for (int32_t base = begin; base < end; base += kThreads) {  // all lanes take every step
    const int32_t i = base + static_cast<int32_t>(threadIdx.x);
    const bool active = i < end;
    const float zi = active ? z[i] : mx;
    double w = active ? weight_of(zi, mx) : 0.0;
    const uint32_t bin = bin_of(zi, mx);
    uint32_t peers;
    if (combine_bin_peers(sh, active, bin, w, peers)) atomicAdd(&hist[bin], w);
  }
  __syncthreads();
  for (int32_t b = threadIdx.x; b < kBins; b += kThreads) s.chunk_hist[static_cast<int64_t>(c) * kBins + b] = hist[b];
  if (!arrive_last(&s.row->hist_arrivals, n_chunk, sh)) return;
  choose_boundary(s, p, mx, n_chunk, hist);
}

// Appends (key, id) to the row's candidates for the lanes with take; all 32 lanes call it.
__device__ void append_candidate(const SplitView& s, bool take, uint32_t key, int32_t id) {
  const uint32_t ballot = __ballot_sync(kFull, take);
  if (ballot == 0) return;
  uint32_t base = 0;
  if (lane_id() == 0) base = atomicAdd(&s.row->n_candidates, static_cast<uint32_t>(__popc(ballot)));
  base = __shfl_sync(kFull, base, 0);
  const uint32_t slot = base + static_cast<uint32_t>(__popc(ballot & ((1u << lane_id()) - 1u)));
  if (take && slot < kMaxCandidates) {
    s.candidates[slot] = (static_cast<uint64_t>(key) << 32) | static_cast<uint32_t>(~id);
  }
}

__device__ __forceinline__ uint32_t candidate_key(uint64_t cand) { return static_cast<uint32_t>(cand >> 32); }
__device__ __forceinline__ int32_t candidate_id(uint64_t cand) {
  return static_cast<int32_t>(~static_cast<uint32_t>(cand));
}

// Sorts v[0, size) descending (size a power of two); candidates then rank by key desc, id asc.
__device__ void bitonic_sort_desc(uint64_t* v, uint32_t size) {
  for (uint32_t k = 2; k <= size; k <<= 1) {
    for (uint32_t j = k >> 1; j > 0; j >>= 1) {
      for (uint32_t i = threadIdx.x; i < size; i += kThreads) {
        const uint32_t partner = i ^ j;
        if (partner <= i) continue;
        const uint64_t x = v[i], y = v[partner];
        const bool descending = (i & k) == 0;
        if (descending ? x < y : x > y) {
          v[i] = y;
          v[partner] = x;
        }
      }
      __syncthreads();
    }
  }
}

// How many of the ranked candidates to keep: the first whose mass, added to `above`, reaches
// target ends the set (all of them when rounding leaves it unreached). Called by one warp.
__device__ uint32_t count_kept(const uint64_t* ranked, uint32_t n, double above, double target, float mx) {
  const int lane = lane_id();
  double cum = above;
  for (uint32_t base = 0; base < n; base += 32) {
    const uint32_t j = base + static_cast<uint32_t>(lane);
    double inclusive = j < n ? weight_of(key_value(candidate_key(ranked[j])), mx) : 0.0;
    for (int off = 1; off < 32; off <<= 1) {
      const double y = __shfl_up_sync(kFull, inclusive, off);
      if (lane >= off) inclusive += y;
    }
    const uint32_t hit = __ballot_sync(kFull, j < n && cum + inclusive >= target);
    if (hit != 0) return base + static_cast<uint32_t>(__ffs(hit));
    cum += __shfl_sync(kFull, inclusive, 31);
  }
  return n;
}

// The row's last candidates block: ranks the boundary-bin tokens, sets the cut and adds the kept
// ones' mass to their chunks; too many (or, by rounding, no) candidates hand the row to the
// one-block kernel.
__device__ void cut_candidates(const SplitView& s, int32_t chunk_len, uint64_t* ranked, Shared& sh) {
  const uint32_t n = __ldcg(&s.row->n_candidates);
  if (n == 0 || n > kMaxCandidates) {
    if (threadIdx.x == 0) s.row->fallback = 1;
    return;
  }
  uint32_t size = 1;
  while (size < n) size <<= 1;
  const auto* appended = reinterpret_cast<const unsigned long long*>(s.candidates);
  for (uint32_t j = threadIdx.x; j < size; j += kThreads) ranked[j] = j < n ? __ldcg(appended + j) : 0;
  __syncthreads();
  bitonic_sort_desc(ranked, size);
  const float mx = s.row->max;
  if (warp_id() == 0) {
    const uint32_t kept = count_kept(ranked, n, s.row->above, s.row->target, mx);
    if (lane_id() == 0) sh.found = static_cast<int32_t>(kept);
  }
  __syncthreads();
  const auto kept = static_cast<uint32_t>(sh.found);
  if (threadIdx.x == 0) {
    s.row->cut_key = candidate_key(ranked[kept - 1]);
    s.row->cut_id = candidate_id(ranked[kept - 1]);
  }
  for (uint32_t j = threadIdx.x; j < kept; j += kThreads) {
    const int32_t id = candidate_id(ranked[j]);
    atomicAdd(&s.chunk_mass[id / chunk_len], weight_of(key_value(candidate_key(ranked[j])), mx));
  }
}

// Each chunk's mass before the boundary bin and its boundary-bin tokens; the row's last block
// cuts the candidates.
__global__ void __launch_bounds__(kThreads) split_candidates_kernel(SampleLaunch a) {
  __shared__ Shared sh;
  __shared__ uint64_t ranked[kMaxCandidates];
  const int32_t r = blockIdx.y, c = blockIdx.x, V = a.n_vocab;
  const SampleRowParams p = a.rows[r];
  if (!uses_split_path(p, V)) return;
  const SplitView s = split_view(a, r);
  if (s.row->fallback) return;
  const float mx = s.row->max;
  const auto boundary = static_cast<uint32_t>(s.row->boundary_bin);
  const Chunking ch = chunking(a.n_rows, V);
  const int32_t begin = c * ch.len, end = min(V, begin + ch.len);
  const float* z = a.work + static_cast<int64_t>(r) * V;
  double mass = 0.0;
  for (int32_t base = begin; base < end; base += kThreads) {  // all lanes take every step
    const int32_t i = base + static_cast<int32_t>(threadIdx.x);
    const bool active = i < end;
    const float zi = active ? z[i] : mx;
    const double w = active ? weight_of(zi, mx) : 0.0;
    const uint32_t bin = bin_of(zi, mx);
    if (w > 0.0 && bin < boundary) mass += w;
    append_candidate(s, w > 0.0 && bin == boundary, order_key(zi), i);
  }
  mass = block_sum_d(mass, sh);
  if (threadIdx.x == 0) s.chunk_mass[c] = mass;
  if (!arrive_last(&s.row->select_arrivals, ch.n_chunk, sh)) return;
  if (boundary < static_cast<uint32_t>(kBins)) cut_candidates(s, ch.len, ranked, sh);
}

enum DrawRole : int32_t {
  kNotHere = 0,
  kDrawHere = 1,      // u's share of the kept mass ends in this chunk
  kLastKeptHere = 2,  // rounding left it unreached: the row's last kept token is in this chunk
};

// Thread 0 walks the row's chunk masses in chunk order (the same additions in every block) and
// sets the block's draw_role, draw_offset and draw_target.
__device__ void locate_draw(const SplitView& s, int32_t n_chunk, int32_t c, double u, Shared& sh) {
  if (threadIdx.x == 0) {
    constexpr int kBatch = 8;
    double run = 0.0, offset = 0.0, mine = 0.0;
    int32_t last_kept = -1;
    for (int32_t c0 = 0; c0 < n_chunk; c0 += kBatch) {
      double m[kBatch];
#pragma unroll
      for (int k = 0; k < kBatch; ++k) m[k] = c0 + k < n_chunk ? s.chunk_mass[c0 + k] : 0.0;
#pragma unroll
      for (int k = 0; k < kBatch; ++k) {
        if (c0 + k == c) {
          offset = run;
          mine = m[k];
        }
        if (m[k] > 0.0) last_kept = c0 + k;
        run += m[k];
      }
    }
    const double target = u * run;
    int32_t role = kNotHere;
    if (mine > 0.0 && offset <= target && target < offset + mine) role = kDrawHere;
    if (target >= run && c == last_kept) role = kLastKeptHere;
    sh.draw_role = role;
    sh.draw_offset = offset;
    sh.draw_target = target;
  }
  __syncthreads();
}

// The draw: the chunk where u's share of the kept mass ends walks its kept tokens in id order.
__global__ void __launch_bounds__(kThreads) split_draw_kernel(SampleLaunch a) {
  __shared__ Shared sh;
  const int32_t r = blockIdx.y, c = blockIdx.x, V = a.n_vocab;
  const SampleRowParams p = a.rows[r];
  if (!uses_split_path(p, V)) return;
  const SplitView s = split_view(a, r);
  if (s.row->fallback) return;
  const Chunking ch = chunking(a.n_rows, V);
  locate_draw(s, ch.n_chunk, c, p.u, sh);
  if (sh.draw_role == kNotHere) return;
  const float mx = s.row->max;
  const uint32_t cut_key = s.row->cut_key;
  const int32_t cut_id = s.row->cut_id;
  const int32_t begin = c * ch.len, end = min(V, begin + ch.len);
  const float* z = a.work + static_cast<int64_t>(r) * V;
  auto weight = [&](int32_t j) {
    const int32_t i = begin + j;
    const uint32_t key = order_key(z[i]);
    if (key < cut_key || (key == cut_key && i > cut_id)) return 0.0;
    return weight_of(z[i], mx);
  };
  const double target = sh.draw_role == kDrawHere ? sh.draw_target - sh.draw_offset : INFINITY;
  const int32_t token = begin + block_draw(end - begin, target, weight, sh);
  if (threadIdx.x == 0) a.results[r] = {token, 0.0f};
}

// ---- One block per row ----

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
  if (a.n_split_rows > 0) {
    const dim3 grid(static_cast<unsigned>(chunking(a.n_rows, a.n_vocab).n_chunk), static_cast<unsigned>(a.n_rows));
    split_prepare_kernel<TL><<<grid, kThreads, 0, ctx.stream>>>(a);
    split_histogram_kernel<<<grid, kThreads, 0, ctx.stream>>>(a);
    split_candidates_kernel<<<grid, kThreads, 0, ctx.stream>>>(a);
    split_draw_kernel<<<grid, kThreads, 0, ctx.stream>>>(a);
  }
  sample_kernel<TL><<<static_cast<unsigned>(a.n_rows), kThreads, 0, ctx.stream>>>(a, ctx.status);
}

}  // namespace

size_t sample_work_bytes(int32_t n_rows, int32_t n_vocab) {
  const auto rows = static_cast<size_t>(n_rows);
  return align256(rows * static_cast<size_t>(n_vocab) * sizeof(float)) +
         rows * split_row_bytes(chunking(n_rows, n_vocab).n_chunk);
}

void launch_sample(const SampleLaunch& a, const LaunchContext& ctx) {
  if (a.n_rows == 0) return;
  if (a.n_split_rows > 0 && a.n_rows > 65535) {
    throw unsupported("sample: " + std::to_string(a.n_rows) + " rows exceed the split kernels' grid limit 65535");
  }
  if (a.logits_dtype == DType::kF32) {
    launch_kernels<float>(a, ctx);
  } else if (a.logits_dtype == DType::kBF16) {
    launch_kernels<__nv_bfloat16>(a, ctx);
  } else {
    throw unsupported(std::string("sample: logits dtype ") + dtype_name(a.logits_dtype) + " (expected F32 or BF16)");
  }
  check_launch(ctx.op, "sample kernels");
}

}  // namespace swallow::cuda
