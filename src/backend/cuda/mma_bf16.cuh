// PTX wrappers for bf16 tensor-core kernels (sm_80 and later): 16-byte cp.async with zero fill,
// mma.sync m16n8k16 bf16 with f32 accumulators, fast base-2 exponential, bf16 pair packing and
// reductions over the four lanes that share an accumulator row. Included by .cu files only.
#pragma once

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>

namespace swallow::cuda {

// Copies 16 bytes gmem -> smem asynchronously, bypassing L1, with a hint to fetch the enclosing
// 256 bytes into L2 (callers read whole rows of that size); src_bytes 0 writes zeros and reads
// nothing.
__device__ __forceinline__ void cp_async_16_zfill(void* smem, const void* gmem, int src_bytes) {
  const unsigned s = static_cast<unsigned>(__cvta_generic_to_shared(smem));
  asm volatile("cp.async.cg.shared.global.L2::256B [%0], [%1], 16, %2;\n" ::"r"(s), "l"(gmem), "r"(src_bytes)
               : "memory");
}
__device__ __forceinline__ void cp_async_commit_group() { asm volatile("cp.async.commit_group;\n" ::); }
// Waits until at most N of this thread's committed groups are still in flight. The "memory"
// clobbers keep the compiler from moving shared-memory accesses across the copies and waits.
template <int N>
__device__ __forceinline__ void cp_async_wait_group() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory");
}

// c[4] += a[4] (16x16 bf16, row) * {b0, b1} (16x8 bf16, col), f32 accumulate. Lane l = 4 * g + t
// holds a = rows {g, g + 8} x cols {2t, 2t + 1, 2t + 8, 2t + 9}, b = rows {2t, 2t + 1, 2t + 8,
// 2t + 9} x col g, c = rows {g, g + 8} x cols {2t, 2t + 1}.
__device__ __forceinline__ void mma_m16n8k16_bf16(float (&c)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
      "{%0,%1,%2,%3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

// 2^x (approximate, denormals flushed; -inf gives 0).
__device__ __forceinline__ float exp2_approx(float x) {
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;\n" : "=f"(y) : "f"(x));
  return y;
}

// {lo, hi} rounded to bf16 in one 32-bit register (lo in the low half).
__device__ __forceinline__ uint32_t pack_bf16x2(float lo, float hi) {
  const __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
  return *reinterpret_cast<const uint32_t*>(&v);
}

// Max / sum over lanes 4g .. 4g + 3 (the lanes holding one accumulator row).
__device__ __forceinline__ float lane_quad_max(float v) {
  v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, 1));
  return fmaxf(v, __shfl_xor_sync(0xffffffffu, v, 2));
}
__device__ __forceinline__ float lane_quad_sum(float v) {
  v += __shfl_xor_sync(0xffffffffu, v, 1);
  return v + __shfl_xor_sync(0xffffffffu, v, 2);
}

}  // namespace swallow::cuda
