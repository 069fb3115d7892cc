// CPU matmul against a double-precision reference for f32/bf16/f16 weights and odd shapes, with
// both kernel sets; batch invariance: a row's output bits do not depend on the other rows or on
// the thread count.
#include <gtest/gtest.h>

#include <tuple>

#include "backend_test_util.h"

namespace swallow::test {
namespace {

std::vector<double> reference_matmul(const HostTensor& x, const HostTensor& w) {
  std::vector<double> out(static_cast<size_t>(x.rows() * w.rows()));  // [n, m]
  for (int64_t i = 0; i < x.rows(); ++i) {
    for (int64_t j = 0; j < w.rows(); ++j) {
      double acc = 0.0;
      for (int64_t k = 0; k < x.cols(); ++k) acc += x.at(i, k) * w.at(j, k);
      out[i * w.rows() + j] = acc;
    }
  }
  return out;
}

class MatmulTest : public ::testing::TestWithParam<std::tuple<Kernels, DType>> {};

// Relative error (max over the output, relative to its largest element) below 2e-6: f32
// accumulation over k <= 2048 of products of exactly representable inputs.
TEST_P(MatmulTest, MatchesDoubleReference) {
  const auto [kernels, w_dtype] = GetParam();
  CpuBackend backend = make_backend(kernels);
  const int64_t shapes[][3] = {{1, 64, 8}, {1, 2048, 37}, {3, 100, 29}, {5, 7, 3}, {37, 256, 64}, {64, 2048, 40}};
  uint32_t seed = 1;
  for (const auto& [n, k, m] : shapes) {
    HostTensor x = HostTensor::random(n, k, DType::kF32, seed++);
    HostTensor w = HostTensor::random(m, k, w_dtype, seed++);
    HostTensor out(n, m);
    backend.matmul(x.view(), w.view(), out.view());
    EXPECT_LT(max_rel_error(out, reference_matmul(x, w)), 2e-6) << "n=" << n << " k=" << k << " m=" << m;
  }
}

// The same row gives the same bits alone (n = 1), inside n = 37 and n = 512, whatever the
// thread count (which changes how the columns are split).
TEST_P(MatmulTest, RowsAreBatchInvariant) {
  const auto [kernels, w_dtype] = GetParam();
  const int64_t k = 264, m = 203;  // 33 eight-lane steps; m not a multiple of any tile width
  HostTensor x = HostTensor::random(512, k, DType::kF32, 11);
  HostTensor w = HostTensor::random(m, k, w_dtype, 12);
  HostTensor full(512, m);
  CpuBackend backend = make_backend(kernels, 2);
  backend.matmul(x.view(), w.view(), full.view());
  for (int n_threads : {1, 3}) {
    CpuBackend other = make_backend(kernels, n_threads);
    for (int64_t row : {0, 5, 36, 200, 511}) {
      HostTensor single(1, m);
      other.matmul(x.view().row_slice(row, 1), w.view(), single.view());
      EXPECT_EQ(row_bytes(single, 0, 1), row_bytes(full, row, 1)) << "row " << row << " alone, threads " << n_threads;
      const int64_t begin = std::min<int64_t>(row, 512 - 37);  // 37 rows containing `row` at another offset
      HostTensor part(37, m);
      other.matmul(x.view().row_slice(begin, 37), w.view(), part.view());
      EXPECT_EQ(row_bytes(part, row - begin, 1), row_bytes(full, row, 1)) << "row " << row << " in n=37";
    }
  }
}

TEST_P(MatmulTest, TailOfKIsBatchInvariant) {
  const auto [kernels, w_dtype] = GetParam();
  HostTensor x = HostTensor::random(9, 45, DType::kF32, 21);
  HostTensor w = HostTensor::random(17, 45, w_dtype, 22);
  HostTensor full(9, 17), single(1, 17);
  CpuBackend backend = make_backend(kernels);
  backend.matmul(x.view(), w.view(), full.view());
  backend.matmul(x.view().row_slice(7, 1), w.view(), single.view());
  EXPECT_EQ(row_bytes(single, 0, 1), row_bytes(full, 7, 1));
}

INSTANTIATE_TEST_SUITE_P(KernelsAndDtypes, MatmulTest,
                         ::testing::Combine(::testing::Values(Kernels::kReference, Kernels::kFast),
                                            ::testing::Values(DType::kF32, DType::kBF16, DType::kF16)),
                         [](const auto& param_info) {
                           return kernels_name(std::get<0>(param_info.param)) + dtype_name(std::get<1>(param_info.param));
                         });

// The fast kernels agree with the reference kernels within f32 accumulation error.
TEST(Matmul, FastMatchesReferenceKernels) {
  HostTensor x = HostTensor::random(13, 2048, DType::kF32, 31);
  HostTensor w = HostTensor::random(70, 2048, DType::kBF16, 32);
  HostTensor fast(13, 70), ref(13, 70);
  make_backend(Kernels::kFast).matmul(x.view(), w.view(), fast.view());
  make_backend(Kernels::kReference).matmul(x.view(), w.view(), ref.view());
  std::vector<double> want(ref.f32(), ref.f32() + ref.size());
  EXPECT_LT(max_rel_error(fast, want), 2e-6);
}

TEST(Matmul, RejectsMismatchedShapes) {
  CpuBackend backend = make_backend(Kernels::kFast);
  HostTensor x(2, 8), w(4, 9, DType::kBF16), out(2, 4), wrong_out(2, 5);
  EXPECT_THROW(backend.matmul(x.view(), w.view(), out.view()), Error);
  HostTensor w_ok(4, 8, DType::kBF16);
  EXPECT_THROW(backend.matmul(x.view(), w_ok.view(), wrong_out.view()), Error);
  HostTensor w_int(4, 8, DType::kI32);
  EXPECT_THROW(backend.matmul(x.view(), w_int.view(), out.view()), Error);
}

}  // namespace
}  // namespace swallow::test
