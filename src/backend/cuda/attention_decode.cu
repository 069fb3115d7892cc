// Split-KV ("flash-decoding") attention over the paged KV cache, for any number of tokens per
// sequence, any head_dim <= 256 and any cache dtype: one block per (token, kv head, key range)
// computes all query heads of the kv head's group from one read of each K/V tile (GQA-aware);
// online softmax in f32 with base-2 exponentials. With several key ranges, each block writes
// an unnormalised partial (o, max, sum) and a combine kernel merges them per (token, head).
#include <algorithm>

#include "backend/cuda/attention.h"
#include "backend/cuda/cuda_check.h"
#include "backend/cuda/device_math.cuh"

namespace swallow::cuda {
namespace {

constexpr int kThreads = 128;
constexpr int kTileKeys = 32;  // one key per lane in the softmax step
constexpr int kAccPerThread = kDecodeMaxGroupElems / kThreads;
constexpr int kMinSplitKeys = 128;

struct DecodeParams {
  const void* q;
  void* out;
  const void* k_cache;
  const void* v_cache;
  const int32_t* token_pos;
  const int32_t* seq_token_start;
  const int32_t* block_tables;
  int32_t n_seqs;
  int32_t max_blocks_per_seq;
  int32_t block_size;
  int32_t n_blocks;
  int32_t n_heads;
  int32_t n_kv_heads;
  int32_t head_dim;
  int32_t group;
  float scale_log2;
  int32_t n_splits;
  int32_t split_len;
  float* partial_o;  // [n_tokens, n_heads, n_splits, head_dim] when n_splits > 1
  float* partial_m;  // [n_tokens, n_heads, n_splits]
  float* partial_l;  // [n_tokens, n_heads, n_splits]
  uint32_t* status;
};

size_t decode_smem_bytes(int32_t group, int32_t head_dim) {
  const size_t floats = static_cast<size_t>(group) * head_dim             // q
                        + static_cast<size_t>(kTileKeys) * (head_dim + 1)  // k (padded rows)
                        + static_cast<size_t>(kTileKeys) * head_dim        // v
                        + static_cast<size_t>(group) * kTileKeys           // scores / probabilities
                        + 3 * static_cast<size_t>(group);                  // max, sum, rescale
  return floats * sizeof(float);
}

// Sequence of token `tok`: the s with seq_token_start[s] <= tok < seq_token_start[s + 1].
__device__ int32_t find_seq(const int32_t* starts, int32_t n_seqs, int32_t tok) {
  int32_t lo = 0, hi = n_seqs - 1;
  while (lo < hi) {
    const int32_t mid = (lo + hi + 1) / 2;
    if (starts[mid] <= tok) lo = mid; else hi = mid - 1;
  }
  return lo;
}

// Cache offset of (key, kv head, element d) through the block table; -1 (and a status flag) for a
// block-table entry outside the cache.
__device__ __forceinline__ int64_t kv_offset(const int32_t* table, const DecodeParams& p, int32_t kvh, int32_t key,
                                             int32_t d) {
  const int32_t block = table[key / p.block_size];
  if (block < 0 || block >= p.n_blocks) {
    atomicOr(p.status, kStatusBadBlock);
    return -1;
  }
  return ((static_cast<int64_t>(block) * p.block_size + key % p.block_size) * p.n_kv_heads + kvh) * p.head_dim + d;
}

// Keys [k0, k0 + n_keys) of one kv head into k_s [kTileKeys][D + 1] and v_s [kTileKeys][D] as f32
// (zeros past n_keys), one element per access.
template <typename TKV>
__device__ void load_tile_scalar(const TKV* k_cache, const TKV* v_cache, const int32_t* table, const DecodeParams& p,
                                 int32_t kvh, int32_t k0, int32_t n_keys, float* k_s, float* v_s) {
  const int32_t D = p.head_dim;
  for (int i = threadIdx.x; i < kTileKeys * D; i += kThreads) {
    const int j = i / D;
    const int d = i % D;
    const int64_t off = j < n_keys ? kv_offset(table, p, kvh, k0 + j, d) : -1;
    k_s[j * (D + 1) + d] = off >= 0 ? to_f32(k_cache[off]) : 0.0f;
    v_s[j * D + d] = off >= 0 ? to_f32(v_cache[off]) : 0.0f;
  }
}

// The same for 16-bit caches with D % 8 == 0: 16-byte loads, all of a thread's issued before use.
template <typename TKV>
__device__ void load_tile_vec8(const TKV* k_cache, const TKV* v_cache, const int32_t* table, const DecodeParams& p,
                               int32_t kvh, int32_t k0, int32_t n_keys, float* k_s, float* v_s) {
  constexpr int kMaxChunks = kTileKeys * kDecodeMaxHeadDim / 8 / kThreads;
  const int32_t D = p.head_dim;
  const int chunks_per_key = D / 8;
  const int n_chunks = kTileKeys * chunks_per_key;
  uint4 kr[kMaxChunks], vr[kMaxChunks];
#pragma unroll
  for (int c = 0; c < kMaxChunks; ++c) {
    const int i = threadIdx.x + c * kThreads;
    kr[c] = vr[c] = make_uint4(0, 0, 0, 0);
    if (i < n_chunks) {
      const int j = i / chunks_per_key;
      const int64_t off = j < n_keys ? kv_offset(table, p, kvh, k0 + j, (i % chunks_per_key) * 8) : -1;
      if (off >= 0) {
        kr[c] = *reinterpret_cast<const uint4*>(k_cache + off);
        vr[c] = *reinterpret_cast<const uint4*>(v_cache + off);
      }
    }
  }
#pragma unroll
  for (int c = 0; c < kMaxChunks; ++c) {
    const int i = threadIdx.x + c * kThreads;
    if (i < n_chunks) {
      const int j = i / chunks_per_key;
      const int d = (i % chunks_per_key) * 8;
      const TKV* ke = reinterpret_cast<const TKV*>(&kr[c]);
      const TKV* ve = reinterpret_cast<const TKV*>(&vr[c]);
#pragma unroll
      for (int e = 0; e < 8; ++e) {
        k_s[j * (D + 1) + d + e] = to_f32(ke[e]);
        v_s[j * D + d + e] = to_f32(ve[e]);
      }
    }
  }
}

template <typename TQ, typename TKV>
__global__ void __launch_bounds__(kThreads) decode_attention_kernel(DecodeParams p) {
  extern __shared__ __align__(16) float smem[];
  const int32_t D = p.head_dim;
  const int32_t G = p.group;
  const int32_t k_stride = D + 1;  // odd row stride: the score loop's lanes hit distinct banks
  float* q_s = smem;                        // [G][D], pre-scaled by scale * log2(e)
  float* k_s = q_s + G * D;                 // [kTileKeys][D + 1]
  float* v_s = k_s + kTileKeys * k_stride;  // [kTileKeys][D]
  float* p_s = v_s + kTileKeys * D;         // [G][kTileKeys]
  float* m_s = p_s + G * kTileKeys;         // [G] running max
  float* l_s = m_s + G;                     // [G] running sum
  float* a_s = l_s + G;                     // [G] rescale of this tile

  const int tid = threadIdx.x;
  const int32_t tok = blockIdx.x;
  const int32_t kvh = blockIdx.y;
  const int32_t split = blockIdx.z;
  const int32_t seq = find_seq(p.seq_token_start, p.n_seqs, tok);
  const int32_t* table = p.block_tables + static_cast<int64_t>(seq) * p.max_blocks_per_seq;
  int32_t pos = p.token_pos[tok];
  if (pos < 0 || pos >= p.max_blocks_per_seq * p.block_size) {
    if (tid == 0 && split == 0) atomicOr(p.status, kStatusBadPosition);
    pos = -1;
  }
  const int32_t k_begin = split * p.split_len;
  const int32_t k_end = min(k_begin + p.split_len, pos + 1);

  const TQ* q = static_cast<const TQ*>(p.q) + (static_cast<int64_t>(tok) * p.n_heads + kvh * G) * D;
  for (int i = tid; i < G * D; i += kThreads) q_s[i] = to_f32(q[i]) * p.scale_log2;
  for (int h = tid; h < G; h += kThreads) {
    m_s[h] = -INFINITY;
    l_s[h] = 0.0f;
  }
  float acc[kAccPerThread];
#pragma unroll
  for (int a = 0; a < kAccPerThread; ++a) acc[a] = 0.0f;
  __syncthreads();

  const TKV* k_cache = static_cast<const TKV*>(p.k_cache);
  const TKV* v_cache = static_cast<const TKV*>(p.v_cache);
  for (int32_t k0 = k_begin; k0 < k_end; k0 += kTileKeys) {
    const int32_t n_keys = min(kTileKeys, k_end - k0);
    // K/V tile -> smem as f32; missing keys are zero.
    if constexpr (sizeof(TKV) == 2) {
      if (D % 8 == 0) {
        load_tile_vec8(k_cache, v_cache, table, p, kvh, k0, n_keys, k_s, v_s);
      } else {
        load_tile_scalar(k_cache, v_cache, table, p, kvh, k0, n_keys, k_s, v_s);
      }
    } else {
      load_tile_scalar(k_cache, v_cache, table, p, kvh, k0, n_keys, k_s, v_s);
    }
    __syncthreads();
    // Scores (base-2 logits) of every (head, key) pair.
    for (int i = tid; i < G * kTileKeys; i += kThreads) {
      const int h = i / kTileKeys;
      const int j = i % kTileKeys;
      float s = -INFINITY;
      if (j < n_keys) {
        const float* qh = q_s + h * D;
        const float* kj = k_s + j * k_stride;
        s = 0.0f;
        for (int d = 0; d < D; ++d) s = fmaf(qh[d], kj[d], s);
      }
      p_s[i] = s;
    }
    __syncthreads();
    // Online softmax: one warp per head, one key per lane.
    for (int h = tid >> 5; h < G; h += kThreads / 32) {
      const int lane = tid & 31;
      const float s = p_s[h * kTileKeys + lane];
      const float m_old = m_s[h];
      const float m_new = fmaxf(m_old, warp_max(s));
      const float base = m_new == -INFINITY ? 0.0f : m_new;
      const float prob = exp2f(s - base);
      const float sum = warp_sum(prob);
      p_s[h * kTileKeys + lane] = prob;
      __syncwarp();  // every lane has read m_s[h] before lane 0 updates it
      if (lane == 0) {
        const float alpha = exp2f(m_old - base);
        a_s[h] = alpha;
        l_s[h] = l_s[h] * alpha + sum;
        m_s[h] = m_new;
      }
    }
    __syncthreads();
    // acc[(h, d)] = acc * alpha[h] + sum_j p[h][j] * v[j][d].
#pragma unroll
    for (int a = 0; a < kAccPerThread; ++a) {
      const int i = tid + a * kThreads;
      if (i < G * D) {
        const int h = i / D;
        const int d = i % D;
        float v = acc[a] * a_s[h];
        for (int j = 0; j < n_keys; ++j) v = fmaf(p_s[h * kTileKeys + j], v_s[j * D + d], v);
        acc[a] = v;
      }
    }
    __syncthreads();
  }

#pragma unroll
  for (int a = 0; a < kAccPerThread; ++a) {
    const int i = tid + a * kThreads;
    if (i < G * D) {
      const int h = i / D;
      const int d = i % D;
      const int64_t head_row = static_cast<int64_t>(tok) * p.n_heads + kvh * G + h;
      if (p.n_splits == 1) {
        const float l = l_s[h];
        static_cast<TQ*>(p.out)[head_row * D + d] = from_f32<TQ>(l > 0.0f ? acc[a] / l : 0.0f);
      } else {
        const int64_t part = head_row * p.n_splits + split;
        p.partial_o[part * D + d] = acc[a];
        if (d == 0) {
          p.partial_m[part] = m_s[h];
          p.partial_l[part] = l_s[h];
        }
      }
    }
  }
}

// One block per (token, head): merges the n_splits partials. out [n_tokens, n_heads * D] TQ.
template <typename TQ>
__global__ void combine_kernel(DecodeParams p) {
  const int64_t head_row = blockIdx.x;
  const int32_t D = p.head_dim;
  const int64_t part0 = head_row * p.n_splits;
  float m = -INFINITY;
  for (int s = 0; s < p.n_splits; ++s) m = fmaxf(m, p.partial_m[part0 + s]);
  const float base = m == -INFINITY ? 0.0f : m;
  float l = 0.0f;
  for (int s = 0; s < p.n_splits; ++s) l += p.partial_l[part0 + s] * exp2f(p.partial_m[part0 + s] - base);
  const float inv_l = l > 0.0f ? 1.0f / l : 0.0f;
  for (int d = threadIdx.x; d < D; d += blockDim.x) {
    float o = 0.0f;
    for (int s = 0; s < p.n_splits; ++s) o += p.partial_o[(part0 + s) * D + d] * exp2f(p.partial_m[part0 + s] - base);
    static_cast<TQ*>(p.out)[head_row * D + d] = from_f32<TQ>(o * inv_l);
  }
}

}  // namespace

DecodeSplit plan_decode_split(const AttentionArgs& a, int n_sms) {
  DecodeSplit split;
  const int64_t base_blocks = int64_t{a.n_tokens} * a.n_kv_heads;
  const int64_t target = 4 * int64_t{std::max(n_sms, 1)};
  const int64_t by_fill = (target + base_blocks - 1) / std::max<int64_t>(base_blocks, 1);
  const int64_t by_length = (int64_t{a.max_context} + kMinSplitKeys - 1) / kMinSplitKeys;
  split.n_splits = static_cast<int32_t>(std::clamp<int64_t>(std::min(by_fill, by_length), 1, 65535));
  const int32_t per_split = (a.max_context + split.n_splits - 1) / split.n_splits;
  split.split_len = std::max(kTileKeys, (per_split + kTileKeys - 1) / kTileKeys * kTileKeys);
  split.n_splits = std::max(1, (a.max_context + split.split_len - 1) / split.split_len);
  return split;
}

size_t decode_workspace_bytes(const AttentionArgs& a, const DecodeSplit& split) {
  if (split.n_splits <= 1) return 0;
  const size_t parts = static_cast<size_t>(a.n_tokens) * a.n_heads * split.n_splits;
  return parts * (static_cast<size_t>(a.head_dim) + 2) * sizeof(float);
}

void launch_decode_attention(const AttentionArgs& a, const DecodeSplit& split, float* workspace,
                             const LaunchContext& ctx) {
  if (a.n_tokens == 0) return;
  DecodeParams p{};
  p.q = a.q;
  p.out = a.out;
  p.k_cache = a.k_cache;
  p.v_cache = a.v_cache;
  p.token_pos = a.token_pos;
  p.seq_token_start = a.seq_token_start;
  p.block_tables = a.block_tables;
  p.n_seqs = a.n_seqs;
  p.max_blocks_per_seq = a.max_blocks_per_seq;
  p.block_size = a.block_size;
  p.n_blocks = a.n_blocks;
  p.n_heads = a.n_heads;
  p.n_kv_heads = a.n_kv_heads;
  p.head_dim = a.head_dim;
  p.group = a.n_heads / a.n_kv_heads;
  p.scale_log2 = a.scale * 1.4426950408889634f;
  p.n_splits = split.n_splits;
  p.split_len = split.split_len;
  p.status = ctx.status;
  if (split.n_splits > 1) {
    const size_t parts = static_cast<size_t>(a.n_tokens) * a.n_heads * split.n_splits;
    p.partial_o = workspace;
    p.partial_m = workspace + parts * a.head_dim;
    p.partial_l = p.partial_m + parts;
  }
  const size_t smem = decode_smem_bytes(p.group, p.head_dim);
  const dim3 grid(static_cast<unsigned>(a.n_tokens), static_cast<unsigned>(a.n_kv_heads),
                  static_cast<unsigned>(split.n_splits));
  visit_float(a.q_dtype, "attention q", [&](auto qe) {
    visit_float(a.kv_dtype, "attention KV cache", [&](auto ke) {
      using TQ = decltype(qe);
      using TKV = decltype(ke);
      auto* kernel = decode_attention_kernel<TQ, TKV>;
      if (smem > 48 * 1024) {
        check(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem)), ctx.op,
              "cudaFuncSetAttribute(decode_attention_kernel)");
      }
      kernel<<<grid, kThreads, smem, ctx.stream>>>(p);
      check_launch(ctx.op, "decode_attention_kernel");
      if (split.n_splits > 1) {
        const unsigned threads = static_cast<unsigned>(std::min(256, (a.head_dim + 31) / 32 * 32));
        combine_kernel<TQ><<<static_cast<unsigned>(int64_t{a.n_tokens} * a.n_heads), threads, 0, ctx.stream>>>(p);
        check_launch(ctx.op, "attention combine_kernel");
      }
    });
  });
}

}  // namespace swallow::cuda
