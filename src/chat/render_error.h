// The exception that template evaluation throws internally. ChatTemplate::render turns it into a
// swallow::Error with the template line:column where it happened (raise_exception's message is
// passed through unchanged, as Hugging Face does).
#pragma once

#include <stdexcept>
#include <string>

namespace swallow::jinja {

enum class FailureKind {
  kTemplate,     // jinja2 TypeError / UndefinedError / SecurityError and the like
  kRaised,       // the template called raise_exception(message)
  kBudget,       // RenderLimits exceeded
  kUnsupported,  // valid jinja2 that this engine does not implement
};

class RenderFailure : public std::runtime_error {
 public:
  RenderFailure(FailureKind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  FailureKind kind() const { return kind_; }

 private:
  FailureKind kind_;
};

[[noreturn]] inline void fail(const std::string& message) { throw RenderFailure(FailureKind::kTemplate, message); }
[[noreturn]] inline void fail_unsupported(const std::string& message) {
  throw RenderFailure(FailureKind::kUnsupported, message);
}

}  // namespace swallow::jinja
