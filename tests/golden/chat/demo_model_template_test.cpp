// The shipped demo model's chat template and tokenizer against transformers: for each chat in
// tests/golden/model/data/tiny-demo-ja/golden.json (tools/train_demo/make_goldens.py), the
// engine renders the same prompt text as apply_chat_template(add_generation_prompt=True) and
// encodes it (content as plain text) to the same ids.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "chat/chat_template.h"
#include "chat/template_variables.h"
#include "chat/tokenizer_config.h"
#include "core/mmap_file.h"
#include "support/test_support.h"
#include "tokenizer/tokenizer.h"

namespace swallow {
namespace {

TEST(DemoModelTemplate, RendersAndEncodesLikeTransformers) {
  const std::string golden_path = test::source_path("tests/golden/model/data/tiny-demo-ja/golden.json");
  const auto golden = nlohmann::ordered_json::parse(read_file(golden_path));
  const std::string model_dir = test::source_path(golden["model_dir"].get<std::string>());
  const TokenizerConfig config = load_tokenizer_config(model_dir);
  const ChatTemplate chat_template(config.template_for(false));
  const Tokenizer tokenizer = Tokenizer::from_model_dir(model_dir);
  ASSERT_FALSE(golden["prompts"].empty());
  for (const auto& prompt : golden["prompts"]) {
    const RenderedPrompt rendered = chat_template.render(
        make_template_variables(config, {.messages = prompt["messages"], .add_generation_prompt = true}));
    EXPECT_EQ(rendered.text, prompt["rendered"].get<std::string>());
    EXPECT_EQ(tokenizer.encode_with_plain_spans(rendered.text, rendered.content_spans, false),
              prompt["ids"].get<std::vector<int32_t>>())
        << rendered.text;
  }
}

}  // namespace
}  // namespace swallow
