// Constructors for swallow::Error.
#include "core/error.h"

namespace swallow {

const char* error_kind_name(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kInvalidArgument: return "invalid_argument";
    case ErrorKind::kNotFound: return "not_found";
    case ErrorKind::kInvalidFile: return "invalid_file";
    case ErrorKind::kUnsupported: return "unsupported";
    case ErrorKind::kResourceExhausted: return "resource_exhausted";
    case ErrorKind::kInternal: return "internal";
  }
  return "unknown";
}

Error invalid_argument(const std::string& message) { return Error(ErrorKind::kInvalidArgument, message); }
Error not_found(const std::string& message) { return Error(ErrorKind::kNotFound, message); }
Error invalid_file(const std::string& path, const std::string& message) {
  return Error(ErrorKind::kInvalidFile, path + ": " + message);
}
Error unsupported(const std::string& message) { return Error(ErrorKind::kUnsupported, message); }
Error resource_exhausted(const std::string& message) { return Error(ErrorKind::kResourceExhausted, message); }
Error internal_error(const std::string& message) { return Error(ErrorKind::kInternal, message); }

}  // namespace swallow
