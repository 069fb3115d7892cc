// Helpers for the CPU backend tests: host tensors filled with seeded random values (rounded to
// their dtype, so references see exactly what the backend sees), error measures against double
// references, and the two kernel sets every op is checked with. Header-only, test code.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "backend/cpu/cpu_backend.h"
#include "backend/tensor.h"
#include "core/dtype.h"
#include "core/error.h"

namespace swallow::test {

// A row-major tensor owning its bytes; values() are its elements as double.
class HostTensor {
 public:
  HostTensor(int64_t rows, int64_t cols, DType dtype = DType::kF32)
      : rows_(rows), cols_(cols), dtype_(dtype), bytes_(static_cast<size_t>(rows * cols) * dtype_size(dtype)) {}

  // Uniform values in [lo, hi) from `seed`, rounded to the dtype.
  static HostTensor random(int64_t rows, int64_t cols, DType dtype, uint32_t seed, float lo = -1.0f, float hi = 1.0f) {
    HostTensor t(rows, cols, dtype);
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> dist(lo, hi);
    for (int64_t i = 0; i < rows * cols; ++i) t.set(i, dist(rng));
    return t;
  }

  // A view for the backend (ops may write through it).
  Tensor view() const { return {const_cast<uint8_t*>(bytes_.data()), dtype_, rows_, cols_}; }
  int64_t rows() const { return rows_; }
  int64_t cols() const { return cols_; }
  int64_t size() const { return rows_ * cols_; }

  void set(int64_t i, float v) {
    switch (dtype_) {
      case DType::kF32: std::memcpy(&bytes_[i * 4], &v, 4); break;
      case DType::kBF16: store16(i, f32_to_bf16(v)); break;
      case DType::kF16: store16(i, f32_to_f16(v)); break;
      case DType::kI32: {
        int32_t x = static_cast<int32_t>(v);
        std::memcpy(&bytes_[i * 4], &x, 4);
        break;
      }
    }
  }
  double at(int64_t i) const {
    uint16_t h;
    switch (dtype_) {
      case DType::kF32: {
        float f;
        std::memcpy(&f, &bytes_[i * 4], 4);
        return f;
      }
      case DType::kBF16: std::memcpy(&h, &bytes_[i * 2], 2); return bf16_to_f32(h);
      case DType::kF16: std::memcpy(&h, &bytes_[i * 2], 2); return f16_to_f32(h);
      case DType::kI32: {
        int32_t x;
        std::memcpy(&x, &bytes_[i * 4], 4);
        return x;
      }
    }
    return 0.0;
  }
  double at(int64_t r, int64_t c) const { return at(r * cols_ + c); }
  const float* f32() const { return reinterpret_cast<const float*>(bytes_.data()); }
  const uint8_t* bytes() const { return bytes_.data(); }
  size_t n_bytes() const { return bytes_.size(); }

 private:
  void store16(int64_t i, uint16_t h) { std::memcpy(&bytes_[i * 2], &h, 2); }

  int64_t rows_, cols_;
  DType dtype_;
  std::vector<uint8_t> bytes_;
};

// max |got - want| / max |want|: the error relative to the tensor's scale.
inline double max_rel_error(const HostTensor& got, const std::vector<double>& want) {
  double max_err = 0.0, max_ref = 0.0;
  for (int64_t i = 0; i < got.size(); ++i) {
    max_err = std::max(max_err, std::fabs(got.at(i) - want[i]));
    max_ref = std::max(max_ref, std::fabs(want[i]));
  }
  return max_ref == 0.0 ? max_err : max_err / max_ref;
}

// Bytes of rows [begin, begin + count) of an f32 tensor.
inline std::vector<uint8_t> row_bytes(const HostTensor& t, int64_t begin, int64_t count) {
  const uint8_t* p = t.bytes() + static_cast<size_t>(begin * t.cols()) * 4;
  return {p, p + static_cast<size_t>(count * t.cols()) * 4};
}

// The kernel sets every op is checked with: the reference loops and the fastest table with f32
// activations this CPU runs (AVX2, else the reference). The AMX table, which rounds matmul inputs
// to bf16, has its own tests (cpu_amx_matmul_test.cpp).
enum class Kernels { kReference, kFast };
inline std::string kernels_name(Kernels k) { return k == Kernels::kReference ? "Reference" : "Fast"; }
inline CpuBackend make_backend(Kernels kernels, int n_threads = 2) {
  const bool fast = kernels == Kernels::kFast && cpu::avx2_kernels() != nullptr;
  return CpuBackend({.n_threads = n_threads, .memory_budget_bytes = 0, .reference_kernels = !fast,
                     .kernels = fast ? "avx2" : ""});
}

}  // namespace swallow::test
