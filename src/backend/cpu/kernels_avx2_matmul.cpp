// AVX2 matmul, out = x @ w^T with f32 x and f32/bf16/f16 w. Register tiles of R x-rows by C
// w-rows keep R*C accumulators; the loop nest is blocked so a block of x rows stays in the shared
// L3 and a tile of w rows in L2 while every x row of the block passes over it. Few rows (decode)
// stream the weights once, converting them in registers; many rows (prefill) first convert each
// weight tile to f32 in a per-thread scratch, so the conversion is paid once per block of x rows
// instead of once per register tile. Conversions are exact, so both give the same bits.
#include <algorithm>
#include <array>
#include <type_traits>
#include <utility>
#include <vector>

#include "backend/cpu/kernels_avx2.h"
#include "backend/cpu/simd_avx2.h"

namespace swallow::cpu {
namespace {

// Cache budgets (bytes) of one weight tile (per core, L2) and one block of x rows (shared L3).
constexpr int64_t kWeightTileBytes = 192 << 10;
constexpr int64_t kXBlockBytes = 3 << 20;
// From this many x rows on, weight tiles are converted to f32 before use.
constexpr int64_t kConvertTilesFromRows = 16;
constexpr int kMaxTileRows = 4;  // R: x rows of a register tile
constexpr int kMaxTileCols = 8;  // C: w rows of a register tile

// out[r * ldo + c] = dot(x row r, w row c) for r < R, c < C; x rows and w rows are k long.
template <typename W, int R, int C>
SWALLOW_AVX2 void tile(const float* x, const typename W::Storage* w, int64_t k, float* out, int64_t ldo) {
  __m256 acc[R][C];
#pragma GCC unroll 32
  for (int i = 0; i < R * C; ++i) acc[i / C][i % C] = _mm256_setzero_ps();
  const int64_t k8 = k & ~int64_t{7};
  for (int64_t kk = 0; kk < k8; kk += 8) {
    __m256 xv[R];
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) xv[r] = avx2::load8(x + r * k + kk);
#pragma GCC unroll 8
    for (int c = 0; c < C; ++c) {
      const __m256 wv = avx2::load8<W>(w + c * k + kk);
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r) acc[r][c] = _mm256_fmadd_ps(xv[r], wv, acc[r][c]);
    }
  }
  alignas(32) float tail[R + C][8] = {};  // zero-padded k % 8 tail of each x and w row
  for (int64_t kk = k8; kk < k; ++kk) {
    for (int r = 0; r < R; ++r) tail[r][kk - k8] = x[r * k + kk];
    for (int c = 0; c < C; ++c) tail[R + c][kk - k8] = W::load(w[c * k + kk]);
  }
  for (int r = 0; r < R; ++r) {
    for (int c = 0; c < C; ++c) {
      float sum = avx2::hsum(acc[r][c]);
      if (k8 < k) sum += avx2::hsum(_mm256_mul_ps(_mm256_load_ps(tail[r]), _mm256_load_ps(tail[R + c])));
      out[r * ldo + c] = sum;
    }
  }
}

template <typename W>
using TileFn = void (*)(const float*, const typename W::Storage*, int64_t, float*, int64_t);

// kTiles<W>[R - 1][C - 1] = tile<W, R, C>.
template <typename W, int R, int... Cs>
constexpr std::array<TileFn<W>, kMaxTileCols> tile_row(std::integer_sequence<int, Cs...>) {
  return {&tile<W, R, Cs + 1>...};
}
template <typename W, int... Rs>
constexpr std::array<std::array<TileFn<W>, kMaxTileCols>, kMaxTileRows> tile_table(std::integer_sequence<int, Rs...>) {
  return {tile_row<W, Rs + 1>(std::make_integer_sequence<int, kMaxTileCols>{})...};
}
template <typename W>
constexpr auto kTiles = tile_table<W>(std::make_integer_sequence<int, kMaxTileRows>{});

// dst[i] = w[i] as f32 for i < count.
template <typename W>
SWALLOW_AVX2 void convert_rows(const typename W::Storage* w, int64_t count, float* dst) {
  int64_t i = 0;
  for (; i + 8 <= count; i += 8) _mm256_storeu_ps(dst + i, avx2::load8<W>(w + i));
  for (; i < count; ++i) dst[i] = W::load(w[i]);
}

// Register tile shape for n rows of x: few x rows get more w rows (independent FMA chains).
std::pair<int, int> tile_shape(int64_t n) {
  if (n >= 4) return {4, 3};
  if (n == 3) return {3, 4};
  if (n == 2) return {2, 6};
  return {1, 8};
}

// Columns [col_begin, col_end) of out. With kConvert, the weight tiles are read through an f32
// copy (tile<F32Elem>); otherwise straight from w.
template <typename W, bool kConvert>
void matmul_blocked(const MatmulProblem& p, int64_t col_begin, int64_t col_end) {
  using Read = std::conditional_t<kConvert, F32Elem, W>;  // element type the register tiles read
  const auto* w = static_cast<const typename W::Storage*>(p.w);  // [m, k]
  const auto [tile_rows, tile_cols] = tile_shape(p.n);
  const int64_t w_row_bytes = p.k * static_cast<int64_t>(sizeof(typename Read::Storage));
  const int64_t w_tile = std::max<int64_t>(tile_cols, kWeightTileBytes / w_row_bytes / tile_cols * tile_cols);
  const int64_t x_block = std::max<int64_t>(tile_rows, kXBlockBytes / (p.k * 4) / tile_rows * tile_rows);
  thread_local std::vector<float> converted;  // [w_tile, k] f32 when kConvert
  if (kConvert) converted.resize(static_cast<size_t>(w_tile * p.k));
  for (int64_t i0 = 0; i0 < p.n; i0 += x_block) {
    const int64_t i1 = std::min(p.n, i0 + x_block);
    for (int64_t j0 = col_begin; j0 < col_end; j0 += w_tile) {
      const int64_t j1 = std::min(col_end, j0 + w_tile);
      const typename Read::Storage* w_tile_rows;  // [j1 - j0, k]
      if constexpr (kConvert) {
        convert_rows<W>(w + j0 * p.k, (j1 - j0) * p.k, converted.data());
        w_tile_rows = converted.data();
      } else {
        w_tile_rows = w + j0 * p.k;
      }
      for (int64_t i = i0; i < i1; i += tile_rows) {
        const int64_t rows = std::min<int64_t>(tile_rows, i1 - i);
        for (int64_t j = j0; j < j1; j += tile_cols) {
          const int64_t cols = std::min<int64_t>(tile_cols, j1 - j);
          kTiles<Read>[rows - 1][cols - 1](p.x + i * p.k, w_tile_rows + (j - j0) * p.k, p.k, p.out + i * p.m + j, p.m);
        }
      }
    }
  }
}

template <typename W>
void matmul_typed(const MatmulProblem& p, int64_t col_begin, int64_t col_end) {
  if (!std::is_same_v<W, F32Elem> && p.n >= kConvertTilesFromRows) {
    matmul_blocked<W, true>(p, col_begin, col_end);
  } else {
    matmul_blocked<W, false>(p, col_begin, col_end);
  }
}

}  // namespace

void matmul_avx2(const MatmulProblem& p, int64_t col_begin, int64_t col_end) {
  visit_float_dtype(p.w_dtype, "matmul weight", [&](auto elem) { matmul_typed<decltype(elem)>(p, col_begin, col_end); });
}

}  // namespace swallow::cpu
