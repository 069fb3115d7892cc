// Element-wise and row-wise kernels: gather_rows (also the embedding lookup), rms_norm, the
// residual add fused with the following rms_norm, silu_mul, add and dtype conversion. Each has a
// 16-byte vector path (8 elements per access) used when the row length is a multiple of 8 and
// the pointers are aligned, and a scalar path.
#include <algorithm>

#include "backend/cuda/cuda_check.h"
#include "backend/cuda/dependent_launch.cuh"
#include "backend/cuda/device_math.cuh"
#include "backend/cuda/kernels.h"

namespace swallow::cuda {
namespace {

constexpr int kRowThreads = 512;  // a 4096-wide row in one 16-byte step per thread
constexpr int kFlatThreads = 256;
constexpr int64_t kMaxFlatBlocks = int64_t{1} << 20;

bool vec8_ok(const Tensor& t) { return t.cols % 8 == 0 && aligned(t.data, 16); }

// out[0..8) = a[0..8) + b[0..8) in f32, one rounding (16-byte aligned; out may alias a or b).
template <typename T>
__device__ __forceinline__ void add8(const T* a, const T* b, T* out) {
  float x[8], y[8];
  load8(a, x);
  load8(b, y);
#pragma unroll
  for (int j = 0; j < 8; ++j) x[j] += y[j];
  store8(out, x);
}

// One block per output row. src [n_src, d] TS; out [n, d] TO; rows [n] i32.
template <typename TS, typename TO, bool kVec>
__global__ void gather_rows_kernel(const TS* __restrict__ src, int64_t n_src, const int32_t* __restrict__ rows,
                                   TO* __restrict__ out, int64_t d, uint32_t* status) {
  const int64_t i = blockIdx.x;
  const int32_t row = rows[i];
  if (row < 0 || row >= n_src) {
    if (threadIdx.x == 0) atomicOr(status, kStatusBadRowIndex);
    return;
  }
  const TS* s = src + row * d;
  TO* o = out + i * d;
  if constexpr (kVec) {
    for (int64_t c = threadIdx.x * 8; c < d; c += blockDim.x * 8) {
      float v[8];
      load8(s + c, v);
      store8(o + c, v);
    }
  } else {
    for (int64_t c = threadIdx.x; c < d; c += blockDim.x) o[c] = from_f32<TO>(to_f32(s[c]));
  }
}

// out_row = x_row * rsqrt(mean(x_row^2) + eps) * w for the row the calling block owns (all its
// threads call this). x_row, out_row [d] T; w [d] TW. f32 math, one rounding at the store. Each
// thread reads the x elements it would write in a preceding pass with the same stride, so a
// caller may produce x_row in such a pass without a barrier.
template <typename T, typename TW, bool kVec>
__device__ __forceinline__ void rms_norm_row(const T* xr, const TW* __restrict__ w, float eps, T* __restrict__ orow,
                                             int64_t d, float* scratch) {
  float sum_sq = 0.0f;
  if constexpr (kVec) {
    for (int64_t c = threadIdx.x * 8; c < d; c += blockDim.x * 8) {
      float v[8];
      load8(xr + c, v);
#pragma unroll
      for (int j = 0; j < 8; ++j) sum_sq += v[j] * v[j];
    }
  } else {
    for (int64_t c = threadIdx.x; c < d; c += blockDim.x) {
      const float v = to_f32(xr[c]);
      sum_sq += v * v;
    }
  }
  sum_sq = block_sum(sum_sq, scratch);
  const float inv_rms = 1.0f / sqrtf(sum_sq / static_cast<float>(d) + eps);
  if constexpr (kVec) {
    for (int64_t c = threadIdx.x * 8; c < d; c += blockDim.x * 8) {
      float v[8], g[8];
      load8(xr + c, v);
      load8(w + c, g);
#pragma unroll
      for (int j = 0; j < 8; ++j) v[j] = g[j] * (v[j] * inv_rms);
      store8(orow + c, v);
    }
  } else {
    for (int64_t c = threadIdx.x; c < d; c += blockDim.x) orow[c] = from_f32<T>(to_f32(w[c]) * (to_f32(xr[c]) * inv_rms));
  }
}

// One block per row: x, out [n, d] T; w [d] TW.
template <typename T, typename TW, bool kVec>
__global__ void rms_norm_kernel(const T* __restrict__ x, const TW* __restrict__ w, float eps, T* __restrict__ out,
                                int64_t d) {
  allow_next_kernel();
  wait_for_previous_kernel();
  __shared__ float scratch[32];
  rms_norm_row<T, TW, kVec>(x + blockIdx.x * d, w, eps, out + blockIdx.x * d, d, scratch);
}

// One block per row: hidden += delta, then normed = rms_norm(hidden) * w. hidden, delta, normed
// [n, d] T; w [d] TW. hidden is read back by the thread that wrote it (same stride).
template <typename T, typename TW, bool kVec>
__global__ void add_rms_norm_kernel(T* hidden, const T* __restrict__ delta, const TW* __restrict__ w, float eps,
                                    T* __restrict__ normed, int64_t d) {
  allow_next_kernel();
  wait_for_previous_kernel();
  __shared__ float scratch[32];
  T* hr = hidden + blockIdx.x * d;
  const T* dr = delta + blockIdx.x * d;
  if constexpr (kVec) {
    for (int64_t c = threadIdx.x * 8; c < d; c += blockDim.x * 8) add8(hr + c, dr + c, hr + c);
  } else {
    for (int64_t c = threadIdx.x; c < d; c += blockDim.x) hr[c] = from_f32<T>(to_f32(hr[c]) + to_f32(dr[c]));
  }
  rms_norm_row<T, TW, kVec>(hr, w, eps, normed + blockIdx.x * d, d, scratch);
}

// Flat element-wise kernels over n elements (n8 = n / 8 vectors on the vector path).
template <typename T, bool kVec>
__global__ void silu_mul_kernel(const T* __restrict__ gate, const T* __restrict__ up, T* __restrict__ out, int64_t n) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  if constexpr (kVec) {
    for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n / 8; i += stride) {
      float g[8], u[8];
      load8(gate + i * 8, g);
      load8(up + i * 8, u);
#pragma unroll
      for (int j = 0; j < 8; ++j) g[j] = silu(g[j]) * u[j];
      store8(out + i * 8, g);
    }
  } else {
    for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n; i += stride) {
      out[i] = from_f32<T>(silu(to_f32(gate[i])) * to_f32(up[i]));
    }
  }
}

// a, b, out may alias: no __restrict__.
template <typename T, bool kVec>
__global__ void add_kernel(const T* a, const T* b, T* out, int64_t n) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  if constexpr (kVec) {
    for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n / 8; i += stride) {
      add8(a + i * 8, b + i * 8, out + i * 8);
    }
  } else {
    for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n; i += stride) {
      out[i] = from_f32<T>(to_f32(a[i]) + to_f32(b[i]));
    }
  }
}

template <typename TS, typename TO>
__global__ void convert_kernel(const TS* __restrict__ src, TO* __restrict__ dst, int64_t n) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n; i += stride) {
    dst[i] = from_f32<TO>(to_f32(src[i]));
  }
}

unsigned flat_blocks(int64_t n_items) {
  return static_cast<unsigned>(std::clamp<int64_t>((n_items + kFlatThreads - 1) / kFlatThreads, 1, kMaxFlatBlocks));
}

}  // namespace

void launch_gather_rows(const Tensor& src, const int32_t* rows, const Tensor& out, const LaunchContext& ctx) {
  if (out.rows == 0) return;
  const bool vec = vec8_ok(src) && vec8_ok(out);
  visit_float(src.dtype, std::string(ctx.op) + " source", [&](auto s) {
    visit_float(out.dtype, std::string(ctx.op) + " out", [&](auto o) {
      using TS = decltype(s);
      using TO = decltype(o);
      const auto grid = static_cast<unsigned>(out.rows);
      if (vec) {
        gather_rows_kernel<TS, TO, true><<<grid, 128, 0, ctx.stream>>>(src.as<const TS>(), src.rows, rows,
                                                                       out.as<TO>(), out.cols, ctx.status);
      } else {
        gather_rows_kernel<TS, TO, false><<<grid, 128, 0, ctx.stream>>>(src.as<const TS>(), src.rows, rows,
                                                                        out.as<TO>(), out.cols, ctx.status);
      }
    });
  });
  check_launch(ctx.op, "gather_rows_kernel");
}

void launch_rms_norm(const Tensor& x, const Tensor& weight, float eps, const Tensor& out, const LaunchContext& ctx) {
  if (x.rows == 0) return;
  const bool vec = vec8_ok(x) && vec8_ok(out) && vec8_ok(weight);
  visit_float(x.dtype, "rms_norm x", [&](auto xe) {
    visit_float(weight.dtype, "rms_norm weight", [&](auto we) {
      using T = decltype(xe);
      using TW = decltype(we);
      const auto grid = static_cast<unsigned>(x.rows);
      if (vec) {
        launch_kernel(rms_norm_kernel<T, TW, true>, grid, kRowThreads, ctx, x.as<const T>(), weight.as<const TW>(), eps,
                      out.as<T>(), x.cols);
      } else {
        launch_kernel(rms_norm_kernel<T, TW, false>, grid, kRowThreads, ctx, x.as<const T>(), weight.as<const TW>(),
                      eps, out.as<T>(), x.cols);
      }
    });
  });
  check_launch(ctx.op, "rms_norm_kernel");
}

void launch_add_rms_norm(const Tensor& hidden, const Tensor& delta, const Tensor& weight, float eps,
                         const Tensor& normed, const LaunchContext& ctx) {
  if (hidden.rows == 0) return;
  const bool vec = vec8_ok(hidden) && vec8_ok(delta) && vec8_ok(normed) && vec8_ok(weight);
  visit_float(hidden.dtype, "add_rms_norm hidden", [&](auto he) {
    visit_float(weight.dtype, "add_rms_norm weight", [&](auto we) {
      using T = decltype(he);
      using TW = decltype(we);
      const auto grid = static_cast<unsigned>(hidden.rows);
      if (vec) {
        launch_kernel(add_rms_norm_kernel<T, TW, true>, grid, kRowThreads, ctx, hidden.as<T>(), delta.as<const T>(),
                      weight.as<const TW>(), eps, normed.as<T>(), hidden.cols);
      } else {
        launch_kernel(add_rms_norm_kernel<T, TW, false>, grid, kRowThreads, ctx, hidden.as<T>(), delta.as<const T>(),
                      weight.as<const TW>(), eps, normed.as<T>(), hidden.cols);
      }
    });
  });
  check_launch(ctx.op, "add_rms_norm_kernel");
}

void launch_silu_mul(const Tensor& gate, const Tensor& up, const Tensor& out, const LaunchContext& ctx) {
  const int64_t n = gate.n_elements();
  if (n == 0) return;
  const bool vec = n % 8 == 0 && aligned(gate.data, 16) && aligned(up.data, 16) && aligned(out.data, 16);
  visit_float(gate.dtype, "silu_mul", [&](auto e) {
    using T = decltype(e);
    if (vec) {
      silu_mul_kernel<T, true><<<flat_blocks(n / 8), kFlatThreads, 0, ctx.stream>>>(gate.as<const T>(),
                                                                                    up.as<const T>(), out.as<T>(), n);
    } else {
      silu_mul_kernel<T, false><<<flat_blocks(n), kFlatThreads, 0, ctx.stream>>>(gate.as<const T>(), up.as<const T>(),
                                                                                 out.as<T>(), n);
    }
  });
  check_launch(ctx.op, "silu_mul_kernel");
}

void launch_add(const Tensor& a, const Tensor& b, const Tensor& out, const LaunchContext& ctx) {
  const int64_t n = a.n_elements();
  if (n == 0) return;
  const bool vec = n % 8 == 0 && aligned(a.data, 16) && aligned(b.data, 16) && aligned(out.data, 16);
  visit_float(a.dtype, "add", [&](auto e) {
    using T = decltype(e);
    if (vec) {
      add_kernel<T, true><<<flat_blocks(n / 8), kFlatThreads, 0, ctx.stream>>>(a.as<const T>(), b.as<const T>(),
                                                                               out.as<T>(), n);
    } else {
      add_kernel<T, false><<<flat_blocks(n), kFlatThreads, 0, ctx.stream>>>(a.as<const T>(), b.as<const T>(),
                                                                            out.as<T>(), n);
    }
  });
  check_launch(ctx.op, "add_kernel");
}

void launch_convert(const Tensor& src, const Tensor& dst, const LaunchContext& ctx) {
  const int64_t n = src.n_elements();
  if (n == 0) return;
  visit_float(src.dtype, std::string(ctx.op) + " source", [&](auto s) {
    visit_float(dst.dtype, std::string(ctx.op) + " destination", [&](auto d) {
      using TS = decltype(s);
      using TO = decltype(d);
      convert_kernel<TS, TO><<<flat_blocks(n), kFlatThreads, 0, ctx.stream>>>(src.as<const TS>(), dst.as<TO>(), n);
    });
  });
  check_launch(ctx.op, "convert_kernel");
}

}  // namespace swallow::cuda
