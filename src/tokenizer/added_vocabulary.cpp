// Added-token extraction with the exact rules of HF tokenizers' AddedVocabulary::find_matches:
// matches come from a leftmost-longest scan; a match that is passed over (a special token where
// special tokens are not allowed, or a single_word token inside a word) still consumes its text;
// lstrip/rstrip widen a match over white space (lstrip never before the previous match's end).
#include "tokenizer/added_vocabulary.h"

#include <algorithm>
#include <cstring>

#include "core/utf8.h"
#include "tokenizer/unicode_classes.h"

namespace swallow {
namespace {

bool is_continuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

// Start of the last character of text[0, end).
size_t last_char_start(std::string_view text, size_t end) {
  size_t pos = end - 1;
  while (pos > 0 && is_continuation(text[pos])) --pos;
  return pos;
}

char32_t char_at(std::string_view text, size_t pos, size_t* length) {
  return decode_utf8_unchecked(text.data() + pos, length);
}

// Regex \w$ on text[begin, end).
bool ends_with_word(std::string_view text, size_t begin, size_t end) {
  if (end == begin) return false;
  size_t length = 0;
  return unicode::is_word_char(char_at(text, last_char_start(text, end), &length));
}

// Regex ^\w on text[begin, end).
bool starts_with_word(std::string_view text, size_t begin, size_t end) {
  if (end == begin) return false;
  size_t length = 0;
  return unicode::is_word_char(char_at(text, begin, &length));
}

// Start of the white space that ends text[begin, end) (regex \s*$).
size_t trailing_space_start(std::string_view text, size_t begin, size_t end) {
  while (end > begin) {
    const size_t start = last_char_start(text, end);
    size_t length = 0;
    if (!unicode::is_white_space(char_at(text, start, &length))) break;
    end = start;
  }
  return end;
}

// End of the white space that starts text[begin, end) (regex ^\s*).
size_t leading_space_end(std::string_view text, size_t begin, size_t end) {
  while (begin < end) {
    size_t length = 0;
    if (!unicode::is_white_space(char_at(text, begin, &length))) break;
    begin += length;
  }
  return begin;
}

}  // namespace

AddedVocabulary::Trie::Trie() : nodes_(1) {}

void AddedVocabulary::Trie::insert(std::string_view pattern, int32_t value) {
  int32_t node = 0;
  for (const char ch : pattern) {
    const auto byte = static_cast<unsigned char>(ch);
    auto& children = nodes_[node].children;
    auto it = std::find_if(children.begin(), children.end(), [&](const auto& c) { return c.first == byte; });
    if (it != children.end()) {
      node = it->second;
    } else {
      const auto child = static_cast<int32_t>(nodes_.size());
      children.emplace_back(byte, child);
      nodes_.emplace_back();
      node = child;
    }
  }
  nodes_[node].value = value;
  first_byte_[static_cast<unsigned char>(pattern[0])] = true;
}

AddedVocabulary::Trie::Match AddedVocabulary::Trie::find(std::string_view text, size_t from, size_t end) const {
  for (size_t start = from; start < end; ++start) {
    if (!first_byte_[static_cast<unsigned char>(text[start])]) continue;
    Match best{start, 0, -1};
    int32_t node = 0;
    for (size_t pos = start; pos < end; ++pos) {
      const auto byte = static_cast<unsigned char>(text[pos]);
      const auto& children = nodes_[node].children;
      auto it = std::find_if(children.begin(), children.end(), [&](const auto& c) { return c.first == byte; });
      if (it == children.end()) break;
      node = it->second;
      if (nodes_[node].value >= 0) best = {start, pos + 1 - start, nodes_[node].value};
    }
    if (best.length > 0) return best;
  }
  return {};
}

AddedVocabulary::AddedVocabulary(const std::vector<AddedToken>& tokens) : tokens_(tokens) {
  for (size_t i = 0; i < tokens_.size(); ++i) {
    const AddedToken& token = tokens_[i];
    if (token.content.empty()) continue;
    (token.normalized ? normalized_ : raw_).insert(token.content, static_cast<int32_t>(i));
    if (!token.special) has_non_special_ = true;
  }
}

bool AddedVocabulary::special_allowed(const SpecialTokenPolicy& policy, size_t begin, size_t end) {
  if (!policy.parse_special) return false;
  const auto& spans = policy.plain_spans;
  auto it = std::upper_bound(spans.begin(), spans.end(), begin, [](size_t pos, const TextSpan& s) { return pos < s.end; });
  for (; it != spans.end() && it->begin < end; ++it) {
    if (it->begin < it->end) return false;
  }
  return true;
}

void AddedVocabulary::find_matches(std::string_view text, TextSplit sentence, const Trie& trie,
                                   const SpecialTokenPolicy& policy, std::vector<TextSplit>& out) const {
  const size_t begin = sentence.begin;
  const size_t end = sentence.end;
  size_t start_offset = begin;
  size_t search_from = begin;
  while (true) {
    const Trie::Match m = trie.find(text, search_from, end);
    if (m.length == 0) break;
    size_t start = m.start;
    size_t stop = m.start + m.length;
    search_from = stop;
    const AddedToken& token = tokens_[m.value];
    if (token.special && !special_allowed(policy, start, stop)) continue;
    if (token.single_word) {
      const bool space_before = start == begin || !ends_with_word(text, begin, start);
      const bool space_after = stop == end || !starts_with_word(text, stop, end);
      if (!space_before || !space_after) continue;
    }
    if (token.lstrip) start = std::max(trailing_space_start(text, begin, start), start_offset);
    if (token.rstrip) stop = leading_space_end(text, stop, end);
    if (start_offset < start) out.push_back({start_offset, start, -1});
    out.push_back({start, stop, token.id});
    start_offset = stop;
  }
  if (start_offset < end) out.push_back({start_offset, end, -1});
}

void AddedVocabulary::split(std::string_view text, const SpecialTokenPolicy& policy,
                            std::vector<TextSplit>& out) const {
  const TextSplit whole{0, text.size(), -1};
  if (text.empty()) return;
  const bool raw_can_match = !raw_.empty() && (policy.parse_special || has_non_special_);
  if (!raw_can_match && normalized_.empty()) {
    out.push_back(whole);
    return;
  }
  const size_t first = out.size();
  find_matches(text, whole, raw_, policy, out);
  if (normalized_.empty()) return;
  // Second pass: normalized tokens inside each text piece of the first pass.
  std::vector<TextSplit> first_pass(out.begin() + static_cast<std::ptrdiff_t>(first), out.end());
  out.resize(first);
  for (const TextSplit& s : first_pass) {
    if (s.token_id >= 0) {
      out.push_back(s);
    } else {
      find_matches(text, s, normalized_, policy, out);
    }
  }
}

}  // namespace swallow
