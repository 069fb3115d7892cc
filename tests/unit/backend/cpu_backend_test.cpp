// CpuBackend memory: buffers and KV caches count against the budget and give it back; KV cache
// shapes and dtypes are validated; store_kv writes (and rounds) rows at their slots.
#include <gtest/gtest.h>

#include "backend_test_util.h"

namespace swallow::test {
namespace {

TEST(CpuBackend, BuffersCountAgainstTheBudget) {
  CpuBackend backend({.n_threads = 1, .memory_budget_bytes = 1 << 20});
  EXPECT_EQ(backend.free_memory(), size_t{1} << 20);
  {
    auto buffer = backend.allocate(1000);
    EXPECT_EQ(buffer->n_bytes(), 1000u);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(buffer->data()) % 64, 0u);
    EXPECT_EQ(backend.free_memory(), (size_t{1} << 20) - 1000);
    EXPECT_THROW(backend.allocate(size_t{1} << 20), Error);
  }
  EXPECT_EQ(backend.free_memory(), size_t{1} << 20);
}

TEST(CpuBackend, CopiesAreByteExact) {
  CpuBackend backend({.n_threads = 1});
  auto buffer = backend.allocate(16);
  const char src[16] = "fifteen chars!!";
  char dst[16] = {};
  backend.copy_to_device(buffer->data(), src, 16);
  backend.copy_to_host(dst, buffer->data(), 16);
  EXPECT_EQ(std::string(dst), std::string(src));
}

TEST(CpuBackend, KvCacheLayoutAndValidation) {
  CpuBackend backend({.n_threads = 1, .memory_budget_bytes = 1 << 20});
  KvCacheShape shape{.n_layers = 3, .n_blocks = 4, .block_size = 16, .n_kv_heads = 2, .head_dim = 8, .dtype = DType::kBF16};
  auto cache = backend.create_kv_cache(shape);
  const size_t part = 4 * 16 * 2 * 8 * 2;  // one layer's keys, bytes
  EXPECT_EQ(static_cast<uint8_t*>(cache->values(0)) - static_cast<uint8_t*>(cache->keys(0)), static_cast<ptrdiff_t>(part));
  EXPECT_EQ(static_cast<uint8_t*>(cache->keys(2)) - static_cast<uint8_t*>(cache->keys(0)), static_cast<ptrdiff_t>(4 * part));
  EXPECT_EQ(backend.free_memory(), (size_t{1} << 20) - static_cast<size_t>(shape.n_bytes()));
  EXPECT_THROW(cache->keys(3), Error);
  EXPECT_THROW(backend.create_kv_cache({.n_layers = 1, .n_blocks = 1, .n_kv_heads = 1, .head_dim = 8, .dtype = DType::kF16}), Error);
  EXPECT_THROW(backend.create_kv_cache({.n_layers = 1, .n_blocks = 0, .n_kv_heads = 1, .head_dim = 8}), Error);
  EXPECT_THROW(backend.create_kv_cache({.n_layers = 64, .n_blocks = 4096, .n_kv_heads = 8, .head_dim = 128}), Error);
  cache.reset();
  EXPECT_EQ(backend.free_memory(), size_t{1} << 20);
}

// Keys and values land at slot * row in the cache dtype (bf16 rounded to nearest even).
TEST(CpuBackend, StoreKvWritesSlots) {
  for (DType dtype : {DType::kF32, DType::kBF16}) {
    CpuBackend backend({.n_threads = 2});
    KvCacheShape shape{.n_layers = 2, .n_blocks = 3, .block_size = 4, .n_kv_heads = 2, .head_dim = 8, .dtype = dtype};
    auto cache = backend.create_kv_cache(shape);
    HostTensor k = HostTensor::random(3, 16, DType::kF32, 1), v = HostTensor::random(3, 16, DType::kF32, 2);
    const std::vector<int32_t> slots = {11, 0, 5};
    AttentionBatch batch{.n_tokens = 3, .slot_mapping = slots.data()};
    backend.store_kv(*cache, 1, k.view(), v.view(), batch);
    for (int64_t t = 0; t < 3; ++t) {
      for (int64_t c = 0; c < 16; ++c) {
        const int64_t at = slots[t] * 16 + c;
        const float want_k = static_cast<float>(k.at(t, c)), want_v = static_cast<float>(v.at(t, c));
        if (dtype == DType::kF32) {
          ASSERT_EQ(static_cast<float*>(cache->keys(1))[at], want_k);
          ASSERT_EQ(static_cast<float*>(cache->values(1))[at], want_v);
        } else {
          ASSERT_EQ(static_cast<uint16_t*>(cache->keys(1))[at], f32_to_bf16(want_k));
          ASSERT_EQ(static_cast<uint16_t*>(cache->values(1))[at], f32_to_bf16(want_v));
        }
      }
    }
    const std::vector<int32_t> bad = {12};
    AttentionBatch bad_batch{.n_tokens = 1, .slot_mapping = bad.data()};
    EXPECT_THROW(backend.store_kv(*cache, 0, k.view().row_slice(0, 1), v.view().row_slice(0, 1), bad_batch), Error);
  }
}

TEST(CpuBackend, NameSaysKernelsAndThreads) {
  CpuBackend backend({.n_threads = 3, .reference_kernels = true});
  EXPECT_EQ(backend.name(), "cpu (reference kernels, 3 threads)");
  EXPECT_EQ(backend.activation_dtype(), DType::kF32);
}

}  // namespace
}  // namespace swallow::test
