// Unicode character classes the tokenizer's hand-written matchers need, from ICU's Unicode data:
// - CharClass: the classes of the pre-tokenizer regexes as Oniguruma (used by HF tokenizers)
//   defines them: \p{L} letters, \p{N} numbers, \s white space (White_Space), everything else.
//   A two-stage table built once per process (about 10 ms) so lookups are two loads, inlined.
// - the Rust regex-crate classes \w and \s used by added-token flags (single_word/lstrip/rstrip).
// All functions are thread-safe; the table is immutable once built.
#pragma once

#include <cstdint>
#include <vector>

namespace swallow::unicode {

enum class CharClass : uint8_t { kOther = 0, kLetter = 1, kNumber = 2, kSpace = 3 };

class ClassTable {
 public:
  static constexpr int kBlockBits = 7;
  static constexpr char32_t kBlockMask = (1u << kBlockBits) - 1;

  // The process-wide table (built on first use).
  static const ClassTable& get();

  CharClass of(char32_t cp) const {
    return static_cast<CharClass>(blocks_[(static_cast<uint32_t>(block_of_[cp >> kBlockBits]) << kBlockBits) |
                                          (cp & kBlockMask)]);
  }

 private:
  ClassTable();
  std::vector<uint16_t> block_of_;  // [0x110000 >> kBlockBits] index of each block's row in blocks_
  std::vector<uint8_t> blocks_;     // [n_distinct_blocks << kBlockBits] CharClass values
};

// Rust regex \w: Alphabetic, marks, decimal numbers, connector punctuation, Join_Control.
bool is_word_char(char32_t cp);
// Rust regex \s and char::is_whitespace: the White_Space property.
bool is_white_space(char32_t cp);

}  // namespace swallow::unicode
