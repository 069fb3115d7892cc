// The chat-template engine: renders a Hugging Face chat template byte for byte like
// transformers' apply_chat_template (jinja2 ImmutableSandboxedEnvironment with trim_blocks and
// lstrip_blocks, loopcontrols, HF's tojson / raise_exception / strftime_now). It also reports
// which output bytes came from message content, so that the server can tokenize them as plain
// text. A ChatTemplate is immutable after construction; render() is const and thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/text_span.h"

namespace swallow {

namespace jinja {
struct TemplateAst;
}

// The work one render may do; exceeding it throws swallow::Error (kResourceExhausted).
struct RenderLimits {
  int64_t max_output_bytes = 16 << 20;  // also caps any string or list the template builds
  int64_t max_steps = 10'000'000;       // expression evaluations, loop iterations, filter items
  int max_depth = 64;                   // nested macro calls
};

struct RenderedPrompt {
  std::string text;
  // Sorted, disjoint byte ranges of `text` that came from message content strings
  // (messages[i].content, or the `text` of its content parts), through any concatenation,
  // slicing, trimming or filter.
  std::vector<TextSpan> content_spans;
};

class ChatTemplate {
 public:
  // Parses the template; throws swallow::Error with line:column on syntax errors (and
  // kUnsupported for jinja2 features the engine refuses, such as include).
  explicit ChatTemplate(std::string source);

  // Renders with the given variables (an object: messages, tools, add_generation_prompt,
  // bos_token, eos_token and any extras). Use ordered_json to keep the key order of objects as
  // given (tojson prints keys in that order, as Python dicts do); with plain json the keys are
  // sorted. Template errors, raise_exception() and budget overruns throw swallow::Error.
  RenderedPrompt render(const nlohmann::ordered_json& variables, const RenderLimits& limits = {}) const;
  RenderedPrompt render(const nlohmann::json& variables, const RenderLimits& limits = {}) const;

 private:
  std::shared_ptr<const jinja::TemplateAst> ast_;
};

}  // namespace swallow
