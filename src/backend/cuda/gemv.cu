// Memory-bound matmul for decode-sized batches (n <= 8 rows): out = x @ w^T with bf16/f16
// weights streamed once with 16-byte loads, two weight rows per warp and several loads in flight
// per lane; f32 accumulation. Each output element is reduced in the same order whatever n is, so
// a row's result does not depend on how many rows share the batch (within this kernel).
#include "backend/cuda/cuda_check.h"
#include "backend/cuda/device_math.cuh"
#include "backend/cuda/kernels.h"

namespace swallow::cuda {
namespace {

constexpr int kWarps = 8;
constexpr int kRowsPerWarp = 2;  // weight rows (output columns) per warp
constexpr int kUnroll = 2;       // 16-byte steps per lane issued before use

// Eight 16-bit values as f32.
template <typename T>
__device__ __forceinline__ void unpack8(const uint4& raw, float (&v)[8]) {
  const T* e = reinterpret_cast<const T*>(&raw);
#pragma unroll
  for (int i = 0; i < 8; ++i) v[i] = to_f32(e[i]);
}

// x [N, k] T; w [m, k] T; out [N, m] TO. k % 8 == 0; x, w 16-byte aligned.
template <typename T, typename TO, int N>
__global__ void __launch_bounds__(kWarps * 32) gemv_kernel(const T* __restrict__ x, const T* __restrict__ w,
                                                           TO* __restrict__ out, int64_t m, int64_t k) {
  const int lane = threadIdx.x & 31;
  const int64_t row0 = (static_cast<int64_t>(blockIdx.x) * kWarps + (threadIdx.x >> 5)) * kRowsPerWarp;
  if (row0 >= m) return;
  const uint4* wv[kRowsPerWarp];
#pragma unroll
  for (int r = 0; r < kRowsPerWarp; ++r) {
    const int64_t row = row0 + r < m ? row0 + r : row0;  // a missing last row re-reads row0, unused
    wv[r] = reinterpret_cast<const uint4*>(w + row * k);
  }
  const uint4* xv = reinterpret_cast<const uint4*>(x);
  const int64_t k8 = k / 8;
  float acc[kRowsPerWarp][N];
#pragma unroll
  for (int r = 0; r < kRowsPerWarp; ++r)
#pragma unroll
    for (int n = 0; n < N; ++n) acc[r][n] = 0.0f;

  for (int64_t base = lane; base < k8; base += 32 * kUnroll) {
    uint4 wr[kUnroll][kRowsPerWarp];
    uint4 xr[kUnroll][N];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      const int64_t c = base + u * 32;
      if (c < k8) {
#pragma unroll
        for (int r = 0; r < kRowsPerWarp; ++r) wr[u][r] = __ldcs(wv[r] + c);  // streamed once
#pragma unroll
        for (int n = 0; n < N; ++n) xr[u][n] = __ldg(xv + n * k8 + c);
      } else {
#pragma unroll
        for (int r = 0; r < kRowsPerWarp; ++r) wr[u][r] = make_uint4(0, 0, 0, 0);
#pragma unroll
        for (int n = 0; n < N; ++n) xr[u][n] = make_uint4(0, 0, 0, 0);
      }
    }
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      float wf[kRowsPerWarp][8];
#pragma unroll
      for (int r = 0; r < kRowsPerWarp; ++r) unpack8<T>(wr[u][r], wf[r]);
#pragma unroll
      for (int n = 0; n < N; ++n) {
        float xf[8];
        unpack8<T>(xr[u][n], xf);
#pragma unroll
        for (int r = 0; r < kRowsPerWarp; ++r)
#pragma unroll
          for (int j = 0; j < 8; ++j) acc[r][n] = fmaf(wf[r][j], xf[j], acc[r][n]);
      }
    }
  }
#pragma unroll
  for (int r = 0; r < kRowsPerWarp; ++r)
#pragma unroll
    for (int n = 0; n < N; ++n) acc[r][n] = warp_sum(acc[r][n]);
  // Spread the stores over the lanes: lane r * N + n writes (n, row0 + r).
#pragma unroll
  for (int r = 0; r < kRowsPerWarp; ++r)
#pragma unroll
    for (int n = 0; n < N; ++n) {
      if (lane == r * N + n && row0 + r < m) out[n * m + row0 + r] = from_f32<TO>(acc[r][n]);
    }
}

template <typename T, typename TO, int N>
void launch_n(const Tensor& x, const Tensor& w, const Tensor& out, cudaStream_t stream) {
  const int64_t rows_per_block = int64_t{kWarps} * kRowsPerWarp;
  const auto grid = static_cast<unsigned>((w.rows + rows_per_block - 1) / rows_per_block);
  gemv_kernel<T, TO, N><<<grid, kWarps * 32, 0, stream>>>(x.as<const T>(), w.as<const T>(), out.as<TO>(), w.rows, w.cols);
}

template <typename T, typename TO>
void launch_typed(const Tensor& x, const Tensor& w, const Tensor& out, cudaStream_t stream) {
  switch (x.rows) {
    case 1: launch_n<T, TO, 1>(x, w, out, stream); break;
    case 2: launch_n<T, TO, 2>(x, w, out, stream); break;
    case 3: launch_n<T, TO, 3>(x, w, out, stream); break;
    case 4: launch_n<T, TO, 4>(x, w, out, stream); break;
    case 5: launch_n<T, TO, 5>(x, w, out, stream); break;
    case 6: launch_n<T, TO, 6>(x, w, out, stream); break;
    case 7: launch_n<T, TO, 7>(x, w, out, stream); break;
    case 8: launch_n<T, TO, 8>(x, w, out, stream); break;
    default: break;
  }
}

}  // namespace

bool gemv_supported(const Tensor& x, const Tensor& w, const Tensor& out) {
  const bool half_weights = w.dtype == DType::kBF16 || w.dtype == DType::kF16;
  const bool out_ok = out.dtype == w.dtype || out.dtype == DType::kF32;
  return half_weights && out_ok && x.dtype == w.dtype && x.rows >= 1 && x.rows <= kGemvMaxRows &&
         w.cols % 8 == 0 && aligned(x.data, 16) && aligned(w.data, 16);
}

void launch_gemv(const Tensor& x, const Tensor& w, const Tensor& out, const LaunchContext& ctx) {
  const bool f32_out = out.dtype == DType::kF32;  // else out has the weight dtype (gemv_supported)
  if (w.dtype == DType::kBF16) {
    f32_out ? launch_typed<__nv_bfloat16, float>(x, w, out, ctx.stream)
            : launch_typed<__nv_bfloat16, __nv_bfloat16>(x, w, out, ctx.stream);
  } else {
    f32_out ? launch_typed<__half, float>(x, w, out, ctx.stream) : launch_typed<__half, __half>(x, w, out, ctx.stream);
  }
  check_launch(ctx.op, "gemv_kernel");
}

}  // namespace swallow::cuda
