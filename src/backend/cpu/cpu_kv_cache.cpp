// CpuKvCache: validates the shape and carves one zeroed host buffer into per-layer K and V.
#include "backend/cpu/cpu_kv_cache.h"

#include <string>

#include "core/error.h"

namespace swallow::cpu {

CpuKvCache::CpuKvCache(const KvCacheShape& shape, std::shared_ptr<MemoryBudget> budget) : KvCache(shape) {
  if (shape.n_layers <= 0 || shape.n_blocks <= 0 || shape.block_size <= 0 || shape.n_kv_heads <= 0 ||
      shape.head_dim <= 0) {
    throw invalid_argument("KV cache shape: n_layers, n_blocks, block_size, n_kv_heads and head_dim must be > 0 (got " +
                           std::to_string(shape.n_layers) + ", " + std::to_string(shape.n_blocks) + ", " +
                           std::to_string(shape.block_size) + ", " + std::to_string(shape.n_kv_heads) + ", " +
                           std::to_string(shape.head_dim) + ")");
  }
  if (shape.dtype != DType::kF32 && shape.dtype != DType::kBF16) {
    throw unsupported(std::string("CPU KV cache dtype ") + dtype_name(shape.dtype) + " (expected F32 or BF16)");
  }
  bytes_per_part_ = static_cast<size_t>(shape.n_blocks) * shape.block_size * shape.n_kv_heads * shape.head_dim *
                    dtype_size(shape.dtype);
  buffer_ = std::make_unique<HostBuffer>(std::move(budget), static_cast<size_t>(shape.n_bytes()), "the KV cache");
}

void* CpuKvCache::layer_base(int32_t layer, int kv) const {
  if (layer < 0 || layer >= shape_.n_layers) {
    throw invalid_argument("KV cache layer " + std::to_string(layer) + " out of range [0, " +
                           std::to_string(shape_.n_layers) + ")");
  }
  return static_cast<uint8_t*>(buffer_->data()) + (static_cast<size_t>(layer) * 2 + kv) * bytes_per_part_;
}

}  // namespace swallow::cpu
