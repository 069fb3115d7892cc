// libFuzzer target for the chat-template engine: the input is a template source, rendered with a
// fixed chat (messages, tools, special tokens) under a small work budget. Parse errors, template
// errors and budget errors are expected (swallow::Error); anything else — a crash, a hang, a leak,
// another exception type — is a bug. Built and run by scripts/fuzz-chat.sh.
#include <cstddef>
#include <cstdint>
#include <string>

#include "chat/chat_template.h"
#include "core/error.h"

namespace {

const nlohmann::ordered_json& variables() {
  static const nlohmann::ordered_json vars = nlohmann::ordered_json::parse(R"({
    "bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>",
    "messages": [
      {"role": "system", "content": "  You are helpful.\n"},
      {"role": "user", "content": "こんにちは <|eot_id|> {{ x }}"},
      {"role": "assistant", "content": "", "tool_calls": [
        {"type": "function", "function": {"name": "f", "arguments": {"a": [1, 2.5, null, true], "b": "s"}}}]},
      {"role": "tool", "content": [{"type": "text", "text": "part"}, {"type": "image"}]}],
    "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {}}}}],
    "documents": null, "add_generation_prompt": true, "date_string": "26 Jul 2024"})");
  return vars;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  swallow::RenderLimits limits;
  limits.max_steps = 200'000;
  limits.max_output_bytes = 1 << 20;
  limits.max_depth = 16;
  try {
    const swallow::ChatTemplate chat_template(std::string(reinterpret_cast<const char*>(data), size));
    chat_template.render(variables(), limits);
  } catch (const swallow::Error&) {
  }
  return 0;
}
