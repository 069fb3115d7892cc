// The paged key/value cache: for every layer, keys and values of n_blocks blocks of block_size
// token slots each. Allocated by a backend in its memory; the engine's block manager decides
// which blocks a sequence owns, the backend only reads and writes slots. Layout per layer:
// K and V each [n_blocks, block_size, n_kv_heads, head_dim] in `dtype`.
#pragma once

#include <cstdint>

#include "core/dtype.h"

namespace swallow {

struct KvCacheShape {
  int32_t n_layers = 0;
  int32_t n_blocks = 0;
  int32_t block_size = 16;
  int32_t n_kv_heads = 0;
  int32_t head_dim = 0;
  DType dtype = DType::kF32;

  // Bytes of one token slot across all layers, keys and values.
  int64_t bytes_per_token() const {
    return int64_t{2} * n_layers * n_kv_heads * head_dim * static_cast<int64_t>(dtype_size(dtype));
  }
  int64_t n_bytes() const { return bytes_per_token() * n_blocks * block_size; }
};

class KvCache {
 public:
  virtual ~KvCache() = default;
  const KvCacheShape& shape() const { return shape_; }
  // Base address of layer `layer`'s keys / values: [n_blocks, block_size, n_kv_heads, head_dim].
  virtual void* keys(int32_t layer) const = 0;
  virtual void* values(int32_t layer) const = 0;

 protected:
  explicit KvCache(const KvCacheShape& shape) : shape_(shape) {}
  KvCacheShape shape_;
};

}  // namespace swallow
