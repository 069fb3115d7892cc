// Device-side dummy weights: element i of a tensor is dummy::value_bf16(seed, first + i, dist),
// the same pure function (core/dummy_hash.h) the host uses, so CPU and CUDA models are
// bit-identical without a host round trip.
#include <algorithm>

#include "backend/cuda/cuda_check.h"
#include "backend/cuda/kernels.h"
#include "core/dummy_hash.h"

namespace swallow::cuda {
namespace {

__global__ void fill_dummy_kernel(uint16_t* __restrict__ out, int64_t n, uint64_t seed, dummy::Distribution dist,
                                  uint64_t first) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n; i += stride) {
    out[i] = dummy::value_bf16(seed, first + static_cast<uint64_t>(i), dist);
  }
}

}  // namespace

void launch_fill_dummy_bf16(uint16_t* out, int64_t n, uint64_t seed, const dummy::Distribution& dist, uint64_t first,
                            const LaunchContext& ctx) {
  if (n == 0) return;
  const int64_t blocks = std::min<int64_t>((n + 255) / 256, int64_t{1} << 16);
  fill_dummy_kernel<<<static_cast<unsigned>(blocks), 256, 0, ctx.stream>>>(out, n, seed, dist, first);
  check_launch(ctx.op, "fill_dummy_kernel");
}

}  // namespace swallow::cuda
