// tokenizer_config.json loading (template forms, AddedToken specials, chat_template.jinja
// precedence, errors) and the apply_chat_template variables built from it.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "chat/template_variables.h"
#include "chat/tokenizer_config.h"
#include "core/error.h"
#include "core/mmap_file.h"
#include "support/test_support.h"

namespace swallow::test {
namespace {

class TokenizerConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("swallow_chat_config_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void write(const std::string& name, const std::string& text) { std::ofstream(dir_ / name, std::ios::binary) << text; }
  std::filesystem::path dir_;
};

TEST_F(TokenizerConfigTest, ReadsStringTemplateAndTokens) {
  write("tokenizer_config.json",
        R"({"bos_token": "<s>", "eos_token": {"__type": "AddedToken", "content": "</s>", "lstrip": false},
            "pad_token": null, "unk_token": "<unk>", "chat_template": "{{ bos_token }}"})");
  const TokenizerConfig config = load_tokenizer_config(dir_.string());
  EXPECT_EQ(config.chat_template, "{{ bos_token }}");
  EXPECT_EQ(config.bos_token, "<s>");
  EXPECT_EQ(config.eos_token, "</s>");
  EXPECT_EQ(config.special_tokens,
            (std::vector<std::pair<std::string, std::string>>{{"bos_token", "<s>"}, {"eos_token", "</s>"}, {"unk_token", "<unk>"}}));
  EXPECT_EQ(load_tokenizer_config((dir_ / "tokenizer_config.json").string()).chat_template, "{{ bos_token }}");
}

TEST_F(TokenizerConfigTest, NamedTemplatesPickDefaultOrToolUse) {
  write("tokenizer_config.json",
        R"({"chat_template": [{"name": "default", "template": "D"}, {"name": "tool_use", "template": "T"},
                              {"name": "rag", "template": "R"}]})");
  const TokenizerConfig config = load_tokenizer_config(dir_.string());
  EXPECT_EQ(config.template_for(false), "D");
  EXPECT_EQ(config.template_for(true), "T");
  EXPECT_EQ(config.bos_token, "");
}

TEST_F(TokenizerConfigTest, ChatTemplateJinjaFileTakesPrecedence) {
  write("tokenizer_config.json", R"({"chat_template": "from config"})");
  write("chat_template.jinja", "from file\n");
  EXPECT_EQ(load_tokenizer_config(dir_.string()).chat_template, "from file\n");
}

TEST_F(TokenizerConfigTest, ErrorsNameTheFile) {
  try {
    load_tokenizer_config((dir_ / "missing").string());
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kNotFound);
  }
  write("tokenizer_config.json", "{not json");
  try {
    load_tokenizer_config(dir_.string());
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidFile);
    EXPECT_NE(std::string(e.what()).find("tokenizer_config.json"), std::string::npos);
  }
  write("tokenizer_config.json", R"({"bos_token": 5})");
  EXPECT_THROW(load_tokenizer_config(dir_.string()), Error);
  write("tokenizer_config.json", "{}");
  try {
    (void)load_tokenizer_config(dir_.string()).template_for(false);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kNotFound);
  }
}

TEST(TemplateVariables, FollowApplyChatTemplate) {
  TokenizerConfig config;
  config.special_tokens = {{"bos_token", "<s>"}, {"eos_token", "</s>"}};
  ChatTemplateInputs inputs;
  inputs.messages = nlohmann::ordered_json::parse(R"([{"role": "user", "content": "hi"}])");
  inputs.extra = nlohmann::ordered_json::parse(R"({"date_string": "1 Jan 2025", "bos_token": "<override>"})");
  const nlohmann::ordered_json variables = make_template_variables(config, inputs);
  EXPECT_EQ(variables.dump(),
            R"({"bos_token":"<override>","eos_token":"</s>","date_string":"1 Jan 2025","messages":[{"role":"user","content":"hi"}],)"
            R"("tools":null,"documents":null,"add_generation_prompt":false})");
}

// The Llama 3 template shipped with the npm test package is the one in tests/golden/chat/templates.
TEST(TokenizerConfigData, Llama31TokenizerConfig) {
  const std::string dir = llama31_tokenizer_dir();
  REQUIRE_TEST_DATA(dir, "Llama 3.1 tokenizer_config.json");
  const TokenizerConfig config = load_tokenizer_config(dir);
  EXPECT_EQ(config.bos_token, "<|begin_of_text|>");
  EXPECT_EQ(config.eos_token, "<|eot_id|>");
  EXPECT_EQ(config.template_for(false), read_file(source_path("tests/golden/chat/templates/llama-3-basic.jinja")));
}

}  // namespace
}  // namespace swallow::test
