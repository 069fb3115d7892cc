// Request-head parsing and response-head formatting (see http_message.h).
#include "server/http_message.h"

#include <algorithm>
#include <cctype>

namespace swallow::server {

namespace {

constexpr size_t kMaxTargetBytes = 8192;

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool is_token_char(unsigned char c) {
  return std::isalnum(c) || std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

ParsedHead fail(int status, std::string message) { return {std::nullopt, {status, std::move(message)}}; }

// Comma-separated header value contains `token` (case-insensitive).
bool has_token(std::string_view value, std::string_view token) {
  std::string v = lower(value);
  size_t pos = 0;
  while (pos <= v.size()) {
    size_t comma = v.find(',', pos);
    if (comma == std::string::npos) comma = v.size();
    if (trim(std::string_view(v).substr(pos, comma - pos)) == token) return true;
    pos = comma + 1;
  }
  return false;
}

}  // namespace

const std::string* HttpRequest::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (key == name) return &value;
  }
  return nullptr;
}

size_t HttpRequest::header_count(std::string_view name) const {
  return static_cast<size_t>(std::count_if(headers.begin(), headers.end(), [&](const auto& h) { return h.first == name; }));
}

std::optional<std::string> percent_decode(std::string_view path) {
  std::string out;
  out.reserve(path.size());
  for (size_t i = 0; i < path.size(); ++i) {
    if (path[i] != '%') {
      out.push_back(path[i]);
      continue;
    }
    if (i + 2 >= path.size() || !std::isxdigit(static_cast<unsigned char>(path[i + 1])) ||
        !std::isxdigit(static_cast<unsigned char>(path[i + 2]))) {
      return std::nullopt;
    }
    char c = static_cast<char>(std::stoi(std::string(path.substr(i + 1, 2)), nullptr, 16));
    if (c == '\0') return std::nullopt;
    out.push_back(c);
    i += 2;
  }
  return out;
}

ParsedHead parse_request_head(std::string_view head) {
  size_t line_end = head.find("\r\n");
  std::string_view line = head.substr(0, line_end);
  size_t sp1 = line.find(' ');
  size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp1 == std::string_view::npos || sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos) {
    return fail(400, "malformed request line");
  }
  HttpRequest request;
  request.method = std::string(line.substr(0, sp1));
  request.target = std::string(line.substr(sp1 + 1, sp2 - sp1 - 1));
  std::string_view version = line.substr(sp2 + 1);
  if (request.method.empty() || !std::all_of(request.method.begin(), request.method.end(), is_token_char)) {
    return fail(400, "malformed request method");
  }
  if (version != "HTTP/1.1" && version != "HTTP/1.0") return fail(505, "only HTTP/1.0 and HTTP/1.1 are supported");
  if (request.target.size() > kMaxTargetBytes) return fail(414, "request target longer than 8192 bytes");
  if (request.target.empty() || request.target[0] != '/') return fail(400, "request target must be an absolute path");
  size_t question = request.target.find('?');
  auto path = percent_decode(std::string_view(request.target).substr(0, question));
  if (!path) return fail(400, "malformed percent-encoding in the request path");
  request.path = std::move(*path);
  if (question != std::string::npos) request.query = request.target.substr(question + 1);

  size_t pos = line_end == std::string_view::npos ? head.size() : line_end + 2;
  while (pos < head.size()) {
    size_t end = head.find("\r\n", pos);
    if (end == std::string_view::npos) end = head.size();
    std::string_view field = head.substr(pos, end - pos);
    pos = end + 2;
    size_t colon = field.find(':');
    if (colon == 0 || colon == std::string_view::npos) return fail(400, "malformed header line");
    std::string_view name = field.substr(0, colon);
    if (!std::all_of(name.begin(), name.end(), [](char c) { return is_token_char(static_cast<unsigned char>(c)); })) {
      return fail(400, "malformed header name");
    }
    std::string_view value = trim(field.substr(colon + 1));
    if (value.find_first_of("\r\n") != std::string_view::npos || std::string_view(value).find('\0') != std::string_view::npos) {
      return fail(400, "malformed header value");
    }
    request.headers.emplace_back(lower(name), std::string(value));
  }

  if (request.header("transfer-encoding") != nullptr) return fail(411, "chunked request bodies are not supported; send Content-Length");
  const size_t n_length = request.header_count("content-length");
  if (n_length > 1) return fail(400, "more than one Content-Length header");
  if (n_length == 1) {
    const std::string& value = *request.header("content-length");
    if (value.empty() || value.size() > 18 || !std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return fail(400, "malformed Content-Length");
    }
    request.content_length = std::stoull(value);
  }
  const std::string* connection = request.header("connection");
  request.keep_alive = version == "HTTP/1.1" ? !(connection && has_token(*connection, "close"))
                                             : (connection && has_token(*connection, "keep-alive"));
  const std::string* expect = request.header("expect");
  request.expect_continue = expect != nullptr && lower(*expect) == "100-continue";
  return {std::move(request), {}};
}

const char* reason_phrase(int status) {
  switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 411: return "Length Required";
    case 413: return "Payload Too Large";
    case 414: return "URI Too Long";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
  }
  return "Unknown";
}

std::string response_head(int status, const std::vector<std::pair<std::string, std::string>>& headers) {
  std::string head = "HTTP/1.1 " + std::to_string(status) + " " + reason_phrase(status) + "\r\n";
  for (const auto& [name, value] : headers) head.append(name).append(": ").append(value).append("\r\n");
  head += "\r\n";
  return head;
}

}  // namespace swallow::server
