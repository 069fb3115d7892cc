// CUDA vs CPU: embedding, gather_rows, rms_norm, silu_mul, add, rope, store_kv, read_f32, the
// device status word, and device-side dummy weights.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/error.h"
#include "gpu_test_util.h"

namespace swallow::gpu_test {
namespace {

constexpr DType kFloatTypes[] = {DType::kBF16, DType::kF32};

TEST(GpuElementwise, EmbeddingMatchesCpuExactly) {
  for (int64_t d : {256, 37}) {  // vector and scalar paths
    for (DType out_dtype : {DType::kBF16, DType::kF32}) {
      const int64_t vocab = 1000, n = 67;
      const std::vector<float> table = representable(random_floats(vocab * d, -1, 1), DType::kBF16);
      std::vector<int32_t> ids = random_ints(n, 0, vocab - 1);
      ids[0] = 0;
      ids[1] = vocab - 1;
      DeviceTensor g_table(vocab, d, DType::kBF16), g_out(n, d, out_dtype);
      g_table.upload(table);
      DeviceInts g_ids(ids);
      cuda().embedding(g_table.t(), g_ids.data(), g_out.t());
      HostTensor c_table(vocab, d, DType::kBF16), c_out(n, d, DType::kF32);
      c_table.set(table);
      cpu().embedding(c_table.t(), ids.data(), c_out.t());
      EXPECT_TRUE(close(g_out.download(), c_out.get(), 0.0)) << "d " << d << " out " << dtype_name(out_dtype);
    }
  }
}

TEST(GpuElementwise, GatherRowsMatchesCpuExactly) {
  for (DType dtype : kFloatTypes) {
    for (int64_t d : {128, 13}) {
      const int64_t n = 50, m = 21;
      const std::vector<float> x = representable(random_floats(n * d, -3, 3), dtype);
      const std::vector<int32_t> rows = random_ints(m, 0, n - 1);
      DeviceTensor g_x(n, d, dtype), g_out(m, d, dtype);
      g_x.upload(x);
      DeviceInts g_rows(rows);
      cuda().gather_rows(g_x.t(), g_rows.data(), g_out.t());
      HostTensor c_x(n, d, DType::kF32), c_out(m, d, DType::kF32);
      c_x.set(x);
      cpu().gather_rows(c_x.t(), rows.data(), c_out.t());
      EXPECT_TRUE(close(g_out.download(), c_out.get(), 0.0)) << dtype_name(dtype) << " d " << d;
    }
  }
}

TEST(GpuElementwise, RmsNormMatchesCpu) {
  for (DType dtype : kFloatTypes) {
    for (auto [n, d] : {std::pair<int64_t, int64_t>{1, 4096}, {7, 4096}, {33, 1000}, {3, 8192}, {5, 45}}) {
      const std::vector<float> x = representable(random_floats(n * d, -4, 4), dtype);
      const std::vector<float> w = representable(random_floats(d, 0.5f, 1.5f), DType::kBF16);
      DeviceTensor g_x(n, d, dtype), g_w(1, d, DType::kBF16), g_out(n, d, dtype);
      g_x.upload(x);
      g_w.upload(w);
      cuda().rms_norm(g_x.t(), g_w.t(), 1e-5f, g_out.t());
      HostTensor c_x(n, d, DType::kF32), c_w(1, d, DType::kBF16), c_out(n, d, DType::kF32);
      c_x.set(x);
      c_w.set(w);
      cpu().rms_norm(c_x.t(), c_w.t(), 1e-5f, c_out.t());
      EXPECT_TRUE(close(g_out.download(), c_out.get(), tolerance(dtype))) << dtype_name(dtype) << " [" << n << ", " << d << "]";
    }
  }
}

TEST(GpuElementwise, SiluMulAndAddMatchCpu) {
  for (DType dtype : kFloatTypes) {
    for (auto [n, f] : {std::pair<int64_t, int64_t>{1, 14336}, {9, 14336}, {5, 77}}) {
      const std::vector<float> gate = representable(random_floats(n * f, -8, 8), dtype);
      const std::vector<float> up = representable(random_floats(n * f, -2, 2), dtype);
      DeviceTensor g_gate(n, f, dtype), g_up(n, f, dtype), g_out(n, f, dtype);
      g_gate.upload(gate);
      g_up.upload(up);
      HostTensor c_gate(n, f, DType::kF32), c_up(n, f, DType::kF32), c_out(n, f, DType::kF32);
      c_gate.set(gate);
      c_up.set(up);
      cuda().silu_mul(g_gate.t(), g_up.t(), g_out.t());
      cpu().silu_mul(c_gate.t(), c_up.t(), c_out.t());
      EXPECT_TRUE(close(g_out.download(), c_out.get(), tolerance(dtype))) << "silu_mul " << dtype_name(dtype);
      // add, with out aliasing a (the residual update).
      cuda().add(g_gate.t(), g_up.t(), g_gate.t());
      cpu().add(c_gate.t(), c_up.t(), c_gate.t());
      EXPECT_TRUE(close(g_gate.download(), c_gate.get(), tolerance(dtype))) << "add " << dtype_name(dtype);
    }
  }
}

// llama3-style frequencies: base 500000, the low band slowed down 8x.
std::vector<float> inv_freq_table(int32_t head_dim) {
  std::vector<float> inv(head_dim / 2);
  for (int32_t i = 0; i < head_dim / 2; ++i) {
    inv[i] = static_cast<float>(std::pow(500000.0, -2.0 * i / head_dim));
    if (i >= head_dim / 4) inv[i] /= 8.0f;
  }
  return inv;
}

TEST(GpuElementwise, RopeMatchesCpu) {
  for (DType dtype : kFloatTypes) {
    for (int32_t head_dim : {128, 64}) {
      const int64_t n = 19, n_q = 8, n_kv = 2;
      const std::vector<float> q = representable(random_floats(n * n_q * head_dim, -2, 2), dtype);
      const std::vector<float> k = representable(random_floats(n * n_kv * head_dim, -2, 2), dtype);
      std::vector<int32_t> pos = random_ints(n, 0, 131071);
      pos[0] = 0;
      const std::vector<float> inv = inv_freq_table(head_dim);
      DeviceTensor g_q(n, n_q * head_dim, dtype), g_k(n, n_kv * head_dim, dtype), g_inv(1, head_dim / 2, DType::kF32);
      g_q.upload(q);
      g_k.upload(k);
      g_inv.upload(inv);
      DeviceInts g_pos(pos);
      cuda().rope(g_q.t(), g_k.t(), g_pos.data(), RopeTable{g_inv.t().as<const float>(), head_dim});
      HostTensor c_q(n, n_q * head_dim, DType::kF32), c_k(n, n_kv * head_dim, DType::kF32);
      c_q.set(q);
      c_k.set(k);
      cpu().rope(c_q.t(), c_k.t(), pos.data(), RopeTable{inv.data(), head_dim});
      // f32: angles up to ~1e5 rad; sin/cos of the same f32 angle agree to a few ulp.
      const double tol = dtype == DType::kF32 ? 1e-5 : tolerance(dtype);
      EXPECT_TRUE(close(g_q.download(), c_q.get(), tol)) << "q " << dtype_name(dtype) << " head_dim " << head_dim;
      EXPECT_TRUE(close(g_k.download(), c_k.get(), tol)) << "k " << dtype_name(dtype) << " head_dim " << head_dim;
    }
  }
}

TEST(GpuElementwise, StoreKvWritesTheSameCacheAsCpu) {
  for (DType act : kFloatTypes) {
    for (DType cache_dtype : {DType::kBF16, DType::kF32}) {
      const KvCacheShape shape{2, 12, 16, 4, 64, cache_dtype};
      const int64_t row = shape.n_kv_heads * shape.head_dim;
      const int32_t n = 40;
      std::vector<int32_t> slots(shape.n_blocks * shape.block_size);
      std::iota(slots.begin(), slots.end(), 0);
      std::shuffle(slots.begin(), slots.end(), rng());
      slots.resize(n);  // distinct slots in random blocks
      const std::vector<float> k = representable(random_floats(n * row, -3, 3), act);
      const std::vector<float> v = representable(random_floats(n * row, -3, 3), act);
      auto g_cache = cuda().create_kv_cache(shape);
      auto c_cache = cpu().create_kv_cache(shape);
      DeviceTensor g_k(n, row, act), g_v(n, row, act);
      g_k.upload(k);
      g_v.upload(v);
      DeviceInts g_slots(slots);
      HostTensor c_k(n, row, DType::kF32), c_v(n, row, DType::kF32);
      c_k.set(k);
      c_v.set(v);
      AttentionBatch g_batch, c_batch;
      g_batch.n_tokens = c_batch.n_tokens = n;
      g_batch.slot_mapping = g_slots.data();
      c_batch.slot_mapping = slots.data();
      cuda().store_kv(*g_cache, 1, g_k.t(), g_v.t(), g_batch);
      cpu().store_kv(*c_cache, 1, c_k.t(), c_v.t(), c_batch);
      const int64_t slots_total = int64_t{shape.n_blocks} * shape.block_size;
      for (int part = 0; part < 2; ++part) {
        const Tensor g{part == 0 ? g_cache->keys(1) : g_cache->values(1), cache_dtype, slots_total, row};
        const Tensor c{part == 0 ? c_cache->keys(1) : c_cache->values(1), cache_dtype, slots_total, row};
        std::vector<float> got(static_cast<size_t>(g.n_elements())), want(got.size());
        cuda().read_f32(g, got.data());
        cpu().read_f32(c, want.data());
        EXPECT_TRUE(close(got, want, 0.0)) << (part == 0 ? "keys " : "values ") << dtype_name(act) << " -> "
                                           << dtype_name(cache_dtype);
      }
    }
  }
}

TEST(GpuElementwise, ReadF32ConvertsEveryDtype) {
  for (DType dtype : {DType::kBF16, DType::kF16, DType::kF32}) {
    const std::vector<float> x = representable(random_floats(3 * 77, -100, 100), dtype);
    DeviceTensor g(3, 77, dtype);
    g.upload(x);
    EXPECT_TRUE(close(g.download(), x, 0.0)) << dtype_name(dtype);
  }
}

TEST(GpuElementwise, OutOfRangeIndicesAreReportedAndCleared) {
  DeviceTensor table(10, 16, DType::kBF16), out(2, 16, DType::kBF16);
  table.upload(random_floats(160, -1, 1));
  DeviceInts ids({3, 10});
  cuda().embedding(table.t(), ids.data(), out.t());
  EXPECT_THROW(cuda().synchronize(), Error);
  EXPECT_NO_THROW(cuda().synchronize());  // the flag was cleared
}

TEST(GpuElementwise, DummyWeightsMatchTheHostFunction) {
  const int64_t n = 100003;
  const uint64_t seed = dummy::name_seed("model.layers.0.mlp.up_proj.weight", 33);
  const dummy::Distribution dist{0.0f, 1.0f / 64.0f};
  DeviceTensor g(1, n, DType::kBF16);
  cuda().fill_dummy_bf16(g.t(), seed, dist, 12345);
  const std::vector<float> got = g.download();
  for (int64_t i = 0; i < n; ++i) {
    const float want = bf16_to_f32(dummy::value_bf16(seed, static_cast<uint64_t>(12345 + i), dist));
    ASSERT_EQ(got[i], want) << "element " << i;
  }
}

}  // namespace
}  // namespace swallow::gpu_test
