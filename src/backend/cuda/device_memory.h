// Device memory of the CUDA backend: CudaBuffer (one cudaMalloc, never managed memory),
// CudaKvCache (every layer's keys and values in one allocation, zeroed at creation),
// DeviceScratch (a device region that grows on demand, for op workspaces) and PinnedBuffer
// (page-locked host staging for uploads and results). Owners free in their destructors; not
// thread-safe (the backend's one thread uses them).
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <memory>

#include "backend/backend.h"
#include "backend/kv_cache.h"

namespace swallow::cuda {

class CudaBuffer final : public Buffer {
 public:
  // Throws resource_exhausted naming `what` and the size when the device is out of memory.
  CudaBuffer(size_t n_bytes, const char* what);
  ~CudaBuffer() override;
  CudaBuffer(const CudaBuffer&) = delete;
  CudaBuffer& operator=(const CudaBuffer&) = delete;

  void* data() const override { return data_; }
  size_t n_bytes() const override { return n_bytes_; }

 private:
  void* data_ = nullptr;
  size_t n_bytes_ = 0;
};

// Layout: [n_layers][K, V][n_blocks, block_size, n_kv_heads, head_dim] in shape.dtype.
class CudaKvCache final : public KvCache {
 public:
  // Throws invalid_argument for non-positive dimensions, unsupported for a non-float dtype.
  CudaKvCache(const KvCacheShape& shape, cudaStream_t stream);

  void* keys(int32_t layer) const override { return part(layer, 0); }
  void* values(int32_t layer) const override { return part(layer, 1); }

 private:
  void* part(int32_t layer, int kv) const;

  size_t bytes_per_part_ = 0;  // one layer's keys (or values)
  std::unique_ptr<CudaBuffer> buffer_;
};

class DeviceScratch {
 public:
  explicit DeviceScratch(const char* what) : what_(what) {}
  // At least n_bytes of device memory, valid until the next get() with a larger size. Growing
  // frees the old region (cudaFree synchronises the device), so the contents are not kept.
  void* get(size_t n_bytes);
  // How many times get() moved the region (recorded graphs that use it are stale after a move).
  uint64_t generation() const { return generation_; }

 private:
  const char* what_;
  std::unique_ptr<CudaBuffer> buffer_;
  uint64_t generation_ = 0;
};

class PinnedBuffer {
 public:
  explicit PinnedBuffer(const char* what) : what_(what) {}
  ~PinnedBuffer();
  PinnedBuffer(const PinnedBuffer&) = delete;
  PinnedBuffer& operator=(const PinnedBuffer&) = delete;
  // At least n_bytes of page-locked host memory; contents are not kept when it grows.
  void* get(size_t n_bytes);

 private:
  const char* what_;
  void* data_ = nullptr;
  size_t n_bytes_ = 0;
};

}  // namespace swallow::cuda
