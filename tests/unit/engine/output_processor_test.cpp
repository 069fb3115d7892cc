// StopStringMatcher and OutputProcessor: stop strings split across tokens, held-back text,
// earliest match, eos / stop token ids, min_tokens and max_tokens.
#include <gtest/gtest.h>

#include "engine/output_processor.h"
#include "engine/stop_strings.h"
#include "fakes.h"

namespace swallow {
namespace {

TEST(StopStringMatcher, PassesTextWithoutStops) {
  StopStringMatcher m({});
  EXPECT_EQ(m.push("abc").text, "abc");
  EXPECT_EQ(m.flush(), "");
}

TEST(StopStringMatcher, HoldsBackPossibleStart) {
  StopStringMatcher m({"STOP"});
  auto r = m.push("hello S");
  EXPECT_EQ(r.text, "hello ");
  EXPECT_FALSE(r.stop_index);
  r = m.push("T");
  EXPECT_EQ(r.text, "");
  r = m.push("x");  // "STx" cannot become "STOP"
  EXPECT_EQ(r.text, "STx");
  EXPECT_EQ(m.flush(), "");
}

TEST(StopStringMatcher, MatchAcrossPiecesDropsTheStop) {
  StopStringMatcher m({"\n\nUser:"});
  EXPECT_EQ(m.push("Sure.\n").text, "Sure.");
  EXPECT_EQ(m.push("\nUs").text, "");
  auto r = m.push("er: more");
  ASSERT_TRUE(r.stop_index);
  EXPECT_EQ(*r.stop_index, 0u);
  EXPECT_EQ(r.text, "");
}

TEST(StopStringMatcher, EarliestMatchWins) {
  StopStringMatcher m({"cd", "bcx", "b"});
  auto r = m.push("abcd");
  ASSERT_TRUE(r.stop_index);
  EXPECT_EQ(*r.stop_index, 2u);  // "b" at 1 comes before "cd" at 2
  EXPECT_EQ(r.text, "a");
}

TEST(StopStringMatcher, HoldsTheLongestPossiblePrefix) {
  StopStringMatcher m({"aab"});
  EXPECT_EQ(m.push("xaa").text, "x");
  EXPECT_EQ(m.push("a").text, "a");  // "aaa": only the last "aa" can still start "aab"
  auto r = m.push("b");
  ASSERT_TRUE(r.stop_index);
  EXPECT_EQ(r.text, "");
}

TEST(StopStringMatcher, MultiByteStop) {
  StopStringMatcher m({"。終"});
  EXPECT_EQ(m.push("はい。").text, "はい");
  auto r = m.push("終わり");
  ASSERT_TRUE(r.stop_index);
  EXPECT_EQ(r.text, "");
}

class OutputProcessorTest : public ::testing::Test {
 protected:
  // Feeds tokens until the processor reports a finish; returns the concatenated event.
  RequestEvent feed(const std::vector<int32_t>& tokens, std::optional<FinishReason>* reason) {
    OutputProcessor p(rules, codec.new_decoder(true));
    RequestEvent all;
    int32_t n = 0;
    for (int32_t t : tokens) {
      RequestEvent e;
      SampledToken s;
      s.token = t;
      *reason = p.add(s, ++n, e);
      all.token_ids.insert(all.token_ids.end(), e.token_ids.begin(), e.token_ids.end());
      all.text += e.text;
      all.logprobs.insert(all.logprobs.end(), e.logprobs.begin(), e.logprobs.end());
      if (e.stop_reason) all.stop_reason = e.stop_reason;
      if (e.stop_token_id) all.stop_token_id = e.stop_token_id;
      if (*reason) break;
    }
    return all;
  }

  test::FakeCodec codec;
  StopRules rules;
};

TEST_F(OutputProcessorTest, StopStringSplitAcrossTokens) {
  codec.pieces = {{1, "Hel"}, {2, "lo wo"}, {3, "rld"}, {4, "!"}};
  rules.stop = {"o wor"};
  rules.max_tokens = 10;
  std::optional<FinishReason> reason;
  RequestEvent e = feed({1, 2, 3, 4}, &reason);
  EXPECT_EQ(reason, FinishReason::kStop);
  EXPECT_EQ(e.stop_reason, "o wor");
  EXPECT_EQ(e.text, "Hell");
  EXPECT_EQ(e.token_ids, (std::vector<int32_t>{1, 2, 3}));  // the token completing it is kept
}

TEST_F(OutputProcessorTest, EosEndsWithoutText) {
  codec.pieces = {{1, "a"}, {9, "<eos>"}};
  rules.eos_token_ids = {9};
  rules.max_tokens = 10;
  std::optional<FinishReason> reason;
  RequestEvent e = feed({1, 1, 9, 1}, &reason);
  EXPECT_EQ(reason, FinishReason::kStop);
  EXPECT_EQ(e.text, "aa");
  EXPECT_EQ(e.token_ids, (std::vector<int32_t>{1, 1, 9}));
  EXPECT_FALSE(e.stop_token_id);
  EXPECT_FALSE(e.stop_reason);
}

TEST_F(OutputProcessorTest, StopTokenIdIsReported) {
  rules.stop_token_ids = {5};
  rules.max_tokens = 10;
  std::optional<FinishReason> reason;
  RequestEvent e = feed({1, 5}, &reason);
  EXPECT_EQ(reason, FinishReason::kStop);
  EXPECT_EQ(e.stop_token_id, 5);
  EXPECT_EQ(e.text, "b");
}

TEST_F(OutputProcessorTest, HeldTextIsReleasedAtMaxTokens) {
  codec.pieces = {{1, "x"}, {2, "ST"}};
  rules.stop = {"STOP"};
  rules.max_tokens = 2;
  std::optional<FinishReason> reason;
  RequestEvent e = feed({1, 2}, &reason);
  EXPECT_EQ(reason, FinishReason::kLength);
  EXPECT_EQ(e.text, "xST");
}

TEST_F(OutputProcessorTest, MinTokensDelaysStops) {
  codec.pieces = {{1, "S"}, {2, "x"}};
  codec.special_from = 9;
  rules.eos_token_ids = {9};
  rules.stop = {"S"};
  rules.min_tokens = 2;
  rules.max_tokens = 10;
  std::optional<FinishReason> reason;
  // Tokens 1 and 2 may not stop: the eos is text-less, the "S" is emitted.
  RequestEvent e = feed({9, 1, 2, 1}, &reason);
  EXPECT_EQ(reason, FinishReason::kStop);
  EXPECT_EQ(e.text, "Sx");
  EXPECT_EQ(e.stop_reason, "S");
  EXPECT_EQ(e.token_ids.size(), 4u);
}

TEST_F(OutputProcessorTest, LogprobsWhenAsked) {
  rules.max_tokens = 2;
  rules.logprobs = true;
  std::optional<FinishReason> reason;
  RequestEvent e = feed({3, 4}, &reason);
  EXPECT_EQ(reason, FinishReason::kLength);
  ASSERT_EQ(e.logprobs.size(), 2u);
  EXPECT_EQ(e.logprobs[1].token, 4);
}

}  // namespace
}  // namespace swallow
