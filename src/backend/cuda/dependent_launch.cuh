// Programmatic dependent launch (sm_90 and later): a kernel started with launch_kernel(...,
// ctx.dependent_launch = true) may begin while the previous kernel of the stream is still
// running, which hides the launch latency and lets it issue loads that do not depend on that
// kernel (weights) early. Such a kernel must call wait_for_previous_kernel() before it reads
// anything the previous kernel wrote and before it writes anything. A kernel calls
// allow_next_kernel() to let the following dependent kernel start once all its blocks are
// running. On older GPUs both are no-ops and launches are ordinary. Included by .cu files only.
#pragma once

#include <cuda_runtime.h>

#include <utility>

#include "backend/cuda/kernels.h"

namespace swallow::cuda {

__device__ __forceinline__ void wait_for_previous_kernel() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.wait;\n" ::: "memory");
#endif
}

__device__ __forceinline__ void allow_next_kernel() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.launch_dependents;\n" ::: "memory");
#endif
}

// Launches kernel<<<grid, block, 0, ctx.stream>>>(args...), as a dependent launch when
// ctx.dependent_launch is set. Errors are left for check_launch.
template <typename... Params, typename... Args>
void launch_kernel(void (*kernel)(Params...), dim3 grid, dim3 block, const LaunchContext& ctx, Args&&... args) {
  cudaLaunchAttribute attribute{};
  attribute.id = cudaLaunchAttributeProgrammaticStreamSerialization;
  attribute.val.programmaticStreamSerializationAllowed = 1;
  cudaLaunchConfig_t config{};
  config.gridDim = grid;
  config.blockDim = block;
  config.stream = ctx.stream;
  config.attrs = &attribute;
  config.numAttrs = ctx.dependent_launch ? 1 : 0;
  cudaLaunchKernelEx(&config, kernel, std::forward<Args>(args)...);
}

}  // namespace swallow::cuda
