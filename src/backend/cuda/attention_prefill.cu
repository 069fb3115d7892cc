// Prefill attention over the paged KV cache (bf16 cache, head_dim 64 or 128): one block of 8
// warps per (tile of 128 query rows, sequence, kv head), 16 rows per warp. Rows pack (token,
// query head of the kv head's group), so every K/V tile is read once per group. Blocks start
// longest first (last query tiles, most keys). Keys come in 64-key tiles through a two-stage
// cp.async pipeline (block table entries read one tile ahead); only key tiles up to the block's
// last position are visited and only those past its first position are masked. S = Q K^T and
// O += P V run on mma.sync m16n8k16 bf16 with f32 accumulators, fragments from ldmatrix (Q stays
// in smem so two blocks fit per SM at <= 128 registers); softmax is online (running max and sum
// per row, base-2 exponentials, O rescaled only when a row's max moves).
//
// Measured on H100, 2048-token causal prompt, Llama 3.1 8B heads: 8 warps x 16 rows 0.173 ms;
// 4 warps x 32 rows (Q fragments in registers, 255 registers) 0.183 ms; 8 warps x 32 rows (one
// block per SM) 0.175 ms.
#include <algorithm>

#include "backend/cuda/attention.h"
#include "backend/cuda/cuda_check.h"
#include "backend/cuda/device_math.cuh"
#include "backend/cuda/mma_bf16.cuh"

namespace swallow::cuda {
namespace {

constexpr int kWarps = 8;
constexpr int kThreads = kWarps * 32;
constexpr int kBlockM = kWarps * 16;  // query rows per block
constexpr int kBlockN = 64;           // keys per tile
constexpr int kMaxGroup = 64;         // largest query-head group taken (a block holds >= 2 tokens)

struct PrefillParams {
  const void* q;
  void* out;
  const __nv_bfloat16* k_cache;
  const __nv_bfloat16* v_cache;
  const int32_t* token_pos;
  const int32_t* seq_token_start;
  const int32_t* block_tables;
  int32_t max_blocks_per_seq;
  int32_t block_size;
  int32_t n_blocks;
  int32_t n_heads;
  int32_t n_kv_heads;
  int32_t group;            // query heads per kv head
  int32_t tokens_per_tile;  // kBlockM / group
  float scale_log2;         // scale * log2(e)
  uint32_t* status;
};

// bf16 elements per smem row: a 16-byte pad keeps the fragment loads free of bank conflicts.
template <int D>
constexpr int kSmemStride = D + 8;

template <int D>
constexpr size_t kSmemBytes = static_cast<size_t>(kBlockM + 4 * kBlockN) * kSmemStride<D> * sizeof(__nv_bfloat16);

__device__ __forceinline__ void cp_async_16(void* smem, const void* gmem, int src_bytes) {
  const unsigned s = static_cast<unsigned>(__cvta_generic_to_shared(smem));
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(s), "l"(gmem), "r"(src_bytes));
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
template <int N>
__device__ __forceinline__ void cp_async_wait() { asm volatile("cp.async.wait_group %0;\n" ::"n"(N)); }

__device__ __forceinline__ void ldmatrix_x4(const void* smem, uint32_t& r0, uint32_t& r1, uint32_t& r2, uint32_t& r3) {
  const unsigned s = static_cast<unsigned>(__cvta_generic_to_shared(smem));
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r0), "=r"(r1), "=r"(r2), "=r"(r3)
               : "r"(s));
}

__device__ __forceinline__ void ldmatrix_x4_trans(const void* smem, uint32_t& r0, uint32_t& r1, uint32_t& r2,
                                                  uint32_t& r3) {
  const unsigned s = static_cast<unsigned>(__cvta_generic_to_shared(smem));
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r0), "=r"(r1), "=r"(r2), "=r"(r3)
               : "r"(s));
}

template <typename T>
__device__ __forceinline__ void store2(T* p, float a, float b) {
  if constexpr (sizeof(T) == 4) {
    *reinterpret_cast<float2*>(p) = make_float2(a, b);
  } else {
    p[0] = from_f32<T>(a);
    p[1] = from_f32<T>(b);
  }
}

template <int D, typename TQ>
__global__ void __launch_bounds__(kThreads, 2) prefill_attention_kernel(PrefillParams p) {
  constexpr int kStride = kSmemStride<D>;
  constexpr int kChunks = D / 8;  // 16-byte chunks per row
  extern __shared__ __align__(16) unsigned char smem_raw[];
  auto* q_s = reinterpret_cast<__nv_bfloat16*>(smem_raw);  // [kBlockM][kStride]
  __nv_bfloat16* k_s = q_s + kBlockM * kStride;             // [2][kBlockN][kStride]
  __nv_bfloat16* v_s = k_s + 2 * kBlockN * kStride;         // [2][kBlockN][kStride]
  __shared__ int32_t row_pos[kBlockM];                      // position of each row, -1: unused row
  __shared__ int32_t key_row[2][kBlockN];                   // cache row of each key of a tile, -1: zero fill
  __shared__ int32_t max_pos, min_pos;

  const int tid = threadIdx.x;
  // blockIdx.x: kv head fastest, then query tiles from the last (most keys) down, so the longest
  // blocks start first.
  const int kvh = static_cast<int>(blockIdx.x % p.n_kv_heads);
  const int q_tile = static_cast<int>(gridDim.x / p.n_kv_heads - 1 - blockIdx.x / p.n_kv_heads);
  const int seq = blockIdx.y;
  const int32_t t_begin = p.seq_token_start[seq];
  const int32_t t_end = p.seq_token_start[seq + 1];
  const int32_t tile_tok0 = t_begin + q_tile * p.tokens_per_tile;
  if (tile_tok0 >= t_end) return;
  const int32_t max_keys = p.max_blocks_per_seq * p.block_size;
  const int32_t* table = p.block_tables + static_cast<int64_t>(seq) * p.max_blocks_per_seq;

  if (tid == 0) {
    max_pos = -1;
    min_pos = max_keys;
  }
  __syncthreads();
  for (int r = tid; r < kBlockM; r += kThreads) {
    const int32_t tok_off = r / p.group;
    int32_t pos = -1;
    if (tok_off < p.tokens_per_tile && tile_tok0 + tok_off < t_end) {
      pos = p.token_pos[tile_tok0 + tok_off];
      if (pos < 0 || pos >= max_keys) {
        atomicOr(p.status, kStatusBadPosition);
        pos = -1;
      }
    }
    row_pos[r] = pos;
    atomicMax(&max_pos, pos);
    if (pos >= 0) atomicMin(&min_pos, pos);
  }
  __syncthreads();
  const int32_t last_pos = max_pos;
  const int n_tiles = (last_pos + kBlockN) / kBlockN;  // keys [0, last_pos]
  // Tiles below n_unmasked hold only keys every used row attends: no causal mask there.
  const int n_unmasked = last_pos < 0 ? 0 : (min_pos + 1) / kBlockN;

  // The block table entry of key `tile * kBlockN + i` is read one tile ahead of its cache row's use.
  auto table_entry = [&](int tile, int i) -> int32_t {
    const int32_t key = tile * kBlockN + i;
    return key <= last_pos ? table[key / p.block_size] : 0;
  };
  auto cache_row = [&](int tile, int i, int32_t block) -> int32_t {
    const int32_t key = tile * kBlockN + i;
    if (key > last_pos) return -1;
    if (block < 0 || block >= p.n_blocks) {
      atomicOr(p.status, kStatusBadBlock);
      return -1;
    }
    return block * p.block_size + key % p.block_size;
  };
  for (int i = tid; i < 2 * kBlockN; i += kThreads) {
    key_row[i / kBlockN][i % kBlockN] = cache_row(i / kBlockN, i % kBlockN, table_entry(i / kBlockN, i % kBlockN));
  }

  // Q rows -> smem as bf16 (unused rows zero).
  const TQ* q = static_cast<const TQ*>(p.q);
  for (int c = tid; c < kBlockM * kChunks; c += kThreads) {
    const int r = c / kChunks;
    const int ch = c % kChunks;
    float v[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    if (row_pos[r] >= 0) {
      const int64_t tok = tile_tok0 + r / p.group;
      const int64_t head = static_cast<int64_t>(kvh) * p.group + r % p.group;
      load8(q + (tok * p.n_heads + head) * D + ch * 8, v);
    }
    store8(q_s + r * kStride + ch * 8, v);
  }
  __syncthreads();  // q_s and key_row of tiles 0 and 1 complete

  auto load_tile = [&](int tile, int buf) {
    __nv_bfloat16* kd = k_s + buf * kBlockN * kStride;
    __nv_bfloat16* vd = v_s + buf * kBlockN * kStride;
    for (int c = tid; c < kBlockN * kChunks; c += kThreads) {
      const int i = c / kChunks;
      const int ch = c % kChunks;
      const int32_t row = key_row[buf][i];
      const int64_t offset = row < 0 ? 0 : (static_cast<int64_t>(row) * p.n_kv_heads + kvh) * D + ch * 8;
      const int bytes = row < 0 ? 0 : 16;  // 0: zero fill
      cp_async_16(kd + i * kStride + ch * 8, p.k_cache + offset, bytes);
      cp_async_16(vd + i * kStride + ch * 8, p.v_cache + offset, bytes);
    }
  };
  if (n_tiles > 0) load_tile(0, 0);
  cp_async_commit();

  const int warp = tid >> 5;
  const int lane = tid & 31;
  const int g = lane >> 2;  // row within the 8-row half of the warp's 16 rows
  const int t = lane & 3;   // column pair
  const int row0 = warp * 16 + g;
  const int row1 = row0 + 8;
  const int32_t pos0 = row_pos[row0];
  const int32_t pos1 = row_pos[row1];
  // ldmatrix sources of this lane. A (Q) and transposed B (V): matrices 0-3 are rows 0-7 / 8-15 at
  // columns 0-7, then rows 0-7 / 8-15 at columns 8-15 of a 16x16 block. B (K): keys 0-7 at dims
  // 0-7 / 8-15 of a 16-dim step, then keys 8-15 at the same dims.
  const int a_lane = (lane & 15) * kStride + (lane >> 4) * 8;
  const int k_lane = ((lane >> 4) * 8 + (lane & 7)) * kStride + ((lane >> 3) & 1) * 8;
  const __nv_bfloat16* qb = q_s + warp * 16 * kStride + a_lane;

  float o[D / 8][4];
#pragma unroll
  for (int dn = 0; dn < D / 8; ++dn) o[dn][0] = o[dn][1] = o[dn][2] = o[dn][3] = 0.0f;
  // Running max of the raw scores and running sum of exponentials of rows 0 and 1.
  float m0 = -INFINITY, m1 = -INFINITY, l0 = 0.0f, l1 = 0.0f;

  for (int tile = 0; tile < n_tiles; ++tile) {
    const int buf = tile & 1;
    const int32_t ahead = tid < kBlockN ? table_entry(tile + 2, tid) : 0;
    if (tile + 1 < n_tiles) load_tile(tile + 1, buf ^ 1);
    cp_async_commit();
    cp_async_wait<1>();
    __syncthreads();
    const __nv_bfloat16* kb = k_s + buf * kBlockN * kStride + k_lane;
    const __nv_bfloat16* vb = v_s + buf * kBlockN * kStride + a_lane;

    // S = Q K^T (raw scores).
    float s[kBlockN / 8][4];
#pragma unroll
    for (int nt = 0; nt < kBlockN / 8; ++nt) s[nt][0] = s[nt][1] = s[nt][2] = s[nt][3] = 0.0f;
#pragma unroll
    for (int kk = 0; kk < D / 16; ++kk) {
      uint32_t qa[4];
      ldmatrix_x4(qb + kk * 16, qa[0], qa[1], qa[2], qa[3]);
#pragma unroll
      for (int nt = 0; nt < kBlockN / 8; nt += 2) {
        uint32_t b0, b1, b2, b3;
        ldmatrix_x4(kb + nt * 8 * kStride + kk * 16, b0, b1, b2, b3);
        mma_m16n8k16_bf16(s[nt], qa, b0, b1);
        mma_m16n8k16_bf16(s[nt + 1], qa, b2, b3);
      }
    }
    // Causal mask, only on tiles that reach past the block's first row.
    if (tile >= n_unmasked) {
#pragma unroll
      for (int nt = 0; nt < kBlockN / 8; ++nt) {
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          if (tile * kBlockN + nt * 8 + 2 * t + (e & 1) > (e < 2 ? pos0 : pos1)) s[nt][e] = -INFINITY;
        }
      }
    }
    // Online softmax: p = 2^(s * scale_log2 - max * scale_log2) (scale_log2 > 0).
    float mx0 = m0, mx1 = m1;
#pragma unroll
    for (int nt = 0; nt < kBlockN / 8; ++nt) {
      mx0 = fmaxf(mx0, fmaxf(s[nt][0], s[nt][1]));
      mx1 = fmaxf(mx1, fmaxf(s[nt][2], s[nt][3]));
    }
    mx0 = lane_quad_max(mx0);
    mx1 = lane_quad_max(mx1);
    const float base0 = mx0 == -INFINITY ? 0.0f : mx0 * p.scale_log2;  // fully masked so far: keep zeros
    const float base1 = mx1 == -INFINITY ? 0.0f : mx1 * p.scale_log2;
    const float alpha0 = exp2_approx(fmaf(m0, p.scale_log2, -base0));
    const float alpha1 = exp2_approx(fmaf(m1, p.scale_log2, -base1));
    m0 = mx0;
    m1 = mx1;
    float sum0 = 0.0f, sum1 = 0.0f;
#pragma unroll
    for (int nt = 0; nt < kBlockN / 8; ++nt) {
      s[nt][0] = exp2_approx(fmaf(s[nt][0], p.scale_log2, -base0));
      s[nt][1] = exp2_approx(fmaf(s[nt][1], p.scale_log2, -base0));
      s[nt][2] = exp2_approx(fmaf(s[nt][2], p.scale_log2, -base1));
      s[nt][3] = exp2_approx(fmaf(s[nt][3], p.scale_log2, -base1));
      sum0 += s[nt][0] + s[nt][1];
      sum1 += s[nt][2] + s[nt][3];
    }
    l0 = l0 * alpha0 + sum0;
    l1 = l1 * alpha1 + sum1;
    if (__any_sync(0xffffffffu, alpha0 != 1.0f || alpha1 != 1.0f)) {  // a row max of the warp moved
#pragma unroll
      for (int dn = 0; dn < D / 8; ++dn) {
        o[dn][0] *= alpha0;
        o[dn][1] *= alpha0;
        o[dn][2] *= alpha1;
        o[dn][3] *= alpha1;
      }
    }
    // O += P V: P from the S accumulators (bf16), V fragments transposed by ldmatrix.
#pragma unroll
    for (int kk = 0; kk < kBlockN / 16; ++kk) {
      const uint32_t pa[4] = {pack_bf16x2(s[2 * kk][0], s[2 * kk][1]), pack_bf16x2(s[2 * kk][2], s[2 * kk][3]),
                              pack_bf16x2(s[2 * kk + 1][0], s[2 * kk + 1][1]),
                              pack_bf16x2(s[2 * kk + 1][2], s[2 * kk + 1][3])};
#pragma unroll
      for (int dn = 0; dn < D / 8; dn += 2) {
        uint32_t b0, b1, b2, b3;
        ldmatrix_x4_trans(vb + kk * 16 * kStride + dn * 8, b0, b1, b2, b3);
        mma_m16n8k16_bf16(o[dn], pa, b0, b1);
        mma_m16n8k16_bf16(o[dn + 1], pa, b2, b3);
      }
    }
    if (tid < kBlockN) key_row[buf][tid] = cache_row(tile + 2, tid, ahead);  // buf's rows were read last tile
    __syncthreads();  // the next iteration's prefetch overwrites this buffer
  }
  cp_async_wait<0>();

  l0 = lane_quad_sum(l0);
  l1 = lane_quad_sum(l1);
  TQ* out = static_cast<TQ*>(p.out);
  const float inv0 = l0 > 0.0f ? 1.0f / l0 : 0.0f;
  const float inv1 = l1 > 0.0f ? 1.0f / l1 : 0.0f;
  if (pos0 >= 0) {
    const int64_t tok = tile_tok0 + row0 / p.group;
    const int64_t head = static_cast<int64_t>(kvh) * p.group + row0 % p.group;
    TQ* dst = out + (tok * p.n_heads + head) * D + 2 * t;
#pragma unroll
    for (int dn = 0; dn < D / 8; ++dn) store2(dst + dn * 8, o[dn][0] * inv0, o[dn][1] * inv0);
  }
  if (pos1 >= 0) {
    const int64_t tok = tile_tok0 + row1 / p.group;
    const int64_t head = static_cast<int64_t>(kvh) * p.group + row1 % p.group;
    TQ* dst = out + (tok * p.n_heads + head) * D + 2 * t;
#pragma unroll
    for (int dn = 0; dn < D / 8; ++dn) store2(dst + dn * 8, o[dn][2] * inv1, o[dn][3] * inv1);
  }
}

template <int D, typename TQ>
void launch_typed(const AttentionArgs& a, const PrefillParams& p, const LaunchContext& ctx) {
  constexpr size_t kSmem = kSmemBytes<D>;
  auto* kernel = prefill_attention_kernel<D, TQ>;
  check(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(kSmem)), ctx.op,
        "cudaFuncSetAttribute(prefill_attention_kernel)");
  const int n_q_tiles = (a.max_q_len + p.tokens_per_tile - 1) / p.tokens_per_tile;
  const dim3 grid(static_cast<unsigned>(n_q_tiles * a.n_kv_heads), static_cast<unsigned>(a.n_seqs));
  kernel<<<grid, kThreads, kSmem, ctx.stream>>>(p);
}

}  // namespace

bool prefill_attention_supported(const AttentionArgs& a) {
  const int32_t group = a.n_kv_heads > 0 ? a.n_heads / a.n_kv_heads : 0;
  // scale > 0: the running max is kept on unscaled scores.
  return a.kv_dtype == DType::kBF16 && (a.head_dim == 64 || a.head_dim == 128) && group >= 1 && group <= kMaxGroup &&
         (a.q_dtype == DType::kBF16 || a.q_dtype == DType::kF32) && a.n_seqs <= 65535 && a.scale > 0.0f &&
         aligned(a.q, 16) && aligned(a.k_cache, 16) && aligned(a.v_cache, 16);
}

void launch_prefill_attention(const AttentionArgs& a, const LaunchContext& ctx) {
  if (a.n_tokens == 0) return;
  PrefillParams p{};
  p.q = a.q;
  p.out = a.out;
  p.k_cache = static_cast<const __nv_bfloat16*>(a.k_cache);
  p.v_cache = static_cast<const __nv_bfloat16*>(a.v_cache);
  p.token_pos = a.token_pos;
  p.seq_token_start = a.seq_token_start;
  p.block_tables = a.block_tables;
  p.max_blocks_per_seq = a.max_blocks_per_seq;
  p.block_size = a.block_size;
  p.n_blocks = a.n_blocks;
  p.n_heads = a.n_heads;
  p.n_kv_heads = a.n_kv_heads;
  p.group = a.n_heads / a.n_kv_heads;
  p.tokens_per_tile = kBlockM / p.group;
  p.scale_log2 = a.scale * 1.4426950408889634f;
  p.status = ctx.status;
  const bool f32 = a.q_dtype == DType::kF32;
  if (a.head_dim == 64) {
    f32 ? launch_typed<64, float>(a, p, ctx) : launch_typed<64, __nv_bfloat16>(a, p, ctx);
  } else {
    f32 ? launch_typed<128, float>(a, p, ctx) : launch_typed<128, __nv_bfloat16>(a, p, ctx);
  }
  check_launch(ctx.op, "prefill_attention_kernel");
}

}  // namespace swallow::cuda
