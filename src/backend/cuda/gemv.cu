// Memory-bound matmuls for decode-sized batches (n <= 8 rows) with bf16/f16 weights streamed once
// with 16-byte loads, two weight rows per warp and several loads in flight per lane; f32
// accumulation. One launch serves several weights sharing the input (q, k and v), or the gate and
// up projections with SwiGLU applied before the store. Each output element is reduced in the same
// order whatever n is and whichever of these kernels computes it, so a row's result does not
// depend on how many rows share the batch or on the fusion. Launched as dependent kernels: the
// first weights stream into L2 while the kernel before them finishes.
#include <type_traits>

#include "backend/cuda/cuda_check.h"
#include "backend/cuda/dependent_launch.cuh"
#include "backend/cuda/device_math.cuh"
#include "backend/cuda/kernels.h"

namespace swallow::cuda {
namespace {

constexpr int kWarps = 8;
constexpr int kRowsPerWarp = 2;  // weight rows each warp streams
constexpr int kUnroll = 2;       // 16-byte steps per lane issued before use
constexpr int kPrefetchLines = 32 / kRowsPerWarp;  // 128-byte lines per row fetched into L2 early
constexpr int64_t kRowsPerBlock = int64_t{kWarps} * kRowsPerWarp;

// Eight 16-bit values as f32.
template <typename T>
__device__ __forceinline__ void unpack8(const uint4& raw, float (&v)[8]) {
  const T* e = reinterpret_cast<const T*>(&raw);
#pragma unroll
  for (int i = 0; i < 8; ++i) v[i] = to_f32(e[i]);
}

// Lane-partial dot products of weight rows w[r] [k] with the N rows of x [N, k]: acc[r][n]
// (sum over the warp to finish). k8 = k / 8. The first weights are fetched into L2 before waiting
// for the kernel that produced x (dependent_launch.cuh).
template <typename T, int N>
__device__ __forceinline__ void dot_rows(const uint4* const (&w)[kRowsPerWarp], const uint4* __restrict__ x,
                                         int64_t k8, int lane, float (&acc)[kRowsPerWarp][N]) {
  // One request per 128-byte line: lane l fetches line l % 16 of row l / 16 (the first 2 KB of
  // each row); a request per 16-byte chunk would cost load-issue bandwidth.
  const int64_t line_chunk = (lane % kPrefetchLines) * 8;
  static_assert(kRowsPerWarp == 2, "the prefetch below splits the lanes over two rows");
  const uint4* line_row = lane < kPrefetchLines ? w[0] : w[1];  // selects, not a dynamic index: no stack
  if (line_chunk < k8) asm volatile("prefetch.global.L2 [%0];\n" ::"l"(line_row + line_chunk));
  wait_for_previous_kernel();
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
        for (int r = 0; r < kRowsPerWarp; ++r) wr[u][r] = __ldcs(w[r] + c);  // streamed once
#pragma unroll
        for (int n = 0; n < N; ++n) xr[u][n] = __ldg(x + n * k8 + c);
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
}

// Weights sharing one input: segment s multiplies w[s] [m[s], k] into out[s] [N, m[s]] with the
// blocks [block_begin[s], block_begin[s + 1]).
struct Segments {
  const void* w[kGemvMaxSegments];
  void* out[kGemvMaxSegments];
  int64_t m[kGemvMaxSegments];
  unsigned block_begin[kGemvMaxSegments + 1];
  int n_segments;
};

// x [N, k] T; k % 8 == 0; x and every w 16-byte aligned.
template <typename T, typename TO, int N>
__global__ void __launch_bounds__(kWarps * 32) gemv_kernel(const T* __restrict__ x, Segments seg, int64_t k) {
  allow_next_kernel();
  // This block's segment, picked with constant indices so the parameters are not copied to the stack.
  const void* w_any = seg.w[0];
  void* out_any = seg.out[0];
  int64_t m = seg.m[0];
  unsigned first_block = 0;
#pragma unroll
  for (int i = 1; i < kGemvMaxSegments; ++i) {
    if (i < seg.n_segments && blockIdx.x >= seg.block_begin[i]) {
      w_any = seg.w[i];
      out_any = seg.out[i];
      m = seg.m[i];
      first_block = seg.block_begin[i];
    }
  }
  const T* w = static_cast<const T*>(w_any);
  TO* out = static_cast<TO*>(out_any);
  const int lane = threadIdx.x & 31;
  const int64_t row0 = (static_cast<int64_t>(blockIdx.x - first_block) * kWarps + (threadIdx.x >> 5)) * kRowsPerWarp;
  if (row0 >= m) return;
  const uint4* wv[kRowsPerWarp];
#pragma unroll
  for (int r = 0; r < kRowsPerWarp; ++r) {
    const int64_t row = row0 + r < m ? row0 + r : row0;  // a missing last row re-reads row0, unused
    wv[r] = reinterpret_cast<const uint4*>(w + row * k);
  }
  float acc[kRowsPerWarp][N];
  dot_rows<T, N>(wv, reinterpret_cast<const uint4*>(x), k / 8, lane, acc);
  // Spread the stores over the lanes: lane r * N + n writes (n, row0 + r).
#pragma unroll
  for (int r = 0; r < kRowsPerWarp; ++r)
#pragma unroll
    for (int n = 0; n < N; ++n) {
      if (lane == r * N + n && row0 + r < m) out[n * m + row0 + r] = from_f32<TO>(acc[r][n]);
    }
}

// out [N, f] = silu(x @ gate^T) * (x @ up^T), each product rounded to T first like the unfused
// matmuls + silu_mul. x [N, k]; gate, up [f, k]; one output column per warp.
template <typename T, int N>
__global__ void __launch_bounds__(kWarps * 32) swiglu_gemv_kernel(const T* __restrict__ x, const T* __restrict__ gate,
                                                                  const T* __restrict__ up, T* __restrict__ out,
                                                                  int64_t f, int64_t k) {
  allow_next_kernel();
  const int lane = threadIdx.x & 31;
  const int64_t row = static_cast<int64_t>(blockIdx.x) * kWarps + (threadIdx.x >> 5);
  if (row >= f) return;
  const uint4* const wv[kRowsPerWarp] = {reinterpret_cast<const uint4*>(gate + row * k),
                                         reinterpret_cast<const uint4*>(up + row * k)};
  float acc[kRowsPerWarp][N];
  dot_rows<T, N>(wv, reinterpret_cast<const uint4*>(x), k / 8, lane, acc);
#pragma unroll
  for (int n = 0; n < N; ++n) {
    if (lane == n) {
      const float g = to_f32(from_f32<T>(acc[0][n]));
      const float u = to_f32(from_f32<T>(acc[1][n]));
      out[n * f + row] = from_f32<T>(silu(g) * u);
    }
  }
}

// Calls fn(std::integral_constant<int, N>{}) for N = rows in [1, kGemvMaxRows].
template <typename Fn>
void visit_rows(int64_t rows, Fn&& fn) {
  switch (rows) {
    case 1: fn(std::integral_constant<int, 1>{}); break;
    case 2: fn(std::integral_constant<int, 2>{}); break;
    case 3: fn(std::integral_constant<int, 3>{}); break;
    case 4: fn(std::integral_constant<int, 4>{}); break;
    case 5: fn(std::integral_constant<int, 5>{}); break;
    case 6: fn(std::integral_constant<int, 6>{}); break;
    case 7: fn(std::integral_constant<int, 7>{}); break;
    case 8: fn(std::integral_constant<int, 8>{}); break;
    default: break;
  }
}

// Calls fn(T{}) with the 16-bit storage type of the weights.
template <typename Fn>
void visit_half(DType dtype, Fn&& fn) {
  if (dtype == DType::kBF16) {
    fn(__nv_bfloat16{});
  } else {
    fn(__half{});
  }
}

}  // namespace

bool gemv_supported(const Tensor& x, const Tensor& w, const Tensor& out) {
  const bool half_weights = w.dtype == DType::kBF16 || w.dtype == DType::kF16;
  const bool out_ok = out.dtype == w.dtype || out.dtype == DType::kF32;
  return half_weights && out_ok && x.dtype == w.dtype && x.rows >= 1 && x.rows <= kGemvMaxRows &&
         w.cols % 8 == 0 && aligned(x.data, 16) && aligned(w.data, 16);
}

void launch_gemv(const Tensor& x, const Tensor* ws, const Tensor* outs, int count, const LaunchContext& ctx) {
  Segments seg{};
  seg.n_segments = count;
  unsigned blocks = 0;
  for (int s = 0; s < count; ++s) {
    seg.w[s] = ws[s].data;
    seg.out[s] = outs[s].data;
    seg.m[s] = ws[s].rows;
    seg.block_begin[s] = blocks;
    blocks += static_cast<unsigned>((ws[s].rows + kRowsPerBlock - 1) / kRowsPerBlock);
  }
  seg.block_begin[count] = blocks;
  if (blocks == 0) return;
  const bool f32_out = outs[0].dtype == DType::kF32;  // else the weight dtype (gemv_supported)
  visit_half(ws[0].dtype, [&](auto e) {
    using T = decltype(e);
    visit_rows(x.rows, [&](auto rows) {
      constexpr int N = decltype(rows)::value;
      if (f32_out) {
        launch_kernel(gemv_kernel<T, float, N>, blocks, kWarps * 32, ctx, x.as<const T>(), seg, x.cols);
      } else {
        launch_kernel(gemv_kernel<T, T, N>, blocks, kWarps * 32, ctx, x.as<const T>(), seg, x.cols);
      }
    });
  });
  check_launch(ctx.op, "gemv_kernel");
}

void launch_swiglu_gemv(const Tensor& x, const Tensor& gate, const Tensor& up, const Tensor& out,
                        const LaunchContext& ctx) {
  if (gate.rows == 0) return;
  const auto blocks = static_cast<unsigned>((gate.rows + kWarps - 1) / kWarps);
  visit_half(gate.dtype, [&](auto e) {
    using T = decltype(e);
    visit_rows(x.rows, [&](auto rows) {
      constexpr int N = decltype(rows)::value;
      launch_kernel(swiglu_gemv_kernel<T, N>, blocks, kWarps * 32, ctx, x.as<const T>(), gate.as<const T>(),
                    up.as<const T>(), out.as<T>(), gate.rows, x.cols);
    });
  });
  check_launch(ctx.op, "swiglu_gemv_kernel");
}

}  // namespace swallow::cuda
