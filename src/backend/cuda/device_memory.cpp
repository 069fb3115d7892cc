// Allocation and release of the CUDA backend's device and pinned host memory.
#include "backend/cuda/device_memory.h"

#include <string>

#include "backend/cuda/cuda_check.h"
#include "core/error.h"

namespace swallow::cuda {
namespace {

std::string mib(size_t n_bytes) { return std::to_string((n_bytes + (1u << 20) - 1) >> 20) + " MiB"; }

}  // namespace

CudaBuffer::CudaBuffer(size_t n_bytes, const char* what) : n_bytes_(n_bytes) {
  if (n_bytes == 0) return;
  const cudaError_t status = cudaMalloc(&data_, n_bytes);
  if (status == cudaErrorMemoryAllocation) {
    cudaGetLastError();  // reset the runtime's last-error state before reporting
    size_t free_bytes = 0, total_bytes = 0;
    cudaMemGetInfo(&free_bytes, &total_bytes);
    throw resource_exhausted(std::string("CUDA: cannot allocate ") + mib(n_bytes) + " for " + what + " (" +
                             mib(free_bytes) + " free of " + mib(total_bytes) +
                             "): use a smaller model, batch or KV cache, or lower --gpu-memory-utilization");
  }
  check(status, what, "cudaMalloc");
}

CudaBuffer::~CudaBuffer() {
  if (data_ != nullptr) cudaFree(data_);  // errors here are reported by the next checked call
}

CudaKvCache::CudaKvCache(const KvCacheShape& shape, cudaStream_t stream) : KvCache(shape) {
  if (shape.n_layers <= 0 || shape.n_blocks <= 0 || shape.block_size <= 0 || shape.n_kv_heads <= 0 ||
      shape.head_dim <= 0) {
    throw invalid_argument("KV cache: every dimension must be > 0 (layers " + std::to_string(shape.n_layers) +
                           ", blocks " + std::to_string(shape.n_blocks) + ", block_size " +
                           std::to_string(shape.block_size) + ", kv heads " + std::to_string(shape.n_kv_heads) +
                           ", head_dim " + std::to_string(shape.head_dim) + ")");
  }
  if (shape.dtype == DType::kI32) throw unsupported("KV cache: dtype I32 (expected BF16, F16 or F32)");
  bytes_per_part_ = static_cast<size_t>(shape.n_blocks) * shape.block_size * shape.n_kv_heads * shape.head_dim *
                    dtype_size(shape.dtype);
  buffer_ = std::make_unique<CudaBuffer>(bytes_per_part_ * 2 * shape.n_layers, "the KV cache");
  SWALLOW_CUDA_CHECK("create_kv_cache", cudaMemsetAsync(buffer_->data(), 0, buffer_->n_bytes(), stream));
}

void* CudaKvCache::part(int32_t layer, int kv) const {
  if (layer < 0 || layer >= shape_.n_layers) {
    throw invalid_argument("KV cache: layer " + std::to_string(layer) + " outside [0, " +
                           std::to_string(shape_.n_layers) + ")");
  }
  return static_cast<uint8_t*>(buffer_->data()) + (static_cast<size_t>(layer) * 2 + kv) * bytes_per_part_;
}

void* DeviceScratch::get(size_t n_bytes) {
  if (buffer_ == nullptr || buffer_->n_bytes() < n_bytes) {
    buffer_.reset();
    buffer_ = std::make_unique<CudaBuffer>(n_bytes + n_bytes / 4, what_);  // some headroom against regrowth
    ++generation_;
  }
  return buffer_->data();
}

PinnedBuffer::~PinnedBuffer() {
  if (data_ != nullptr) cudaFreeHost(data_);
}

void* PinnedBuffer::get(size_t n_bytes) {
  if (n_bytes_ < n_bytes) {
    if (data_ != nullptr) cudaFreeHost(data_);
    data_ = nullptr;
    n_bytes_ = 0;
    SWALLOW_CUDA_CHECK(what_, cudaMallocHost(&data_, n_bytes + n_bytes / 4));
    n_bytes_ = n_bytes + n_bytes / 4;
  }
  return data_;
}

}  // namespace swallow::cuda
