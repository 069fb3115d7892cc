// AVX2 silu_mul with the vector exp. The k % 8 tail goes through a zero-padded vector too, so
// every element gets the same operations wherever a thread-pool chunk boundary falls.
#include <algorithm>

#include "backend/cpu/kernels_avx2.h"
#include "backend/cpu/simd_avx2.h"

namespace swallow::cpu {
namespace {

// silu(gate) * up = gate / (1 + e^-gate) * up, on 8 lanes.
SWALLOW_AVX2 inline __m256 silu_mul8(__m256 gate, __m256 up) {
  const __m256 denominator = _mm256_add_ps(_mm256_set1_ps(1.0f), avx2::exp8(_mm256_sub_ps(_mm256_setzero_ps(), gate)));
  return _mm256_mul_ps(_mm256_div_ps(gate, denominator), up);
}

}  // namespace

SWALLOW_AVX2 void silu_mul_avx2(const float* gate, const float* up, float* out, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(out + i, silu_mul8(_mm256_loadu_ps(gate + i), _mm256_loadu_ps(up + i)));
  if (i < n) {
    alignas(32) float g[8] = {}, u[8] = {}, o[8];
    std::copy(gate + i, gate + n, g);
    std::copy(up + i, up + n, u);
    _mm256_store_ps(o, silu_mul8(_mm256_load_ps(g), _mm256_load_ps(u)));
    std::copy(o, o + (n - i), out + i);
  }
}

}  // namespace swallow::cpu
