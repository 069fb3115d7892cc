// StreamingDetokenizer: pieces are whole UTF-8 characters and concatenate to decode(), for
// real text, for ids that split characters, and for byte sequences that never become valid.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "core/utf8.h"
#include "support/test_support.h"
#include "synthetic_tokenizer.h"
#include "tokenizer/tokenizer.h"

using namespace swallow;
using Ids = std::vector<int32_t>;

namespace {

// Streams `ids`; checks every piece is valid UTF-8 and the whole equals decode().
void expect_stream_equals_decode(const Tokenizer& t, const Ids& ids, bool skip_special) {
  StreamingDetokenizer stream(t, skip_special);
  std::string all;
  for (const int32_t id : ids) {
    const std::string piece = stream.push(id);
    EXPECT_FALSE(find_invalid_utf8(piece).has_value());
    all += piece;
  }
  const std::string last = stream.finish();
  EXPECT_FALSE(find_invalid_utf8(last).has_value());
  all += last;
  EXPECT_EQ(all, t.decode(ids, skip_special));
}

}  // namespace

TEST(Streaming, HoldsSplitCharactersUntilComplete) {
  // Synthetic vocabulary: id = byte value, so 日 (E6 97 A5) arrives one byte at a time.
  const Tokenizer t = test::load(test::synthetic_tokenizer_json({}));
  StreamingDetokenizer stream(t, false);
  EXPECT_EQ(stream.push('a'), "a");
  EXPECT_EQ(stream.push(0xE6), "");
  EXPECT_EQ(stream.push(0x97), "");
  EXPECT_EQ(stream.push(0xA5), "日");
  EXPECT_EQ(stream.push(0xE6), "");
  EXPECT_EQ(stream.push('b'), "\xEF\xBF\xBD" "b");  // can no longer complete: U+FFFD at once
  EXPECT_EQ(stream.push(0xF0), "");
  EXPECT_EQ(stream.finish(), "\xEF\xBF\xBD");  // incomplete at the end
  EXPECT_EQ(stream.finish(), "");
}

TEST(Streaming, SkipsSpecialTokensLikeDecode) {
  const Tokenizer t = test::load(test::synthetic_tokenizer_json({}));
  const int32_t s = t.bos_id().value();
  StreamingDetokenizer skip(t, true);
  EXPECT_EQ(skip.push(s), "");
  StreamingDetokenizer keep(t, false);
  EXPECT_EQ(keep.push(s), "<s>");
  expect_stream_equals_decode(t, Ids{0xE6, s, 0x97, 0xA5}, true);
  expect_stream_equals_decode(t, Ids{0xE6, s, 0x97, 0xA5}, false);
}

TEST(Streaming, RandomByteTokensConcatenateToDecode) {
  const Tokenizer t = test::load(test::synthetic_tokenizer_json({}));
  std::mt19937 rng(11);
  for (int trial = 0; trial < 2000; ++trial) {
    Ids ids;
    const int n = 1 + static_cast<int>(rng() % 12);
    for (int i = 0; i < n; ++i) ids.push_back(static_cast<int32_t>(rng() % 2 ? 0x80 + rng() % 0x80 : rng() % 256));
    expect_stream_equals_decode(t, ids, false);
  }
}

TEST(Streaming, Llama31TextAndRandomIds) {
  REQUIRE_TEST_DATA(test::llama31_tokenizer_dir(), "Llama 3.1 tokenizer");
  const Tokenizer t = Tokenizer::from_model_dir(test::llama31_tokenizer_dir());
  const std::string text = "日本語のテキスト😀👨‍👩‍👧 and English<|eot_id|> ✓ é\r\n";
  const Ids ids = t.encode(text, {.add_special_tokens = true, .parse_special = true});
  expect_stream_equals_decode(t, ids, false);
  expect_stream_equals_decode(t, ids, true);
  std::mt19937 rng(5);
  for (int trial = 0; trial < 500; ++trial) {
    Ids random;
    for (int i = 0; i < 1 + static_cast<int>(rng() % 20); ++i) random.push_back(static_cast<int32_t>(rng() % 128256));
    expect_stream_equals_decode(t, random, trial % 2 == 0);
  }
}
