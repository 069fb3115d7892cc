// CpuKvCache: the paged KV cache in host memory, one buffer holding every layer's keys and
// values ([n_layers][K, V][n_blocks, block_size, n_kv_heads, head_dim] in F32 or BF16). Made by
// CpuBackend::create_kv_cache; the memory counts against the backend's budget.
#pragma once

#include <memory>

#include "backend/cpu/cpu_memory.h"
#include "backend/kv_cache.h"

namespace swallow::cpu {

class CpuKvCache final : public KvCache {
 public:
  // Throws invalid_argument for a non-positive dimension, unsupported for other dtypes.
  CpuKvCache(const KvCacheShape& shape, std::shared_ptr<MemoryBudget> budget);

  void* keys(int32_t layer) const override { return layer_base(layer, 0); }
  void* values(int32_t layer) const override { return layer_base(layer, 1); }

 private:
  void* layer_base(int32_t layer, int kv) const;

  size_t bytes_per_part_ = 0;  // one layer's keys (or values)
  std::unique_ptr<HostBuffer> buffer_;
};

}  // namespace swallow::cpu
