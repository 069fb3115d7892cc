// The connection threads of HttpServer: read a request head and body with limits, call the
// handler, write its answer, repeat while keep-alive (see http_server.h).
#include "server/http_server.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "core/error.h"
#include "core/log.h"

namespace swallow::server {

namespace {

constexpr int kListenBacklog = 4096;
constexpr size_t kReadChunk = 16384;

bool send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

// Waits up to timeout_ms for input; false on timeout or error.
bool wait_readable(int fd, int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  int rc;
  do {
    rc = ::poll(&p, 1, timeout_ms);
  } while (rc < 0 && errno == EINTR);
  return rc > 0;
}

void set_timeouts(int fd, int seconds) {
  timeval tv{seconds, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

// Half-closes, then discards what the client is still sending (an unread body) for a short
// while, so closing does not reset the connection before the client has read our answer.
void lingering_close_input(int fd) {
  ::shutdown(fd, SHUT_WR);
  char buffer[kReadChunk];
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (std::chrono::steady_clock::now() < deadline && wait_readable(fd, 200)) {
    if (::recv(fd, buffer, sizeof(buffer), 0) <= 0) break;
  }
}

class Connection final : public HttpResponder {
 public:
  Connection(int fd, bool keep_alive) : fd_(fd), keep_alive_(keep_alive) {}

  void respond(int status, std::string_view content_type, std::string_view body, const HttpHeaders& extra) override {
    HttpHeaders headers = {{"Content-Type", std::string(content_type)},
                           {"Content-Length", std::to_string(body.size())},
                           {"Connection", keep_alive_ ? "keep-alive" : "close"}};
    headers.insert(headers.end(), extra.begin(), extra.end());
    std::string message = response_head(status, headers);
    message.append(body);
    ok_ = send_all(fd_, message) && ok_;
    answered_ = true;
  }

  bool start_stream(int status, std::string_view content_type) override {
    streaming_ = true;
    answered_ = true;
    ok_ = send_all(fd_, response_head(status, {{"Content-Type", std::string(content_type)},
                                                {"Transfer-Encoding", "chunked"},
                                                {"Cache-Control", "no-cache"},
                                                {"Connection", keep_alive_ ? "keep-alive" : "close"}}));
    return ok_;
  }

  bool write_chunk(std::string_view data) override {
    if (!ok_ || data.empty()) return ok_;
    char size[24];
    int n = std::snprintf(size, sizeof(size), "%zx\r\n", data.size());
    std::string frame(size, static_cast<size_t>(n));
    frame.append(data).append("\r\n");
    ok_ = send_all(fd_, frame);
    return ok_;
  }

  void end_stream() override {
    if (ok_) ok_ = send_all(fd_, "0\r\n\r\n");
    stream_ended_ = true;
  }

  bool client_gone() override {
    if (!ok_) return true;
    pollfd p{fd_, POLLRDHUP, 0};
    if (::poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR))) ok_ = false;
    return !ok_;
  }

  bool answered() const { return answered_; }
  // Whether the connection can carry another request.
  bool reusable() const { return ok_ && keep_alive_ && (!streaming_ || stream_ended_); }

 private:
  int fd_;
  bool keep_alive_;
  bool ok_ = true;
  bool answered_ = false;
  bool streaming_ = false;
  bool stream_ended_ = false;
};

}  // namespace

HttpServer::HttpServer(HttpServerOptions options, HttpHandler handler, HttpErrorFormatter format_error)
    : options_(std::move(options)), handler_(std::move(handler)), format_error_(std::move(format_error)) {}

HttpServer::~HttpServer() {
  stop();
  std::unique_lock lock(mutex_);
  for (int fd : connection_fds_) ::shutdown(fd, SHUT_RDWR);
  all_closed_.wait(lock, [&] { return open_connections_.load() == 0; });
  if (listen_fd_ >= 0) ::close(listen_fd_);
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

void HttpServer::listen() {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* result = nullptr;
  const std::string where = options_.host + ":" + std::to_string(options_.port);
  int rc = ::getaddrinfo(options_.host.c_str(), std::to_string(options_.port).c_str(), &hints, &result);
  if (rc != 0) throw invalid_argument("--host " + options_.host + ": " + ::gai_strerror(rc));
  int fd = -1;
  int last_errno = 0;
  for (addrinfo* ai = result; ai != nullptr && fd < 0; ai = ai->ai_next) {
    fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) continue;
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (::bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || ::listen(fd, kListenBacklog) != 0) {
      last_errno = errno;
      ::close(fd);
      fd = -1;
    }
  }
  ::freeaddrinfo(result);
  if (fd < 0) throw invalid_argument("cannot listen on " + where + ": " + std::strerror(last_errno));
  sockaddr_storage addr{};
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port
                                           : reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
  listen_fd_ = fd;
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC);
}

void HttpServer::run() {
  while (!stopping_.load()) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      throw internal_error(std::string("poll on the listening socket: ") + std::strerror(errno));
    }
    if (stopping_.load()) break;
    if (!(fds[0].revents & POLLIN)) continue;
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;  // the client gave up, or out of descriptors for a moment
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    set_timeouts(fd, options_.io_timeout_s);
    {
      std::lock_guard lock(mutex_);
      connection_fds_.insert(fd);
      open_connections_.fetch_add(1);
    }
    if (open_connections_.load() > options_.max_connections) {
      std::string body = format_error_(503, "too many open connections");
      send_all(fd, response_head(503, {{"Content-Type", "application/json"}, {"Content-Length", std::to_string(body.size())},
                                       {"Connection", "close"}}) + body);
      finish_connection(fd);
      continue;
    }
    try {
      std::thread([this, fd] { serve_connection(fd); }).detach();
    } catch (const std::system_error&) {
      finish_connection(fd);  // no thread to be had: drop this connection, keep serving
    }
  }
}

void HttpServer::stop() {
  if (stopping_.exchange(true)) return;
  if (wake_fd_ >= 0) {
    uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(wake_fd_, &one, sizeof(one));
  }
}

void HttpServer::finish_connection(int fd) {
  ::close(fd);
  std::lock_guard lock(mutex_);
  connection_fds_.erase(fd);
  if (open_connections_.fetch_sub(1) == 1) all_closed_.notify_all();
}

void HttpServer::serve_connection(int fd) {
  std::string pending;  // bytes read but not consumed (start of the next request)
  char buffer[kReadChunk];
  auto reject = [&](int status, const std::string& message) {
    std::string body = format_error_(status, message);
    send_all(fd, response_head(status, {{"Content-Type", "application/json"}, {"Content-Length", std::to_string(body.size())},
                                        {"Connection", "close"}}) + body);
    lingering_close_input(fd);
  };
  try {
    for (bool first = true; !stopping_.load() || first; first = false) {
      // The request head, up to the blank line.
      size_t head_end;
      while ((head_end = pending.find("\r\n\r\n")) == std::string::npos) {
        if (pending.size() > options_.max_header_bytes) {
          reject(431, "request head larger than " + std::to_string(options_.max_header_bytes) + " bytes");
          return finish_connection(fd);
        }
        int timeout_ms = (pending.empty() ? options_.keep_alive_timeout_s : options_.io_timeout_s) * 1000;
        if (!wait_readable(fd, timeout_ms)) return finish_connection(fd);
        ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
        if (n <= 0) return finish_connection(fd);
        pending.append(buffer, static_cast<size_t>(n));
      }
      if (head_end > options_.max_header_bytes) {
        reject(431, "request head larger than " + std::to_string(options_.max_header_bytes) + " bytes");
        return finish_connection(fd);
      }
      ParsedHead parsed = parse_request_head(std::string_view(pending).substr(0, head_end));
      if (!parsed.request) {
        reject(parsed.error.status, parsed.error.message);
        return finish_connection(fd);
      }
      HttpRequest& request = *parsed.request;
      pending.erase(0, head_end + 4);
      if (request.content_length > options_.max_body_bytes) {
        reject(413, "request body of " + std::to_string(request.content_length) + " bytes is larger than the limit of " +
                        std::to_string(options_.max_body_bytes) + " bytes (--max-body-bytes)");
        return finish_connection(fd);
      }
      if (request.expect_continue && pending.size() < request.content_length) {
        if (!send_all(fd, "HTTP/1.1 100 Continue\r\n\r\n")) return finish_connection(fd);
      }
      while (pending.size() < request.content_length) {
        if (!wait_readable(fd, options_.io_timeout_s * 1000)) return finish_connection(fd);
        ssize_t n = ::recv(fd, buffer, std::min(sizeof(buffer), request.content_length - pending.size()), 0);
        if (n <= 0) return finish_connection(fd);
        pending.append(buffer, static_cast<size_t>(n));
      }
      request.body = pending.substr(0, request.content_length);
      pending.erase(0, request.content_length);
      if (stopping_.load()) request.keep_alive = false;

      Connection connection(fd, request.keep_alive);
      handler_(request, connection);
      if (!connection.answered()) connection.respond(500, "application/json", format_error_(500, "no response"), {});
      if (!connection.reusable()) return finish_connection(fd);
    }
  } catch (const std::exception& e) {
    log_error(std::string("connection failed: ") + e.what());
  }
  finish_connection(fd);
}

}  // namespace swallow::server
