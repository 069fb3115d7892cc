// The added tokens of tokenizer.json ("added_tokens": special and non-special, with their
// single_word/lstrip/rstrip/normalized flags) and how they are cut out of the input before
// pre-tokenization, reproducing HF tokenizers' AddedVocabulary::extract_and_normalize for a null
// normalizer: leftmost-longest matching of the non-normalized tokens over the whole text, then of
// the normalized ones inside the remaining pieces. Immutable after construction; thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/text_span.h"

namespace swallow {

struct AddedToken {
  std::string content;
  int32_t id = -1;
  bool special = false;
  bool single_word = false;
  bool lstrip = false;
  bool rstrip = false;
  bool normalized = false;
};

// A piece of the input after added-token extraction: an added token (token_id >= 0) or text
// that goes on to the pre-tokenizer (token_id < 0).
struct TextSplit {
  size_t begin = 0;
  size_t end = 0;
  int32_t token_id = -1;
};

// Where special tokens may be recognised. A special token whose text is found where it is not
// allowed is passed over like HF's encode_special_tokens=true does (its text stays plain text).
struct SpecialTokenPolicy {
  bool parse_special = true;
  std::span<const TextSpan> plain_spans;  // sorted, disjoint; no special token may overlap these
};

class AddedVocabulary {
 public:
  // `tokens`: distinct contents, in tokenizer.json order.
  explicit AddedVocabulary(const std::vector<AddedToken>& tokens);

  // Appends the splits of `text` (valid UTF-8) to `out`, in order; empty splits are left out.
  void split(std::string_view text, const SpecialTokenPolicy& policy, std::vector<TextSplit>& out) const;

 private:
  // Byte trie over token contents for leftmost-longest search.
  class Trie {
   public:
    Trie();
    void insert(std::string_view pattern, int32_t value);
    bool empty() const { return nodes_.size() == 1; }
    // The leftmost, then longest, match in text[from, end): {start, length, value}; length 0 if none.
    struct Match {
      size_t start = 0;
      size_t length = 0;
      int32_t value = -1;
    };
    Match find(std::string_view text, size_t from, size_t end) const;

   private:
    struct Node {
      int32_t value = -1;
      std::vector<std::pair<unsigned char, int32_t>> children;
    };
    std::vector<Node> nodes_;
    std::array<bool, 256> first_byte_{};
  };

  void find_matches(std::string_view text, TextSplit sentence, const Trie& trie, const SpecialTokenPolicy& policy,
                    std::vector<TextSplit>& out) const;
  static bool special_allowed(const SpecialTokenPolicy& policy, size_t begin, size_t end);

  std::vector<AddedToken> tokens_;  // trie values index this
  Trie raw_;                        // tokens with normalized == false
  Trie normalized_;                 // tokens with normalized == true
  bool has_non_special_ = false;
};

}  // namespace swallow
