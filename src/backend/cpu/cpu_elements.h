// Element types the CPU kernels read and write (weights, KV cache), as small traits so kernels
// are written once as templates: Storage is the in-memory type, load/store convert to and from
// f32 (exact for loads; stores round to nearest even). Header-only, thread-safe.
#pragma once

#include <cstdint>
#include <string>

#include "core/dtype.h"
#include "core/error.h"

namespace swallow::cpu {

struct F32Elem {
  using Storage = float;
  static float load(float v) { return v; }
  static float store(float v) { return v; }
};

struct Bf16Elem {
  using Storage = uint16_t;
  static float load(uint16_t v) { return bf16_to_f32(v); }
  static uint16_t store(float v) { return f32_to_bf16(v); }
};

struct F16Elem {
  using Storage = uint16_t;
  static float load(uint16_t v) { return f16_to_f32(v); }
  static uint16_t store(float v) { return f32_to_f16(v); }
};

// Calls fn(Elem{}) with the traits of a floating-point dtype; `what` names the tensor in the
// error thrown for other dtypes.
template <typename Fn>
decltype(auto) visit_float_dtype(DType dtype, const std::string& what, Fn&& fn) {
  switch (dtype) {
    case DType::kF32: return fn(F32Elem{});
    case DType::kBF16: return fn(Bf16Elem{});
    case DType::kF16: return fn(F16Elem{});
    case DType::kI32: break;
  }
  throw unsupported(what + ": dtype " + dtype_name(dtype) + " is not supported (expected F32, BF16 or F16)");
}

}  // namespace swallow::cpu
