// CpuBackend: the Backend on host memory, the reference every other backend is checked
// against. Ops run synchronously on the calling thread and a ThreadPool it owns; the heavy
// kernels (matmul, attention, silu_mul) are picked once at construction (AMX for bf16 matmuls and
// AVX2/FMA/F16C when the CPU has them, else plain loops). Activations are f32. Every op is batch-invariant: a row's
// result never depends on the other rows of the batch. One caller thread at a time.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "backend/cpu/cpu_kernels.h"
#include "backend/cpu/cpu_memory.h"
#include "core/thread_pool.h"

namespace swallow {

struct CpuBackendOptions {
  int n_threads = 0;               // <= 0: one per hardware thread
  size_t memory_budget_bytes = 0;  // bytes allocate() and KV caches may use; 0: physical memory
  bool reference_kernels = false;  // force the plain reference kernels (tests, debugging)
  // Kernel table by name: "reference", "avx2" or "amx"; empty: the environment variable
  // SWALLOW_CPU_KERNELS when set, else the fastest this CPU runs. reference_kernels wins.
  std::string kernels;
};

class CpuBackend final : public Backend {
 public:
  explicit CpuBackend(const CpuBackendOptions& options = {});

  std::string name() const override;
  DType activation_dtype() const override { return DType::kF32; }
  int n_threads() const { return pool_.n_threads(); }

  std::unique_ptr<Buffer> allocate(size_t n_bytes) override;
  size_t free_memory() const override { return budget_->available(); }
  void copy_to_device(void* dst, const void* src, size_t n_bytes) override;
  void copy_to_host(void* dst, const void* src, size_t n_bytes) override;
  void synchronize() override {}
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

 private:
  const cpu::CpuKernels* kernels_;
  std::shared_ptr<cpu::MemoryBudget> budget_;
  ThreadPool pool_;
  std::vector<int32_t> token_seq_;  // [n_tokens] scratch for attention: sequence of each token
};

}  // namespace swallow
