// TokenizerCodec: prompt encoding and streaming detokenization with the model's tokenizer.
#include "engine/tokenizer_codec.h"

#include "chat/template_variables.h"
#include "core/error.h"

namespace swallow {
namespace {

class Detokenizer final : public IncrementalDecoder {
 public:
  Detokenizer(const Tokenizer& tokenizer, bool skip_special_tokens) : stream_(tokenizer, skip_special_tokens) {}
  std::string push(int32_t token) override { return stream_.push(token); }
  std::string finish() override { return stream_.finish(); }

 private:
  StreamingDetokenizer stream_;
};

}  // namespace

TokenizerCodec::TokenizerCodec(const Tokenizer& tokenizer, std::optional<TokenizerConfig> chat_config)
    : tokenizer_(tokenizer), config_(std::move(chat_config)) {
  if (!config_) return;
  if (config_->chat_template) template_.emplace(*config_->chat_template);
  if (config_->tool_use_chat_template) tool_use_template_.emplace(*config_->tool_use_chat_template);
}

std::vector<int32_t> TokenizerCodec::encode_prompt(const GenerationRequest& request) const {
  if (request.prompt_ids) return *request.prompt_ids;
  if (request.prompt_text) return tokenizer_.encode(*request.prompt_text, {.add_special_tokens = true, .parse_special = true});
  return encode_chat(request);
}

std::vector<int32_t> TokenizerCodec::encode_chat(const GenerationRequest& request) const {
  ChatTemplateInputs inputs;
  for (const auto& [key, value] : request.chat->items()) {
    if (key == "messages") {
      inputs.messages = value;
    } else if (key == "tools") {
      if (!value.is_null()) inputs.tools = value;
    } else {
      inputs.extra[key] = value;
    }
  }
  inputs.add_generation_prompt = request.add_generation_prompt;
  const ChatTemplate* chat_template = inputs.tools && tool_use_template_ ? &*tool_use_template_
                                      : template_                        ? &*template_
                                                                         : nullptr;
  if (chat_template == nullptr) throw invalid_argument("'messages' cannot be used: this model has no chat template");
  RenderedPrompt prompt = chat_template->render(make_template_variables(*config_, inputs));
  if (request.allow_special_in_content) {
    return tokenizer_.encode(prompt.text, {.add_special_tokens = false, .parse_special = true});
  }
  return tokenizer_.encode_with_plain_spans(prompt.text, prompt.content_spans, /*add_special_tokens=*/false);
}

std::unique_ptr<IncrementalDecoder> TokenizerCodec::new_decoder(bool skip_special_tokens) const {
  return std::make_unique<Detokenizer>(tokenizer_, skip_special_tokens);
}

}  // namespace swallow
