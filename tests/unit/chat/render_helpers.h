// Helpers for the chat-template unit tests: render a template source with variables given as
// JSON text (key order preserved), compare renderings with jinja2's text, capture the
// swallow::Error a render or parse throws, and the conversations the tests render.
#pragma once

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "chat/chat_template.h"
#include "core/error.h"

namespace swallow::test {

// Variables with a system, user and assistant message.
inline constexpr char kThreeMessages[] =
    R"({"messages": [{"role": "system", "content": "  Be brief.  "}, {"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]})";
// Variables with a system, user, assistant and a Japanese user message.
inline constexpr char kFourMessages[] =
    R"({"messages": [{"role": "system", "content": "  Be brief.  "}, {"role": "user", "content": "Hi there"}, {"role": "assistant", "content": "Hello"}, {"role": "user", "content": "日本語で"}]})";

inline RenderedPrompt render_prompt(const std::string& source, const std::string& variables_json = "{}",
                                    const RenderLimits& limits = {}) {
  return ChatTemplate(source).render(nlohmann::ordered_json::parse(variables_json), limits);
}

inline std::string render(const std::string& source, const std::string& variables_json = "{}") {
  return render_prompt(source, variables_json).text;
}

// A template source and the text jinja2 renders it to.
struct Rendering {
  std::string source;
  std::string expected;
};

// Renders each source with the variables and expects jinja2's text.
inline void expect_renders(const std::string& variables_json, const std::vector<Rendering>& renderings) {
  for (const Rendering& r : renderings) EXPECT_EQ(render(r.source, variables_json), r.expected) << "template: " << r.source;
}

inline void expect_renders(const std::vector<Rendering>& renderings) { expect_renders("{}", renderings); }

// The error that parsing + rendering `source` throws, or nullopt when it renders.
inline std::optional<Error> render_error(const std::string& source, const std::string& variables_json = "{}",
                                         const RenderLimits& limits = {}) {
  try {
    render_prompt(source, variables_json, limits);
  } catch (const Error& e) {
    return e;
  }
  return std::nullopt;
}

}  // namespace swallow::test
