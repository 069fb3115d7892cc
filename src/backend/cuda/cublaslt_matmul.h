// cuBLASLt matmuls out = x @ w^T for row-major x [n, k], w [m, k] (the HF Linear layout), out
// [n, m]: bf16/f16 inputs with f32 accumulation (out in the input dtype or f32), or f32 inputs
// in plain f32 (no TF32). A plan (descriptors + heuristic algorithm) is cached per shape, dtype
// and pointer alignment. Owned by CudaBackend; one thread at a time.
#pragma once

#include <cublasLt.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <map>
#include <tuple>

#include "backend/tensor.h"

namespace swallow::cuda {

class CublasLtMatmul {
 public:
  CublasLtMatmul();
  ~CublasLtMatmul();
  CublasLtMatmul(const CublasLtMatmul&) = delete;
  CublasLtMatmul& operator=(const CublasLtMatmul&) = delete;

  // True for the dtype combinations run() accepts (x.dtype == w.dtype).
  static bool supported(DType in, DType out);
  // x [n, k] and w [m, k] of one dtype; out [n, m]. workspace: device scratch for cuBLASLt.
  void run(const Tensor& x, const Tensor& w, const Tensor& out, void* workspace, size_t workspace_bytes,
           cudaStream_t stream);

 private:
  // (n, m, k, input dtype, output dtype, alignment of x, w, out)
  using Key = std::tuple<int64_t, int64_t, int64_t, DType, DType, uint32_t, uint32_t, uint32_t>;
  struct Plan {
    cublasLtMatmulDesc_t desc = nullptr;
    cublasLtMatrixLayout_t a = nullptr;  // w viewed column-major [k, m]
    cublasLtMatrixLayout_t b = nullptr;  // x viewed column-major [k, n]
    cublasLtMatrixLayout_t d = nullptr;  // out viewed column-major [m, n]
    cublasLtMatmulAlgo_t algo{};
  };
  Plan make_plan(const Key& key, size_t workspace_bytes);
  static void destroy(Plan& plan);

  cublasLtHandle_t handle_ = nullptr;
  std::map<Key, Plan> plans_;
};

}  // namespace swallow::cuda
