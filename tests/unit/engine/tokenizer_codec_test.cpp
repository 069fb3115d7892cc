// TokenizerCodec over the tiny synthetic tokenizer: completion prompts get BOS, chat prompts get
// the template's BOS only and plain-text content, the streaming decoder emits whole UTF-8
// characters and drops special tokens, and the engine's stop strings work on that text.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "engine/output_processor.h"
#include "engine/tokenizer_codec.h"
#include "tiny_tokenizer.h"

namespace swallow {
namespace {

using test::kBos;
using test::kEot;
using test::tiny_tokenizer;

TEST(TokenizerCodec, CompletionPromptGetsBos) {
  TokenizerCodec codec(tiny_tokenizer(), std::nullopt);
  GenerationRequest r;
  r.prompt_text = "hello<|eot_id|>";
  EXPECT_EQ(codec.encode_prompt(r), (std::vector<int32_t>{kBos, 259, kEot}));
  r.prompt_text.reset();
  r.prompt_ids = std::vector<int32_t>{5, 6};
  EXPECT_EQ(codec.encode_prompt(r), (std::vector<int32_t>{5, 6}));
}

TEST(TokenizerCodec, ChatNeedsATemplate) {
  TokenizerCodec codec(tiny_tokenizer(), std::nullopt);
  GenerationRequest r;
  r.chat = nlohmann::ordered_json{{"messages", {{{"role", "user"}, {"content", "hi"}}}}};
  EXPECT_THROW(codec.encode_prompt(r), Error);
}

TokenizerConfig tiny_chat_config() {
  TokenizerConfig config;
  config.chat_template =
      "{{ bos_token }}{% for m in messages %}{{ m['role'] }}:{{ m['content'] }}<|eot_id|>{% endfor %}"
      "{% if add_generation_prompt %}{{ greeting }}{% endif %}";
  config.bos_token = "<|begin_of_text|>";
  config.eos_token = "<|eot_id|>";
  config.special_tokens = {{"bos_token", config.bos_token}, {"eos_token", config.eos_token}};
  return config;
}

std::vector<int32_t> bytes_of(const std::string& text) {
  std::vector<int32_t> ids;
  for (unsigned char c : text) ids.push_back(c);
  return ids;
}

TEST(TokenizerCodec, ChatContentIsPlainTextUnlessAllowed) {
  TokenizerCodec codec(tiny_tokenizer(), tiny_chat_config());
  GenerationRequest r;
  r.chat = nlohmann::ordered_json{{"messages", {{{"role", "u"}, {"content", "<|eot_id|>"}}}}, {"greeting", "a:"}};
  // One BOS (from the template), the content's special-token text as bytes, the template's as its id.
  std::vector<int32_t> expected = {kBos};
  for (int32_t id : bytes_of("u:<|eot_id|>")) expected.push_back(id);
  expected.push_back(kEot);
  for (int32_t id : bytes_of("a:")) expected.push_back(id);
  EXPECT_EQ(codec.encode_prompt(r), expected);

  r.allow_special_in_content = true;
  r.add_generation_prompt = false;
  std::vector<int32_t> injected = {kBos};
  for (int32_t id : bytes_of("u:")) injected.push_back(id);
  injected.push_back(kEot);
  injected.push_back(kEot);
  EXPECT_EQ(codec.encode_prompt(r), injected);
}

TEST(TokenizerCodec, DecoderEmitsWholeCharactersAndSkipsSpecials) {
  TokenizerCodec codec(tiny_tokenizer(), std::nullopt);
  auto decoder = codec.new_decoder(/*skip_special_tokens=*/true);
  EXPECT_EQ(decoder->push(259), "hello");
  EXPECT_EQ(decoder->push(0xE3), "");  // "あ" is E3 81 82
  EXPECT_EQ(decoder->push(0x81), "");
  EXPECT_EQ(decoder->push(0x82), "あ");
  EXPECT_EQ(decoder->push(kEot), "");
  EXPECT_EQ(decoder->push(0xC3), "");
  EXPECT_EQ(decoder->finish(), "\xEF\xBF\xBD");  // an unfinished character becomes U+FFFD
  auto keeping = codec.new_decoder(false);
  EXPECT_EQ(keeping->push(kEot), "<|eot_id|>");
}

TEST(TokenizerCodec, StopStringInsideAMultiByteSequence) {
  TokenizerCodec codec(tiny_tokenizer(), std::nullopt);
  StopRules rules;
  rules.stop = {"あい"};
  rules.max_tokens = 20;
  OutputProcessor output(rules, codec.new_decoder(true));
  // "hello" "あ" "い" ("い" is E3 81 84), fed byte by byte.
  std::string text;
  std::optional<FinishReason> reason;
  int32_t n = 0;
  for (int32_t token : {259, 0xE3, 0x81, 0x82, 0xE3, 0x81, 0x84, 0x21}) {
    RequestEvent event;
    SampledToken sampled;
    sampled.token = token;
    reason = output.add(sampled, ++n, event);
    text += event.text;
    if (reason) break;
  }
  EXPECT_EQ(reason, FinishReason::kStop);
  EXPECT_EQ(n, 7);
  EXPECT_EQ(text, "hello");
}

}  // namespace
}  // namespace swallow
