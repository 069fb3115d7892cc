// HttpClient and SseSplitter (see http_client.h).
#include "server/http_client.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/error.h"

namespace swallow::server {

namespace {

class Socket {
 public:
  explicit Socket(int fd) : fd_(fd) {}
  ~Socket() {
    if (fd_ >= 0) ::close(fd_);
  }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  int fd() const { return fd_; }

 private:
  int fd_;
};

int connect_to(const std::string& host, int port, int timeout_s) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* result = nullptr;
  if (::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &result) != 0) {
    throw invalid_argument("cannot resolve " + host);
  }
  int fd = -1;
  for (addrinfo* ai = result; ai != nullptr && fd < 0; ai = ai->ai_next) {
    fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd >= 0 && ::connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
      ::close(fd);
      fd = -1;
    }
  }
  ::freeaddrinfo(result);
  if (fd < 0) throw not_found("cannot connect to " + host + ":" + std::to_string(port) + ": " + std::strerror(errno));
  timeval tv{timeout_s, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return fd;
}

// Buffered reads from the socket.
class Reader {
 public:
  explicit Reader(int fd) : fd_(fd) {}
  // Reads more bytes into buffer(); false at end of stream.
  bool fill() {
    char chunk[16384];
    ssize_t n;
    do {
      n = ::recv(fd_, chunk, sizeof(chunk), 0);
    } while (n < 0 && errno == EINTR);
    if (n < 0) throw internal_error(std::string("reading the response: ") + std::strerror(errno));
    if (n == 0) return false;
    buffer_.append(chunk, static_cast<size_t>(n));
    return true;
  }
  std::string& buffer() { return buffer_; }

 private:
  int fd_;
  std::string buffer_;
};

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

HttpUrl parse_http_url(const std::string& url) {
  const std::string scheme = "http://";
  if (url.compare(0, scheme.size(), scheme) != 0) throw invalid_argument("--base-url must start with http:// (got " + url + ")");
  std::string rest = url.substr(scheme.size());
  HttpUrl out;
  size_t slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  if (slash != std::string::npos) out.prefix = rest.substr(slash);
  while (!out.prefix.empty() && out.prefix.back() == '/') out.prefix.pop_back();
  size_t colon = authority.rfind(':');
  if (colon != std::string::npos && authority.find(']', colon) == std::string::npos) {
    out.host = authority.substr(0, colon);
    try {
      out.port = std::stoi(authority.substr(colon + 1));
    } catch (const std::exception&) {
      throw invalid_argument("bad port in URL " + url);
    }
  } else {
    out.host = authority;
  }
  if (out.host.size() > 2 && out.host.front() == '[') out.host = out.host.substr(1, out.host.size() - 2);
  if (out.host.empty()) throw invalid_argument("no host in URL " + url);
  return out;
}

HttpClient::HttpClient(std::string host, int port, int timeout_s) : host_(std::move(host)), port_(port), timeout_s_(timeout_s) {}

HttpClientResponse HttpClient::request(const std::string& method, const std::string& target, const std::string& body,
                                       const HttpHeaders& headers, const std::function<bool(std::string_view)>& on_body) {
  Socket socket(connect_to(host_, port_, timeout_s_));
  std::string message = method + " " + target + " HTTP/1.1\r\nHost: " + host_ + ":" + std::to_string(port_) +
                        "\r\nConnection: close\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  for (const auto& [name, value] : headers) message += name + ": " + value + "\r\n";
  message += "\r\n" + body;
  std::string_view rest = message;
  while (!rest.empty()) {
    ssize_t n = ::send(socket.fd(), rest.data(), rest.size(), MSG_NOSIGNAL);
    if (n <= 0) break;  // the server may answer early (413) and close: read what it said
    rest.remove_prefix(static_cast<size_t>(n));
  }

  Reader reader(socket.fd());
  std::string& buf = reader.buffer();
  size_t head_end;
  while ((head_end = buf.find("\r\n\r\n")) == std::string::npos) {
    if (!reader.fill()) throw internal_error("connection closed before a response from " + host_);
  }
  HttpClientResponse response;
  std::string head = buf.substr(0, head_end);
  buf.erase(0, head_end + 4);
  if (head.size() < 12 || head.compare(0, 5, "HTTP/") != 0) throw internal_error("malformed response status line");
  response.status = std::stoi(head.substr(9, 3));
  size_t pos = head.find("\r\n");
  while (pos != std::string::npos && pos < head.size()) {
    size_t end = head.find("\r\n", pos + 2);
    std::string line = head.substr(pos + 2, end == std::string::npos ? std::string::npos : end - pos - 2);
    size_t colon = line.find(':');
    if (colon != std::string::npos) {
      size_t value_start = line.find_first_not_of(' ', colon + 1);
      response.headers.emplace_back(lower(line.substr(0, colon)), value_start == std::string::npos ? "" : line.substr(value_start));
    }
    pos = end;
  }
  auto deliver = [&](std::string_view piece) {
    if (on_body) return on_body(piece);
    response.body.append(piece);
    return true;
  };
  bool chunked = false;
  for (const auto& [name, value] : response.headers) chunked |= name == "transfer-encoding" && lower(value) == "chunked";
  if (!chunked) {
    do {
      if (!buf.empty() && !deliver(buf)) return response;
      buf.clear();
    } while (reader.fill());
    return response;
  }
  while (true) {
    size_t line_end;
    while ((line_end = buf.find("\r\n")) == std::string::npos) {
      if (!reader.fill()) throw internal_error("connection closed inside a chunked response");
    }
    size_t size = std::stoul(buf.substr(0, line_end), nullptr, 16);
    while (buf.size() < line_end + 2 + size + 2) {
      if (!reader.fill()) throw internal_error("connection closed inside a chunk");
    }
    if (size == 0) return response;
    if (!deliver(std::string_view(buf).substr(line_end + 2, size))) return response;
    buf.erase(0, line_end + 2 + size + 2);
  }
}

void SseSplitter::feed(std::string_view bytes) {
  buffer_.append(bytes);
  size_t end;
  while ((end = buffer_.find("\n\n")) != std::string::npos) {
    std::string_view event = std::string_view(buffer_).substr(0, end);
    if (event.compare(0, 6, "data: ") == 0) on_data_(event.substr(6));
    buffer_.erase(0, end + 2);
  }
}

}  // namespace swallow::server
