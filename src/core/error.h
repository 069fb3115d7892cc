// The one error type of the library. Library code throws swallow::Error with a message a user
// can act on (which file, which tensor, which field, what was expected); front ends catch it,
// print one line and exit non-zero (CLI) or map it to an HTTP status (server).
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace swallow {

enum class ErrorKind {
  kInvalidArgument,  // bad user input: flags, request fields, text that cannot be processed
  kNotFound,         // a file, tensor, token or model that does not exist
  kInvalidFile,      // a file that exists but is malformed (config, safetensors, tokenizer)
  kUnsupported,      // a valid feature this program does not implement
  kResourceExhausted,// memory, KV cache, queue or work budget exhausted
  kInternal,         // a bug or an unexpected failure of a system call or device
};

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  ErrorKind kind() const { return kind_; }

 private:
  ErrorKind kind_;
};

const char* error_kind_name(ErrorKind kind);

// Shorthands that read well at the throw site: throw invalid_argument("--threads must be > 0").
Error invalid_argument(const std::string& message);
Error not_found(const std::string& message);
Error invalid_file(const std::string& path, const std::string& message);
Error unsupported(const std::string& message);
Error resource_exhausted(const std::string& message);
Error internal_error(const std::string& message);

}  // namespace swallow
