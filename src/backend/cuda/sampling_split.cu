// The split path of the device sample op, for rows with only temperature and top_p
// (uses_split_path): each row is cut into chunks (more and shorter when there are few rows), one
// block each, over four kernels: prepare (processed logits, chunk maxima), histogram (probability
// mass per bin of distance below the max; the row's last block picks the bin where the top_p mass
// is reached), candidates (each chunk's mass before that bin, and its tokens in that bin appended
// to a list; the row's last block sorts the list by (logit desc, id asc) and cuts it where the
// mass reaches top_p) and draw (the chunk holding u's share of the kept mass walks its kept tokens
// in id order). A row with a non-finite max or mass, or more than kMaxCandidates boundary-bin
// tokens, falls back to the one-block kernel (sampling.cu).
#include <climits>

#include "backend/cuda/sampling_split.cuh"

namespace swallow::cuda::sampling {
namespace {

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

}  // namespace

template <typename TL>
void launch_split_kernels(const SampleLaunch& a, const LaunchContext& ctx) {
  const dim3 grid(static_cast<unsigned>(chunking(a.n_rows, a.n_vocab).n_chunk), static_cast<unsigned>(a.n_rows));
  split_prepare_kernel<TL><<<grid, kThreads, 0, ctx.stream>>>(a);
  split_histogram_kernel<<<grid, kThreads, 0, ctx.stream>>>(a);
  split_candidates_kernel<<<grid, kThreads, 0, ctx.stream>>>(a);
  split_draw_kernel<<<grid, kThreads, 0, ctx.stream>>>(a);
}

template void launch_split_kernels<float>(const SampleLaunch& a, const LaunchContext& ctx);
template void launch_split_kernels<__nv_bfloat16>(const SampleLaunch& a, const LaunchContext& ctx);

}  // namespace swallow::cuda::sampling
