// Helpers of the gpu backend tests (see gpu_test_util.h).
#include "gpu_test_util.h"

#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace swallow::gpu_test {

CudaBackend& cuda() {
  static CudaBackend backend(CudaBackendOptions{0, 0.9});
  return backend;
}

CpuBackend& cpu() {
  // The AVX2 table: f32 activations, as the tolerances here assume (AMX rounds them to bf16).
  static CpuBackend backend(CpuBackendOptions{.kernels = "avx2"});
  return backend;
}

uint64_t run_seed() {
  static const uint64_t seed = [] {
    const char* env = std::getenv("SWALLOW_TEST_SEED");
    const uint64_t s = env != nullptr ? std::strtoull(env, nullptr, 10)
                                      : (static_cast<uint64_t>(std::random_device{}()) << 32) ^ std::random_device{}();
    std::fprintf(stderr, "gpu test random seed: %llu (replay with SWALLOW_TEST_SEED=%llu)\n",
                 static_cast<unsigned long long>(s), static_cast<unsigned long long>(s));
    return s;
  }();
  return seed;
}

std::mt19937_64& rng() {
  static std::mt19937_64 generator(run_seed());
  return generator;
}

std::vector<float> random_floats(size_t n, float lo, float hi) {
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng());
  return v;
}

std::vector<int32_t> random_ints(size_t n, int32_t lo, int32_t hi) {
  std::uniform_int_distribution<int32_t> dist(lo, hi);
  std::vector<int32_t> v(n);
  for (int32_t& x : v) x = dist(rng());
  return v;
}

std::vector<float> representable(std::vector<float> values, DType dtype) {
  for (float& v : values) {
    if (dtype == DType::kBF16) v = bf16_to_f32(f32_to_bf16(v));
    if (dtype == DType::kF16) v = f16_to_f32(f32_to_f16(v));
  }
  return values;
}

std::vector<uint8_t> encode(const std::vector<float>& values, DType dtype) {
  std::vector<uint8_t> bytes(values.size() * dtype_size(dtype));
  for (size_t i = 0; i < values.size(); ++i) {
    if (dtype == DType::kF32) {
      std::memcpy(bytes.data() + 4 * i, &values[i], 4);
    } else {
      const uint16_t h = dtype == DType::kBF16 ? f32_to_bf16(values[i]) : f32_to_f16(values[i]);
      std::memcpy(bytes.data() + 2 * i, &h, 2);
    }
  }
  return bytes;
}

std::vector<float> decode(const std::vector<uint8_t>& bytes, DType dtype) {
  std::vector<float> values(bytes.size() / dtype_size(dtype));
  for (size_t i = 0; i < values.size(); ++i) {
    if (dtype == DType::kF32) {
      std::memcpy(&values[i], bytes.data() + 4 * i, 4);
    } else {
      uint16_t h;
      std::memcpy(&h, bytes.data() + 2 * i, 2);
      values[i] = dtype == DType::kBF16 ? bf16_to_f32(h) : f16_to_f32(h);
    }
  }
  return values;
}

DeviceTensor::DeviceTensor(int64_t rows, int64_t cols, DType dtype)
    : buffer_(cuda().allocate(static_cast<size_t>(rows * cols) * dtype_size(dtype))),
      t_{buffer_->data(), dtype, rows, cols} {
  poison();
}

void DeviceTensor::upload(const std::vector<float>& values) {
  ASSERT_EQ(static_cast<int64_t>(values.size()), t_.n_elements());
  const std::vector<uint8_t> bytes = encode(values, t_.dtype);
  cuda().copy_to_device(t_.data, bytes.data(), bytes.size());
  cuda().synchronize();
}

std::vector<float> DeviceTensor::download() const {
  std::vector<float> values(static_cast<size_t>(t_.n_elements()));
  cuda().read_f32(t_, values.data());
  return values;
}

void DeviceTensor::poison() {
  if (t_.n_bytes() == 0) return;
  ASSERT_EQ(cudaMemset(t_.data, 0xFF, t_.n_bytes()), cudaSuccess);
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
}

DeviceInts::DeviceInts(const std::vector<int32_t>& values)
    : buffer_(cuda().allocate(std::max<size_t>(values.size(), 1) * sizeof(int32_t))) {
  cuda().copy_to_device(buffer_->data(), values.data(), values.size() * sizeof(int32_t));
  cuda().synchronize();
}

HostTensor::HostTensor(int64_t rows, int64_t cols, DType dtype)
    : storage_((static_cast<size_t>(rows * cols) * dtype_size(dtype) + 7) / 8, ~uint64_t{0}),
      t_{storage_.data(), dtype, rows, cols} {}

void HostTensor::set(const std::vector<float>& values) {
  const std::vector<uint8_t> bytes = encode(values, t_.dtype);
  std::memcpy(storage_.data(), bytes.data(), bytes.size());
}

std::vector<float> HostTensor::get() const {
  std::vector<uint8_t> bytes(t_.n_bytes());
  std::memcpy(bytes.data(), storage_.data(), bytes.size());
  return decode(bytes, t_.dtype);
}

double tolerance(DType dtype) {
  switch (dtype) {
    case DType::kBF16: return 1e-2;
    case DType::kF16: return 2e-3;
    default: return 1e-5;
  }
}

::testing::AssertionResult close(const std::vector<float>& got, const std::vector<float>& want, double tol) {
  if (got.size() != want.size()) {
    return ::testing::AssertionFailure() << "size " << got.size() << " != expected " << want.size();
  }
  double diff = 0.0, norm = 0.0, max_abs = 0.0;
  size_t worst = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    if (!std::isfinite(got[i])) {
      return ::testing::AssertionFailure() << "element " << i << " is " << got[i] << " (expected " << want[i]
                                           << "): unwritten or non-finite output";
    }
    const double d = static_cast<double>(got[i]) - want[i];
    diff += d * d;
    norm += static_cast<double>(want[i]) * want[i];
    if (std::abs(d) > max_abs) {
      max_abs = std::abs(d);
      worst = i;
    }
  }
  const double rel = norm > 0.0 ? std::sqrt(diff / norm) : std::sqrt(diff);
  if (rel > tol) {
    return ::testing::AssertionFailure() << "relative L2 error " << rel << " > " << tol << " (worst element " << worst
                                         << ": got " << got[worst] << ", expected " << want[worst]
                                         << "; seed " << run_seed() << ")";
  }
  return ::testing::AssertionSuccess();
}

}  // namespace swallow::gpu_test
