// The real ModelText: the model's Tokenizer plus the same TokenizerCodec the engine uses, so
// /tokenize gives exactly the ids the engine would compute. Immutable; thread-safe.
#pragma once

#include <optional>

#include "engine/tokenizer_codec.h"
#include "server/model_text.h"
#include "tokenizer/tokenizer.h"

namespace swallow::server {

class TokenizerModelText final : public ModelText {
 public:
  TokenizerModelText(const Tokenizer& tokenizer, std::optional<TokenizerConfig> chat_config)
      : tokenizer_(tokenizer), codec_(tokenizer, std::move(chat_config)) {}

  std::vector<int32_t> tokenize(const GenerationRequest& prompt, bool add_special_tokens) const override;
  std::string detokenize(const std::vector<int32_t>& ids) const override { return tokenizer_.decode(ids, false); }
  std::string token_bytes(int32_t id) const override { return std::string(tokenizer_.token_bytes(id)); }

 private:
  Tokenizer tokenizer_;
  TokenizerCodec codec_;
};

}  // namespace swallow::server
