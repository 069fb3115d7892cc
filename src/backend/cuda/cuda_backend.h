// CudaBackend: the Backend on one NVIDIA GPU. Owns device memory (cudaMalloc), one stream on
// which every op is enqueued asynchronously (no host synchronisation inside ops except sample,
// read_f32 and copy_to_host; work on it can be recorded as CUDA graphs), the cuBLASLt handle and
// workspaces. Activations are bf16; ops also accept f32 (and f16) tensors. Kernels that meet an
// out-of-range index skip it and flag a device status word, reported as swallow::Error at the
// next synchronisation. One thread at a time.
#pragma once

#include <cuda_runtime.h>

#include <memory>
#include <string>

#include "backend/backend.h"
#include "backend/cuda/cublaslt_matmul.h"
#include "backend/cuda/device_memory.h"
#include "backend/cuda/kernels.h"
#include "backend/cuda/sampler.h"
#include "core/dummy_hash.h"

namespace swallow {

struct CudaBackendOptions {
  int device = 0;                       // CUDA device ordinal
  double gpu_memory_utilization = 0.9;  // share of the card's memory this process may use, (0, 1]
  bool graphs = true;                   // offer graph capture (CUDA graphs) to the model
};

class CudaBackend final : public Backend {
 public:
  // Throws swallow::Error when there is no such device or the CUDA runtime fails to start.
  explicit CudaBackend(const CudaBackendOptions& options = {});
  ~CudaBackend() override;
  CudaBackend(const CudaBackend&) = delete;
  CudaBackend& operator=(const CudaBackend&) = delete;

  std::string name() const override;
  DType activation_dtype() const override { return DType::kBF16; }

  std::unique_ptr<Buffer> allocate(size_t n_bytes) override;
  // Bytes still allocatable within gpu_memory_utilization of the card, less a reserve for the
  // workspaces ops grow on demand (sampling, attention partials, dtype conversions).
  size_t free_memory() const override;
  void copy_to_device(void* dst, const void* src, size_t n_bytes) override;
  void copy_to_host(void* dst, const void* src, size_t n_bytes) override;
  void synchronize() override;
  std::unique_ptr<KvCache> create_kv_cache(const KvCacheShape& shape) override;

  void embedding(const Tensor& table, const int32_t* ids, const Tensor& out) override;
  void rms_norm(const Tensor& x, const Tensor& weight, float eps, const Tensor& out) override;
  void matmul(const Tensor& x, const Tensor& w, const Tensor& out) override;
  void rope(const Tensor& q, const Tensor& k, const int32_t* positions, const RopeTable& table) override;
  void store_kv(KvCache& cache, int32_t layer, const Tensor& k, const Tensor& v, const AttentionBatch& batch) override;
  void attention(const KvCache& cache, int32_t layer, const Tensor& q, const AttentionBatch& batch,
                 const AttentionParams& params, const Tensor& out) override;
  void silu_mul(const Tensor& gate, const Tensor& up, const Tensor& out) override;
  void add(const Tensor& a, const Tensor& b, const Tensor& out) override;
  void gather_rows(const Tensor& x, const int32_t* rows, const Tensor& out) override;
  void sample(const Tensor& logits, std::span<const SequenceSampling> seqs, std::span<SampledToken> out) override;
  void read_f32(const Tensor& x, float* dst) override;

  // Fused ops: one launch each on the small-batch (gemv) path and for rope + KV store and the
  // residual add + rms_norm at any size; bit-identical to the unfused sequence.
  void matmuls(const Tensor& x, std::span<const Tensor> ws, std::span<const Tensor> outs) override;
  void swiglu(const Tensor& x, const Tensor& gate_w, const Tensor& up_w, const Tensor& gate, const Tensor& up,
              const Tensor& out) override;
  void add_rms_norm(const Tensor& hidden, const Tensor& delta, const Tensor& weight, float eps,
                    const Tensor& normed) override;
  void rope_store_kv(const Tensor& q, const Tensor& k, const Tensor& v, const RopeTable& table, KvCache& cache,
                     int32_t layer, const AttentionBatch& batch) override;

  bool supports_graphs() const override { return graphs_; }
  void begin_capture() override;
  std::unique_ptr<Graph> end_capture() override;
  uint64_t workspace_generation() const override;

  // Proposed Backend op (not yet in backend.h): fills a bf16 tensor on the device with dummy
  // weights, element i = dummy::value_bf16(seed, first_index + i, dist). Asynchronous.
  void fill_dummy_bf16(const Tensor& out, uint64_t seed, const dummy::Distribution& dist, uint64_t first_index = 0);

  int device() const { return device_; }
  int multiprocessor_count() const { return n_sms_; }
  cudaStream_t stream() const { return stream_; }

 private:
  // Makes this backend's device current for the calling thread; the context of one op.
  cuda::LaunchContext ctx(const char* op) const;
  uint32_t* status_word() const { return static_cast<uint32_t*>(status_->data()); }
  // Reads the status word after synchronising; throws (and clears it) when a kernel flagged a problem.
  void poll_status(const char* op);
  void raise_status(uint32_t status, const char* op);
  // x in `dtype`: x itself, or a converted copy in the conversion workspace.
  Tensor as_dtype(const Tensor& x, DType dtype, const char* op);
  // Checks out = x @ w^T (shapes, dtypes) for `op`.
  void check_matmul(const char* op, const Tensor& x, const Tensor& w, const Tensor& out) const;
  // The StoreKvArgs of k, v into `layer` after checking them against the cache and batch.
  cuda::StoreKvArgs store_kv_args(const char* op, KvCache& cache, int32_t layer, const Tensor& k, const Tensor& v,
                                  const AttentionBatch& batch) const;

  int device_ = 0;
  double utilization_ = 0.9;
  std::string device_name_;
  int n_sms_ = 0;
  int compute_major_ = 0;
  int compute_minor_ = 0;
  bool dependent_launch_ = false;  // sm_90+ unless SWALLOW_CUDA_DEPENDENT_LAUNCH=0
  bool graphs_ = true;
  bool capturing_ = false;  // between begin_capture and end_capture: ops launch without dependent launch
  size_t total_memory_ = 0;
  cudaStream_t stream_ = nullptr;
  std::unique_ptr<cuda::CudaBuffer> status_;  // [1] u32 StatusBit flags
  cuda::PinnedBuffer status_host_{"status word"};
  std::unique_ptr<cuda::CublasLtMatmul> cublas_;
  std::unique_ptr<cuda::CudaBuffer> cublas_workspace_;
  cuda::DeviceScratch convert_scratch_{"matmul input conversion"};
  cuda::DeviceScratch attention_scratch_{"attention partial results"};
  cuda::CudaSampler sampler_;
};

}  // namespace swallow
