// The light CPU ops (embedding, rms_norm, rope, silu_mul, add, gather_rows, read_f32) against
// double-precision references written here, with both kernel sets.
#include <gtest/gtest.h>

#include <numeric>

#include "backend_test_util.h"

namespace swallow::test {
namespace {

class OpsTest : public ::testing::TestWithParam<Kernels> {
 protected:
  CpuBackend backend_ = make_backend(GetParam());
};

TEST_P(OpsTest, EmbeddingCopiesRowsOfEveryDtype) {
  for (DType dtype : {DType::kF32, DType::kBF16, DType::kF16}) {
    HostTensor table = HostTensor::random(50, 24, dtype, 1);
    const std::vector<int32_t> ids = {3, 0, 49, 3, 17};
    HostTensor out(5, 24);
    backend_.embedding(table.view(), ids.data(), out.view());
    for (int64_t i = 0; i < 5; ++i) {
      for (int64_t c = 0; c < 24; ++c) ASSERT_EQ(out.at(i, c), table.at(ids[i], c)) << dtype_name(dtype);
    }
  }
}

TEST_P(OpsTest, EmbeddingRejectsOutOfRangeIds) {
  HostTensor table(10, 4), out(1, 4);
  const int32_t bad = 10;
  EXPECT_THROW(backend_.embedding(table.view(), &bad, out.view()), Error);
}

// out = x / sqrt(mean(x^2) + eps) * w; relative error below 1e-6.
TEST_P(OpsTest, RmsNormMatchesDefinition) {
  const float eps = 1e-5f;
  for (DType w_dtype : {DType::kF32, DType::kBF16}) {
    HostTensor x = HostTensor::random(7, 2048, DType::kF32, 2, -3.0f, 3.0f);
    HostTensor w = HostTensor::random(1, 2048, w_dtype, 3, 0.5f, 1.5f);
    HostTensor out(7, 2048);
    backend_.rms_norm(x.view(), w.view(), eps, out.view());
    std::vector<double> want(static_cast<size_t>(out.size()));
    for (int64_t r = 0; r < 7; ++r) {
      double sum = 0.0;
      for (int64_t c = 0; c < 2048; ++c) sum += x.at(r, c) * x.at(r, c);
      const double inv_rms = 1.0 / std::sqrt(sum / 2048 + eps);
      for (int64_t c = 0; c < 2048; ++c) want[r * 2048 + c] = x.at(r, c) * inv_rms * w.at(c);
    }
    EXPECT_LT(max_rel_error(out, want), 1e-6) << dtype_name(w_dtype);
  }
}

// HF rotate_half: pairs (i, i + head_dim / 2) rotated by angle = float(pos) * inv_freq[i] (an f32
// product, as HF computes it); relative error below 1e-6, positions up to 131071.
TEST_P(OpsTest, RopeMatchesRotateHalf) {
  const int32_t head_dim = 64, half = 32, n_q = 4, n_kv = 2, n = 6;
  std::vector<float> inv_freq(half);
  for (int32_t i = 0; i < half; ++i) inv_freq[i] = static_cast<float>(std::pow(500000.0, -2.0 * i / head_dim));
  const std::vector<int32_t> positions = {0, 1, 7, 8191, 9000, 131071};
  HostTensor q = HostTensor::random(n, n_q * head_dim, DType::kF32, 4);
  HostTensor k = HostTensor::random(n, n_kv * head_dim, DType::kF32, 5);
  HostTensor q0 = q, k0 = k;
  backend_.rope(q.view(), k.view(), positions.data(), {inv_freq.data(), head_dim});
  auto expect_rotated = [&](const HostTensor& before, const HostTensor& after) {
    std::vector<double> want(static_cast<size_t>(before.size()));
    for (int64_t t = 0; t < n; ++t) {
      for (int64_t h = 0; h < before.cols() / head_dim; ++h) {
        for (int32_t i = 0; i < half; ++i) {
          const double angle = static_cast<float>(positions[t]) * inv_freq[i];
          const int64_t a = t * before.cols() + h * head_dim + i, b = a + half;
          want[a] = before.at(a) * std::cos(angle) - before.at(b) * std::sin(angle);
          want[b] = before.at(b) * std::cos(angle) + before.at(a) * std::sin(angle);
        }
      }
    }
    EXPECT_LT(max_rel_error(after, want), 1e-6);
  };
  expect_rotated(q0, q);
  expect_rotated(k0, k);
}

// silu(g) * u = g / (1 + e^-g) * u; element-wise relative error below 1e-6, including the
// saturated ends and an element count that is not a multiple of 8.
TEST_P(OpsTest, SiluMulMatchesDefinition) {
  HostTensor gate = HostTensor::random(3, 1001, DType::kF32, 6, -20.0f, 20.0f);
  HostTensor up = HostTensor::random(3, 1001, DType::kF32, 7);
  gate.set(0, -100.0f);
  gate.set(1, 100.0f);
  gate.set(2, 0.0f);
  HostTensor out(3, 1001);
  backend_.silu_mul(gate.view(), up.view(), out.view());
  for (int64_t i = 0; i < out.size(); ++i) {
    const double want = gate.at(i) / (1.0 + std::exp(-gate.at(i))) * up.at(i);
    ASSERT_NEAR(out.at(i), want, 1e-6 * std::fabs(want) + 1e-30) << "gate " << gate.at(i);
  }
}

// Element-wise results do not depend on where a row starts (thread chunks, batch size).
TEST_P(OpsTest, SiluMulIsBatchInvariant) {
  HostTensor gate = HostTensor::random(40, 8192 + 3, DType::kF32, 8, -8.0f, 8.0f);
  HostTensor up = HostTensor::random(40, 8192 + 3, DType::kF32, 9);
  HostTensor all(40, 8192 + 3), one(1, 8192 + 3);
  backend_.silu_mul(gate.view(), up.view(), all.view());
  backend_.silu_mul(gate.view().row_slice(33, 1), up.view().row_slice(33, 1), one.view());
  EXPECT_EQ(row_bytes(one, 0, 1), row_bytes(all, 33, 1));
}

TEST_P(OpsTest, AddIsExactAndMayAlias) {
  HostTensor a = HostTensor::random(5, 333, DType::kF32, 10);
  HostTensor b = HostTensor::random(5, 333, DType::kF32, 11);
  HostTensor a0 = a;
  backend_.add(a.view(), b.view(), a.view());
  for (int64_t i = 0; i < a.size(); ++i) ASSERT_EQ(a.at(i), static_cast<double>(static_cast<float>(a0.at(i) + b.at(i))));
}

TEST_P(OpsTest, GatherRowsPicksRows) {
  HostTensor x = HostTensor::random(6, 10, DType::kF32, 12);
  const std::vector<int32_t> rows = {5, 0, 5};
  HostTensor out(3, 10);
  backend_.gather_rows(x.view(), rows.data(), out.view());
  for (int64_t i = 0; i < 3; ++i) EXPECT_EQ(row_bytes(out, i, 1), row_bytes(x, rows[i], 1));
  const int32_t bad = 6;
  EXPECT_THROW(backend_.gather_rows(x.view(), &bad, out.view().row_slice(0, 1)), Error);
}

TEST_P(OpsTest, ReadF32ConvertsEveryDtype) {
  for (DType dtype : {DType::kF32, DType::kBF16, DType::kF16, DType::kI32}) {
    HostTensor x = HostTensor::random(3, 5, dtype, 13, -100.0f, 100.0f);
    std::vector<float> got(15);
    backend_.read_f32(x.view(), got.data());
    for (int64_t i = 0; i < 15; ++i) ASSERT_EQ(got[i], x.at(i)) << dtype_name(dtype);
  }
}

INSTANTIATE_TEST_SUITE_P(Kernels, OpsTest, ::testing::Values(Kernels::kReference, Kernels::kFast),
                         [](const auto& param_info) { return kernels_name(param_info.param); });

}  // namespace
}  // namespace swallow::test
