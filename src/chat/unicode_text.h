// Unicode character properties with Python `str` semantics, for the template engine: code point
// iteration over valid UTF-8 (validation and encoding are core/utf8.h), str.isspace(),
// str.isprintable(), full case mappings (via ICU) as used by str.upper/lower/title/capitalize.
// Stateless functions; thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "core/utf8.h"

namespace swallow::jinja {

// Decodes the code point starting at byte `pos` of valid UTF-8 and advances `pos` past it.
inline char32_t next_code_point(std::string_view text, size_t& pos) {
  size_t length = 0;
  const char32_t cp = decode_utf8_unchecked(text.data() + pos, &length);
  pos += length;
  return cp;
}

// Python's str.isspace() for one code point (also what `\s` matches in Python regexes).
bool is_py_space(char32_t cp);

// First position >= pos that is not Python whitespace (str.lstrip()).
size_t skip_py_space(std::string_view text, size_t pos);
// Length of `text` without its trailing Python whitespace (str.rstrip()).
size_t py_rstrip_length(std::string_view text);

// Python's str.isprintable() for one code point (repr() escapes the others).
bool is_py_printable(char32_t cp);

// Python identifier characters (what jinja2 accepts in names).
bool is_identifier_start(char32_t cp);
bool is_identifier_continue(char32_t cp);

// Full (possibly multi-character) case mappings of one code point, UTF-8 encoded.
std::string to_upper_full(char32_t cp);
std::string to_lower_full(char32_t cp);
std::string to_title_full(char32_t cp);

// Unicode "Cased" and "Case_Ignorable" properties (Python's title() and final-sigma rules).
bool is_cased(char32_t cp);
bool is_case_ignorable(char32_t cp);

// Character classes behind str.isalpha / isdigit / isalnum / islower / isupper.
bool is_alpha(char32_t cp);
bool is_digit(char32_t cp);
bool is_numeric(char32_t cp);
bool is_lower(char32_t cp);
bool is_upper(char32_t cp);
bool is_title(char32_t cp);

}  // namespace swallow::jinja
