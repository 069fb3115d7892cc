// The AMX kernel table: bf16 matmuls against a double-precision reference on bf16-rounded x (what
// the tiles multiply) and on x itself, over odd n, m and k; batch invariance whatever n and the
// column split; other weight dtypes bit-identical to the AVX2 kernels. These skip, saying why, on
// CPUs or kernels without AMX. Also the choice of a kernel table by option and environment.
#include <gtest/gtest.h>

#include <cstdlib>
#include <optional>

#include "backend/cpu/cpu_kernels.h"
#include "backend_test_util.h"

namespace swallow::test {
namespace {

constexpr const char* kNoAmx =
    "AMX-BF16 is not available here: the CPU lacks AMX-TILE/AMX-BF16 (cpuid leaf 7) or Linux did not grant the "
    "tile data state (arch_prctl ARCH_REQ_XCOMP_PERM); the AMX kernel cannot run on this machine";

CpuBackend amx_backend(int n_threads = 2) { return CpuBackend({.n_threads = n_threads, .kernels = "amx"}); }

// out[i][j] = sum over k of x[i][k] * w[j][k] in double, with x rounded to bf16 first if asked.
std::vector<double> reference_matmul(const HostTensor& x, const HostTensor& w, bool round_x_to_bf16) {
  std::vector<double> out(static_cast<size_t>(x.rows() * w.rows()));  // [n, m]
  for (int64_t i = 0; i < x.rows(); ++i) {
    for (int64_t j = 0; j < w.rows(); ++j) {
      double acc = 0.0;
      for (int64_t k = 0; k < x.cols(); ++k) {
        const double xv = round_x_to_bf16 ? bf16_to_f32(f32_to_bf16(static_cast<float>(x.at(i, k)))) : x.at(i, k);
        acc += xv * w.at(j, k);
      }
      out[i * w.rows() + j] = acc;
    }
  }
  return out;
}

class AmxMatmul : public testing::Test {
 protected:
  void SetUp() override {
    if (cpu::amx_kernels() == nullptr) GTEST_SKIP() << kNoAmx;
  }
};

// With x rounded to bf16 as the kernel does, only f32 accumulation error remains (products of two
// bf16 are exact in f32): below 1e-5 of the output's scale. Against x itself the bf16 rounding of
// x (2^-9 relative per element) dominates: below 5e-3.
TEST_F(AmxMatmul, MatchesDoubleReferenceOverOddShapes) {
  CpuBackend backend = amx_backend();
  const int64_t k_and_m[][2] = {{32, 16}, {64, 37}, {96, 5}, {45, 100}, {7, 19}, {264, 203}, {2048, 70}};
  uint32_t seed = 100;
  for (const auto& [k, m] : k_and_m) {
    HostTensor w = HostTensor::random(m, k, DType::kBF16, seed++);
    for (int64_t n : {1, 3, 7, 15, 16, 17, 31, 33, 40}) {
      HostTensor x = HostTensor::random(n, k, DType::kF32, seed++);
      HostTensor out(n, m);
      backend.matmul(x.view(), w.view(), out.view());
      EXPECT_LT(max_rel_error(out, reference_matmul(x, w, true)), 1e-5) << "n=" << n << " k=" << k << " m=" << m;
      EXPECT_LT(max_rel_error(out, reference_matmul(x, w, false)), 5e-3) << "n=" << n << " k=" << k << " m=" << m;
    }
  }
}

// The same row gives the same bits alone (n = 1, the decode case), inside n = 37 and n = 512,
// whatever the thread count (which changes how the columns are split), for k with and without a
// partial last tile step.
TEST_F(AmxMatmul, RowsAreBatchInvariant) {
  for (int64_t k : {256, 264}) {
    const int64_t m = 203;
    HostTensor x = HostTensor::random(512, k, DType::kF32, 11);
    HostTensor w = HostTensor::random(m, k, DType::kBF16, 12);
    HostTensor full(512, m);
    amx_backend(2).matmul(x.view(), w.view(), full.view());
    for (int n_threads : {1, 3}) {
      CpuBackend other = amx_backend(n_threads);
      for (int64_t row : {0, 5, 16, 36, 200, 511}) {
        HostTensor single(1, m);
        other.matmul(x.view().row_slice(row, 1), w.view(), single.view());
        EXPECT_EQ(row_bytes(single, 0, 1), row_bytes(full, row, 1)) << "k " << k << " row " << row << " alone";
        const int64_t begin = std::min<int64_t>(row, 512 - 37);
        HostTensor part(37, m);
        other.matmul(x.view().row_slice(begin, 37), w.view(), part.view());
        EXPECT_EQ(row_bytes(part, row - begin, 1), row_bytes(full, row, 1)) << "k " << k << " row " << row << " in n=37";
      }
    }
  }
}

// f32 and f16 weights are not AMX work: the table runs the AVX2 kernel for them, bit for bit.
TEST_F(AmxMatmul, OtherWeightDtypesMatchAvx2Bits) {
  for (DType dtype : {DType::kF32, DType::kF16}) {
    HostTensor x = HostTensor::random(9, 100, DType::kF32, 41);
    HostTensor w = HostTensor::random(37, 100, dtype, 42);
    HostTensor amx(9, 37), avx2(9, 37);
    amx_backend().matmul(x.view(), w.view(), amx.view());
    CpuBackend({.n_threads = 2, .kernels = "avx2"}).matmul(x.view(), w.view(), avx2.view());
    EXPECT_EQ(row_bytes(amx, 0, 9), row_bytes(avx2, 0, 9)) << dtype_name(dtype);
  }
}

TEST(CpuKernelChoice, ByOptionName) {
  EXPECT_NE(CpuBackend({.n_threads = 1, .kernels = "reference"}).name().find("reference kernels"), std::string::npos);
  EXPECT_THROW(CpuBackend({.n_threads = 1, .kernels = "sse"}), Error);
  if (cpu::avx2_kernels() != nullptr) {
    EXPECT_NE(CpuBackend({.n_threads = 1, .kernels = "avx2"}).name().find("avx2 kernels"), std::string::npos);
  }
  if (cpu::amx_kernels() != nullptr) {
    EXPECT_NE(CpuBackend({.n_threads = 1, .kernels = "amx"}).name().find("amx kernels"), std::string::npos);
  } else {
    EXPECT_THROW(CpuBackend({.n_threads = 1, .kernels = "amx"}), Error);
  }
}

// SWALLOW_CPU_KERNELS picks the table when the options name none; options and reference_kernels win.
TEST(CpuKernelChoice, ByEnvironmentVariable) {
  const char* previous = std::getenv("SWALLOW_CPU_KERNELS");
  const std::optional<std::string> saved = previous ? std::optional<std::string>(previous) : std::nullopt;
  setenv("SWALLOW_CPU_KERNELS", "reference", 1);
  EXPECT_NE(CpuBackend({.n_threads = 1}).name().find("reference kernels"), std::string::npos);
  if (cpu::avx2_kernels() != nullptr) {
    EXPECT_NE(CpuBackend({.n_threads = 1, .kernels = "avx2"}).name().find("avx2 kernels"), std::string::npos);
  }
  setenv("SWALLOW_CPU_KERNELS", "bogus", 1);
  EXPECT_THROW(CpuBackend({.n_threads = 1}), Error);
  EXPECT_NE(CpuBackend({.n_threads = 1, .reference_kernels = true}).name().find("reference kernels"), std::string::npos);
  if (saved) {
    setenv("SWALLOW_CPU_KERNELS", saved->c_str(), 1);
  } else {
    unsetenv("SWALLOW_CPU_KERNELS");
  }
}

}  // namespace
}  // namespace swallow::test
