// Hand-written equivalents of the two split regexes byte-level BPE tokenizers use, with
// Oniguruma's leftmost-first alternation semantics (what HF tokenizers runs), in linear time:
//   kLlama3: (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
//            ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
//   kGpt2:   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// Both match at every position, so the pieces (Split behaviour "Isolated") cover the text.
// Immutable; thread-safe.
#pragma once

#include <cstddef>
#include <string_view>

#include "tokenizer/unicode_classes.h"

namespace swallow {

enum class SplitPattern { kLlama3, kGpt2 };

class PreTokenizer {
 public:
  explicit PreTokenizer(SplitPattern pattern);

  SplitPattern pattern() const { return pattern_; }

  // Calls on_piece(std::string_view) for each piece of `text` (valid UTF-8), in order.
  template <class OnPiece>
  void split(std::string_view text, OnPiece&& on_piece) const {
    size_t pos = 0;
    while (pos < text.size()) {
      const size_t end = pattern_ == SplitPattern::kLlama3 ? llama3_piece_end(text, pos) : gpt2_piece_end(text, pos);
      on_piece(text.substr(pos, end - pos));
      pos = end;
    }
  }

  // End of the piece that starts at `pos` (< text.size()).
  size_t llama3_piece_end(std::string_view text, size_t pos) const;
  size_t gpt2_piece_end(std::string_view text, size_t pos) const;

 private:
  struct Char {
    char32_t cp;
    unicode::CharClass cls;
    size_t length;
  };
  Char char_at(std::string_view text, size_t pos) const;
  size_t end_of_class(std::string_view text, size_t pos, unicode::CharClass cls) const;
  size_t whitespace_piece_end(std::string_view text, size_t pos, bool newline_rule) const;

  SplitPattern pattern_;
  const unicode::ClassTable& classes_;
};

}  // namespace swallow
