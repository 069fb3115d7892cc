// bench_cuda_ceilings [JSON_PATH]: the two physical ceilings of the card, measured in one run so
// every benchmark result can be stated as a share of them: device-to-device copy bandwidth of
// 1 GiB (bytes read + written) and the cuBLASLt bf16 GEMM rate at 8192^3 (f32 accumulation) on
// random (non-zero) data. Median of timed repetitions after warm-up, CUDA events. Prints a table.
#include <cublasLt.h>
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

void check(cudaError_t status, const char* what) {
  if (status != cudaSuccess) {
    std::fprintf(stderr, "bench_cuda_ceilings: %s: %s\n", what, cudaGetErrorString(status));
    std::exit(1);
  }
}

void check(cublasStatus_t status, const char* what) {
  if (status != CUBLAS_STATUS_SUCCESS) {
    std::fprintf(stderr, "bench_cuda_ceilings: %s: %s\n", what, cublasLtGetStatusString(status));
    std::exit(1);
  }
}

// Pseudo-random bf16 in [-1, 1) from a hash of the index.
__global__ void fill_random(__nv_bfloat16* p, size_t n, unsigned seed) {
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<size_t>(gridDim.x) * blockDim.x) {
    unsigned h = static_cast<unsigned>(i) * 2654435761u ^ seed;
    h ^= h >> 15;
    h *= 2246822519u;
    h ^= h >> 13;
    p[i] = __float2bfloat16(static_cast<float>(h & 0xffff) / 32768.0f - 1.0f);
  }
}

// Median milliseconds of `reps` runs of fn after `warmup` runs, each timed with events.
template <typename Fn>
float median_ms(int warmup, int reps, Fn&& fn) {
  cudaEvent_t start, stop;
  check(cudaEventCreate(&start), "cudaEventCreate");
  check(cudaEventCreate(&stop), "cudaEventCreate");
  for (int i = 0; i < warmup; ++i) fn();
  std::vector<float> times;
  for (int i = 0; i < reps; ++i) {
    check(cudaEventRecord(start), "cudaEventRecord");
    fn();
    check(cudaEventRecord(stop), "cudaEventRecord");
    check(cudaEventSynchronize(stop), "cudaEventSynchronize");
    float ms = 0.0f;
    check(cudaEventElapsedTime(&ms, start, stop), "cudaEventElapsedTime");
    times.push_back(ms);
  }
  check(cudaGetLastError(), "kernel");
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

double copy_bandwidth_gbps() {
  const size_t bytes = size_t{1} << 30;
  void* a = nullptr;
  void* b = nullptr;
  check(cudaMalloc(&a, bytes), "cudaMalloc");
  check(cudaMalloc(&b, bytes), "cudaMalloc");
  fill_random<<<4096, 256>>>(static_cast<__nv_bfloat16*>(a), bytes / 2, 1u);
  const float ms = median_ms(3, 20, [&] { check(cudaMemcpyAsync(b, a, bytes, cudaMemcpyDeviceToDevice), "copy"); });
  cudaFree(a);
  cudaFree(b);
  return 2.0 * static_cast<double>(bytes) / (ms * 1e-3) / 1e9;
}

double gemm_tflops(int n) {
  const size_t elems = static_cast<size_t>(n) * n;
  __nv_bfloat16 *a = nullptr, *b = nullptr, *c = nullptr;
  check(cudaMalloc(&a, elems * 2), "cudaMalloc");
  check(cudaMalloc(&b, elems * 2), "cudaMalloc");
  check(cudaMalloc(&c, elems * 2), "cudaMalloc");
  fill_random<<<4096, 256>>>(a, elems, 2u);
  fill_random<<<4096, 256>>>(b, elems, 3u);
  const size_t ws_bytes = size_t{64} << 20;
  void* ws = nullptr;
  check(cudaMalloc(&ws, ws_bytes), "cudaMalloc");
  cublasLtHandle_t lt;
  check(cublasLtCreate(&lt), "cublasLtCreate");
  cublasLtMatmulDesc_t desc;
  check(cublasLtMatmulDescCreate(&desc, CUBLAS_COMPUTE_32F, CUDA_R_32F), "desc");
  const cublasOperation_t t = CUBLAS_OP_T, nt = CUBLAS_OP_N;
  check(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSA, &t, sizeof t), "transa");
  check(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSB, &nt, sizeof nt), "transb");
  cublasLtMatrixLayout_t la, lb, lc;
  check(cublasLtMatrixLayoutCreate(&la, CUDA_R_16BF, n, n, n), "layout");
  check(cublasLtMatrixLayoutCreate(&lb, CUDA_R_16BF, n, n, n), "layout");
  check(cublasLtMatrixLayoutCreate(&lc, CUDA_R_16BF, n, n, n), "layout");
  cublasLtMatmulPreference_t pref;
  check(cublasLtMatmulPreferenceCreate(&pref), "pref");
  const uint64_t ws64 = ws_bytes;
  check(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws64, sizeof ws64), "pref");
  cublasLtMatmulHeuristicResult_t result{};
  int found = 0;
  check(cublasLtMatmulAlgoGetHeuristic(lt, desc, la, lb, lc, lc, pref, 1, &result, &found), "heuristic");
  if (found == 0) {
    std::fprintf(stderr, "bench_cuda_ceilings: no cuBLASLt algorithm\n");
    std::exit(1);
  }
  const float alpha = 1.0f, beta = 0.0f;
  const float ms = median_ms(3, 20, [&] {
    check(cublasLtMatmul(lt, desc, &alpha, a, la, b, lb, &beta, c, lc, c, lc, &result.algo, ws, ws_bytes, nullptr),
          "cublasLtMatmul");
  });
  cublasLtMatmulPreferenceDestroy(pref);
  cublasLtMatrixLayoutDestroy(la);
  cublasLtMatrixLayoutDestroy(lb);
  cublasLtMatrixLayoutDestroy(lc);
  cublasLtMatmulDescDestroy(desc);
  cublasLtDestroy(lt);
  cudaFree(a);
  cudaFree(b);
  cudaFree(c);
  cudaFree(ws);
  return 2.0 * n * static_cast<double>(n) * n / (ms * 1e-3) / 1e12;
}

}  // namespace

int main(int argc, char** argv) {
  cudaDeviceProp props{};
  check(cudaGetDeviceProperties(&props, 0), "cudaGetDeviceProperties");
  const double copy = copy_bandwidth_gbps();
  const double gemm = gemm_tflops(8192);
  std::printf("| card | copy bandwidth (read+write) | bf16 GEMM 8192^3 |\n|---|---|---|\n");
  std::printf("| %s | %.0f GB/s | %.1f TFLOP/s |\n", props.name, copy, gemm);
  if (argc > 1) {
    FILE* f = std::fopen(argv[1], "w");
    if (f == nullptr) {
      std::fprintf(stderr, "bench_cuda_ceilings: cannot write %s\n", argv[1]);
      return 1;
    }
    std::fprintf(f,
                 "{\"benchmark\": \"cuda_ceilings\", \"gpu\": \"%s\", \"sm_count\": %d, \"copy_bytes\": %zu, "
                 "\"copy_bandwidth_gb_per_s\": %.1f, \"bf16_gemm_n\": 8192, \"bf16_gemm_tflop_per_s\": %.2f}\n",
                 props.name, props.multiProcessorCount, size_t{1} << 30, copy, gemm);
    std::fclose(f);
  }
  return 0;
}
