// UTF-8 validation and lossy conversion (maximal-subpart replacement, as from_utf8_lossy).
#include "core/utf8.h"

#include <cstdint>
#include <cstring>

namespace swallow {
namespace {

// What the bytes at one position hold.
struct Sequence {
  enum Kind { kValid, kInvalid, kIncomplete } kind;
  size_t length;  // kValid: character length; kInvalid: length of the maximal subpart;
                  // kIncomplete: bytes present (all well-formed so far, input ends early)
};

Sequence scan_sequence(const unsigned char* p, size_t available) {
  const unsigned char b0 = p[0];
  if (b0 < 0x80) return {Sequence::kValid, 1};
  size_t length = 0;
  unsigned char second_lo = 0x80;
  unsigned char second_hi = 0xBF;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    length = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    length = 3;
    if (b0 == 0xE0) second_lo = 0xA0;  // no overlong forms
    if (b0 == 0xED) second_hi = 0x9F;  // no surrogates
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    length = 4;
    if (b0 == 0xF0) second_lo = 0x90;  // no overlong forms
    if (b0 == 0xF4) second_hi = 0x8F;  // nothing above U+10FFFF
  } else {
    return {Sequence::kInvalid, 1};
  }
  for (size_t i = 1; i < length; ++i) {
    if (i >= available) return {Sequence::kIncomplete, i};
    const unsigned char lo = i == 1 ? second_lo : 0x80;
    const unsigned char hi = i == 1 ? second_hi : 0xBF;
    if (p[i] < lo || p[i] > hi) return {Sequence::kInvalid, i};
  }
  return {Sequence::kValid, length};
}

// Length of the ASCII prefix of [p, p + n), eight bytes at a time.
size_t ascii_prefix(const unsigned char* p, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t word;
    std::memcpy(&word, p + i, 8);
    if ((word & 0x8080808080808080ull) != 0) break;
  }
  while (i < n && p[i] < 0x80) ++i;
  return i;
}

}  // namespace

std::optional<size_t> find_invalid_utf8(std::string_view text) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    i += ascii_prefix(p + i, n - i);
    if (i >= n) break;
    const Sequence s = scan_sequence(p + i, n - i);
    if (s.kind != Sequence::kValid) return i;
    i += s.length;
  }
  return std::nullopt;
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

size_t append_utf8_lossy(std::string& out, std::string_view bytes, bool final) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  const size_t n = bytes.size();
  size_t i = 0;
  size_t run_start = 0;  // start of the valid run not yet appended
  while (i < n) {
    i += ascii_prefix(p + i, n - i);
    if (i >= n) break;
    const Sequence s = scan_sequence(p + i, n - i);
    if (s.kind == Sequence::kValid) {
      i += s.length;
      continue;
    }
    out.append(bytes.substr(run_start, i - run_start));
    if (s.kind == Sequence::kIncomplete && !final) return i;
    out.append(kReplacementUtf8);
    i += s.length;
    run_start = i;
  }
  out.append(bytes.substr(run_start, n - run_start));
  return n;
}

std::string utf8_lossy(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  append_utf8_lossy(out, bytes, true);
  return out;
}

}  // namespace swallow
