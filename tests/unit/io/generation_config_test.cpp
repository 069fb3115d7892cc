// parse_generation_config / load_generation_config: Swallow's file, a missing file, and the
// type and range checks (errors name file and field).
#include <gtest/gtest.h>

#include "io/model_config.h"
#include "io_test_util.h"

using namespace swallow;
using swallow::test::TempDir;
using swallow::test::throws_error;
using swallow::test::write_bytes;

namespace {

// generation_config.json of tokyotech-llm/Llama-3.1-Swallow-8B-Instruct-v0.3.
const char* kSwallow = R"({"bos_token_id": 128000, "do_sample": true, "eos_token_id": [128001, 128008, 128009],
  "temperature": 0.6, "top_p": 0.9, "transformers_version": "4.45.1"})";

GenerationConfig parse(const std::string& text) {
  return parse_generation_config(nlohmann::json::parse(text), "m/generation_config.json");
}

}  // namespace

TEST(GenerationConfig, SwallowFile) {
  GenerationConfig g = parse(kSwallow);
  EXPECT_EQ(g.eos_token_ids, (std::vector<int32_t>{128001, 128008, 128009}));
  EXPECT_EQ(g.bos_token_id, 128000);
  EXPECT_EQ(g.do_sample, true);
  EXPECT_DOUBLE_EQ(g.temperature.value(), 0.6);
  EXPECT_DOUBLE_EQ(g.top_p.value(), 0.9);
  EXPECT_FALSE(g.top_k.has_value());
  EXPECT_FALSE(g.min_p.has_value());
  EXPECT_FALSE(g.repetition_penalty.has_value());
  EXPECT_FALSE(g.max_new_tokens.has_value());
}

TEST(GenerationConfig, AllFieldsAndNulls) {
  GenerationConfig g = parse(R"({"eos_token_id": 2, "top_k": 40, "min_p": 0.05, "repetition_penalty": 1.1,
      "max_new_tokens": 64, "temperature": null, "do_sample": false})");
  EXPECT_EQ(g.eos_token_ids, (std::vector<int32_t>{2}));
  EXPECT_EQ(g.top_k, 40);
  EXPECT_DOUBLE_EQ(g.min_p.value(), 0.05);
  EXPECT_DOUBLE_EQ(g.repetition_penalty.value(), 1.1);
  EXPECT_EQ(g.max_new_tokens, 64);
  EXPECT_FALSE(g.temperature.has_value());
  EXPECT_EQ(g.do_sample, false);
}

TEST(GenerationConfig, BadFieldsAreNamed) {
  EXPECT_TRUE(throws_error([] { parse(R"({"temperature": "hot"})"); }, ErrorKind::kInvalidFile,
                           {"m/generation_config.json", "'temperature'"}));
  EXPECT_TRUE(throws_error([] { parse(R"({"temperature": -1})"); }, ErrorKind::kInvalidFile, {"'temperature'", ">= 0"}));
  EXPECT_TRUE(throws_error([] { parse(R"({"top_p": 1.5})"); }, ErrorKind::kInvalidFile, {"'top_p'"}));
  EXPECT_TRUE(throws_error([] { parse(R"({"min_p": -0.1})"); }, ErrorKind::kInvalidFile, {"'min_p'"}));
  EXPECT_TRUE(throws_error([] { parse(R"({"repetition_penalty": 0})"); }, ErrorKind::kInvalidFile, {"'repetition_penalty'"}));
  EXPECT_TRUE(throws_error([] { parse(R"({"top_k": 1.5})"); }, ErrorKind::kInvalidFile, {"'top_k'"}));
  EXPECT_TRUE(throws_error([] { parse(R"({"do_sample": 1})"); }, ErrorKind::kInvalidFile, {"'do_sample'"}));
  EXPECT_TRUE(throws_error([] { parse(R"({"eos_token_id": [1, 4294967296]})"); }, ErrorKind::kInvalidFile, {"'eos_token_id'"}));
  EXPECT_TRUE(throws_error([] { parse("[]"); }, ErrorKind::kInvalidFile, {"m/generation_config.json", "object"}));
}

TEST(GenerationConfig, LoadFromFolder) {
  TempDir tmp;
  GenerationConfig none = load_generation_config(tmp.dir());
  EXPECT_TRUE(none.eos_token_ids.empty());
  EXPECT_FALSE(none.temperature.has_value());
  write_bytes(tmp.path("generation_config.json"), kSwallow);
  EXPECT_DOUBLE_EQ(load_generation_config(tmp.dir()).top_p.value(), 0.9);
  write_bytes(tmp.path("generation_config.json"), "{");
  EXPECT_TRUE(throws_error([&] { load_generation_config(tmp.dir()); }, ErrorKind::kInvalidFile,
                           {tmp.path("generation_config.json"), "not valid JSON"}));
}
