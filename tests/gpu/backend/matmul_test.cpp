// CUDA vs CPU matmul: the small-batch kernel (n <= 8) and cuBLASLt (larger n), bf16 / f16 / f32
// weights, bf16 or f32 activations and outputs, shapes with k not a multiple of 8.
#include <gtest/gtest.h>

#include "gpu_test_util.h"

namespace swallow::gpu_test {
namespace {

struct Case {
  int64_t n, k, m;
  DType w, x, out;
};

// Bound for the comparison: bf16/f16 rounding of the output dominates; f32 activations with
// 16-bit weights are rounded to the weight dtype first (as the backend does).
double bound(const Case& c) {
  double tol = tolerance(c.out);
  if (c.x == DType::kF32 && c.w != DType::kF32) tol = std::max(tol, 1e-2);
  if (c.w == DType::kF32 && c.x == DType::kF32 && c.out == DType::kF32) tol = 1e-5;
  return std::max(tol, 1e-4);
}

void run(const Case& c) {
  SCOPED_TRACE(testing::Message() << "n " << c.n << " k " << c.k << " m " << c.m << " w " << dtype_name(c.w) << " x "
                                  << dtype_name(c.x) << " out " << dtype_name(c.out));
  const std::vector<float> w = representable(random_floats(c.m * c.k, -0.05f, 0.05f), c.w);
  const std::vector<float> x = representable(random_floats(c.n * c.k, -2, 2), c.x);
  DeviceTensor g_w(c.m, c.k, c.w), g_x(c.n, c.k, c.x), g_out(c.n, c.m, c.out);
  g_w.upload(w);
  g_x.upload(x);
  cuda().matmul(g_x.t(), g_w.t(), g_out.t());
  HostTensor c_w(c.m, c.k, c.w), c_x(c.n, c.k, DType::kF32), c_out(c.n, c.m, DType::kF32);
  c_w.set(w);
  c_x.set(x);
  cpu().matmul(c_x.t(), c_w.t(), c_out.t());
  EXPECT_TRUE(close(g_out.download(), c_out.get(), bound(c)));
}

TEST(GpuMatmul, SmallBatchKernelMatchesCpu) {
  for (int64_t n : {1, 2, 5, 8}) {
    run({n, 4096, 1024, DType::kBF16, DType::kBF16, DType::kBF16});
    run({n, 4096, 1024, DType::kBF16, DType::kBF16, DType::kF32});
  }
  run({3, 1000, 777, DType::kF16, DType::kF16, DType::kF16});
  run({4, 14336, 64, DType::kBF16, DType::kBF16, DType::kBF16});
}

TEST(GpuMatmul, CublasLtMatchesCpu) {
  for (int64_t n : {9, 64, 300}) {
    run({n, 4096, 1024, DType::kBF16, DType::kBF16, DType::kBF16});
  }
  run({77, 2048, 4000, DType::kBF16, DType::kBF16, DType::kF32});
  run({130, 1000, 500, DType::kF16, DType::kF16, DType::kF32});
  run({2, 1001, 300, DType::kBF16, DType::kBF16, DType::kBF16});  // k % 8 != 0: cuBLASLt even for n <= 8
}

TEST(GpuMatmul, MixedActivationAndWeightDtypes) {
  run({4, 2048, 512, DType::kBF16, DType::kF32, DType::kF32});   // f32 activations, bf16 weights
  run({40, 2048, 512, DType::kBF16, DType::kF32, DType::kF32});
  run({6, 1024, 300, DType::kF32, DType::kF32, DType::kF32});    // f32 checkpoint, plain f32 math
  run({70, 1024, 300, DType::kF32, DType::kBF16, DType::kF32});  // bf16 activations, f32 weights
}

TEST(GpuMatmul, SmallBatchRowsDoNotDependOnTheBatch) {
  const int64_t k = 4096, m = 512;
  DeviceTensor w(m, k, DType::kBF16), x(8, k, DType::kBF16), all(8, m, DType::kBF16);
  w.upload(random_floats(m * k, -0.05f, 0.05f));
  x.upload(random_floats(8 * k, -2, 2));
  cuda().matmul(x.t(), w.t(), all.t());
  const std::vector<float> batched = all.download();
  for (int64_t r = 0; r < 8; ++r) {
    DeviceTensor one(1, m, DType::kBF16);
    cuda().matmul(x.t().row_slice(r, 1), w.t(), one.t());
    const std::vector<float> single = one.download();
    for (int64_t j = 0; j < m; ++j) ASSERT_EQ(single[j], batched[r * m + j]) << "row " << r << " col " << j;
  }
}

}  // namespace
}  // namespace swallow::gpu_test
