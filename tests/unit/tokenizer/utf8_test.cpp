// core/utf8: validation offsets and from_utf8_lossy's maximal-subpart replacement (examples from
// the Unicode Standard, section 3.9, and Rust's documentation of String::from_utf8_lossy).
#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "core/utf8.h"

using namespace swallow;

namespace {
const std::string kFffd = "\xEF\xBF\xBD";
// `pattern` with each '%' replaced by U+FFFD.
std::string fffd(std::string_view pattern) {
  std::string s;
  for (const char c : pattern) {
    if (c == '%') {
      s += kFffd;
    } else {
      s += c;
    }
  }
  return s;
}
}  // namespace

TEST(Utf8, FindsTheFirstInvalidByte) {
  EXPECT_FALSE(find_invalid_utf8("").has_value());
  EXPECT_FALSE(find_invalid_utf8("plain ascii, long enough for the 8-byte fast path").has_value());
  EXPECT_FALSE(find_invalid_utf8("日本語 é 😀 \xF4\x8F\xBF\xBF").has_value());
  EXPECT_EQ(find_invalid_utf8("abc\xFF"), 3u);
  EXPECT_EQ(find_invalid_utf8("0123456789\xC3"), 10u);        // truncated at the end
  EXPECT_EQ(find_invalid_utf8("ab\xED\xA0\x80"), 2u);         // surrogate U+D800
  EXPECT_EQ(find_invalid_utf8("\xC0\xAF"), 0u);               // overlong '/'
  EXPECT_EQ(find_invalid_utf8("x\xF4\x90\x80\x80"), 1u);      // above U+10FFFF
  EXPECT_EQ(find_invalid_utf8("日本\x80"), 6u);                // stray continuation byte
}

TEST(Utf8, DecodeAndEncode) {
  const std::string s = "aé日😀";
  size_t length = 0;
  EXPECT_EQ(decode_utf8_unchecked(s.data() + 6, &length), U'\U0001F600');
  EXPECT_EQ(length, 4u);
  std::string out;
  append_utf8(out, U'日');
  append_utf8(out, U'\U0001F600');
  append_utf8(out, U'é');
  EXPECT_EQ(out, "日😀é");
}

TEST(Utf8, LossyReplacesEachMaximalSubpartOnce) {
  EXPECT_EQ(utf8_lossy("valid 日本"), "valid 日本");
  // Unicode Standard Table 3-8.
  EXPECT_EQ(utf8_lossy("\x61\xF1\x80\x80\xE1\x80\xC2\x62\x80\x63\x80\xBF\x64"), fffd("a%%%b%c%%d"));
  EXPECT_EQ(utf8_lossy("\xED\xA0\x80"), fffd("%%%"));  // surrogates: every byte
  EXPECT_EQ(utf8_lossy("\xE0\x80\x80"), fffd("%%%"));  // overlong: every byte
  EXPECT_EQ(utf8_lossy("\xC0\xAF"), fffd("%%"));
  EXPECT_EQ(utf8_lossy("\xF4\x90\x80\x80"), fffd("%%%%"));
  EXPECT_EQ(utf8_lossy("\xF0\x9F\x98"), fffd("%"));  // one truncated emoji: one U+FFFD
  EXPECT_EQ(utf8_lossy("Hello \xF0\x90\x80World"), fffd("Hello %World"));
  EXPECT_EQ(utf8_lossy("\xFF\xFE"), fffd("%%"));
}

TEST(Utf8, NonFinalLossyHoldsAnIncompleteTail) {
  std::string out;
  EXPECT_EQ(append_utf8_lossy(out, "ab\xE6\x97", false), 2u);
  EXPECT_EQ(out, "ab");
  out.clear();
  EXPECT_EQ(append_utf8_lossy(out, "\xE6\x97\xA5\xFF\xE6", false), 4u);  // 日, then 0xFF is final
  EXPECT_EQ(out, fffd("日%"));
  out.clear();
  EXPECT_EQ(append_utf8_lossy(out, "\xE6\x41", false), 2u);  // can never complete
  EXPECT_EQ(out, fffd("%A"));
  out.clear();
  EXPECT_EQ(append_utf8_lossy(out, "\xE6\x97", true), 2u);
  EXPECT_EQ(out, fffd("%"));
}
