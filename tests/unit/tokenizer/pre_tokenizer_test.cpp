// The hand-written split scanners against what the regexes define (pieces worked out by hand
// from Oniguruma's leftmost-first alternation; see pre_tokenizer.h for the patterns).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tokenizer/pre_tokenizer.h"

using namespace swallow;

namespace {
std::vector<std::string> split(SplitPattern pattern, const std::string& text) {
  std::vector<std::string> pieces;
  PreTokenizer(pattern).split(text, [&](std::string_view p) { pieces.emplace_back(p); });
  return pieces;
}
using Pieces = std::vector<std::string>;
}  // namespace

TEST(Llama3Split, WordsContractionsAndNumbers) {
  const auto s = [](const std::string& t) { return split(SplitPattern::kLlama3, t); };
  EXPECT_EQ(s("Hello world"), (Pieces{"Hello", " world"}));
  EXPECT_EQ(s("I'M here"), (Pieces{"I", "'M", " here"}));
  EXPECT_EQ(s("don't WE'LL"), (Pieces{"don", "'t", " WE", "'LL"}));
  EXPECT_EQ(s("'sup"), (Pieces{"'s", "up"}));
  EXPECT_EQ(s("x'ſ"), (Pieces{"x", "'ſ"}));  // ſ case-folds to s
  EXPECT_EQ(s("'x"), (Pieces{"'x"}));
  EXPECT_EQ(s("12345"), (Pieces{"123", "45"}));
  EXPECT_EQ(s(" 100"), (Pieces{" ", "100"}));
  EXPECT_EQ(s("$100"), (Pieces{"$", "100"}));
  EXPECT_EQ(s("①②③④"), (Pieces{"①②③", "④"}));
  EXPECT_EQ(s("x²"), (Pieces{"x", "²"}));
  EXPECT_EQ(s("...abc"), (Pieces{"...", "abc"}));
  EXPECT_EQ(s(" !!"), (Pieces{" !!"}));
  EXPECT_EQ(s("\tword"), (Pieces{"\tword"}));
  EXPECT_EQ(s("\xE3\x80\x80日本"), (Pieces{"\xE3\x80\x80日本"}));  // U+3000 then letters
  EXPECT_EQ(s("日本語の文章です。"), (Pieces{"日本語の文章です", "。"}));
  EXPECT_EQ(s("😀😀 ok"), (Pieces{"😀😀", " ok"}));
}

TEST(Llama3Split, WhiteSpaceRuns) {
  const auto s = [](const std::string& t) { return split(SplitPattern::kLlama3, t); };
  EXPECT_EQ(s("a  b"), (Pieces{"a", " ", " b"}));
  EXPECT_EQ(s("a \n\nb"), (Pieces{"a", " \n\n", "b"}));
  EXPECT_EQ(s("a\n  b"), (Pieces{"a", "\n", " ", " b"}));
  EXPECT_EQ(s("a\r\nb"), (Pieces{"a", "\r\n", "b"}));
  EXPECT_EQ(s("end   "), (Pieces{"end", "   "}));
  EXPECT_EQ(s("hi!\n\nthere"), (Pieces{"hi", "!\n\n", "there"}));
  EXPECT_EQ(s("\t("), (Pieces{"\t", "("}));
  EXPECT_EQ(s(" \n \n x"), (Pieces{" \n \n", " x"}));
}

TEST(Gpt2Split, Pieces) {
  const auto s = [](const std::string& t) { return split(SplitPattern::kGpt2, t); };
  EXPECT_EQ(s("Hello world"), (Pieces{"Hello", " world"}));
  EXPECT_EQ(s("I'M don't"), (Pieces{"I", "'", "M", " don", "'t"}));
  EXPECT_EQ(s("12345 100"), (Pieces{"12345", " 100"}));
  EXPECT_EQ(s("a  b"), (Pieces{"a", " ", " b"}));
  EXPECT_EQ(s("hi!\n\nthere"), (Pieces{"hi", "!", "\n", "\n", "there"}));
  EXPECT_EQ(s("\tword"), (Pieces{"\t", "word"}));
  EXPECT_EQ(s("end  "), (Pieces{"end", "  "}));
}

TEST(Split, PiecesCoverTheText) {
  const std::string text = "Mixed: 日本語, English's 12,345 😀👍🏽\r\n\ttabs  and   spaces\u3000!? 'quoted'";
  for (const SplitPattern pattern : {SplitPattern::kLlama3, SplitPattern::kGpt2}) {
    std::string joined;
    for (const std::string& piece : split(pattern, text)) {
      EXPECT_FALSE(piece.empty());
      joined += piece;
    }
    EXPECT_EQ(joined, text);
  }
}
