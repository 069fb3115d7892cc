// HTTP/1.1 messages as the server sees them: parsing a request head (request line + headers)
// with strict limits, decoding the path, and formatting response heads. Pure functions and
// plain data; the socket side is http_server.h.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace swallow::server {

struct HttpRequest {
  std::string method;
  std::string target;  // as sent
  std::string path;    // percent-decoded path, query removed; never contains "\0"
  std::string query;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-case, in order
  std::string body;
  bool keep_alive = true;
  bool expect_continue = false;
  size_t content_length = 0;

  // First value of a header (name lower-case), or nullptr.
  const std::string* header(std::string_view name) const;
  size_t header_count(std::string_view name) const;
};

// Why a request head is refused; the server answers with `status` and closes the connection.
struct HttpParseError {
  int status = 400;
  std::string message;
};

// Parses everything before the blank line (without the final "\r\n\r\n"). Returns the
// request, or the error to answer with: 400 malformed, 411 chunked bodies (unsupported), 505
// HTTP versions other than 1.0/1.1, 414 request targets over 8 KiB.
struct ParsedHead {
  std::optional<HttpRequest> request;
  HttpParseError error;
};
ParsedHead parse_request_head(std::string_view head);

// Decodes %XX escapes of a path; nullopt for a bad escape or an encoded NUL.
std::optional<std::string> percent_decode(std::string_view path);

const char* reason_phrase(int status);

// "HTTP/1.1 <status> <reason>\r\n" + headers + "\r\n".
std::string response_head(int status, const std::vector<std::pair<std::string, std::string>>& headers);

}  // namespace swallow::server
