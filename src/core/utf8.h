// UTF-8 helpers shared by the tokenizer, chat templates and front ends: validation (first bad byte
// offset), decoding/encoding one code point, and lossy conversion that replaces invalid byte
// sequences with U+FFFD exactly as Rust's String::from_utf8_lossy does (one U+FFFD per maximal
// subpart, the Unicode-recommended practice). Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace swallow {

inline constexpr char32_t kReplacementChar = 0xFFFD;
inline constexpr std::string_view kReplacementUtf8 = "\xEF\xBF\xBD";

// Offset of the first byte that does not start a complete, well-formed UTF-8 sequence
// (overlong forms, surrogates and code points above U+10FFFF are ill-formed), or nullopt when
// all of `text` is valid UTF-8.
std::optional<size_t> find_invalid_utf8(std::string_view text);

// Decodes the character at text[pos], which must be valid UTF-8 (see find_invalid_utf8); stores
// its length in *length.
inline char32_t decode_utf8_unchecked(const char* p, size_t* length) {
  const auto b0 = static_cast<unsigned char>(p[0]);
  if (b0 < 0x80) {
    *length = 1;
    return b0;
  }
  const auto b1 = static_cast<unsigned char>(p[1]) & 0x3Fu;
  if (b0 < 0xE0) {
    *length = 2;
    return ((b0 & 0x1Fu) << 6) | b1;
  }
  const auto b2 = static_cast<unsigned char>(p[2]) & 0x3Fu;
  if (b0 < 0xF0) {
    *length = 3;
    return ((b0 & 0x0Fu) << 12) | (b1 << 6) | b2;
  }
  const auto b3 = static_cast<unsigned char>(p[3]) & 0x3Fu;
  *length = 4;
  return ((b0 & 0x07u) << 18) | (b1 << 12) | (b2 << 6) | b3;
}

// Appends the UTF-8 encoding of `cp` (must be a Unicode scalar value).
void append_utf8(std::string& out, char32_t cp);

// Appends `bytes` to `out`, replacing each maximal invalid subpart with U+FFFD. When `final` is
// false, a trailing sequence that is incomplete but could still become valid is not consumed.
// Returns the number of bytes of `bytes` consumed (== bytes.size() when final).
size_t append_utf8_lossy(std::string& out, std::string_view bytes, bool final);

// String::from_utf8_lossy: `bytes` with every maximal invalid subpart replaced by U+FFFD.
std::string utf8_lossy(std::string_view bytes);

}  // namespace swallow
