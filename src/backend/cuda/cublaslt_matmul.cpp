// cuBLASLt plan creation and execution for CublasLtMatmul. Row-major out = x @ w^T is the
// column-major product out^T [m, n] = op_T(w^T view [k, m]) * (x^T view [k, n]): the "TN" case.
#include "backend/cuda/cublaslt_matmul.h"

#include <string>

#include "backend/cuda/cuda_check.h"
#include "core/error.h"

namespace swallow::cuda {
namespace {

constexpr size_t kMaxPlans = 4096;

cudaDataType_t cuda_type(DType t) {
  switch (t) {
    case DType::kF32: return CUDA_R_32F;
    case DType::kBF16: return CUDA_R_16BF;
    case DType::kF16: return CUDA_R_16F;
    case DType::kI32: break;
  }
  throw unsupported(std::string("matmul: dtype ") + dtype_name(t));
}

// Largest power of two <= 256 dividing the address (cuBLASLt's alignment preference).
uint32_t alignment_of(const void* p) {
  const auto v = reinterpret_cast<uintptr_t>(p);
  uint32_t a = 256;
  while (a > 1 && v % a != 0) a /= 2;
  return a;
}

}  // namespace

CublasLtMatmul::CublasLtMatmul() { SWALLOW_CUDA_CHECK("matmul", cublasLtCreate(&handle_)); }

CublasLtMatmul::~CublasLtMatmul() {
  for (auto& [key, plan] : plans_) destroy(plan);
  if (handle_ != nullptr) cublasLtDestroy(handle_);
}

bool CublasLtMatmul::supported(DType in, DType out) {
  if (in == DType::kF32) return out == DType::kF32;
  if (in == DType::kBF16 || in == DType::kF16) return out == in || out == DType::kF32;
  return false;
}

void CublasLtMatmul::destroy(Plan& plan) {
  if (plan.d != nullptr) cublasLtMatrixLayoutDestroy(plan.d);
  if (plan.b != nullptr) cublasLtMatrixLayoutDestroy(plan.b);
  if (plan.a != nullptr) cublasLtMatrixLayoutDestroy(plan.a);
  if (plan.desc != nullptr) cublasLtMatmulDescDestroy(plan.desc);
  plan = Plan{};
}

CublasLtMatmul::Plan CublasLtMatmul::make_plan(const Key& key, size_t workspace_bytes) {
  const auto [n, m, k, in, out, align_x, align_w, align_out] = key;
  const char* op = "matmul";
  Plan plan;
  try {
    SWALLOW_CUDA_CHECK(op, cublasLtMatmulDescCreate(&plan.desc, CUBLAS_COMPUTE_32F, CUDA_R_32F));
    const cublasOperation_t trans_a = CUBLAS_OP_T;
    const cublasOperation_t trans_b = CUBLAS_OP_N;
    SWALLOW_CUDA_CHECK(op, cublasLtMatmulDescSetAttribute(plan.desc, CUBLASLT_MATMUL_DESC_TRANSA, &trans_a, sizeof trans_a));
    SWALLOW_CUDA_CHECK(op, cublasLtMatmulDescSetAttribute(plan.desc, CUBLASLT_MATMUL_DESC_TRANSB, &trans_b, sizeof trans_b));
    SWALLOW_CUDA_CHECK(op, cublasLtMatrixLayoutCreate(&plan.a, cuda_type(in), static_cast<uint64_t>(k),
                                                      static_cast<uint64_t>(m), k));
    SWALLOW_CUDA_CHECK(op, cublasLtMatrixLayoutCreate(&plan.b, cuda_type(in), static_cast<uint64_t>(k),
                                                      static_cast<uint64_t>(n), k));
    SWALLOW_CUDA_CHECK(op, cublasLtMatrixLayoutCreate(&plan.d, cuda_type(out), static_cast<uint64_t>(m),
                                                      static_cast<uint64_t>(n), m));
    cublasLtMatmulPreference_t pref = nullptr;
    SWALLOW_CUDA_CHECK(op, cublasLtMatmulPreferenceCreate(&pref));
    const uint64_t ws = workspace_bytes;
    cublasStatus_t status = cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof ws);
    if (status == CUBLAS_STATUS_SUCCESS) {
      status = cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, &align_w, sizeof align_w);
    }
    if (status == CUBLAS_STATUS_SUCCESS) {
      status = cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, &align_x, sizeof align_x);
    }
    if (status == CUBLAS_STATUS_SUCCESS) {
      status = cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, &align_out, sizeof align_out);
    }
    if (status == CUBLAS_STATUS_SUCCESS) {
      status = cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, &align_out, sizeof align_out);
    }
    cublasLtMatmulHeuristicResult_t result{};
    int n_results = 0;
    if (status == CUBLAS_STATUS_SUCCESS) {
      status = cublasLtMatmulAlgoGetHeuristic(handle_, plan.desc, plan.a, plan.b, plan.d, plan.d, pref, 1, &result,
                                              &n_results);
    }
    cublasLtMatmulPreferenceDestroy(pref);
    SWALLOW_CUDA_CHECK(op, status);
    if (n_results == 0) {
      throw unsupported("matmul: cuBLASLt has no algorithm for [" + std::to_string(n) + ", " + std::to_string(k) +
                        "] x [" + std::to_string(m) + ", " + std::to_string(k) + "]^T in " + dtype_name(in) + " -> " +
                        dtype_name(out));
    }
    plan.algo = result.algo;
  } catch (...) {
    destroy(plan);
    throw;
  }
  return plan;
}

void CublasLtMatmul::run(const Tensor& x, const Tensor& w, const Tensor& out, void* workspace, size_t workspace_bytes,
                         cudaStream_t stream) {
  const Key key{x.rows, w.rows, x.cols, w.dtype, out.dtype, alignment_of(x.data), alignment_of(w.data),
                alignment_of(out.data)};
  auto it = plans_.find(key);
  if (it == plans_.end()) {
    if (plans_.size() >= kMaxPlans) {
      for (auto& [k, plan] : plans_) destroy(plan);
      plans_.clear();
    }
    it = plans_.emplace(key, make_plan(key, workspace_bytes)).first;
  }
  const Plan& plan = it->second;
  const float alpha = 1.0f;
  const float beta = 0.0f;
  SWALLOW_CUDA_CHECK("matmul", cublasLtMatmul(handle_, plan.desc, &alpha, w.data, plan.a, x.data, plan.b, &beta, out.data,
                                              plan.d, out.data, plan.d, &plan.algo, workspace, workspace_bytes, stream));
}

}  // namespace swallow::cuda
