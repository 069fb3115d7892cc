// Template source -> tokens, exactly as jinja2's lexer does it for Hugging Face's environment
// (trim_blocks, lstrip_blocks, `-`/`+` whitespace control, raw blocks, comments, newline
// normalisation, trailing newline removal). Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace swallow::jinja {

enum class TokenType : uint8_t {
  kData, kVariableBegin, kVariableEnd, kBlockBegin, kBlockEnd, kName, kString, kInteger, kFloat, kOperator, kEof
};

struct Token {
  TokenType type = TokenType::kEof;
  std::string text;    // data, name, decoded string literal, or operator spelling
  int64_t integer = 0;
  double number = 0;
  size_t offset = 0;   // byte offset in the normalised source
};

// jinja2's preprocessing: "\r\n" and "\r" become "\n"; one trailing newline is dropped.
std::string normalize_source(std::string_view raw);

// Tokenises a normalised source. Throws swallow::Error (invalid_argument) with line:column.
std::vector<Token> tokenize(std::string_view source);

// "line 3, column 7" for a byte offset of the normalised source (column counts characters).
std::string describe_location(std::string_view source, size_t offset);

// Throws the syntax error swallow::Error for `offset`.
[[noreturn]] void throw_syntax_error(std::string_view source, size_t offset, const std::string& message);

}  // namespace swallow::jinja
