// Added tokens on a synthetic vocabulary, each expectation worked out from HF tokenizers'
// AddedVocabulary rules: leftmost-longest matching, non-normalized tokens before normalized
// ones, lstrip/rstrip taking neighbouring white space, single_word only between non-word
// characters, special tokens plain text when parse_special is off (a passed-over match still
// consumes its text), plain spans, and the ids HF assigns.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/error.h"
#include "synthetic_tokenizer.h"

using namespace swallow;
using swallow::test::load;
using swallow::test::synthetic_tokenizer_json;
using Ids = std::vector<int32_t>;

namespace {

struct Flags {
  bool special = false;
  bool single_word = false;
  bool lstrip = false;
  bool rstrip = false;
  bool normalized = false;
};

// Appends an added token with the next free id (what HF assigns) and returns that id.
int32_t add_token(nlohmann::json& json, const std::string& content, Flags flags) {
  int32_t id = 0;
  for (const auto& t : json["added_tokens"]) id = std::max(id, t["id"].get<int32_t>() + 1);
  json["added_tokens"].push_back({{"id", id}, {"content", content}, {"single_word", flags.single_word},
                                  {"lstrip", flags.lstrip}, {"rstrip", flags.rstrip},
                                  {"normalized", flags.normalized}, {"special", flags.special}});
  return id;
}

// Ids of text in a vocabulary without merges: its byte values.
Ids plain(const std::string& text) {
  Ids ids;
  for (const char c : text) ids.push_back(static_cast<unsigned char>(c));
  return ids;
}
Ids cat(std::initializer_list<Ids> parts) {
  Ids all;
  for (const Ids& p : parts) all.insert(all.end(), p.begin(), p.end());
  return all;
}

constexpr EncodeOptions kSpecial{.add_special_tokens = false, .parse_special = true};
constexpr EncodeOptions kPlain{.add_special_tokens = false, .parse_special = false};

}  // namespace

TEST(AddedTokens, SpecialTokensAndBos) {
  auto json = synthetic_tokenizer_json({});
  const int32_t x = add_token(json, "<x>", {});
  const Tokenizer t = load(json);
  const int32_t s = t.token_to_id("<s>").value();
  EXPECT_EQ(t.bos_id(), s);
  EXPECT_TRUE(t.is_special(s));
  EXPECT_FALSE(t.is_special(x));
  EXPECT_EQ(t.n_vocab(), x + 1);
  EXPECT_EQ(t.token_bytes(s), "<s>");
  EXPECT_EQ(t.encode("a<s>b<x>", kSpecial), (Ids{'a', s, 'b', x}));
  EXPECT_EQ(t.encode("a<s>b<x>", kPlain), cat({plain("a<s>b"), {x}}));  // non-special still matched
  EXPECT_EQ(t.encode("ab", {.add_special_tokens = true, .parse_special = false}), (Ids{s, 'a', 'b'}));
  EXPECT_EQ(t.decode(Ids{s, 'a', x}, false), "<s>a<x>");
  EXPECT_EQ(t.decode(Ids{s, 'a', x}, true), "a<x>");
}

TEST(AddedTokens, PassedOverSpecialMatchStillConsumesItsText) {
  auto json = synthetic_tokenizer_json({});
  const int32_t tail = add_token(json, "s>y", {});
  const Tokenizer t = load(json);
  const int32_t s = t.token_to_id("<s>").value();
  EXPECT_EQ(t.encode("<s>y", kSpecial), (Ids{s, 'y'}));
  EXPECT_EQ(t.encode("<s>y", kPlain), plain("<s>y"));     // "<s>" found, passed over, so no "s>y"
  EXPECT_EQ(t.encode("<xs>y", kPlain), cat({plain("<x"), {tail}}));
}

TEST(AddedTokens, LstripAndRstripTakeWhiteSpace) {
  auto json = synthetic_tokenizer_json({});
  const int32_t l = add_token(json, "<l>", {.lstrip = true});
  const int32_t r = add_token(json, "<r>", {.rstrip = true});
  const Tokenizer t = load(json);
  EXPECT_EQ(t.encode("a  <l>b", kSpecial), (Ids{'a', l, 'b'}));
  EXPECT_EQ(t.encode("a<r>  b", kSpecial), (Ids{'a', r, 'b'}));
  EXPECT_EQ(t.encode("a\u3000<l>", kSpecial), (Ids{'a', l}));  // any White_Space character
  EXPECT_EQ(t.encode("<r> <l>", kSpecial), (Ids{r, l}));        // lstrip stops at the previous match
}

TEST(AddedTokens, WithoutStripFlagsWhiteSpaceIsText) {
  auto json = synthetic_tokenizer_json({});
  const int32_t x = add_token(json, "<x>", {});
  const Tokenizer t = load(json);
  // "a  " pre-tokenizes as "a", "  " (trailing white space runs to the end of the segment).
  EXPECT_EQ(t.encode("a  <x>  b", kSpecial), cat({plain("a  "), {x}, plain("  b")}));
}

TEST(AddedTokens, SingleWordOnlyBetweenNonWordCharacters) {
  auto json = synthetic_tokenizer_json({});
  const int32_t cat_id = add_token(json, "cat", {.single_word = true});
  const Tokenizer t = load(json);
  EXPECT_EQ(t.encode("a cat b", kSpecial), cat({plain("a "), {cat_id}, plain(" b")}));
  EXPECT_EQ(t.encode("cat!", kSpecial), (Ids{cat_id, '!'}));
  EXPECT_EQ(t.encode("concat", kSpecial), plain("concat"));
  EXPECT_EQ(t.encode("cats", kSpecial), plain("cats"));
  EXPECT_EQ(t.encode("日cat", kSpecial), plain("日cat"));  // 日 is a word character
}

TEST(AddedTokens, NonNormalizedTokensAreMatchedFirst) {
  auto json = synthetic_tokenizer_json({});
  const int32_t ab = add_token(json, "ab", {.normalized = false});
  const int32_t abc = add_token(json, "abc", {.normalized = true});
  const Tokenizer t = load(json);
  EXPECT_EQ(t.encode("xabcx", kSpecial), (Ids{'x', ab, 'c', 'x'}));  // one pass would find "abc"
  EXPECT_EQ(t.encode("abd abc", kSpecial), (Ids{ab, 'd', ' ', ab, 'c'}));
  EXPECT_EQ(t.encode("a-bc", kSpecial), plain("a-bc"));
  (void)abc;
}

TEST(AddedTokens, LongestMatchWins) {
  auto json = synthetic_tokenizer_json({});
  const int32_t short_id = add_token(json, "<|a", {.special = true});
  const int32_t long_id = add_token(json, "<|a|>", {.special = true});
  const Tokenizer t = load(json);
  EXPECT_EQ(t.encode("<|a|><|a", kSpecial), (Ids{long_id, short_id}));
}

TEST(AddedTokens, PlainSpansHideOnlySpecialTokens) {
  auto json = synthetic_tokenizer_json({});
  const int32_t x = add_token(json, "<x>", {});
  const Tokenizer t = load(json);
  const int32_t s = t.token_to_id("<s>").value();
  const std::string text = "<s>user: <s><x> end<s>";
  const std::vector<TextSpan> content = {{9, 15}};  // "<s><x>"
  EXPECT_EQ(t.encode_with_plain_spans(text, content, false),
            cat({{s}, plain("user: <s>"), {x}, plain(" end"), {s}}));
  // Without special text inside the spans, the same ids as parse_special encoding.
  const std::string clean = "<s>user: hello<s>";
  EXPECT_EQ(t.encode_with_plain_spans(clean, std::vector<TextSpan>{{9, 14}}, true),
            t.encode(clean, {.add_special_tokens = true, .parse_special = true}));
  // A special token overlapping a span edge is not recognised either.
  EXPECT_EQ(t.encode_with_plain_spans("a<s>", std::vector<TextSpan>{{0, 2}}, false), plain("a<s>"));
  EXPECT_THROW(t.encode_with_plain_spans("abc", std::vector<TextSpan>{{2, 1}}, false), Error);
  EXPECT_THROW(t.encode_with_plain_spans("abc", std::vector<TextSpan>{{0, 2}, {1, 3}}, false), Error);
  EXPECT_THROW(t.encode_with_plain_spans("abc", std::vector<TextSpan>{{0, 4}}, false), Error);
}

TEST(AddedTokens, IdsMustBeTheOnesHfAssigns) {
  auto json = synthetic_tokenizer_json({{"a", "b"}});
  const int32_t ab = Tokenizer::from_json_text(json.dump(), "t").token_to_id("ab").value();
  auto in_vocab = json;
  in_vocab["added_tokens"].push_back({{"id", ab}, {"content", "ab"}, {"single_word", false}, {"lstrip", false},
                                      {"rstrip", false}, {"normalized", true}, {"special", false}});
  EXPECT_EQ(load(in_vocab).encode("xab", kSpecial), (Ids{'x', ab}));  // keeps its vocabulary id
  auto wrong = json;
  wrong["added_tokens"][0]["id"] = 9999;
  try {
    load(wrong);
    FAIL() << "loaded an added token with an id HF would not give it";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kUnsupported);
    EXPECT_NE(std::string(e.what()).find("added_tokens[0].id"), std::string::npos) << e.what();
  }
}
