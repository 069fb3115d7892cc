// The byte-level alphabet of GPT-2 style BPE (tokenizers' ByteLevel pre-tokenizer/decoder): each
// of the 256 byte values stands for one printable code point, so vocabulary entries in
// tokenizer.json are strings over that alphabet ("Ġthe" = bytes " the"). Pure functions on a
// constant table; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace swallow::byte_level {

// The code point that stands for byte `b`.
char32_t char_for_byte(uint8_t b);

// The byte that code point `cp` stands for, or nullopt when `cp` is not in the alphabet.
std::optional<uint8_t> byte_for_char(char32_t cp);

// Decodes a vocabulary string (valid UTF-8) made only of alphabet characters to the raw bytes
// it stands for; nullopt when some character is outside the alphabet.
std::optional<std::string> to_bytes(std::string_view token_text);

// Encodes raw bytes as their alphabet string (the inverse of to_bytes).
std::string from_bytes(std::string_view bytes);

}  // namespace swallow::byte_level
