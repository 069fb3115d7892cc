// GPT-2's bytes<->unicode table: printable Latin-1 bytes ('!'..'~', '¡'..'¬', '®'..'ÿ') stand for
// themselves; the other 68 bytes, in increasing order, for U+0100, U+0101, ...
#include "tokenizer/byte_level.h"

#include <array>

#include "core/utf8.h"

namespace swallow::byte_level {
namespace {

constexpr bool stands_for_itself(unsigned b) {
  return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
}

struct Tables {
  std::array<char32_t, 256> char_of_byte{};
  std::array<int16_t, 0x144> byte_of_char{};  // every alphabet code point is < U+0144
};

constexpr Tables make_tables() {
  Tables t;
  for (auto& b : t.byte_of_char) b = -1;
  unsigned next_extra = 0x100;
  for (unsigned b = 0; b < 256; ++b) {
    const char32_t cp = stands_for_itself(b) ? static_cast<char32_t>(b) : static_cast<char32_t>(next_extra++);
    t.char_of_byte[b] = cp;
    t.byte_of_char[cp] = static_cast<int16_t>(b);
  }
  return t;
}

constexpr Tables kTables = make_tables();

}  // namespace

char32_t char_for_byte(uint8_t b) { return kTables.char_of_byte[b]; }

std::optional<uint8_t> byte_for_char(char32_t cp) {
  if (cp >= kTables.byte_of_char.size() || kTables.byte_of_char[cp] < 0) return std::nullopt;
  return static_cast<uint8_t>(kTables.byte_of_char[cp]);
}

std::optional<std::string> to_bytes(std::string_view token_text) {
  std::string out;
  out.reserve(token_text.size());
  size_t pos = 0;
  while (pos < token_text.size()) {
    size_t length = 0;
    const char32_t cp = decode_utf8_unchecked(token_text.data() + pos, &length);
    const std::optional<uint8_t> b = byte_for_char(cp);
    if (!b) return std::nullopt;
    out.push_back(static_cast<char>(*b));
    pos += length;
  }
  return out;
}

std::string from_bytes(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const char c : bytes) append_utf8(out, char_for_byte(static_cast<uint8_t>(c)));
  return out;
}

}  // namespace swallow::byte_level
