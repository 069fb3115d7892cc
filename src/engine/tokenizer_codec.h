// The engine's TextCodec over the real Tokenizer and the model's chat template: completion text
// is encoded with the tokenizer's BOS (special-token text parsed, as HF does); chat requests are
// rendered with the template and the variables apply_chat_template passes (special tokens,
// extras, messages, tools, add_generation_prompt), then encoded without a second BOS, with
// message content as plain text unless allow_special_in_content. Immutable; thread-safe.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "chat/chat_template.h"
#include "chat/tokenizer_config.h"
#include "engine/text_codec.h"
#include "tokenizer/tokenizer.h"

namespace swallow {

class TokenizerCodec final : public TextCodec {
 public:
  // Parses the chat templates of `chat_config` (throws swallow::Error for a malformed one).
  TokenizerCodec(const Tokenizer& tokenizer, std::optional<TokenizerConfig> chat_config);

  std::vector<int32_t> encode_prompt(const GenerationRequest& request) const override;
  std::unique_ptr<IncrementalDecoder> new_decoder(bool skip_special_tokens) const override;

 private:
  std::vector<int32_t> encode_chat(const GenerationRequest& request) const;

  Tokenizer tokenizer_;
  std::optional<TokenizerConfig> config_;
  std::optional<ChatTemplate> template_;           // the default template
  std::optional<ChatTemplate> tool_use_template_;  // used when the request has tools
};

}  // namespace swallow
