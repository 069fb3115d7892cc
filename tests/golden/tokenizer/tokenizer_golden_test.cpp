// Every case of tests/golden/tokenizer/data/tokenizer_goldens.jsonl (made by
// tools/tokenizer/make_goldens.py with HF tokenizers from corpus.jsonl) must match: encode with
// added tokens recognised, with the BOS template, with special tokens as plain text, with the
// GPT-2 split regex; decode with and without special tokens, and streaming decode.
// Missing goldens or tokenizer: a failure under CI=true, a skip elsewhere.
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "core/mmap_file.h"
#include "support/test_support.h"
#include "tokenizer/tokenizer.h"

using namespace swallow;
using nlohmann::json;
using Ids = std::vector<int32_t>;

namespace {

std::string goldens_path() {
  const std::string path = test::source_path("tests/golden/tokenizer/data/tokenizer_goldens.jsonl");
  return std::filesystem::exists(path) ? path : std::string();
}

std::vector<json> read_jsonl(const std::string& path) {
  std::vector<json> records;
  std::ifstream in(path, std::ios::binary);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) records.push_back(json::parse(line));
  }
  return records;
}

// First 16 hex digits of SHA-256, as make_goldens.py identifies corpus texts.
std::string short_sha256(const std::string& text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(text.data(), text.size(), digest, &length, EVP_sha256(), nullptr);
  static const char* kHex = "0123456789abcdef";
  std::string hex;
  for (unsigned i = 0; i < 8; ++i) {
    hex += kHex[digest[i] >> 4];
    hex += kHex[digest[i] & 15];
  }
  return hex;
}

std::string ids_text(const Ids& ids) { return json(ids).dump(); }

class Goldens : public ::testing::Test {
 protected:
  void SetUp() override {
    REQUIRE_TEST_DATA(test::llama31_tokenizer_dir(), "Llama 3.1 tokenizer");
    REQUIRE_TEST_DATA(goldens_path(),
                      "tests/golden/tokenizer/data/tokenizer_goldens.jsonl (run tools/tokenizer/make_goldens.py)");
    records_ = read_jsonl(goldens_path());
    ASSERT_FALSE(records_.empty());
    ASSERT_TRUE(records_[0].contains("header"));
    for (const json& r : read_jsonl(test::source_path("tests/golden/tokenizer/data/corpus.jsonl"))) {
      texts_.push_back(r.at("text").get<std::string>());
    }
    tokenizer_json_ = test::llama31_tokenizer_dir() + "/tokenizer.json";
  }

  // The corpus text of an encode record, checked against the hash the goldens recorded.
  const std::string* text_of(const json& record) {
    const size_t i = record.at("i").get<size_t>();
    if (i >= texts_.size() || short_sha256(texts_[i]) != record.at("sha").get<std::string>()) {
      ADD_FAILURE() << "corpus case " << i << " is not the text the goldens were made from; "
                    << "rerun tools/tokenizer/make_goldens.py";
      return nullptr;
    }
    return &texts_[i];
  }

  // Compares encodings of every record of `kind` that has `field`; reports the first mismatches.
  void check_encodings(const Tokenizer& t, const std::string& kind, const std::string& field,
                       const EncodeOptions& options) {
    size_t checked = 0;
    size_t mismatches = 0;
    for (const json& record : records_) {
      if (record.value("kind", "") != kind || !record.contains(field)) continue;
      const std::string* text = text_of(record);
      if (text == nullptr) return;
      const Ids expected = record.at(field).get<Ids>();
      const Ids actual = t.encode(*text, options);
      ++checked;
      if (actual != expected && ++mismatches <= 10) {
        ADD_FAILURE() << kind << "." << field << " case " << record.at("i") << " text " << json(*text).dump()
                      << "\n  HF:      " << ids_text(expected) << "\n  swallow: " << ids_text(actual);
      }
    }
    EXPECT_EQ(mismatches, 0u) << "of " << checked << " cases";
    EXPECT_GT(checked, 0u);
  }

  std::vector<json> records_;
  std::vector<std::string> texts_;
  std::string tokenizer_json_;
};

}  // namespace

TEST_F(Goldens, EncodeRecognisingAddedTokens) {
  check_encodings(Tokenizer::from_file(tokenizer_json_), "encode", "ids",
                  {.add_special_tokens = false, .parse_special = true});
}

TEST_F(Goldens, EncodeWithTheBosTemplate) {
  check_encodings(Tokenizer::from_file(tokenizer_json_), "encode", "ids_bos",
                  {.add_special_tokens = true, .parse_special = true});
}

TEST_F(Goldens, EncodeSpecialTokenTextAsPlainText) {
  // Records without ids_plain are cases where HF's encode_special_tokens=true gives `ids`.
  const Tokenizer t = Tokenizer::from_file(tokenizer_json_);
  size_t mismatches = 0;
  for (const json& record : records_) {
    if (record.value("kind", "") != "encode") continue;
    const std::string* text = text_of(record);
    if (text == nullptr) return;
    const Ids expected = record.at(record.contains("ids_plain") ? "ids_plain" : "ids").get<Ids>();
    const Ids actual = t.encode(*text, {.add_special_tokens = false, .parse_special = false});
    if (actual != expected && ++mismatches <= 10) {
      ADD_FAILURE() << "case " << record.at("i") << " text " << json(*text).dump() << "\n  HF:      "
                    << ids_text(expected) << "\n  swallow: " << ids_text(actual);
    }
  }
  EXPECT_EQ(mismatches, 0u);
}

TEST_F(Goldens, EncodeWithTheGpt2SplitRegex) {
  json variant = json::parse(read_file(tokenizer_json_));
  variant["pre_tokenizer"] = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true},
                              {"use_regex", true}};
  check_encodings(Tokenizer::from_json_text(variant.dump(), "gpt2 variant of " + tokenizer_json_), "gpt2", "ids",
                  {.add_special_tokens = false, .parse_special = true});
}

TEST_F(Goldens, DecodeAndStreamingDecode) {
  const Tokenizer t = Tokenizer::from_file(tokenizer_json_);
  size_t checked = 0;
  size_t mismatches = 0;
  for (const json& record : records_) {
    if (record.value("kind", "") != "decode") continue;
    const Ids ids = record.at("ids").get<Ids>();
    for (const bool skip : {false, true}) {
      const std::string expected = record.at(skip ? "text_skip" : "text").get<std::string>();
      StreamingDetokenizer stream(t, skip);
      std::string streamed;
      for (const int32_t id : ids) streamed += stream.push(id);
      streamed += stream.finish();
      const std::string decoded = t.decode(ids, skip);
      ++checked;
      if ((decoded != expected || streamed != expected) && ++mismatches <= 10) {
        ADD_FAILURE() << "decode(" << ids_text(ids) << ", skip_special_tokens=" << skip << ")\n  HF:        "
                      << json(expected).dump() << "\n  decode:    " << json(decoded).dump()
                      << "\n  streaming: " << json(streamed).dump();
      }
    }
  }
  EXPECT_EQ(mismatches, 0u) << "of " << checked << " cases";
  EXPECT_GT(checked, 0u);
}
