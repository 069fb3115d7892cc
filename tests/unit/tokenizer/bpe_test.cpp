// BPE merging on synthetic vocabularies, checked against the definition: repeatedly merge the
// adjacent pair with the lowest merge rank, leftmost first among equal ranks; ignore_merges
// takes a piece that is itself a vocabulary entry whole. Both merge formats of tokenizer.json.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "synthetic_tokenizer.h"

using namespace swallow;
using swallow::test::byte_level;
using swallow::test::load;
using swallow::test::synthetic_tokenizer_json;

namespace {

using Merges = std::vector<std::pair<std::string, std::string>>;

int32_t id_of(const Tokenizer& t, const std::string& raw) {
  const std::optional<int32_t> id = t.token_to_id(byte_level(raw));
  EXPECT_TRUE(id.has_value()) << raw;
  return id.value_or(-1);
}

std::vector<int32_t> encode(const Tokenizer& t, const std::string& text) { return t.encode(text, {}); }

// Textbook BPE on one piece: the reference the fast paths must equal.
std::vector<std::string> reference_bpe(const std::string& piece, const Merges& merges) {
  std::vector<std::string> symbols;
  for (const char c : piece) symbols.emplace_back(1, c);
  while (true) {
    size_t best_rank = merges.size();
    size_t best_pos = 0;
    for (size_t i = 0; i + 1 < symbols.size(); ++i) {
      for (size_t r = 0; r < best_rank; ++r) {
        if (merges[r].first == symbols[i] && merges[r].second == symbols[i + 1]) {
          best_rank = r;
          best_pos = i;
          break;
        }
      }
    }
    if (best_rank == merges.size()) return symbols;
    symbols[best_pos] += symbols[best_pos + 1];
    symbols.erase(symbols.begin() + static_cast<std::ptrdiff_t>(best_pos) + 1);
  }
}

}  // namespace

TEST(Bpe, LowestRankFirstNotLeftmostFirst) {
  // "abc": (b,c) has the lower rank, so a + bc, although (a,b) then (ab,c) would give abc.
  auto json = synthetic_tokenizer_json({{"b", "c"}, {"a", "b"}, {"ab", "c"}});
  json["model"]["ignore_merges"] = false;
  const Tokenizer t = load(json);
  EXPECT_EQ(encode(t, "abc"), (std::vector<int32_t>{'a', id_of(t, "bc")}));
  // With ignore_merges a piece that is a vocabulary entry is taken whole.
  json["model"]["ignore_merges"] = true;
  const Tokenizer whole = load(json);
  EXPECT_EQ(encode(whole, "abc"), (std::vector<int32_t>{id_of(whole, "abc")}));
}

TEST(Bpe, EqualRanksMergeLeftmostFirst) {
  const Tokenizer t = load(synthetic_tokenizer_json({{"a", "a"}}));
  EXPECT_EQ(encode(t, "aaa"), (std::vector<int32_t>{id_of(t, "aa"), 'a'}));
  EXPECT_EQ(encode(t, "aaaaa"), (std::vector<int32_t>{id_of(t, "aa"), id_of(t, "aa"), 'a'}));
}

TEST(Bpe, IgnoreMergesOnlyForWholePieces) {
  auto json = synthetic_tokenizer_json({{"a", "b"}}, {"abd"});
  const Tokenizer t = load(json);
  EXPECT_EQ(encode(t, "abd"), (std::vector<int32_t>{id_of(t, "abd")}));
  EXPECT_EQ(encode(t, "abdx"), (std::vector<int32_t>{id_of(t, "ab"), 'd', 'x'}));
  json["model"]["ignore_merges"] = false;
  EXPECT_EQ(encode(load(json), "abd"), (std::vector<int32_t>{id_of(t, "ab"), 'd'}));
}

TEST(Bpe, BothMergeFormatsAgree) {
  const Merges merges = {{"e", "r"}, {"t", "h"}, {"th", "e"}, {"the", "r"}, {" ", "the"}};
  auto strings = synthetic_tokenizer_json(merges);
  auto pairs = strings;
  pairs["model"]["merges"] = nlohmann::json::array();
  for (const auto& [left, right] : merges) pairs["model"]["merges"].push_back({byte_level(left), byte_level(right)});
  const std::string text = "other there thither, the rather";
  EXPECT_EQ(encode(load(strings), text), encode(load(pairs), text));
  EXPECT_EQ(encode(load(pairs), " the"), (std::vector<int32_t>{id_of(load(pairs), " the")}));
}

TEST(Bpe, MatchesTheDefinitionOnRandomPieces) {
  // Short pieces take the array path, pieces over 256 bytes the heap path; both must agree
  // with the textbook algorithm.
  std::mt19937 rng(7);
  const std::string alphabet = "abcd";
  Merges merges;
  std::vector<std::string> tokens(alphabet.size());
  for (size_t i = 0; i < alphabet.size(); ++i) tokens[i] = std::string(1, alphabet[i]);
  while (merges.size() < 60) {
    const std::string& left = tokens[rng() % tokens.size()];
    const std::string& right = tokens[rng() % tokens.size()];
    if (left.size() + right.size() > 6) continue;
    bool seen = false;
    for (const auto& m : merges) seen = seen || (m.first + m.second == left + right);
    if (seen) continue;
    merges.emplace_back(left, right);
    tokens.push_back(left + right);
  }
  auto json = synthetic_tokenizer_json(merges);
  json["model"]["ignore_merges"] = false;
  const Tokenizer t = load(json);
  for (const size_t length : {2u, 7u, 31u, 64u, 200u, 256u, 257u, 600u, 2000u}) {
    for (int trial = 0; trial < 5; ++trial) {
      std::string piece;
      for (size_t i = 0; i < length; ++i) piece += alphabet[rng() % alphabet.size()];
      std::vector<int32_t> expected;
      for (const std::string& symbol : reference_bpe(piece, merges)) expected.push_back(id_of(t, symbol));
      EXPECT_EQ(encode(t, piece), expected) << "length " << length;
    }
  }
}

TEST(Bpe, LongPiecesUseEveryMergeLevel) {
  const Tokenizer t = load(synthetic_tokenizer_json({{"a", "a"}, {"aa", "aa"}}));
  const std::vector<int32_t> ids = encode(t, std::string(300, 'a'));
  EXPECT_EQ(ids, std::vector<int32_t>(75, id_of(t, "aaaa")));
  EXPECT_EQ(t.decode(ids, false), std::string(300, 'a'));
}
