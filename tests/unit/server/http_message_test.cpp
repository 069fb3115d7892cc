// Request-head parsing: methods, targets, headers, Content-Length, keep-alive and refusals.
#include <gtest/gtest.h>

#include "server/http_message.h"

namespace swallow::server {
namespace {

TEST(HttpMessage, ParsesARequestHead) {
  ParsedHead p = parse_request_head("POST /v1/chat/completions?x=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 12\r\n"
                                    "Authorization:  Bearer k \r\nExpect: 100-continue");
  ASSERT_TRUE(p.request.has_value()) << p.error.message;
  EXPECT_EQ(p.request->method, "POST");
  EXPECT_EQ(p.request->path, "/v1/chat/completions");
  EXPECT_EQ(p.request->query, "x=1");
  EXPECT_EQ(p.request->content_length, 12u);
  EXPECT_EQ(*p.request->header("authorization"), "Bearer k");
  EXPECT_TRUE(p.request->keep_alive);
  EXPECT_TRUE(p.request->expect_continue);
}

TEST(HttpMessage, KeepAliveRules) {
  EXPECT_FALSE(parse_request_head("GET / HTTP/1.1\r\nConnection: Close").request->keep_alive);
  EXPECT_FALSE(parse_request_head("GET / HTTP/1.0").request->keep_alive);
  EXPECT_TRUE(parse_request_head("GET / HTTP/1.0\r\nConnection: keep-alive").request->keep_alive);
}

TEST(HttpMessage, PercentDecoding) {
  EXPECT_EQ(parse_request_head("GET /v1/%6Dodels HTTP/1.1").request->path, "/v1/models");
  EXPECT_EQ(percent_decode("/a%2Fb"), "/a/b");
  EXPECT_FALSE(percent_decode("/a%2").has_value());
  EXPECT_FALSE(percent_decode("/a%00").has_value());
}

TEST(HttpMessage, Refusals) {
  struct Case {
    const char* head;
    int status;
  };
  for (const Case& c : {Case{"GET /", 400}, Case{"GET / HTTP/2.0", 505}, Case{"GET  / HTTP/1.1", 400},
                        Case{"GET http://x/ HTTP/1.1", 400}, Case{"G(T / HTTP/1.1", 400},
                        Case{"POST / HTTP/1.1\r\nTransfer-Encoding: chunked", 411},
                        Case{"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2", 400},
                        Case{"POST / HTTP/1.1\r\nContent-Length: -1", 400}, Case{"POST / HTTP/1.1\r\nContent-Length: 1e3", 400},
                        Case{"POST / HTTP/1.1\r\nContent-Length: 99999999999999999999", 400},
                        Case{"GET / HTTP/1.1\r\nno colon", 400}, Case{"GET / HTTP/1.1\r\n: empty", 400},
                        Case{"GET /%zz HTTP/1.1", 400}}) {
    ParsedHead p = parse_request_head(c.head);
    EXPECT_FALSE(p.request.has_value()) << c.head;
    EXPECT_EQ(p.error.status, c.status) << c.head;
  }
  std::string long_target = "GET /" + std::string(9000, 'a') + " HTTP/1.1";
  EXPECT_EQ(parse_request_head(long_target).error.status, 414);
}

}  // namespace
}  // namespace swallow::server
