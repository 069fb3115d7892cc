// Split-KV ("flash-decoding") attention over the paged KV cache, one block per (token, kv head,
// key range), all query heads of the kv head's group served by one read of each K/V tile (GQA);
// online softmax in f32 with base-2 exponentials. With several key ranges, each block writes an
// unnormalised partial (o, max, sum) and a combine kernel merges them per (token, head).
// Two kernels: a tensor-core one for bf16 q and cache with head_dim 64 or 128 and groups <= 16
// (per-warp cp.async pipelines, mma.sync, no barrier in the key loop), and a general one for any
// head_dim <= 256 and any dtype (f32 smem tiles of 32 keys).
#include <algorithm>

#include "backend/cuda/attention.h"
#include "backend/cuda/cuda_check.h"
#include "backend/cuda/dependent_launch.cuh"
#include "backend/cuda/device_math.cuh"
#include "backend/cuda/mma_bf16.cuh"

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
  int64_t n_items;   // n_tokens * n_kv_heads * n_splits
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

// Sequence of token `tok`: the s with seq_token_start[s] <= tok < seq_token_start[s + 1]. Decode
// batches (one token per sequence) are answered by two independent loads, others by bisection.
__device__ int32_t find_seq(const int32_t* starts, int32_t n_seqs, int32_t tok) {
  const int32_t guess = min(tok, n_seqs - 1);
  const int32_t first = starts[guess];
  const int32_t next = starts[guess + 1];
  if (first <= tok && tok < next) return guess;
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
  allow_next_kernel();  // the o_proj matmul may start streaming its weights
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

// ---- Tensor-core path: bf16 q and cache, head_dim kD (64 or 128), group <= 16 ----------------
// Work items are (token, kv head, key split), numbered with the split fastest, then the kv head.
// A block of kTcWarps warps takes kTcWarps / kW consecutive items (kW warps per item); the warps
// of an item take every kW-th 16-key tile of its keys and keep their own online softmax, merged
// through smem at the end.
// S = Q K^T and O += P V run on mma.sync m16n8k16 with the group's query heads as rows (padded
// to 16). Each lane copies (cp.async, kTcStages tiles in flight) exactly the 16-byte chunks its
// fragments need and reads them back itself, so the key loop needs no barrier:
// - K: lane (g, t) takes keys g and g + 8 of the tile, dims [32p + 8t, 32p + 8t + 8) for each p;
//   the k index of the QK^T mma runs over dims in that order, and Q's fragments use the same order.
// - V: lane (g, t) takes keys 2t, 2t + 1, 2t + 8, 2t + 9, dims [64h + 8g, 64h + 8g + 8); element
//   e of half h feeds n-tile 8h + e, so O's n index is dim 64h + 8n + e of n-tile 8h + e.
constexpr int kTcWarps = 4;
constexpr int kTcThreads = kTcWarps * 32;
constexpr int kTcTileKeys = 16;
constexpr int kTcStages = 3;
constexpr int kTcMaxGroup = 16;
constexpr int kTcBlocksPerSm = 2;  // smem-bound at head_dim 128: 96 KB per block
// Warps per item: on H100 4 beat 2 and 1 at 128 x 256, 64 x 1024 and 1 x 4096 (fewer warps per
// item need more splits or leave each warp a longer serial chain of tiles).
constexpr int kTcWarpsPerItem = 4;
constexpr int kTcItemsPerBlock = kTcWarps / kTcWarpsPerItem;
// Fewest tiles per warp in one key split. A split adds the combine kernel (~4 us on H100), which
// only pays when it shortens a longer chain of tiles: with 4, contexts up to 256 keys are not split.
constexpr int kTcMinSplitTiles = 4;

// 16-byte chunks each lane copies per tile: kD / 16 of K, kD / 16 of V.
template <int kD>
constexpr int kTcChunks = kD / 8;
template <int kD>
constexpr size_t kTcStageBytes = size_t{32} * kTcChunks<kD> * 16;
template <int kD>
constexpr size_t kTcSmemBytes = kTcWarps * kTcStages * kTcStageBytes<kD>;
// Epilogue, in each warp's own stage memory: o [kTcMaxGroup][kD + 4] f32, then m and l [16].
template <int kD>
constexpr int kTcORowStride = kD + 4;
static_assert(kTcStages * kTcStageBytes<64> >= (kTcMaxGroup * kTcORowStride<64> + 32) * sizeof(float));
static_assert(kTcStages * kTcStageBytes<128> >= (kTcMaxGroup * kTcORowStride<128> + 32) * sizeof(float));

bool decode_tc_supported(const AttentionArgs& a) {
  const int32_t group = a.n_kv_heads > 0 ? a.n_heads / a.n_kv_heads : 0;
  return a.q_dtype == DType::kBF16 && a.kv_dtype == DType::kBF16 && (a.head_dim == 64 || a.head_dim == 128) &&
         group >= 1 && group <= kTcMaxGroup;
}

struct DecodeItem {
  int32_t tok, kvh, split;
};
__device__ __forceinline__ DecodeItem decode_item(const DecodeParams& p, int64_t item) {
  const int64_t head = item / p.n_splits;
  return {static_cast<int32_t>(head / p.n_kv_heads), static_cast<int32_t>(head % p.n_kv_heads),
          static_cast<int32_t>(item % p.n_splits)};
}

template <int kD>
__global__ void __launch_bounds__(kTcThreads) decode_attention_tc_kernel(DecodeParams p) {
  allow_next_kernel();  // the o_proj matmul may start streaming its weights
  constexpr int kKChunks = kD / 32;  // per K key row of a lane
  constexpr int kVChunks = kD / 64;  // per V key row of a lane
  constexpr int kNTiles = kD / 8;    // n-tiles of O
  extern __shared__ __align__(16) unsigned char tc_smem[];
  const int warp = threadIdx.x >> 5;
  const int lane = threadIdx.x & 31;
  const int g = lane >> 2;
  const int t = lane & 3;
  // Stage s, chunk c of this lane at stages + (s * kTcChunks + c) * 32: lanes side by side.
  uint4* stages = reinterpret_cast<uint4*>(tc_smem + warp * kTcStages * kTcStageBytes<kD>) + lane;

  const int64_t item = int64_t{blockIdx.x} * kTcItemsPerBlock + warp / kTcWarpsPerItem;
  const int part = warp % kTcWarpsPerItem;  // this warp takes the item's tiles part, part + kW, ...
  const bool active = item < p.n_items;
  const DecodeItem mine = decode_item(p, active ? item : 0);
  const int32_t tok = mine.tok, kvh = mine.kvh, split = mine.split;
  const int32_t G = p.group;
  const int32_t seq = find_seq(p.seq_token_start, p.n_seqs, tok);
  const int32_t* table = p.block_tables + static_cast<int64_t>(seq) * p.max_blocks_per_seq;
  int32_t pos = active ? p.token_pos[tok] : -1;
  if (active && (pos < 0 || pos >= p.max_blocks_per_seq * p.block_size)) {
    if (lane == 0 && part == 0 && split == 0) atomicOr(p.status, kStatusBadPosition);
    pos = -1;
  }
  const int32_t k_begin = split * p.split_len;
  const int32_t k_end = min(k_begin + p.split_len, pos + 1);
  const int32_t n_tiles = max(0, (k_end - k_begin + kTcTileKeys - 1) / kTcTileKeys);
  const int32_t my_tiles = n_tiles > part ? (n_tiles - part + kTcWarpsPerItem - 1) / kTcWarpsPerItem : 0;

  const auto* k_cache = static_cast<const __nv_bfloat16*>(p.k_cache);
  const auto* v_cache = static_cast<const __nv_bfloat16*>(p.v_cache);
  // The lane's six keys of a tile: K rows g, g + 8 (r = 0, 1), V rows 2t, 2t + 1, 2t + 8, 2t + 9.
  auto lane_key = [&](int r) { return r < 2 ? r * 8 + g : ((r - 2) >> 1) * 8 + 2 * t + (r & 1); };
  auto tile_k0 = [&](int32_t i) { return k_begin + (part + i * kTcWarpsPerItem) * kTcTileKeys; };
  // Block and slot of key k0 + j without a division per key.
  auto locate = [&](int32_t k0, int32_t j, int32_t& block, int32_t& slot) {
    block = k0 / p.block_size;
    slot = k0 - block * p.block_size + j;
    while (slot >= p.block_size) {
      slot -= p.block_size;
      ++block;
    }
  };
  // Block sizes that are multiples of 16 hold whole tiles (tiles start at multiples of 16): one
  // table entry per tile, one cache row stride between its keys.
  const bool whole_tiles = p.block_size % kTcTileKeys == 0;
  const int64_t row_stride = int64_t{p.n_kv_heads} * kD;
  // Block-table entries of the lane's keys of tile i (of its first key for whole tiles): plain
  // loads, checked only by `copy`, so they can be issued a tile ahead of their use.
  auto lookup = [&](int32_t i, int32_t (&entry)[6]) {
    const int32_t k0 = tile_k0(i);
    if (whole_tiles) {
      entry[0] = table[k0 / p.block_size];
      return;
    }
#pragma unroll
    for (int r = 0; r < 6; ++r) {
      int32_t block, slot;
      locate(k0, lane_key(r), block, slot);
      entry[r] = k0 + lane_key(r) < k_end ? table[block] : 0;
    }
  };
  // Starts the copy of tile i into stage s; keys past the split and bad entries (flagged) are
  // zero filled.
  auto copy = [&](int32_t i, int s, const int32_t (&entry)[6]) {
    const int32_t k0 = tile_k0(i);
    int64_t off[6];  // cache offset of (key, kvh, dim 0), -1: zero fill
    if (whole_tiles) {
      const bool bad = entry[0] < 0 || entry[0] >= p.n_blocks;
      if (bad) atomicOr(p.status, kStatusBadBlock);
      const int64_t base =
          (static_cast<int64_t>(entry[0]) * p.block_size + k0 % p.block_size) * row_stride + int64_t{kvh} * kD;
#pragma unroll
      for (int r = 0; r < 6; ++r) off[r] = !bad && k0 + lane_key(r) < k_end ? base + lane_key(r) * row_stride : -1;
    } else {
#pragma unroll
      for (int r = 0; r < 6; ++r) {
        int32_t block, slot;
        locate(k0, lane_key(r), block, slot);
        off[r] = -1;
        if (k0 + lane_key(r) < k_end) {
          if (entry[r] < 0 || entry[r] >= p.n_blocks) {
            atomicOr(p.status, kStatusBadBlock);
          } else {
            off[r] = (static_cast<int64_t>(entry[r]) * p.block_size + slot) * row_stride + int64_t{kvh} * kD;
          }
        }
      }
    }
    uint4* dst = stages + s * kTcChunks<kD> * 32;
#pragma unroll
    for (int r = 0; r < 2; ++r) {
#pragma unroll
      for (int c = 0; c < kKChunks; ++c) {
        const __nv_bfloat16* src = off[r] < 0 ? k_cache : k_cache + off[r] + c * 32 + t * 8;
        cp_async_16_zfill(dst + (r * kKChunks + c) * 32, src, off[r] < 0 ? 0 : 16);
      }
    }
#pragma unroll
    for (int r = 0; r < 4; ++r) {
#pragma unroll
      for (int h = 0; h < kVChunks; ++h) {
        const __nv_bfloat16* src = off[2 + r] < 0 ? v_cache : v_cache + off[2 + r] + h * 64 + g * 8;
        cp_async_16_zfill(dst + (2 * kKChunks + r * kVChunks + h) * 32, src, off[2 + r] < 0 ? 0 : 16);
      }
    }
  };
#pragma unroll
  for (int s = 0; s < kTcStages; ++s) {
    if (s < my_tiles) {
      int32_t entry[6];
      lookup(s, entry);
      copy(s, s, entry);
    }
    cp_async_commit_group();
  }

  // Q fragments of k-steps 2c and 2c + 1 from dims [32c + 8t, 32c + 8t + 8) of rows g and g + 8
  // (zero rows past the group).
  uint32_t qa[kD / 16][4];
  {
    const auto* q = static_cast<const __nv_bfloat16*>(p.q) + (static_cast<int64_t>(tok) * p.n_heads + kvh * G) * kD;
    const bool row0 = active && g < G, row1 = active && g + 8 < G;
#pragma unroll
    for (int c = 0; c < kKChunks; ++c) {
      const __nv_bfloat16* chunk = q + g * kD + c * 32 + t * 8;
      const uint4 lo = row0 ? *reinterpret_cast<const uint4*>(chunk) : make_uint4(0, 0, 0, 0);
      const uint4 hi = row1 ? *reinterpret_cast<const uint4*>(chunk + 8 * kD) : make_uint4(0, 0, 0, 0);
      qa[2 * c][0] = lo.x, qa[2 * c][1] = hi.x, qa[2 * c][2] = lo.y, qa[2 * c][3] = hi.y;
      qa[2 * c + 1][0] = lo.z, qa[2 * c + 1][1] = hi.z, qa[2 * c + 1][2] = lo.w, qa[2 * c + 1][3] = hi.w;
    }
  }

  float o[kNTiles][4];  // rows g, g + 8 of O in the permuted dim order above
#pragma unroll
  for (int n = 0; n < kNTiles; ++n) o[n][0] = o[n][1] = o[n][2] = o[n][3] = 0.0f;
  float m0 = -INFINITY, m1 = -INFINITY;  // running max (base-2 logits) of rows g, g + 8
  float l0 = 0.0f, l1 = 0.0f;            // this lane's share of the running sums

  for (int32_t i = 0; i < my_tiles; ++i) {
    const int s = i % kTcStages;
    const bool refill = i + kTcStages < my_tiles;
    int32_t ahead[6];  // table entries of the tile that refills stage s, read during this one
    if (refill) lookup(i + kTcStages, ahead);
    cp_async_wait_group<kTcStages - 1>();
    const uint4* src = stages + s * kTcChunks<kD> * 32;
    const int32_t k0 = tile_k0(i);

    // S = Q K^T: n-tile r holds keys 8r .. 8r + 7; even and odd k-steps in separate
    // accumulators to halve the dependent mma chain.
    float sc[2][4] = {{0, 0, 0, 0}, {0, 0, 0, 0}};
    float odd[2][4] = {{0, 0, 0, 0}, {0, 0, 0, 0}};
#pragma unroll
    for (int c = 0; c < kKChunks; ++c) {
#pragma unroll
      for (int r = 0; r < 2; ++r) {
        const uint4 kc = src[(r * kKChunks + c) * 32];
        mma_m16n8k16_bf16(sc[r], qa[2 * c], kc.x, kc.y);
        mma_m16n8k16_bf16(odd[r], qa[2 * c + 1], kc.z, kc.w);
      }
    }
    // Online softmax in base 2; keys past the split end are masked.
    const bool partial = k0 + kTcTileKeys > k_end;
    float mx0 = m0, mx1 = m1;
#pragma unroll
    for (int r = 0; r < 2; ++r) {
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const bool valid = !partial || k0 + r * 8 + 2 * t + (e & 1) < k_end;
        sc[r][e] = valid ? (sc[r][e] + odd[r][e]) * p.scale_log2 : -INFINITY;
      }
      mx0 = fmaxf(mx0, fmaxf(sc[r][0], sc[r][1]));
      mx1 = fmaxf(mx1, fmaxf(sc[r][2], sc[r][3]));
    }
    mx0 = lane_quad_max(mx0);  // finite: the tile's first key is valid
    mx1 = lane_quad_max(mx1);
    const float alpha0 = exp2_approx(m0 - mx0);
    const float alpha1 = exp2_approx(m1 - mx1);
    m0 = mx0;
    m1 = mx1;
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      sc[r][0] = exp2_approx(sc[r][0] - mx0);
      sc[r][1] = exp2_approx(sc[r][1] - mx0);
      sc[r][2] = exp2_approx(sc[r][2] - mx1);
      sc[r][3] = exp2_approx(sc[r][3] - mx1);
    }
    l0 = l0 * alpha0 + (sc[0][0] + sc[0][1] + sc[1][0] + sc[1][1]);
    l1 = l1 * alpha1 + (sc[0][2] + sc[0][3] + sc[1][2] + sc[1][3]);
    if (__any_sync(0xffffffffu, alpha0 != 1.0f || alpha1 != 1.0f)) {  // a row max of the warp moved
#pragma unroll
      for (int n = 0; n < kNTiles; ++n) {
        o[n][0] *= alpha0;
        o[n][1] *= alpha0;
        o[n][2] *= alpha1;
        o[n][3] *= alpha1;
      }
    }
    // O += P V: P's k index is the key (2t, 2t + 1 from n-tile 0; 2t + 8, 2t + 9 from n-tile 1).
    const uint32_t pa[4] = {pack_bf16x2(sc[0][0], sc[0][1]), pack_bf16x2(sc[0][2], sc[0][3]),
                            pack_bf16x2(sc[1][0], sc[1][1]), pack_bf16x2(sc[1][2], sc[1][3])};
#pragma unroll
    for (int h = 0; h < kVChunks; ++h) {
      uint4 vc[4];  // keys 2t, 2t + 1, 2t + 8, 2t + 9: dims [64h + 8g, 64h + 8g + 8)
#pragma unroll
      for (int r = 0; r < 4; ++r) vc[r] = src[(2 * kKChunks + r * kVChunks + h) * 32];
#pragma unroll
      for (int e = 0; e < 8; ++e) {
        const uint32_t sel = (e & 1) ? 0x7632u : 0x5410u;  // high or low bf16 of both words
        const uint32_t w[4] = {(&vc[0].x)[e >> 1], (&vc[1].x)[e >> 1], (&vc[2].x)[e >> 1], (&vc[3].x)[e >> 1]};
        mma_m16n8k16_bf16(o[h * 8 + e], pa, __byte_perm(w[0], w[1], sel), __byte_perm(w[2], w[3], sel));
      }
    }
    if (refill) copy(i + kTcStages, s, ahead);  // this lane has read stage s
    cp_async_commit_group();
  }
  cp_async_wait_group<0>();
  l0 = lane_quad_sum(l0);
  l1 = lane_quad_sum(l1);
  __syncwarp();  // every lane has read its stages before the warp reuses them

  // Warp partials -> this warp's stage memory; then the block merges each item's kW partials.
  float* o_w = reinterpret_cast<float*>(tc_smem + warp * kTcStages * kTcStageBytes<kD>);  // [16][kD + 4]
  float* ml_w = o_w + kTcMaxGroup * kTcORowStride<kD>;                                   // m [16], l [16]
#pragma unroll
  for (int n = 0; n < kNTiles; ++n) {
#pragma unroll
    for (int j = 0; j < 2; ++j) {
      const int d = (n / 8) * 64 + (2 * t + j) * 8 + n % 8;
      if (g < G) o_w[g * kTcORowStride<kD> + d] = o[n][j];
      if (g + 8 < G) o_w[(g + 8) * kTcORowStride<kD> + d] = o[n][2 + j];
    }
  }
  if (t == 0) {
    ml_w[g] = m0;
    ml_w[g + 8] = m1;
    ml_w[16 + g] = l0;
    ml_w[16 + g + 8] = l1;
  }
  __syncthreads();

  constexpr size_t kWarpFloats = kTcStages * kTcStageBytes<kD> / sizeof(float);
  for (int j = 0; j < kTcItemsPerBlock; ++j) {
    const int64_t merged = int64_t{blockIdx.x} * kTcItemsPerBlock + j;
    if (merged >= p.n_items) break;
    const DecodeItem it = decode_item(p, merged);
    const float* first = reinterpret_cast<const float*>(tc_smem) + j * kTcWarpsPerItem * kWarpFloats;
    const float* ml = first + kTcMaxGroup * kTcORowStride<kD>;
    for (int idx = threadIdx.x; idx < G * kD; idx += kTcThreads) {
      const int h = idx / kD;
      const int d = idx % kD;
      float m = -INFINITY;
#pragma unroll
      for (int w = 0; w < kTcWarpsPerItem; ++w) m = fmaxf(m, ml[w * kWarpFloats + h]);
      const float base = m == -INFINITY ? 0.0f : m;
      float acc = 0.0f, l = 0.0f;
#pragma unroll
      for (int w = 0; w < kTcWarpsPerItem; ++w) {
        const float f = exp2f(ml[w * kWarpFloats + h] - base);
        acc += first[w * kWarpFloats + h * kTcORowStride<kD> + d] * f;
        l += ml[w * kWarpFloats + 16 + h] * f;
      }
      const int64_t head_row = static_cast<int64_t>(it.tok) * p.n_heads + it.kvh * G + h;
      if (p.n_splits == 1) {
        static_cast<__nv_bfloat16*>(p.out)[head_row * kD + d] = __float2bfloat16_rn(l > 0.0f ? acc / l : 0.0f);
      } else {
        const int64_t slot = head_row * p.n_splits + it.split;
        p.partial_o[slot * kD + d] = acc;
        if (d == 0) {
          p.partial_m[slot] = m;
          p.partial_l[slot] = l;
        }
      }
    }
  }
}

// One block per (token, head): merges the n_splits partials. out [n_tokens, n_heads * D] TQ.
template <typename TQ>
__global__ void combine_kernel(DecodeParams p) {
  allow_next_kernel();  // the o_proj matmul may start streaming its weights
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

// n_splits ranges of split_len keys (a multiple of `granule`, at least min_keys unless the context
// is shorter) so that n_tokens * n_kv_heads * n_splits reaches about target_items.
DecodeSplit split_keys(const AttentionArgs& a, int64_t target_items, int32_t min_keys, int32_t granule) {
  DecodeSplit split;
  const int64_t base_items = int64_t{a.n_tokens} * a.n_kv_heads;
  const int64_t by_fill = (target_items + base_items - 1) / std::max<int64_t>(base_items, 1);
  const int64_t by_length = (int64_t{a.max_context} + min_keys - 1) / min_keys;
  split.n_splits = static_cast<int32_t>(std::clamp<int64_t>(std::min(by_fill, by_length), 1, 65535));
  const int32_t per_split = (a.max_context + split.n_splits - 1) / split.n_splits;
  split.split_len = std::max(granule, (per_split + granule - 1) / granule * granule);
  split.n_splits = std::max(1, (a.max_context + split.split_len - 1) / split.split_len);
  return split;
}

template <typename TQ>
void launch_combine(const AttentionArgs& a, const DecodeParams& p, const LaunchContext& ctx) {
  const unsigned threads = static_cast<unsigned>(std::min(256, (a.head_dim + 31) / 32 * 32));
  combine_kernel<TQ><<<static_cast<unsigned>(int64_t{a.n_tokens} * a.n_heads), threads, 0, ctx.stream>>>(p);
  check_launch(ctx.op, "attention combine_kernel");
}

template <int kD>
void launch_decode_tc_dim(const AttentionArgs& a, const DecodeParams& p, const LaunchContext& ctx) {
  auto* kernel = decode_attention_tc_kernel<kD>;
  constexpr size_t smem = kTcSmemBytes<kD>;
  if (smem > 48 * 1024) {
    check(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem)), ctx.op,
          "cudaFuncSetAttribute(decode_attention_tc_kernel)");
  }
  const auto blocks = static_cast<unsigned>((p.n_items + kTcItemsPerBlock - 1) / kTcItemsPerBlock);
  kernel<<<blocks, kTcThreads, smem, ctx.stream>>>(p);
  check_launch(ctx.op, "decode_attention_tc_kernel");
  if (p.n_splits > 1) launch_combine<__nv_bfloat16>(a, p, ctx);
}

void launch_decode_tc(const AttentionArgs& a, const DecodeParams& p, const LaunchContext& ctx) {
  if (a.head_dim == 64) {
    launch_decode_tc_dim<64>(a, p, ctx);
  } else {
    launch_decode_tc_dim<128>(a, p, ctx);
  }
}

}  // namespace

DecodeSplit plan_decode_split(const AttentionArgs& a, int n_sms) {
  const int64_t sms = std::max(n_sms, 1);
  // Tensor-core path: one wave of resident blocks, at least kTcMinSplitTiles tiles per warp.
  if (decode_tc_supported(a)) {
    return split_keys(a, kTcBlocksPerSm * kTcItemsPerBlock * sms, kTcMinSplitTiles * kTcWarpsPerItem * kTcTileKeys,
                      kTcWarpsPerItem * kTcTileKeys);
  }
  return split_keys(a, 4 * sms, kMinSplitKeys, kTileKeys);
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
  p.n_items = int64_t{a.n_tokens} * a.n_kv_heads * split.n_splits;
  p.status = ctx.status;
  if (split.n_splits > 1) {
    const size_t parts = static_cast<size_t>(a.n_tokens) * a.n_heads * split.n_splits;
    p.partial_o = workspace;
    p.partial_m = workspace + parts * a.head_dim;
    p.partial_l = p.partial_m + parts;
  }
  if (decode_tc_supported(a)) {
    launch_decode_tc(a, p, ctx);
    return;
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
      if (split.n_splits > 1) launch_combine<TQ>(a, p, ctx);
    });
  });
}

}  // namespace swallow::cuda
