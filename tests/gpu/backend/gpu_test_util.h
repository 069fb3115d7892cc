// Shared helpers of the gpu backend tests: one CudaBackend and one CpuBackend per process,
// a random generator seeded afresh each run (the seed is printed, and SWALLOW_TEST_SEED
// replays it), device and host tensors with dtype conversion, NaN poisoning of outputs, and
// the comparison rule (no NaN or inf; relative L2 error within a per-dtype bound).
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <random>
#include <vector>

#include "backend/cpu/cpu_backend.h"
#include "backend/cuda/cuda_backend.h"

namespace swallow::gpu_test {

CudaBackend& cuda();
CpuBackend& cpu();
std::mt19937_64& rng();
uint64_t run_seed();

// n values uniform in [lo, hi).
std::vector<float> random_floats(size_t n, float lo, float hi);
// Each value rounded to the nearest one `dtype` represents (identity for F32).
std::vector<float> representable(std::vector<float> values, DType dtype);
// Random ints in [lo, hi].
std::vector<int32_t> random_ints(size_t n, int32_t lo, int32_t hi);

// Bytes of `values` stored as `dtype` (F32, BF16, F16).
std::vector<uint8_t> encode(const std::vector<float>& values, DType dtype);
std::vector<float> decode(const std::vector<uint8_t>& bytes, DType dtype);

// A tensor in CUDA device memory, poisoned with 0xFF bytes (NaN in every float dtype) at birth.
class DeviceTensor {
 public:
  DeviceTensor(int64_t rows, int64_t cols, DType dtype);
  const Tensor& t() const { return t_; }
  void upload(const std::vector<float>& values);
  std::vector<float> download() const;
  void poison();

 private:
  std::unique_ptr<Buffer> buffer_;
  Tensor t_;
};

// int32 values in device memory.
class DeviceInts {
 public:
  explicit DeviceInts(const std::vector<int32_t>& values);
  const int32_t* data() const { return static_cast<const int32_t*>(buffer_->data()); }

 private:
  std::unique_ptr<Buffer> buffer_;
};

// A tensor in host memory for the CPU backend.
class HostTensor {
 public:
  HostTensor(int64_t rows, int64_t cols, DType dtype);
  const Tensor& t() const { return t_; }
  void set(const std::vector<float>& values);
  std::vector<float> get() const;

 private:
  std::vector<uint64_t> storage_;  // 8-byte aligned
  Tensor t_;
};

// Relative L2 error bound for outputs stored in `dtype` (bf16 1e-2, f16 2e-3, f32 1e-5).
double tolerance(DType dtype);
// Passes when both have the same size, got has no NaN/inf, and ||got - want|| / ||want|| <= tol.
::testing::AssertionResult close(const std::vector<float>& got, const std::vector<float>& want, double tol);

}  // namespace swallow::gpu_test
