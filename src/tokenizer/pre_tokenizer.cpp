// The split-regex scanners. Each function decides, for the piece starting at `pos`, which
// alternative of the regex Oniguruma would take first (leftmost-first, greedy, backtracking
// only where the pattern forces it) and where that match ends. Every character is examined a
// bounded number of times, so splitting is linear in the text length.
#include "tokenizer/pre_tokenizer.h"

#include "core/utf8.h"

namespace swallow {
namespace {

using unicode::CharClass;

constexpr size_t kNone = static_cast<size_t>(-1);

bool is_newline(char32_t cp) { return cp == '\r' || cp == '\n'; }

// Length of the letters of a contraction ('s 't 're 've 'm 'll 'd) starting at `pos` (just after
// the apostrophe), or 0. Case-insensitively, 's' also matches U+017F LATIN SMALL LETTER LONG S,
// which case-folds to 's' (Oniguruma applies Unicode case folding under (?i)).
size_t contraction_length(std::string_view text, size_t pos, bool case_insensitive) {
  auto letter = [&](size_t p) -> int {
    if (p >= text.size()) return -1;
    int c = static_cast<unsigned char>(text[p]);
    if (case_insensitive && c >= 'A' && c <= 'Z') c += 'a' - 'A';
    return c;
  };
  const int first = letter(pos);
  if (first == 's' || first == 't' || first == 'm' || first == 'd') return 1;
  if (case_insensitive && text.substr(pos, 2) == "\xC5\xBF") return 2;
  const int second = letter(pos + 1);
  if ((first == 'r' && second == 'e') || (first == 'v' && second == 'e') || (first == 'l' && second == 'l')) return 2;
  return 0;
}

}  // namespace

PreTokenizer::PreTokenizer(SplitPattern pattern) : pattern_(pattern), classes_(unicode::ClassTable::get()) {}

PreTokenizer::Char PreTokenizer::char_at(std::string_view text, size_t pos) const {
  const auto b = static_cast<unsigned char>(text[pos]);
  if (b < 0x80) return {b, classes_.of(b), 1};
  size_t length = 0;
  const char32_t cp = decode_utf8_unchecked(text.data() + pos, &length);
  return {cp, classes_.of(cp), length};
}

size_t PreTokenizer::end_of_class(std::string_view text, size_t pos, CharClass cls) const {
  while (pos < text.size()) {
    const Char c = char_at(text, pos);
    if (c.cls != cls) break;
    pos += c.length;
  }
  return pos;
}

// The white-space alternatives, tried in order on the maximal white-space run at `pos`:
// \s*[\r\n]+ (when newline_rule) ends after the run's last CR/LF; \s+(?!\S) takes the run, minus
// its last character when a non-space follows; \s+ takes a lone space before a non-space.
size_t PreTokenizer::whitespace_piece_end(std::string_view text, size_t pos, bool newline_rule) const {
  size_t end = pos;
  size_t last_char_start = pos;
  size_t last_newline_end = kNone;
  while (end < text.size()) {
    const Char c = char_at(text, end);
    if (c.cls != CharClass::kSpace) break;
    if (is_newline(c.cp)) last_newline_end = end + 1;
    last_char_start = end;
    end += c.length;
  }
  if (newline_rule && last_newline_end != kNone) return last_newline_end;
  if (end == text.size()) return end;
  if (last_char_start > pos) return last_char_start;
  return end;
}

size_t PreTokenizer::llama3_piece_end(std::string_view text, size_t pos) const {
  const Char c = char_at(text, pos);
  const size_t next = pos + c.length;
  // (?i:'s|'t|'re|'ve|'m|'ll|'d)
  if (c.cp == '\'') {
    if (const size_t n = contraction_length(text, next, true)) return next + n;
  }
  // [^\r\n\p{L}\p{N}]?\p{L}+
  if (c.cls == CharClass::kLetter) return end_of_class(text, next, CharClass::kLetter);
  if (c.cls != CharClass::kNumber && !is_newline(c.cp) && next < text.size()) {
    const Char d = char_at(text, next);
    if (d.cls == CharClass::kLetter) return end_of_class(text, next + d.length, CharClass::kLetter);
    // ' ?[^\s\p{L}\p{N}]+[\r\n]*' with its optional space
    if (c.cp == ' ' && d.cls == CharClass::kOther) {
      size_t end = end_of_class(text, next + d.length, CharClass::kOther);
      while (end < text.size() && is_newline(static_cast<unsigned char>(text[end]))) ++end;
      return end;
    }
  }
  // \p{N}{1,3}
  if (c.cls == CharClass::kNumber) {
    size_t end = next;
    for (int count = 1; count < 3 && end < text.size(); ++count) {
      const Char d = char_at(text, end);
      if (d.cls != CharClass::kNumber) break;
      end += d.length;
    }
    return end;
  }
  // [^\s\p{L}\p{N}]+[\r\n]* without the space
  if (c.cls == CharClass::kOther) {
    size_t end = end_of_class(text, next, CharClass::kOther);
    while (end < text.size() && is_newline(static_cast<unsigned char>(text[end]))) ++end;
    return end;
  }
  // \s*[\r\n]+ | \s+(?!\S) | \s+
  return whitespace_piece_end(text, pos, true);
}

size_t PreTokenizer::gpt2_piece_end(std::string_view text, size_t pos) const {
  const Char c = char_at(text, pos);
  const size_t next = pos + c.length;
  // 's|'t|'re|'ve|'m|'ll|'d
  if (c.cp == '\'') {
    if (const size_t n = contraction_length(text, next, false)) return next + n;
  }
  // ' ?\p{L}+', ' ?\p{N}+', ' ?[^\s\p{L}\p{N}]+': the class of the first non-optional character
  Char first = c;
  size_t first_end = next;
  if (c.cp == ' ' && next < text.size()) {
    const Char d = char_at(text, next);
    if (d.cls != CharClass::kSpace) {
      first = d;
      first_end = next + d.length;
    }
  }
  if (first.cls != CharClass::kSpace) return end_of_class(text, first_end, first.cls);
  // \s+(?!\S) | \s+
  return whitespace_piece_end(text, pos, false);
}

}  // namespace swallow
