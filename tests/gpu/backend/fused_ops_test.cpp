// CUDA fused ops against the same backend's unfused sequence, bit for bit: matmuls (q/k/v in one
// launch), swiglu (gate/up with SiLU in the epilogue), add_rms_norm and rope_store_kv, on the
// small-batch path (n <= 8) and the fallback path (larger n), with odd row counts.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>

#include "core/error.h"
#include "gpu_test_util.h"

namespace swallow::gpu_test {
namespace {

// A device tensor filled with representable random values.
DeviceTensor random_tensor(int64_t rows, int64_t cols, DType dtype, float lo, float hi) {
  DeviceTensor t(rows, cols, dtype);
  t.upload(representable(random_floats(static_cast<size_t>(rows * cols), lo, hi), dtype));
  return t;
}

TEST(GpuFusedOps, MatmulsEqualSeparateMatmuls) {
  for (DType w_dtype : {DType::kBF16, DType::kF16}) {
    for (DType out_dtype : {w_dtype, DType::kF32}) {
      for (int64_t n : {1, 3, 8, 9, 40}) {
        for (int64_t k : {256, 4096}) {
          SCOPED_TRACE(testing::Message() << "n " << n << " k " << k << " w " << dtype_name(w_dtype) << " out "
                                          << dtype_name(out_dtype));
          const int64_t rows[] = {64, 37, 16};  // q, k, v; 37 leaves a half-used warp
          std::vector<DeviceTensor> ws, fused, separate;
          for (int64_t m : rows) {
            ws.push_back(random_tensor(m, k, w_dtype, -0.05f, 0.05f));
            fused.emplace_back(n, m, out_dtype);
            separate.emplace_back(n, m, out_dtype);
          }
          const DeviceTensor x = random_tensor(n, k, w_dtype, -2, 2);
          std::vector<Tensor> w_t, fused_t;
          for (size_t i = 0; i < ws.size(); ++i) {
            w_t.push_back(ws[i].t());
            fused_t.push_back(fused[i].t());
            cuda().matmul(x.t(), ws[i].t(), separate[i].t());
          }
          cuda().matmuls(x.t(), w_t, fused_t);
          for (size_t i = 0; i < ws.size(); ++i) {
            EXPECT_TRUE(close(fused[i].download(), separate[i].download(), 0.0)) << "weight " << i;
          }
        }
      }
    }
  }
}

TEST(GpuFusedOps, MatmulsRejectMismatchedLists) {
  const DeviceTensor x = random_tensor(1, 64, DType::kBF16, -1, 1);
  const DeviceTensor w = random_tensor(8, 64, DType::kBF16, -1, 1);
  DeviceTensor out(1, 8, DType::kBF16);
  const Tensor ws[] = {w.t(), w.t()};
  const Tensor outs[] = {out.t()};
  EXPECT_THROW(cuda().matmuls(x.t(), ws, outs), Error);
  const DeviceTensor narrow(1, 7, DType::kBF16);
  const Tensor wrong_out[] = {out.t(), narrow.t()};
  EXPECT_THROW(cuda().matmuls(x.t(), ws, wrong_out), Error);
}

TEST(GpuFusedOps, SwigluEqualsMatmulsAndSiluMul) {
  for (DType dtype : {DType::kBF16, DType::kF16}) {
    for (int64_t n : {1, 5, 8, 12}) {
      for (int64_t f : {100, 512}) {
        SCOPED_TRACE(testing::Message() << "n " << n << " f " << f << " " << dtype_name(dtype));
        const int64_t k = 512;
        const DeviceTensor x = random_tensor(n, k, dtype, -2, 2);
        const DeviceTensor gate_w = random_tensor(f, k, dtype, -0.1f, 0.1f);
        const DeviceTensor up_w = random_tensor(f, k, dtype, -0.1f, 0.1f);
        DeviceTensor gate(n, f, dtype), up(n, f, dtype), fused(n, f, dtype), separate(n, f, dtype);
        cuda().matmul(x.t(), gate_w.t(), gate.t());
        cuda().matmul(x.t(), up_w.t(), up.t());
        cuda().silu_mul(gate.t(), up.t(), separate.t());
        cuda().swiglu(x.t(), gate_w.t(), up_w.t(), gate.t(), up.t(), fused.t());
        EXPECT_TRUE(close(fused.download(), separate.download(), 0.0));
      }
    }
  }
}

TEST(GpuFusedOps, AddRmsNormEqualsAddThenRmsNorm) {
  for (DType dtype : {DType::kBF16, DType::kF32}) {
    for (auto [n, d] : {std::pair<int64_t, int64_t>{1, 4096}, {7, 4096}, {130, 1024}, {5, 45}}) {
      SCOPED_TRACE(testing::Message() << "[" << n << ", " << d << "] " << dtype_name(dtype));
      const std::vector<float> hidden = representable(random_floats(static_cast<size_t>(n * d), -4, 4), dtype);
      const DeviceTensor delta = random_tensor(n, d, dtype, -1, 1);
      const DeviceTensor weight = random_tensor(1, d, DType::kBF16, 0.5f, 1.5f);
      DeviceTensor fused_hidden(n, d, dtype), fused_normed(n, d, dtype);
      DeviceTensor separate_hidden(n, d, dtype), separate_normed(n, d, dtype);
      fused_hidden.upload(hidden);
      separate_hidden.upload(hidden);
      cuda().add(separate_hidden.t(), delta.t(), separate_hidden.t());
      cuda().rms_norm(separate_hidden.t(), weight.t(), 1e-5f, separate_normed.t());
      cuda().add_rms_norm(fused_hidden.t(), delta.t(), weight.t(), 1e-5f, fused_normed.t());
      EXPECT_TRUE(close(fused_hidden.download(), separate_hidden.download(), 0.0)) << "hidden";
      EXPECT_TRUE(close(fused_normed.download(), separate_normed.download(), 0.0)) << "normed";
    }
  }
}

// Everything one rope_store_kv call reads and writes, for one way of computing it.
struct RopeStoreRun {
  DeviceTensor q, k;
  std::unique_ptr<KvCache> cache;
};

TEST(GpuFusedOps, RopeStoreKvEqualsRopeThenStoreKv) {
  for (DType act : {DType::kBF16, DType::kF32}) {
    for (DType cache_dtype : {DType::kBF16, DType::kF32}) {
      SCOPED_TRACE(testing::Message() << dtype_name(act) << " -> " << dtype_name(cache_dtype));
      const KvCacheShape shape{2, 12, 16, 2, 64, cache_dtype};
      const int32_t n = 40, n_heads = 8, half = shape.head_dim / 2;
      const int64_t row = shape.n_kv_heads * shape.head_dim;
      std::vector<int32_t> slots(shape.n_blocks * shape.block_size);
      std::iota(slots.begin(), slots.end(), 0);
      std::shuffle(slots.begin(), slots.end(), rng());
      slots.resize(n);
      slots[3] = -1;  // a padding token: rotated, not stored
      const std::vector<float> q = representable(random_floats(static_cast<size_t>(n) * n_heads * 64, -3, 3), act);
      const std::vector<float> k = representable(random_floats(static_cast<size_t>(n * row), -3, 3), act);
      const DeviceTensor v = random_tensor(n, row, act, -3, 3);
      const DeviceInts g_slots(slots), positions(random_ints(n, 0, 20000));
      const DeviceTensor inv_freq = random_tensor(1, half, DType::kF32, 1e-4f, 1.0f);
      const RopeTable table{inv_freq.t().as<const float>(), shape.head_dim};
      AttentionBatch batch;
      batch.n_tokens = n;
      batch.token_pos = positions.data();
      batch.slot_mapping = g_slots.data();

      std::vector<RopeStoreRun> runs;
      for (int fused = 0; fused < 2; ++fused) {
        RopeStoreRun r{DeviceTensor(n, n_heads * 64, act), DeviceTensor(n, row, act), cuda().create_kv_cache(shape)};
        r.q.upload(q);
        r.k.upload(k);
        if (fused == 1) {
          cuda().rope_store_kv(r.q.t(), r.k.t(), v.t(), table, *r.cache, 1, batch);
        } else {
          cuda().rope(r.q.t(), r.k.t(), positions.data(), table);
          cuda().store_kv(*r.cache, 1, r.k.t(), v.t(), batch);
        }
        runs.push_back(std::move(r));
      }
      EXPECT_TRUE(close(runs[1].q.download(), runs[0].q.download(), 0.0)) << "q";
      EXPECT_TRUE(close(runs[1].k.download(), runs[0].k.download(), 0.0)) << "k";
      const int64_t slots_total = int64_t{shape.n_blocks} * shape.block_size;
      for (int part = 0; part < 2; ++part) {
        std::vector<std::vector<float>> caches;
        for (const RopeStoreRun& r : runs) {
          const Tensor t{part == 0 ? r.cache->keys(1) : r.cache->values(1), cache_dtype, slots_total, row};
          std::vector<float> values(static_cast<size_t>(t.n_elements()));
          cuda().read_f32(t, values.data());
          caches.push_back(std::move(values));
        }
        // The written slots (the rest of a new cache is unspecified).
        for (int32_t i = 0; i < n; ++i) {
          if (slots[i] < 0) continue;
          const auto begin = static_cast<size_t>(slots[i] * row);
          const std::vector<float> got(caches[1].begin() + begin, caches[1].begin() + begin + row);
          const std::vector<float> want(caches[0].begin() + begin, caches[0].begin() + begin + row);
          ASSERT_TRUE(close(got, want, 0.0)) << (part == 0 ? "keys" : "values") << " token " << i;
        }
      }
    }
  }
}

TEST(GpuFusedOps, RopeStoreKvReportsABadSlot) {
  const KvCacheShape shape{1, 2, 16, 1, 64, DType::kBF16};
  auto cache = cuda().create_kv_cache(shape);
  const DeviceTensor q = random_tensor(1, 64, DType::kBF16, -1, 1);
  const DeviceTensor k = random_tensor(1, 64, DType::kBF16, -1, 1);
  const DeviceTensor v = random_tensor(1, 64, DType::kBF16, -1, 1);
  const DeviceTensor inv_freq = random_tensor(1, 32, DType::kF32, 1e-4f, 1.0f);
  const DeviceInts slot({32}), position({0});  // 2 blocks x 16 = slots 0..31
  AttentionBatch batch;
  batch.n_tokens = 1;
  batch.token_pos = position.data();
  batch.slot_mapping = slot.data();
  cuda().rope_store_kv(q.t(), k.t(), v.t(), {inv_freq.t().as<const float>(), 64}, *cache, 0, batch);
  EXPECT_THROW(cuda().synchronize(), Error);
  EXPECT_NO_THROW(cuda().synchronize());  // the flag is cleared once reported
}

}  // namespace
}  // namespace swallow::gpu_test
