// A minimal blocking HTTP/1.1 client for loopback use: `swallow bench serve` and the server's
// tests. One connection per request; the response body is handed over piece by piece as it
// arrives (chunked transfer decoded), so streams can be timed. Not thread-safe per object;
// use one client per thread.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "server/http_server.h"

namespace swallow::server {

struct HttpClientResponse {
  int status = 0;
  HttpHeaders headers;  // names lower-case
  std::string body;     // empty when an on_body callback took the pieces
};

// "http://host:port[/prefix]" split into its parts; throws swallow::Error for anything else.
struct HttpUrl {
  std::string host;
  int port = 80;
  std::string prefix;  // path prefix without a trailing "/"
};
HttpUrl parse_http_url(const std::string& url);

class HttpClient {
 public:
  HttpClient(std::string host, int port, int timeout_s = 600);
  // Sends one request (Content-Length body, "Connection: close"). `on_body` gets each piece
  // of the body; returning false closes the connection early. Throws swallow::Error when the
  // server cannot be reached or the response is malformed.
  HttpClientResponse request(const std::string& method, const std::string& target, const std::string& body = "",
                             const HttpHeaders& headers = {},
                             const std::function<bool(std::string_view)>& on_body = nullptr);

 private:
  std::string host_;
  int port_;
  int timeout_s_;
};

// Splits an SSE byte stream into events: feed() pieces, get each event's data payload.
class SseSplitter {
 public:
  explicit SseSplitter(std::function<void(std::string_view data)> on_data) : on_data_(std::move(on_data)) {}
  void feed(std::string_view bytes);

 private:
  std::function<void(std::string_view)> on_data_;
  std::string buffer_;
};

}  // namespace swallow::server
