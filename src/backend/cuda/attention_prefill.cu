// Prefill attention over the paged KV cache (bf16 cache, head_dim 64 or 128): one block of 4
// warps per (tile of query rows, sequence, kv head). Rows pack (token, query head of the kv
// head's group), so every K/V tile is read once per group. Keys come in 64-key tiles through a
// two-stage cp.async pipeline; S = Q K^T and O += P V run on mma.sync m16n8k16 bf16 with f32
// accumulators; softmax is online (running max and sum per row, base-2 exponentials).
#include <algorithm>

#include "backend/cuda/attention.h"
#include "backend/cuda/cuda_check.h"
#include "backend/cuda/device_math.cuh"

namespace swallow::cuda {
namespace {

constexpr int kBlockM = 64;  // query rows per block (16 per warp)
constexpr int kBlockN = 64;  // keys per tile
constexpr int kThreads = 128;

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

// c[4] += a[4] (16x16 bf16, row) * b[2] (16x8 bf16, col), f32 accumulate.
__device__ __forceinline__ void mma_bf16(float (&c)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
      "{%0,%1,%2,%3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

__device__ __forceinline__ void ldmatrix_x4_trans(const void* smem, uint32_t& r0, uint32_t& r1, uint32_t& r2,
                                                  uint32_t& r3) {
  const unsigned s = static_cast<unsigned>(__cvta_generic_to_shared(smem));
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r0), "=r"(r1), "=r"(r2), "=r"(r3)
               : "r"(s));
}

__device__ __forceinline__ uint32_t pack_bf16(float lo, float hi) {
  const __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
  return *reinterpret_cast<const uint32_t*>(&v);
}

__device__ __forceinline__ uint32_t lds32(const __nv_bfloat16* p) { return *reinterpret_cast<const uint32_t*>(p); }

template <typename T>
__device__ __forceinline__ void store2(T* p, float a, float b) {
  if constexpr (sizeof(T) == 4) {
    *reinterpret_cast<float2*>(p) = make_float2(a, b);
  } else {
    p[0] = from_f32<T>(a);
    p[1] = from_f32<T>(b);
  }
}

__device__ __forceinline__ float quad_max(float v) {
  v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, 1));
  return fmaxf(v, __shfl_xor_sync(0xffffffffu, v, 2));
}
__device__ __forceinline__ float quad_sum(float v) {
  v += __shfl_xor_sync(0xffffffffu, v, 1);
  return v + __shfl_xor_sync(0xffffffffu, v, 2);
}

template <int D, typename TQ>
__global__ void __launch_bounds__(kThreads) prefill_attention_kernel(PrefillParams p) {
  constexpr int kStride = kSmemStride<D>;
  constexpr int kChunks = D / 8;  // 16-byte chunks per row
  extern __shared__ __align__(16) unsigned char smem_raw[];
  auto* q_s = reinterpret_cast<__nv_bfloat16*>(smem_raw);  // [kBlockM][kStride]
  __nv_bfloat16* k_s = q_s + kBlockM * kStride;             // [2][kBlockN][kStride]
  __nv_bfloat16* v_s = k_s + 2 * kBlockN * kStride;         // [2][kBlockN][kStride]
  __shared__ int32_t row_pos[kBlockM];                      // position of each row, -1: unused row
  __shared__ int32_t max_pos;

  const int tid = threadIdx.x;
  const int kvh = blockIdx.z;
  const int seq = blockIdx.y;
  const int32_t t_begin = p.seq_token_start[seq];
  const int32_t t_end = p.seq_token_start[seq + 1];
  const int32_t tile_tok0 = t_begin + static_cast<int32_t>(blockIdx.x) * p.tokens_per_tile;
  if (tile_tok0 >= t_end) return;
  const int32_t max_keys = p.max_blocks_per_seq * p.block_size;
  const int32_t* table = p.block_tables + static_cast<int64_t>(seq) * p.max_blocks_per_seq;

  if (tid == 0) max_pos = -1;
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
  }
  __syncthreads();

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

  const int32_t last_pos = max_pos;
  const int n_tiles = (last_pos + kBlockN) / kBlockN;  // keys [0, last_pos]
  auto load_tile = [&](int tile, int buf) {
    __nv_bfloat16* kd = k_s + buf * kBlockN * kStride;
    __nv_bfloat16* vd = v_s + buf * kBlockN * kStride;
    for (int c = tid; c < kBlockN * kChunks; c += kThreads) {
      const int i = c / kChunks;
      const int ch = c % kChunks;
      const int32_t key = tile * kBlockN + i;
      int64_t offset = 0;
      int bytes = 0;
      if (key <= last_pos) {
        const int32_t block = table[key / p.block_size];
        if (block < 0 || block >= p.n_blocks) {
          atomicOr(p.status, kStatusBadBlock);
        } else {
          offset = ((static_cast<int64_t>(block) * p.block_size + key % p.block_size) * p.n_kv_heads + kvh) * D + ch * 8;
          bytes = 16;
        }
      }
      cp_async_16(kd + i * kStride + ch * 8, p.k_cache + offset, bytes);  // bytes 0: zero fill
      cp_async_16(vd + i * kStride + ch * 8, p.v_cache + offset, bytes);
    }
  };
  if (n_tiles > 0) load_tile(0, 0);
  cp_async_commit();
  __syncthreads();  // q_s complete

  const int warp = tid >> 5;
  const int lane = tid & 31;
  const int g = lane >> 2;  // row within the 8-row half of the warp's 16 rows
  const int t = lane & 3;   // column pair
  const int row0 = warp * 16 + g;
  const int row1 = row0 + 8;
  uint32_t qf[D / 16][4];
#pragma unroll
  for (int kk = 0; kk < D / 16; ++kk) {
    const __nv_bfloat16* base = q_s + row0 * kStride + kk * 16 + 2 * t;
    qf[kk][0] = lds32(base);
    qf[kk][1] = lds32(base + 8 * kStride);
    qf[kk][2] = lds32(base + 8);
    qf[kk][3] = lds32(base + 8 * kStride + 8);
  }
  const int32_t pos0 = row_pos[row0];
  const int32_t pos1 = row_pos[row1];

  float o[D / 8][4];
#pragma unroll
  for (int dn = 0; dn < D / 8; ++dn) o[dn][0] = o[dn][1] = o[dn][2] = o[dn][3] = 0.0f;
  float m0 = -INFINITY, m1 = -INFINITY, l0 = 0.0f, l1 = 0.0f;

  for (int tile = 0; tile < n_tiles; ++tile) {
    const int buf = tile & 1;
    if (tile + 1 < n_tiles) load_tile(tile + 1, buf ^ 1);
    cp_async_commit();
    cp_async_wait<1>();
    __syncthreads();
    const __nv_bfloat16* kb = k_s + buf * kBlockN * kStride;
    const __nv_bfloat16* vb = v_s + buf * kBlockN * kStride;

    float s[kBlockN / 8][4];
#pragma unroll
    for (int nt = 0; nt < kBlockN / 8; ++nt) s[nt][0] = s[nt][1] = s[nt][2] = s[nt][3] = 0.0f;
#pragma unroll
    for (int kk = 0; kk < D / 16; ++kk) {
#pragma unroll
      for (int nt = 0; nt < kBlockN / 8; ++nt) {
        const __nv_bfloat16* kp = kb + (nt * 8 + g) * kStride + kk * 16 + 2 * t;
        mma_bf16(s[nt], qf[kk], lds32(kp), lds32(kp + 8));
      }
    }
    // Scale, causal mask, running max.
    float mx0 = -INFINITY, mx1 = -INFINITY;
#pragma unroll
    for (int nt = 0; nt < kBlockN / 8; ++nt) {
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int32_t key = tile * kBlockN + nt * 8 + 2 * t + (e & 1);
        const int32_t pos = e < 2 ? pos0 : pos1;
        s[nt][e] = key <= pos ? s[nt][e] * p.scale_log2 : -INFINITY;
      }
      mx0 = fmaxf(mx0, fmaxf(s[nt][0], s[nt][1]));
      mx1 = fmaxf(mx1, fmaxf(s[nt][2], s[nt][3]));
    }
    const float new_m0 = fmaxf(m0, quad_max(mx0));
    const float new_m1 = fmaxf(m1, quad_max(mx1));
    const float base0 = new_m0 == -INFINITY ? 0.0f : new_m0;  // fully masked so far: keep zeros
    const float base1 = new_m1 == -INFINITY ? 0.0f : new_m1;
    const float alpha0 = exp2f(m0 - base0);
    const float alpha1 = exp2f(m1 - base1);
    m0 = new_m0;
    m1 = new_m1;
    float sum0 = 0.0f, sum1 = 0.0f;
#pragma unroll
    for (int nt = 0; nt < kBlockN / 8; ++nt) {
      s[nt][0] = exp2f(s[nt][0] - base0);
      s[nt][1] = exp2f(s[nt][1] - base0);
      s[nt][2] = exp2f(s[nt][2] - base1);
      s[nt][3] = exp2f(s[nt][3] - base1);
      sum0 += s[nt][0] + s[nt][1];
      sum1 += s[nt][2] + s[nt][3];
    }
    l0 = l0 * alpha0 + sum0;
    l1 = l1 * alpha1 + sum1;
#pragma unroll
    for (int dn = 0; dn < D / 8; ++dn) {
      o[dn][0] *= alpha0;
      o[dn][1] *= alpha0;
      o[dn][2] *= alpha1;
      o[dn][3] *= alpha1;
    }
    // O += P V: P from the S accumulators (bf16), V fragments transposed by ldmatrix.
#pragma unroll
    for (int kk = 0; kk < kBlockN / 16; ++kk) {
      const uint32_t pa[4] = {pack_bf16(s[2 * kk][0], s[2 * kk][1]), pack_bf16(s[2 * kk][2], s[2 * kk][3]),
                              pack_bf16(s[2 * kk + 1][0], s[2 * kk + 1][1]),
                              pack_bf16(s[2 * kk + 1][2], s[2 * kk + 1][3])};
#pragma unroll
      for (int dn = 0; dn < D / 8; dn += 2) {
        uint32_t b0, b1, b2, b3;
        ldmatrix_x4_trans(vb + (kk * 16 + (lane & 15)) * kStride + (dn + (lane >> 4)) * 8, b0, b1, b2, b3);
        mma_bf16(o[dn], pa, b0, b1);
        mma_bf16(o[dn + 1], pa, b2, b3);
      }
    }
    __syncthreads();  // the next iteration's prefetch overwrites this buffer
  }
  cp_async_wait<0>();

  l0 = quad_sum(l0);
  l1 = quad_sum(l1);
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
  const dim3 grid(static_cast<unsigned>(n_q_tiles), static_cast<unsigned>(a.n_seqs), static_cast<unsigned>(a.n_kv_heads));
  kernel<<<grid, kThreads, kSmem, ctx.stream>>>(p);
}

}  // namespace

bool prefill_attention_supported(const AttentionArgs& a) {
  const int32_t group = a.n_kv_heads > 0 ? a.n_heads / a.n_kv_heads : 0;
  return a.kv_dtype == DType::kBF16 && (a.head_dim == 64 || a.head_dim == 128) && group >= 1 && group <= kBlockM &&
         (a.q_dtype == DType::kBF16 || a.q_dtype == DType::kF32) && a.n_seqs <= 65535 && aligned(a.q, 16) &&
         aligned(a.k_cache, 16) && aligned(a.v_cache, 16);
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
