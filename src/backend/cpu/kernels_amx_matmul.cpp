// AMX matmul for bf16 weights, out = x @ w^T. w is the A operand as it lies in memory (a tile is
// 16 w rows x 32 k, read with w's row stride); x^T is the B operand (16 tokens x 32 k, rounded to
// bf16 and packed per k pair as TDPBF16PS wants); each C tile holds 16 w rows x 16 tokens in f32
// and is transposed into out. x is packed block by block so a block stays in L2 while the thread's
// weight rows pass over it, 2 x 2 C tiles sharing every A and B load. Weights are left to the
// hardware prefetchers: on 2 cores of an AMX Xeon, decode ran fastest without software prefetch
// (7.78 tok/s on a 1B model; 7.42 prefetching 2 or 4 k steps ahead, slower still 8 or 16 ahead).
#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "backend/cpu/kernels_amx.h"
#include "backend/cpu/kernels_avx2.h"
#include "core/dtype.h"

#define SWALLOW_AMX __attribute__((target("amx-tile,amx-bf16,avx2,fma,f16c")))

namespace swallow::cpu {
namespace {

constexpr int kTileRows = 16;                 // w rows of an A tile, tokens of a B tile
constexpr int kChunk = 32;                    // k of one tile step: 32 bf16, 64 bytes per tile row
constexpr int kTileRowBytes = 64;
constexpr int64_t kPackedXBytes = 768 << 10;  // budget of one packed block of x (stays in L2)

// The B operand of one k step for 16 tokens: row p holds, for each token, the bf16 pair
// (x[token][2p], x[token][2p + 1]) as one 32-bit word, the lower k in the low half.
struct alignas(64) PackedTile {
  uint32_t pairs[kTileRows][kTileRows];  // [k pair, token] 2 x bf16
};

// Per-thread buffers, reused across calls.
struct Scratch {
  std::vector<PackedTile> x_block;  // [token tiles, n_chunks] packed x of one block
  std::vector<uint16_t> x_row;      // [n_chunks * 32] bf16 of one token, zero past k
  std::vector<uint16_t> small_w;    // [16, k] bf16: w with zero rows appended when m < 16
  alignas(64) uint16_t k_tail[2][kTileRows][kChunk];   // last k step of two A tiles, zero past k
  alignas(64) float c_tiles[4][kTileRows][kTileRows];  // [C tile][w row][token] f32
};

// LDTILECFG's 64-byte operand (palette 1): bytes per row and rows of each tile register.
struct alignas(64) TileConfig {
  uint8_t palette = 1;
  uint8_t start_row = 0;
  uint8_t reserved[14] = {};
  uint16_t colsb[16] = {};
  uint8_t rows[16] = {};
};

// Every tile this kernel uses is 16 rows of 64 bytes: C tiles tmm0-3, A tiles tmm4-5, B tiles tmm6-7.
SWALLOW_AMX void configure_tiles_once() {
  thread_local bool configured = false;
  if (configured) return;
  TileConfig config;
  for (int t = 0; t < 8; ++t) {
    config.colsb[t] = kTileRowBytes;
    config.rows[t] = kTileRows;
  }
  __asm__ volatile("" : : "m"(config) : "memory");  // the whole struct is in memory before LDTILECFG
  _tile_loadconfig(&config);
  configured = true;
}

// Eight f32 rounded to bf16 (nearest even; NaN stays a quiet NaN), each in the low half of a lane,
// exactly as f32_to_bf16 does.
SWALLOW_AMX inline __m256i round8_to_bf16(__m256 v) {
  const __m256i bits = _mm256_castps_si256(v);
  const __m256i high = _mm256_srli_epi32(bits, 16);
  const __m256i bias = _mm256_add_epi32(_mm256_and_si256(high, _mm256_set1_epi32(1)), _mm256_set1_epi32(0x7fff));
  const __m256i rounded = _mm256_srli_epi32(_mm256_add_epi32(bits, bias), 16);
  const __m256i quiet_nan = _mm256_or_si256(high, _mm256_set1_epi32(0x40));
  const __m256 is_nan = _mm256_cmp_ps(v, v, _CMP_UNORD_Q);
  return _mm256_blendv_epi8(rounded, quiet_nan, _mm256_castps_si256(is_nan));
}

// dst[i] = bf16(src[i]) for i < count.
SWALLOW_AMX void round_to_bf16(const float* src, int64_t count, uint16_t* dst) {
  int64_t i = 0;
  for (; i + 16 <= count; i += 16) {
    const __m256i lo = round8_to_bf16(_mm256_loadu_ps(src + i));
    const __m256i hi = round8_to_bf16(_mm256_loadu_ps(src + i + 8));
    // packus interleaves 64-bit halves of lo and hi per 128-bit lane; the permute restores order.
    const __m256i packed = _mm256_permute4x64_epi64(_mm256_packus_epi32(lo, hi), 0xD8);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i), packed);
  }
  for (; i < count; ++i) dst[i] = f32_to_bf16(src[i]);
}

// Packs x [n_tokens, k] f32 into s.x_block as B tiles [ceil(n_tokens / 16), n_chunks]; tokens past
// n_tokens and k past k are zero.
SWALLOW_AMX void pack_x_block(const float* x, int64_t n_tokens, int64_t k, int64_t n_chunks, Scratch& s) {
  const int64_t n_tiles = (n_tokens + kTileRows - 1) / kTileRows;
  const int64_t n_pairs = n_chunks * kChunk / 2;
  s.x_block.resize(static_cast<size_t>(n_tiles * n_chunks));
  s.x_row.assign(static_cast<size_t>(n_chunks * kChunk), 0);
  for (int64_t tile = 0; tile < n_tiles; ++tile) {
    PackedTile* tiles = s.x_block.data() + tile * n_chunks;  // [n_chunks]
    for (int token = 0; token < kTileRows; ++token) {
      const int64_t row = tile * kTileRows + token;
      if (row < n_tokens) {
        round_to_bf16(x + row * k, k, s.x_row.data());
      } else {
        std::fill(s.x_row.begin(), s.x_row.end(), uint16_t{0});
      }
      for (int64_t pair = 0; pair < n_pairs; ++pair) {
        uint32_t word;
        std::memcpy(&word, s.x_row.data() + 2 * pair, sizeof(word));
        tiles[pair / kTileRows].pairs[pair % kTileRows][token] = word;
      }
    }
  }
}

// The last, partial k step of the A tiles at w rows g0 and g1, zero past k, into s.k_tail.
void copy_k_tail(const uint16_t* w, int64_t g0, int64_t g1, int64_t k, Scratch& s) {
  const int64_t k_full = k / kChunk * kChunk;
  const int64_t first_rows[2] = {g0, g1};
  for (int g = 0; g < 2; ++g) {
    for (int r = 0; r < kTileRows; ++r) {
      uint16_t* dst = s.k_tail[g][r];
      std::fill(dst, dst + kChunk, uint16_t{0});
      std::memcpy(dst, w + (first_rows[g] + r) * k + k_full, static_cast<size_t>(k - k_full) * 2);
    }
  }
}

// One k step of the C tiles below: A tiles from a0 / a1 (rows a_stride bytes apart), B tiles b0 / b1.
template <bool kTwoTokenTiles>
SWALLOW_AMX inline void tile_step(const void* a0, const void* a1, int64_t a_stride, const PackedTile* b0,
                                  const PackedTile* b1) {
  _tile_loadd(4, a0, a_stride);
  _tile_loadd(5, a1, a_stride);
  _tile_loadd(6, b0, kTileRowBytes);
  _tile_dpbf16ps(0, 4, 6);
  _tile_dpbf16ps(1, 5, 6);
  if constexpr (kTwoTokenTiles) {
    _tile_loadd(7, b1, kTileRowBytes);
    _tile_dpbf16ps(2, 4, 7);
    _tile_dpbf16ps(3, 5, 7);
  }
}

// C tile 2t + g = sum over the k steps of A tile g (w rows from a0 / a1, tmm4 / tmm5) times B tile
// t (b0 / b1, tmm6 / tmm7), in ascending k; one B tile only without kTwoTokenTiles.
template <bool kTwoTokenTiles>
SWALLOW_AMX void accumulate(const uint16_t* a0, const uint16_t* a1, int64_t k, const PackedTile* b0,
                            const PackedTile* b1, const Scratch& s) {
  const int64_t full_chunks = k / kChunk;
  _tile_zero(0);
  _tile_zero(1);
  if constexpr (kTwoTokenTiles) {
    _tile_zero(2);
    _tile_zero(3);
  }
  for (int64_t c = 0; c < full_chunks; ++c) {
    tile_step<kTwoTokenTiles>(a0 + c * kChunk, a1 + c * kChunk, k * 2, b0 + c, b1 + c);
  }
  if (full_chunks * kChunk < k) {
    tile_step<kTwoTokenTiles>(s.k_tail[0], s.k_tail[1], kTileRowBytes, b0 + full_chunks, b1 + full_chunks);
  }
}

// out[t * m + col] = c[col - first_row][t] for tokens t < n_tokens and columns [col_begin, col_end).
void store_c_tile(const float (*c)[kTileRows], int64_t first_row, int64_t col_begin, int64_t col_end,
                  int64_t n_tokens, float* out, int64_t m) {
  for (int64_t t = 0; t < n_tokens; ++t) {
    for (int64_t col = col_begin; col < col_end; ++col) out[t * m + col] = c[col - first_row][t];
  }
}

SWALLOW_AMX void matmul_amx_bf16(const MatmulProblem& p, int64_t col_begin, int64_t col_end) {
  configure_tiles_once();
  thread_local Scratch s;
  const int64_t k = p.k;
  const int64_t n_chunks = (k + kChunk - 1) / kChunk;
  const auto* w = static_cast<const uint16_t*>(p.w);  // [w_rows, k] bf16
  int64_t w_rows = p.m;
  if (w_rows < kTileRows) {
    s.small_w.assign(static_cast<size_t>(kTileRows * k), 0);
    std::memcpy(s.small_w.data(), w, static_cast<size_t>(w_rows * k) * 2);
    w = s.small_w.data();
    w_rows = kTileRows;
  }
  const int64_t block_tiles = std::max<int64_t>(1, kPackedXBytes / (n_chunks * int64_t{sizeof(PackedTile)}));
  for (int64_t t0 = 0; t0 < p.n; t0 += block_tiles * kTileRows) {
    const int64_t n_tokens = std::min(block_tiles * kTileRows, p.n - t0);
    const int64_t n_tiles = (n_tokens + kTileRows - 1) / kTileRows;
    pack_x_block(p.x + t0 * k, n_tokens, k, n_chunks, s);
    for (int64_t j = col_begin; j < col_end; j += 2 * kTileRows) {
      // Two groups of 16 w rows; a group that would pass the end of w starts 16 rows before it
      // (its leading rows are computed but not stored). A missing second group repeats the first.
      const bool has_second = j + kTileRows < col_end;
      const int64_t g0 = std::min(j, w_rows - kTileRows);
      const int64_t g1 = has_second ? std::min(j + kTileRows, w_rows - kTileRows) : g0;
      if (k % kChunk != 0) copy_k_tail(w, g0, g1, k, s);
      __asm__ volatile("" : : : "memory");  // packed x and k tails are in memory before tile loads
      for (int64_t tile = 0; tile < n_tiles; tile += 2) {
        const PackedTile* b0 = s.x_block.data() + tile * n_chunks;
        const bool two_tiles = tile + 1 < n_tiles;
        if (two_tiles) {
          accumulate<true>(w + g0 * k, w + g1 * k, k, b0, b0 + n_chunks, s);
          _tile_stored(2, s.c_tiles[2], kTileRowBytes);
          _tile_stored(3, s.c_tiles[3], kTileRowBytes);
        } else {
          accumulate<false>(w + g0 * k, w + g1 * k, k, b0, b0, s);
        }
        _tile_stored(0, s.c_tiles[0], kTileRowBytes);
        _tile_stored(1, s.c_tiles[1], kTileRowBytes);
        for (int t = 0; t < (two_tiles ? 2 : 1); ++t) {
          const int64_t first_token = t0 + (tile + t) * kTileRows;
          const int64_t tokens = std::min<int64_t>(kTileRows, t0 + n_tokens - first_token);
          float* out = p.out + first_token * p.m;  // [tokens, m]
          store_c_tile(s.c_tiles[2 * t], g0, j, std::min(j + kTileRows, col_end), tokens, out, p.m);
          if (has_second) {
            store_c_tile(s.c_tiles[2 * t + 1], g1, j + kTileRows, std::min(j + 2 * kTileRows, col_end), tokens, out, p.m);
          }
        }
      }
    }
  }
}

}  // namespace

void matmul_amx(const MatmulProblem& p, int64_t col_begin, int64_t col_end) {
  if (p.w_dtype == DType::kBF16) {
    matmul_amx_bf16(p, col_begin, col_end);
  } else {
    matmul_avx2(p, col_begin, col_end);
  }
}

}  // namespace swallow::cpu
