// jinja2-compatible lexer (see lexer.h for the rules it reproduces).
#include "chat/lexer.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>

#include "chat/unicode_text.h"
#include "core/error.h"

namespace swallow::jinja {

std::string normalize_source(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '\r') {
      out += '\n';
      if (i + 1 < raw.size() && raw[i + 1] == '\n') ++i;
    } else {
      out += raw[i];
    }
  }
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

std::string describe_location(std::string_view source, size_t offset) {
  size_t line = 1, column = 1;
  for (size_t pos = 0; pos < offset && pos < source.size();) {
    if (source[pos] == '\n') {
      ++line;
      column = 1;
      ++pos;
    } else {
      next_code_point(source, pos);
      ++column;
    }
  }
  return "line " + std::to_string(line) + ", column " + std::to_string(column);
}

void throw_syntax_error(std::string_view source, size_t offset, const std::string& message) {
  throw invalid_argument("chat template syntax error at " + describe_location(source, offset) + ": " + message);
}

namespace {

bool is_digit_char(char c) { return c >= '0' && c <= '9'; }

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

class Lexer {
 public:
  explicit Lexer(std::string_view source) : src_(source) {}

  std::vector<Token> run() {
    while (pos_ < src_.size()) {
      const size_t open = find_tag_open(pos_);
      if (open == std::string_view::npos) {
        emit_data(src_.substr(pos_), pos_);
        break;
      }
      const char kind = src_[open + 1];
      const char sign = open + 2 < src_.size() && (src_[open + 2] == '-' || src_[open + 2] == '+') ? src_[open + 2] : 0;
      const size_t raw_end = kind == '%' ? match_raw_begin(open) : 0;
      emit_data(strip_before_tag(src_.substr(pos_, open - pos_), sign, kind == '{'), pos_);
      if (raw_end != 0) {
        lex_raw(open, raw_end);
      } else if (kind == '#') {
        lex_comment(open, open + 2 + (sign ? 1 : 0));
      } else {
        pos_ = open + 2 + (sign ? 1 : 0);
        lex_tag(kind == '%', open);
      }
    }
    tokens_.push_back(Token{TokenType::kEof, "", 0, 0, src_.size()});
    return std::move(tokens_);
  }

 private:
  size_t find_tag_open(size_t from) const {
    for (size_t i = src_.find('{', from); i != std::string_view::npos; i = src_.find('{', i + 1)) {
      if (i + 1 < src_.size() && (src_[i + 1] == '{' || src_[i + 1] == '%' || src_[i + 1] == '#')) return i;
    }
    return std::string_view::npos;
  }

  void emit_data(std::string_view text, size_t offset) {
    if (!text.empty()) tokens_.push_back(Token{TokenType::kData, std::string(text), 0, 0, offset});
  }

  // `-` strips all whitespace before the tag; lstrip_blocks strips the indentation of a line
  // that holds only a block or comment tag (never for `{{`, never with `+`).
  std::string_view strip_before_tag(std::string_view text, char sign, bool is_variable) const {
    if (sign == '-') return text.substr(0, py_rstrip_length(text));
    if (sign == '+' || is_variable) return text;
    const size_t newline = text.rfind('\n');
    const size_t line_begin = newline == std::string_view::npos ? 0 : newline + 1;
    if (line_begin == 0 && !line_starting_) return text;
    if (line_begin < text.size() && skip_py_space(text, line_begin) == text.size()) return text.substr(0, line_begin);
    return text;
  }

  size_t skip_space(size_t pos) const { return skip_py_space(src_, pos); }

  // `{%[-+]? raw (-%}\s*|%})`: returns the position after it, or 0 when `open` is no raw tag.
  size_t match_raw_begin(size_t open) const {
    size_t p = open + 2;
    if (p < src_.size() && (src_[p] == '-' || src_[p] == '+')) ++p;
    p = skip_space(p);
    if (src_.compare(p, 3, "raw") != 0) return 0;
    p = skip_space(p + 3);
    if (src_.compare(p, 3, "-%}") == 0) return skip_space(p + 3);
    if (src_.compare(p, 2, "%}") == 0) return p + 2;
    return 0;
  }

  // Block end `+%}` | `-%}\s*` | `%}\n?` (trim_blocks) at `p`; returns the end or 0.
  size_t match_block_end(size_t p) const {
    if (src_.compare(p, 3, "+%}") == 0) return p + 3;
    if (src_.compare(p, 3, "-%}") == 0) return skip_space(p + 3);
    if (src_.compare(p, 2, "%}") == 0) return p + 2 + (p + 2 < src_.size() && src_[p + 2] == '\n' ? 1 : 0);
    return 0;
  }

  void finish_tag(size_t end) {
    line_starting_ = end > 0 && src_[end - 1] == '\n';
    pos_ = end;
  }

  void lex_raw(size_t open, size_t body_begin) {
    line_starting_ = src_[body_begin - 1] == '\n';
    for (size_t p = src_.find("{%", body_begin); p != std::string_view::npos; p = src_.find("{%", p + 1)) {
      size_t q = p + 2;
      const char sign = q < src_.size() && (src_[q] == '-' || src_[q] == '+') ? src_[q] : 0;
      if (sign) ++q;
      q = skip_space(q);
      if (src_.compare(q, 6, "endraw") != 0) continue;
      const size_t end = match_block_end(skip_space(q + 6));
      if (end == 0) continue;
      emit_data(strip_before_tag(src_.substr(body_begin, p - body_begin), sign, false), body_begin);
      finish_tag(end);
      return;
    }
    throw_syntax_error(src_, open, "Missing end of raw directive");
  }

  void lex_comment(size_t open, size_t body_begin) {
    const size_t close = src_.find("#}", body_begin);
    if (close == std::string_view::npos) throw_syntax_error(src_, open, "Missing end of comment tag");
    const char sign = close > body_begin ? src_[close - 1] : 0;
    size_t end = close + 2;
    if (sign == '-') {
      end = skip_space(end);
    } else if (sign != '+' && end < src_.size() && src_[end] == '\n') {
      ++end;
    }
    finish_tag(end);
  }

  void lex_tag(bool is_block, size_t open) {
    tokens_.push_back(Token{is_block ? TokenType::kBlockBegin : TokenType::kVariableBegin, "", 0, 0, open});
    std::string balance;
    while (pos_ < src_.size()) {
      if (balance.empty()) {
        size_t end = 0;
        if (is_block) {
          end = match_block_end(pos_);
        } else if (src_.compare(pos_, 3, "-}}") == 0) {
          end = skip_space(pos_ + 3);
        } else if (src_.compare(pos_, 2, "}}") == 0) {
          end = pos_ + 2;
        }
        if (end != 0) {
          tokens_.push_back(Token{is_block ? TokenType::kBlockEnd : TokenType::kVariableEnd, "", 0, 0, pos_});
          finish_tag(end);
          return;
        }
      }
      const size_t after_space = skip_space(pos_);
      if (after_space != pos_) {
        pos_ = after_space;
        continue;
      }
      if (lex_number() || lex_name() || lex_string() || lex_operator(balance)) continue;
      size_t next = pos_;
      next_code_point(src_, next);
      throw_syntax_error(src_, pos_, "unexpected char '" + std::string(src_.substr(pos_, next - pos_)) + "'");
    }
  }

  // (\d+_)*\d+ at p: returns the end, or p when there is none.
  size_t digit_group(size_t p) const {
    size_t q = p;
    while (q < src_.size() && is_digit_char(src_[q])) {
      while (q < src_.size() && is_digit_char(src_[q])) ++q;
      if (q + 1 < src_.size() && src_[q] == '_' && is_digit_char(src_[q + 1])) ++q;
    }
    return q;
  }

  size_t match_float(size_t p) const {
    if (p > 0 && src_[p - 1] == '.') return 0;
    const size_t int_end = digit_group(p);
    if (int_end == p) return 0;
    size_t q = int_end;
    bool has_fraction = false;
    if (q < src_.size() && src_[q] == '.') {
      const size_t frac_end = digit_group(q + 1);
      if (frac_end > q + 1) {
        q = frac_end;
        has_fraction = true;
      }
    }
    if (q < src_.size() && (src_[q] == 'e' || src_[q] == 'E')) {
      size_t e = q + 1;
      if (e < src_.size() && (src_[e] == '+' || src_[e] == '-')) ++e;
      const size_t exp_end = digit_group(e);
      if (exp_end > e) return exp_end;
    }
    return has_fraction ? q : 0;
  }

  size_t match_integer(size_t p, int& base) const {
    base = 10;
    if (src_[p] == '0' && p + 1 < src_.size()) {
      const char prefix = static_cast<char>(src_[p + 1] | 0x20);
      if (prefix == 'b' || prefix == 'o' || prefix == 'x') {
        base = prefix == 'b' ? 2 : prefix == 'o' ? 8 : 16;
        size_t q = p + 2;
        size_t last_digit = 0;
        while (q < src_.size()) {
          const size_t d = q + (src_[q] == '_' ? 1 : 0);
          if (d >= src_.size() || hex_value(src_[d]) < 0 || hex_value(src_[d]) >= base) break;
          q = d + 1;
          last_digit = q;
        }
        if (last_digit != 0) return last_digit;
        base = 10;
      }
    }
    if (!is_digit_char(src_[p])) return 0;
    const bool zero = src_[p] == '0';  // 0(_?0)* or [1-9](_?\d)*
    size_t q = p + 1;
    while (q < src_.size()) {
      const size_t d = q + (src_[q] == '_' ? 1 : 0);
      if (d >= src_.size() || !is_digit_char(src_[d]) || (zero && src_[d] != '0')) break;
      q = d + 1;
    }
    return q;
  }

  bool lex_number() {
    if (!is_digit_char(src_[pos_])) return false;
    std::string digits;
    if (const size_t end = match_float(pos_); end != 0) {
      for (size_t i = pos_; i < end; ++i) {
        if (src_[i] != '_') digits += src_[i];
      }
      tokens_.push_back(Token{TokenType::kFloat, digits, 0, std::strtod(digits.c_str(), nullptr), pos_});
      pos_ = end;
      return true;
    }
    int base = 10;
    const size_t end = match_integer(pos_, base);
    if (end == 0) return false;
    for (size_t i = pos_ + (base == 10 ? 0 : 2); i < end; ++i) {
      if (src_[i] != '_') digits += src_[i];
    }
    errno = 0;
    const long long value = std::strtoll(digits.c_str(), nullptr, base);
    if (errno == ERANGE) throw_syntax_error(src_, pos_, "integer literal does not fit in 64 bits");
    tokens_.push_back(Token{TokenType::kInteger, digits, value, 0, pos_});
    pos_ = end;
    return true;
  }

  bool lex_name() {
    size_t p = pos_;
    if (!is_identifier_start(next_code_point(src_, p))) return false;
    while (p < src_.size()) {
      size_t next = p;
      if (!is_identifier_continue(next_code_point(src_, next))) break;
      p = next;
    }
    tokens_.push_back(Token{TokenType::kName, std::string(src_.substr(pos_, p - pos_)), 0, 0, pos_});
    pos_ = p;
    return true;
  }

  bool lex_string() {
    const char quote = src_[pos_];
    if (quote != '\'' && quote != '"') return false;
    size_t p = pos_ + 1;
    while (p < src_.size() && src_[p] != quote) p += src_[p] == '\\' ? 2 : 1;
    if (p >= src_.size()) return false;
    tokens_.push_back(Token{TokenType::kString, decode_string(pos_ + 1, p), 0, 0, pos_});
    pos_ = p + 1;
    return true;
  }

  // Python's "unicode-escape" decoding of a literal's body (after jinja2's backslashreplace).
  std::string decode_string(size_t begin, size_t end) const {
    std::string out;
    for (size_t p = begin; p < end;) {
      if (src_[p] != '\\') {
        out += src_[p++];
        continue;
      }
      const char c = src_[p + 1];
      p += 2;
      switch (c) {
        case '\n': break;
        case '\\': out += '\\'; break;
        case '\'': out += '\''; break;
        case '"': out += '"'; break;
        case 'a': out += '\a'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'v': out += '\v'; break;
        case 'x': append_hex_escape(out, p, end, 2, "\\xXX"); break;
        case 'u': append_hex_escape(out, p, end, 4, "\\uXXXX"); break;
        case 'U': append_hex_escape(out, p, end, 8, "\\UXXXXXXXX"); break;
        case 'N': throw_syntax_error(src_, p - 2, "\\N{...} escapes are not supported");
        default:
          if (c >= '0' && c <= '7') {
            char32_t value = static_cast<char32_t>(c - '0');
            for (int k = 0; k < 2 && p < end && src_[p] >= '0' && src_[p] <= '7'; ++k) value = value * 8 + static_cast<char32_t>(src_[p++] - '0');
            append_utf8(out, value);
          } else if (static_cast<unsigned char>(c) >= 0x80) {
            size_t q = p - 1;
            const char32_t cp = next_code_point(src_, q);
            char buf[16];
            std::snprintf(buf, sizeof(buf), cp <= 0xFF ? "\\x%02x" : cp <= 0xFFFF ? "\\u%04x" : "\\U%08x", static_cast<unsigned>(cp));
            out += buf;
            p = q;
          } else {
            out += '\\';
            out += c;
          }
      }
    }
    return out;
  }

  void append_hex_escape(std::string& out, size_t& p, size_t end, int n_digits, const char* form) const {
    char32_t value = 0;
    for (int k = 0; k < n_digits; ++k) {
      if (p >= end || hex_value(src_[p]) < 0) throw_syntax_error(src_, p, std::string("truncated ") + form + " escape");
      value = value * 16 + static_cast<char32_t>(hex_value(src_[p++]));
    }
    if (value > 0x10FFFF) throw_syntax_error(src_, p, "illegal Unicode character");
    if (value >= 0xD800 && value <= 0xDFFF) throw_syntax_error(src_, p, "surrogate code points are not supported in string literals");
    append_utf8(out, value);
  }

  bool lex_operator(std::string& balance) {
    static constexpr std::string_view kTwoChar[] = {"**", "//", "==", "!=", ">=", "<="};
    static constexpr std::string_view kOneChar = "+-/*%~[](){}><=.:|,;";
    std::string_view op;
    for (std::string_view candidate : kTwoChar) {
      if (src_.compare(pos_, 2, candidate) == 0) op = candidate;
    }
    if (op.empty() && kOneChar.find(src_[pos_]) != std::string_view::npos) op = src_.substr(pos_, 1);
    if (op.empty()) return false;
    const char c = op[0];
    if (op.size() == 1 && (c == '(' || c == '[' || c == '{')) {
      balance += c == '(' ? ')' : c == '[' ? ']' : '}';
    } else if (op.size() == 1 && (c == ')' || c == ']' || c == '}')) {
      if (balance.empty()) throw_syntax_error(src_, pos_, std::string("unexpected '") + c + "'");
      if (balance.back() != c) {
        throw_syntax_error(src_, pos_, std::string("unexpected '") + c + "', expected '" + balance.back() + "'");
      }
      balance.pop_back();
    }
    tokens_.push_back(Token{TokenType::kOperator, std::string(op), 0, 0, pos_});
    pos_ += op.size();
    return true;
  }

  std::string_view src_;
  size_t pos_ = 0;
  bool line_starting_ = true;
  std::vector<Token> tokens_;
};

}  // namespace

std::vector<Token> tokenize(std::string_view source) { return Lexer(source).run(); }

}  // namespace swallow::jinja
