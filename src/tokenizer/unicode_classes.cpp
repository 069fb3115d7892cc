// Builds the pre-tokenizer class table from ICU (u_enumCharTypes + White_Space) and answers the
// Rust \w / \s questions with ICU property lookups. The Unicode version is ICU's.
#include "tokenizer/unicode_classes.h"

#include <unicode/uchar.h>

#include <map>
#include <string>

namespace swallow::unicode {
namespace {

constexpr char32_t kCodeSpace = 0x110000;

CharClass class_of_category(int8_t category) {
  switch (category) {
    case U_UPPERCASE_LETTER:
    case U_LOWERCASE_LETTER:
    case U_TITLECASE_LETTER:
    case U_MODIFIER_LETTER:
    case U_OTHER_LETTER:
      return CharClass::kLetter;
    case U_DECIMAL_DIGIT_NUMBER:
    case U_LETTER_NUMBER:
    case U_OTHER_NUMBER:
      return CharClass::kNumber;
    default:
      return CharClass::kOther;
  }
}

UBool fill_range(const void* context, UChar32 start, UChar32 limit, UCharCategory category) {
  auto* flat = static_cast<std::string*>(const_cast<void*>(context));
  const CharClass cls = class_of_category(static_cast<int8_t>(category));
  const bool may_be_space = category == U_SPACE_SEPARATOR || category == U_LINE_SEPARATOR ||
                            category == U_PARAGRAPH_SEPARATOR || category == U_CONTROL_CHAR;
  for (UChar32 cp = start; cp < limit; ++cp) {
    const bool space = may_be_space && u_isUWhiteSpace(cp);
    (*flat)[static_cast<size_t>(cp)] = static_cast<char>(space ? CharClass::kSpace : cls);
  }
  return true;
}

}  // namespace

ClassTable::ClassTable() {
  std::string flat(kCodeSpace, static_cast<char>(CharClass::kOther));
  u_enumCharTypes(fill_range, &flat);
  // Share identical blocks (most of the code space is unassigned or uniform).
  constexpr size_t kBlock = size_t{1} << kBlockBits;
  std::map<std::string, uint16_t> distinct;
  block_of_.resize(kCodeSpace >> kBlockBits);
  for (size_t b = 0; b < block_of_.size(); ++b) {
    std::string block = flat.substr(b * kBlock, kBlock);
    auto [it, inserted] = distinct.emplace(std::move(block), static_cast<uint16_t>(distinct.size()));
    if (inserted) blocks_.insert(blocks_.end(), it->first.begin(), it->first.end());
    block_of_[b] = it->second;
  }
}

const ClassTable& ClassTable::get() {
  static const ClassTable table;
  return table;
}

bool is_word_char(char32_t cp) {
  const auto c = static_cast<UChar32>(cp);
  if (u_hasBinaryProperty(c, UCHAR_ALPHABETIC) || u_hasBinaryProperty(c, UCHAR_JOIN_CONTROL)) return true;
  const int8_t category = u_charType(c);
  return category == U_NON_SPACING_MARK || category == U_ENCLOSING_MARK || category == U_COMBINING_SPACING_MARK ||
         category == U_DECIMAL_DIGIT_NUMBER || category == U_CONNECTOR_PUNCTUATION;
}

bool is_white_space(char32_t cp) { return u_isUWhiteSpace(static_cast<UChar32>(cp)); }

}  // namespace swallow::unicode
