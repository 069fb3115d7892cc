// OpenAI error JSON and the status mapping of library errors.
#include "server/api_error.h"

namespace swallow::server {

nlohmann::json ApiError::to_json() const {
  nlohmann::json error = {{"message", what()}, {"type", type_}, {"param", nullptr}, {"code", nullptr}};
  if (param_) error["param"] = *param_;
  if (code_) error["code"] = *code_;
  return {{"error", std::move(error)}};
}

ApiError bad_param(const std::string& param, const std::string& message, const std::string& code) {
  return ApiError(400, "invalid_request_error", param + ": " + message, param, code);
}

ApiError bad_request(const std::string& message, const std::string& code) {
  return ApiError(400, "invalid_request_error", message, std::nullopt, code);
}

ApiError unauthorized() {
  return ApiError(401, "authentication_error", "invalid or missing API key (send 'Authorization: Bearer KEY')",
                  std::nullopt, "invalid_api_key");
}

ApiError not_found_error(const std::string& message, const std::string& code) {
  return ApiError(404, "not_found_error", message, std::nullopt, code);
}

ApiError payload_too_large(size_t limit_bytes) {
  return ApiError(413, "invalid_request_error",
                  "request body is larger than the limit of " + std::to_string(limit_bytes) + " bytes (--max-body-bytes)",
                  std::nullopt, "payload_too_large");
}

ApiError too_many_requests(const std::string& message) {
  return ApiError(429, "rate_limit_error", message, std::nullopt, "queue_full");
}

ApiError unavailable(const std::string& message) {
  return ApiError(503, "service_unavailable_error", message, std::nullopt, "unavailable");
}

ApiError internal_server_error(const std::string& message) {
  return ApiError(500, "internal_server_error", message, std::nullopt, "internal_error");
}

ApiError from_library_error(const Error& error) {
  switch (error.kind()) {
    case ErrorKind::kInvalidArgument:
    case ErrorKind::kNotFound:
    case ErrorKind::kUnsupported:
      return bad_request(error.what());
    case ErrorKind::kResourceExhausted:
      return too_many_requests(error.what());
    case ErrorKind::kInvalidFile:
    case ErrorKind::kInternal:
      break;
  }
  return internal_server_error(error.what());
}

}  // namespace swallow::server
