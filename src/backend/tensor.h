// A non-owning view of a contiguous row-major 2-D tensor in a backend's memory (host memory for
// the CPU backend, device memory for CUDA). Vectors are [1, n]. Weights follow the Hugging Face
// Linear layout [out_features, in_features]. Copying a view never copies data.
#pragma once

#include <cstdint>

#include "core/dtype.h"

namespace swallow {

struct Tensor {
  void* data = nullptr;
  DType dtype = DType::kF32;
  int64_t rows = 0;
  int64_t cols = 0;

  int64_t n_elements() const { return rows * cols; }
  size_t n_bytes() const { return static_cast<size_t>(n_elements()) * dtype_size(dtype); }
  // Rows [begin, begin + count) as a view.
  Tensor row_slice(int64_t begin, int64_t count) const {
    return {static_cast<uint8_t*>(data) + static_cast<size_t>(begin * cols) * dtype_size(dtype), dtype, count, cols};
  }
  template <typename T>
  T* as() const { return static_cast<T*>(data); }
};

}  // namespace swallow
