// Turns CUDA runtime and cuBLASLt status codes into swallow::Error naming the op and the call,
// e.g. "CUDA error in matmul (cublasLtMatmul): CUBLAS_STATUS_EXECUTION_FAILED". Every runtime
// call and every kernel launch of the backend goes through these. Stateless, thread-safe.
#pragma once

#include <cublasLt.h>
#include <cuda_runtime.h>

namespace swallow::cuda {

// Throws swallow::Error (resource_exhausted for out-of-memory, internal otherwise).
[[noreturn]] void throw_cuda_error(cudaError_t status, const char* op, const char* call);
[[noreturn]] void throw_cublas_error(cublasStatus_t status, const char* op, const char* call);

inline void check(cudaError_t status, const char* op, const char* call) {
  if (status != cudaSuccess) throw_cuda_error(status, op, call);
}
inline void check(cublasStatus_t status, const char* op, const char* call) {
  if (status != CUBLAS_STATUS_SUCCESS) throw_cublas_error(status, op, call);
}
// After a kernel launch: launch-configuration errors and earlier asynchronous faults.
inline void check_launch(const char* op, const char* kernel) { check(cudaGetLastError(), op, kernel); }

}  // namespace swallow::cuda

// SWALLOW_CUDA_CHECK(op, call): evaluates `call` once and throws with its text on failure.
#define SWALLOW_CUDA_CHECK(op, call) ::swallow::cuda::check((call), (op), #call)
