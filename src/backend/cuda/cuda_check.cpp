// Error formatting for cuda_check.h.
#include "backend/cuda/cuda_check.h"

#include <string>

#include "core/error.h"

namespace swallow::cuda {

void throw_cuda_error(cudaError_t status, const char* op, const char* call) {
  std::string message = std::string("CUDA error in ") + op + " (" + call + "): " + cudaGetErrorName(status) + ": " +
                        cudaGetErrorString(status);
  if (status == cudaErrorMemoryAllocation) {
    throw resource_exhausted(message + " (device memory exhausted: lower --gpu-memory-utilization, "
                                       "--kv-cache-memory or the batch size)");
  }
  throw internal_error(message);
}

void throw_cublas_error(cublasStatus_t status, const char* op, const char* call) {
  std::string message = std::string("cuBLASLt error in ") + op + " (" + call + "): " + cublasLtGetStatusName(status) +
                        ": " + cublasLtGetStatusString(status);
  if (status == CUBLAS_STATUS_ALLOC_FAILED) throw resource_exhausted(message);
  throw internal_error(message);
}

}  // namespace swallow::cuda
