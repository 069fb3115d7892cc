// A small HTTP/1.1 server on POSIX sockets: one thread per connection (blocking I/O, so a
// handler simply waits on its engine stream), keep-alive, Content-Length request bodies with a
// size limit enforced before reading, chunked streaming responses, and a non-blocking check for
// clients that went away. See docs/DESIGN-NOTES.md for why not cpp-httplib.
// listen/run/stop may be called from different threads; each HttpResponder belongs to the one
// connection thread that calls the handler.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "server/http_message.h"

namespace swallow::server {

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  int port = 8000;                          // 0: any free port (see HttpServer::port)
  size_t max_body_bytes = size_t{32} << 20;  // larger bodies get 413 before being read
  size_t max_header_bytes = size_t{64} << 10;  // larger request heads get 431
  int max_connections = 4096;               // more get 503 and are closed
  int keep_alive_timeout_s = 30;            // idle time between requests on one connection
  int io_timeout_s = 30;                    // a stalled read or write of one request
};

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

// How a handler answers: either respond() once, or start_stream(), write_chunk()s, end_stream().
class HttpResponder {
 public:
  virtual ~HttpResponder() = default;
  virtual void respond(int status, std::string_view content_type, std::string_view body, const HttpHeaders& extra = {}) = 0;
  // Chunked transfer encoding. Each returns false once the client is gone.
  virtual bool start_stream(int status, std::string_view content_type) = 0;
  virtual bool write_chunk(std::string_view data) = 0;
  virtual void end_stream() = 0;
  // True when the client closed its side of the connection; does not block.
  virtual bool client_gone() = 0;
};

using HttpHandler = std::function<void(const HttpRequest&, HttpResponder&)>;
// Formats an error of the HTTP layer itself (413, 431, malformed requests) as a response body.
using HttpErrorFormatter = std::function<std::string(int status, const std::string& message)>;

class HttpServer {
 public:
  HttpServer(HttpServerOptions options, HttpHandler handler, HttpErrorFormatter format_error);
  // Stops, closes every open connection and waits for the connection threads.
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and listens; throws swallow::Error naming the address when that fails.
  void listen();
  int port() const { return port_; }
  // Accepts connections until stop(); returns then.
  void run();
  // Stops accepting; open connections finish their current request and close.
  void stop();
  int open_connections() const { return open_connections_.load(); }

 private:
  void serve_connection(int fd);
  void finish_connection(int fd);

  HttpServerOptions options_;
  HttpHandler handler_;
  HttpErrorFormatter format_error_;
  int listen_fd_ = -1;
  int wake_fd_ = -1;  // eventfd that wakes run() on stop()
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> open_connections_{0};
  std::mutex mutex_;
  std::condition_variable all_closed_;
  std::set<int> connection_fds_;
};

}  // namespace swallow::server
