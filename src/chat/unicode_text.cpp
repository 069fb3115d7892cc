// UTF-8 helpers and Python-compatible character properties (ICU for the Unicode tables).
#include "chat/unicode_text.h"

#include <unicode/uchar.h>
#include <unicode/ustring.h>

namespace swallow::jinja {

bool is_py_space(char32_t cp) {
  switch (cp) {
    case 0x09: case 0x0A: case 0x0B: case 0x0C: case 0x0D:
    case 0x1C: case 0x1D: case 0x1E: case 0x1F: case 0x20:
    case 0x85: case 0xA0: case 0x1680:
    case 0x2028: case 0x2029: case 0x202F: case 0x205F: case 0x3000:
      return true;
    default:
      return cp >= 0x2000 && cp <= 0x200A;
  }
}

size_t skip_py_space(std::string_view text, size_t pos) {
  while (pos < text.size()) {
    size_t next = pos;
    if (!is_py_space(next_code_point(text, next))) break;
    pos = next;
  }
  return pos;
}

size_t py_rstrip_length(std::string_view text) {
  size_t end = text.size();
  while (end > 0) {
    size_t start = end - 1;
    while (start > 0 && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) --start;
    size_t pos = start;
    if (!is_py_space(next_code_point(text, pos))) break;
    end = start;
  }
  return end;
}

bool is_py_printable(char32_t cp) {
  if (cp == ' ') return true;
  if (cp < 0x7F) return cp >= 0x20;
  switch (u_charType(static_cast<UChar32>(cp))) {
    case U_CONTROL_CHAR: case U_FORMAT_CHAR: case U_SURROGATE: case U_PRIVATE_USE_CHAR:
    case U_UNASSIGNED: case U_LINE_SEPARATOR: case U_PARAGRAPH_SEPARATOR: case U_SPACE_SEPARATOR:
      return false;
    default:
      return true;
  }
}

bool is_identifier_start(char32_t cp) {
  if (cp < 0x80) return (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || cp == '_';
  return u_hasBinaryProperty(static_cast<UChar32>(cp), UCHAR_XID_START);
}

bool is_identifier_continue(char32_t cp) {
  if (cp < 0x80) return is_identifier_start(cp) || (cp >= '0' && cp <= '9');
  return u_hasBinaryProperty(static_cast<UChar32>(cp), UCHAR_XID_CONTINUE);
}

namespace {

enum class CaseOp { kUpper, kLower, kTitle };

// One code point through ICU's full (SpecialCasing-aware) mapping in the root locale.
std::string map_case(char32_t cp, CaseOp op) {
  UChar src[2];
  int32_t src_len = 0;
  U16_APPEND_UNSAFE(src, src_len, static_cast<UChar32>(cp));
  UChar dst[8];
  UErrorCode status = U_ZERO_ERROR;
  int32_t len = 0;
  switch (op) {
    case CaseOp::kUpper: len = u_strToUpper(dst, 8, src, src_len, "", &status); break;
    case CaseOp::kLower: len = u_strToLower(dst, 8, src, src_len, "", &status); break;
    case CaseOp::kTitle: len = u_strToTitle(dst, 8, src, src_len, nullptr, "", &status); break;
  }
  std::string out;
  if (U_FAILURE(status)) {
    append_utf8(out, cp);
    return out;
  }
  for (int32_t i = 0; i < len;) {
    UChar32 c;
    U16_NEXT_UNSAFE(dst, i, c);
    append_utf8(out, static_cast<char32_t>(c));
  }
  return out;
}

}  // namespace

std::string to_upper_full(char32_t cp) {
  if (cp < 0x80) return std::string(1, static_cast<char>(cp >= 'a' && cp <= 'z' ? cp - 32 : cp));
  return map_case(cp, CaseOp::kUpper);
}

std::string to_lower_full(char32_t cp) {
  if (cp < 0x80) return std::string(1, static_cast<char>(cp >= 'A' && cp <= 'Z' ? cp + 32 : cp));
  return map_case(cp, CaseOp::kLower);
}

std::string to_title_full(char32_t cp) {
  if (cp < 0x80) return to_upper_full(cp);
  return map_case(cp, CaseOp::kTitle);
}

bool is_cased(char32_t cp) { return u_hasBinaryProperty(static_cast<UChar32>(cp), UCHAR_CASED); }
bool is_case_ignorable(char32_t cp) {
  return u_hasBinaryProperty(static_cast<UChar32>(cp), UCHAR_CASE_IGNORABLE);
}

bool is_alpha(char32_t cp) {
  switch (u_charType(static_cast<UChar32>(cp))) {
    case U_UPPERCASE_LETTER: case U_LOWERCASE_LETTER: case U_TITLECASE_LETTER:
    case U_MODIFIER_LETTER: case U_OTHER_LETTER:
      return true;
    default:
      return false;
  }
}

bool is_digit(char32_t cp) {
  const int type = u_getIntPropertyValue(static_cast<UChar32>(cp), UCHAR_NUMERIC_TYPE);
  return type == U_NT_DECIMAL || type == U_NT_DIGIT;
}

bool is_numeric(char32_t cp) {
  return u_getIntPropertyValue(static_cast<UChar32>(cp), UCHAR_NUMERIC_TYPE) != U_NT_NONE;
}

bool is_lower(char32_t cp) { return u_hasBinaryProperty(static_cast<UChar32>(cp), UCHAR_LOWERCASE); }
bool is_upper(char32_t cp) { return u_hasBinaryProperty(static_cast<UChar32>(cp), UCHAR_UPPERCASE); }
bool is_title(char32_t cp) { return u_charType(static_cast<UChar32>(cp)) == U_TITLECASE_LETTER; }

}  // namespace swallow::jinja
