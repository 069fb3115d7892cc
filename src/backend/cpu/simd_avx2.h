// AVX2/FMA/F16C building blocks shared by the fast kernels: 8-lane loads of f32/bf16/f16 data as
// f32, the fixed horizontal sum every dot product ends with, and a vector exp. Every function
// carries the target attribute, so this header may only be used from functions that carry it too
// (SWALLOW_AVX2) and that run after avx2_kernels() confirmed the CPU supports them. Thread-safe.
#pragma once

#include <immintrin.h>

#include <cstdint>
#include <type_traits>

#include "backend/cpu/cpu_elements.h"

#define SWALLOW_AVX2 __attribute__((target("avx2,fma,f16c")))

namespace swallow::cpu::avx2 {

// Eight consecutive elements as f32 (exact conversions).
SWALLOW_AVX2 inline __m256 load8(const float* p) { return _mm256_loadu_ps(p); }
SWALLOW_AVX2 inline __m256 load8_bf16(const uint16_t* p) {
  __m256i wide = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  return _mm256_castsi256_ps(_mm256_slli_epi32(wide, 16));
}
SWALLOW_AVX2 inline __m256 load8_f16(const uint16_t* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

template <typename E>
SWALLOW_AVX2 inline __m256 load8(const typename E::Storage* p) {
  if constexpr (std::is_same_v<E, F32Elem>) {
    return load8(p);
  } else if constexpr (std::is_same_v<E, Bf16Elem>) {
    return load8_bf16(p);
  } else {
    return load8_f16(p);
  }
}

// Sum of the 8 lanes in one fixed order: (lo128 + hi128), then pairs, then the last two.
SWALLOW_AVX2 inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// e^x per lane, relative error below 1e-7 (1.3 f32 ulp): 0 below -87.3 (so -inf gives 0), and
// inputs above 88 are clamped to 88 (e^88 = 1.65e38, near the largest f32).
SWALLOW_AVX2 inline __m256 exp8(__m256 x) {
  const __m256 min_x = _mm256_set1_ps(-87.33654f);
  const __m256 underflow = _mm256_cmp_ps(x, min_x, _CMP_LT_OQ);
  x = _mm256_min_ps(_mm256_max_ps(x, min_x), _mm256_set1_ps(88.0f));
  // x = n * ln2 + r with |r| <= ln2 / 2; ln2 split in a high and a low part for exactness.
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
  // e^r by its Taylor polynomial of degree 7 (Horner).
  __m256 poly = _mm256_set1_ps(1.0f / 5040.0f);
  poly = _mm256_fmadd_ps(poly, r, _mm256_set1_ps(1.0f / 720.0f));
  poly = _mm256_fmadd_ps(poly, r, _mm256_set1_ps(1.0f / 120.0f));
  poly = _mm256_fmadd_ps(poly, r, _mm256_set1_ps(1.0f / 24.0f));
  poly = _mm256_fmadd_ps(poly, r, _mm256_set1_ps(1.0f / 6.0f));
  poly = _mm256_fmadd_ps(poly, r, _mm256_set1_ps(0.5f));
  poly = _mm256_fmadd_ps(poly, r, _mm256_set1_ps(1.0f));
  poly = _mm256_fmadd_ps(poly, r, _mm256_set1_ps(1.0f));
  // Scale by 2^n through the exponent bits (n >= -126 after the clamp).
  const __m256i scale = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  const __m256 result = _mm256_mul_ps(poly, _mm256_castsi256_ps(scale));
  return _mm256_andnot_ps(underflow, result);
}

}  // namespace swallow::cpu::avx2
