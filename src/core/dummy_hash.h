// Counter-based hash for dummy weights: element i of a tensor is a pure function of (tensor name,
// i), so every backend (host code here, CUDA kernels through SWALLOW_HOST_DEVICE) builds
// bit-identical models without files. Every float operation below is exact (16 random bits,
// power-of-two steps), so FMA contraction or compiler flags cannot change a value; the only
// rounding is the final f32 -> bf16 (round to nearest even, in integer arithmetic).
// Header-only, stateless, thread-safe.
#pragma once

#include <cstdint>
#include <cstring>

#if defined(__CUDACC__)
#define SWALLOW_HOST_DEVICE __host__ __device__
#else
#define SWALLOW_HOST_DEVICE
#endif

namespace swallow::dummy {

// FNV-1a of the tensor name: the per-tensor seed.
SWALLOW_HOST_DEVICE inline uint64_t name_seed(const char* name, size_t length) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < length; ++i) {
    h ^= static_cast<uint8_t>(name[i]);
    h *= 0x100000001b3ull;
  }
  return h;
}

// SplitMix64 output for counter `index` of stream `seed`.
SWALLOW_HOST_DEVICE inline uint64_t hash(uint64_t seed, uint64_t index) {
  uint64_t z = seed + (index + 1) * 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// How a tensor's elements are spread: value = center + u * half_width with u uniform over the
// 2^16 odd multiples of 2^-16 in (-1, 1). Exact when half_width is a power of two and center is 0
// or |center| <= 128 * half_width (the sum then needs at most 24 significant bits).
struct Distribution {
  float center = 0.0f;
  float half_width = 1.0f;
};

// One 64-bit hash feeds four consecutive elements: element i takes 16-bit lane i % 4 of
// hash(seed, i / 4). block_hash is that hash; value_from_block picks element i's lane.
SWALLOW_HOST_DEVICE inline uint64_t block_hash(uint64_t seed, uint64_t index) { return hash(seed, index >> 2); }

SWALLOW_HOST_DEVICE inline float value_from_block(uint64_t block, uint64_t index, Distribution d) {
  const auto k = static_cast<int32_t>((block >> (16 * (index & 3))) & 0xffffu);  // [0, 2^16)
  const auto odd = static_cast<float>(2 * k + 1 - 65536);                       // exact: |odd| < 2^16
  return d.center + odd * (d.half_width * (1.0f / 65536.0f));
}

SWALLOW_HOST_DEVICE inline float value_f32(uint64_t seed, uint64_t index, Distribution d) {
  return value_from_block(block_hash(seed, index), index, d);
}

// Round-to-nearest-even f32 -> bf16 bits (finite inputs; dummy values always are).
SWALLOW_HOST_DEVICE inline uint16_t f32_to_bf16_bits(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, sizeof bits);
  bits += 0x7fffu + ((bits >> 16) & 1u);
  return static_cast<uint16_t>(bits >> 16);
}

SWALLOW_HOST_DEVICE inline uint16_t value_bf16(uint64_t seed, uint64_t index, Distribution d) {
  return f32_to_bf16_bits(value_f32(seed, index, d));
}

}  // namespace swallow::dummy
