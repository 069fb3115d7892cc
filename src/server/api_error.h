// OpenAI-style API errors: what the server answers for anything a client got wrong (or that
// the server cannot do right now), as {"error": {"message", "type", "param", "code"}} with an
// HTTP status. Request parsing and handlers throw ApiError; the HTTP layer turns it into a
// response. Plain data, no thread-safety concerns.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace swallow::server {

class ApiError : public std::runtime_error {
 public:
  ApiError(int status, std::string type, const std::string& message, std::optional<std::string> param = std::nullopt,
           std::optional<std::string> code = std::nullopt)
      : std::runtime_error(message), status_(status), type_(std::move(type)), param_(std::move(param)),
        code_(std::move(code)) {}

  int status() const { return status_; }
  const std::string& type() const { return type_; }
  const std::optional<std::string>& param() const { return param_; }
  const std::optional<std::string>& code() const { return code_; }
  nlohmann::json to_json() const;

 private:
  int status_;
  std::string type_;
  std::optional<std::string> param_;
  std::optional<std::string> code_;
};

// 400 invalid_request_error naming the parameter, e.g. bad_param("temperature", "must be >= 0").
ApiError bad_param(const std::string& param, const std::string& message, const std::string& code = "invalid_value");
ApiError bad_request(const std::string& message, const std::string& code = "invalid_request");
ApiError unauthorized();
ApiError not_found_error(const std::string& message, const std::string& code = "not_found");
ApiError payload_too_large(size_t limit_bytes);
ApiError too_many_requests(const std::string& message);
ApiError unavailable(const std::string& message);
ApiError internal_server_error(const std::string& message);

// Maps a library error raised while handling a request (engine submit, tokenizer) to the
// status a client should see: bad input 400, queue full 429, everything else 500.
ApiError from_library_error(const Error& error);

}  // namespace swallow::server
