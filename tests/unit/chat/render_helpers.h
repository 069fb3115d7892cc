// Helpers for the chat-template unit tests: render a template source with variables given as
// JSON text (key order preserved), and capture the swallow::Error a render or parse throws.
#pragma once

#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "chat/chat_template.h"
#include "core/error.h"

namespace swallow::test {

inline RenderedPrompt render_prompt(const std::string& source, const std::string& variables_json = "{}",
                                    const RenderLimits& limits = {}) {
  return ChatTemplate(source).render(nlohmann::ordered_json::parse(variables_json), limits);
}

inline std::string render(const std::string& source, const std::string& variables_json = "{}") {
  return render_prompt(source, variables_json).text;
}

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
