// The HTTP API against a fake engine over real loopback sockets: routing, auth, limits,
// response shapes, streaming, client disconnects, queue-full and shutdown behaviour.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <thread>

#include "fake_engine.h"
#include "server/api_server.h"
#include "server/http_client.h"
#include "server/http_server.h"

namespace swallow::server {
namespace {

using nlohmann::json;
using test::FakeEngine;

class ApiServerTest : public testing::Test {
 protected:
  static ApiServerOptions api_options() {
    ApiServerOptions options;
    options.served_model_names = {"tiny"};
    options.version = "test";
    return options;
  }

  static SchemaLimits limits() {
    SchemaLimits limits;
    limits.max_model_len = 256;
    limits.vocab_size = 256;
    return limits;
  }

  void start(ApiServerOptions options = api_options(), FakeEngine::Options engine = {}, HttpServerOptions http = {}) {
    engine_ = std::make_unique<FakeEngine>(engine);
    api_ = std::make_unique<ApiServer>(std::move(options));
    http.port = 0;
    http.max_body_bytes = 1 << 20;
    http_ = std::make_unique<HttpServer>(
        http, [this](const HttpRequest& r, HttpResponder& out) { api_->handle(r, out); }, ApiServer::error_body);
    http_->listen();
    thread_ = std::thread([this] { http_->run(); });
  }
  void start_ready() {
    start();
    api_->set_ready(*engine_, text_, limits(), {});
  }
  void TearDown() override {
    if (http_) http_->stop();
    if (thread_.joinable()) thread_.join();
    http_.reset();
    engine_.reset();
  }

  HttpClientResponse call(const std::string& method, const std::string& path, const std::string& body = "",
                          const HttpHeaders& headers = {}) {
    return HttpClient("127.0.0.1", http_->port(), 10).request(method, path, body, headers);
  }
  HttpClientResponse post(const std::string& path, const json& body, const HttpHeaders& headers = {}) {
    return call("POST", path, body.dump(), headers);
  }
  static json chat_body(const json& extra = json::object()) {
    json body = {{"model", "tiny"}, {"messages", json::array({{{"role", "user"}, {"content", "hi"}}})}};
    body.update(extra);
    return body;
  }
  // The "data:" payloads of an SSE response body.
  static std::vector<std::string> sse_data(const std::string& body) {
    std::vector<std::string> events;
    SseSplitter splitter([&](std::string_view data) { events.emplace_back(data); });
    splitter.feed(body);
    return events;
  }

  test::FakeText text_;
  std::unique_ptr<FakeEngine> engine_;
  std::unique_ptr<ApiServer> api_;
  std::unique_ptr<HttpServer> http_;
  std::thread thread_;
};

TEST_F(ApiServerTest, HealthIs503UntilReady) {
  start();
  EXPECT_EQ(call("GET", "/health").status, 503);
  EXPECT_EQ(post("/v1/chat/completions", chat_body()).status, 503);
  api_->set_ready(*engine_, text_, limits(), {});
  EXPECT_EQ(call("GET", "/health").status, 200);
  api_->begin_shutdown();
  EXPECT_EQ(call("GET", "/health").status, 503);
  EXPECT_EQ(post("/v1/chat/completions", chat_body()).status, 503);
}

TEST_F(ApiServerTest, ChatCompletion) {
  start_ready();
  auto r = post("/v1/chat/completions", chat_body());
  ASSERT_EQ(r.status, 200) << r.body;
  json body = json::parse(r.body);
  EXPECT_EQ(body["object"], "chat.completion");
  EXPECT_EQ(body["model"], "tiny");
  EXPECT_EQ(body["choices"][0]["message"]["content"], "tok0 tok1 tok2 tok3 tok4");
  EXPECT_EQ(body["choices"][0]["finish_reason"], "stop");
  EXPECT_EQ(body["usage"], json({{"prompt_tokens", 2}, {"completion_tokens", 5}, {"total_tokens", 7}}));
}

TEST_F(ApiServerTest, StreamingEqualsNonStreaming) {
  start_ready();
  auto r = post("/v1/chat/completions", chat_body({{"stream", true}, {"n", 2}, {"stream_options", {{"include_usage", true}}}}));
  ASSERT_EQ(r.status, 200);
  auto events = sse_data(r.body);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back(), "[DONE]");
  std::string text[2];
  int finished = 0;
  json usage;
  for (size_t i = 0; i + 1 < events.size(); ++i) {
    json chunk = json::parse(events[i]);
    if (chunk.contains("usage")) usage = chunk["usage"];
    for (const json& choice : chunk["choices"]) {
      text[choice["index"].get<int>()] += choice["delta"].value("content", "");
      finished += choice["finish_reason"].is_null() ? 0 : 1;
    }
  }
  EXPECT_EQ(text[0], "tok0 tok1 tok2 tok3 tok4");
  EXPECT_EQ(text[1], text[0]);
  EXPECT_EQ(finished, 2);
  EXPECT_EQ(usage["completion_tokens"], 10);
}

TEST_F(ApiServerTest, CompletionsWithSeveralPromptsAndLength) {
  start_ready();
  auto r = post("/v1/completions", {{"prompt", {"ab", "cde"}}, {"max_tokens", 2}, {"n", 2}, {"logprobs", 0}});
  ASSERT_EQ(r.status, 200) << r.body;
  json body = json::parse(r.body);
  ASSERT_EQ(body["choices"].size(), 4u);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(body["choices"][i]["index"], i);
    EXPECT_EQ(body["choices"][i]["text"], "tok0 tok1");
    EXPECT_EQ(body["choices"][i]["finish_reason"], "length");
    EXPECT_EQ(body["choices"][i]["logprobs"]["tokens"].size(), 2u);
  }
  EXPECT_EQ(body["usage"]["prompt_tokens"], 5);
  EXPECT_EQ(body["usage"]["completion_tokens"], 8);
}

TEST_F(ApiServerTest, ErrorsAreOpenAiJson) {
  start_ready();
  auto r = post("/v1/chat/completions", chat_body({{"temperature", -1}}));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(json::parse(r.body)["error"]["param"], "temperature");
  r = post("/v1/chat/completions", chat_body({{"model", "other"}}));
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(json::parse(r.body)["error"]["code"], "model_not_found");
  r = post("/v1/completions", {{"prompt", std::string(200, 'x')}, {"max_tokens", 100}});
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(json::parse(r.body)["error"]["message"].get<std::string>().find("200 tokens"), std::string::npos);
  EXPECT_EQ(call("POST", "/v1/completions", "{not json").status, 400);
  EXPECT_EQ(call("GET", "/v1/nothing").status, 404);
  EXPECT_EQ(call("GET", "//v1/models").status, 404);
  EXPECT_EQ(call("GET", "/v1/./models").status, 404);
  EXPECT_EQ(call("GET", "/v1/%6dodels").status, 200);
  EXPECT_EQ(call("GET", "/v1/models%00").status, 400);
  EXPECT_EQ(call("GET", "/v1/models%zz").status, 400);
  EXPECT_EQ(call("GET", "/v1/chat/completions").status, 405);
  EXPECT_EQ(post("/v1/chat/completions", chat_body()).status, 200);  // still healthy
}

TEST_F(ApiServerTest, LimitsOnBodyAndHead) {
  start_ready();
  auto r = call("POST", "/v1/completions", std::string(2 << 20, 'x'));
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(json::parse(r.body)["error"]["type"], "invalid_request_error");
  r = call("GET", "/health", "", {{"X-Big", std::string(100 << 10, 'a')}});
  EXPECT_EQ(r.status, 431);
  std::string deep = "{\"a\":" + std::string(1000, '[') + std::string(1000, ']') + "}";
  EXPECT_EQ(call("POST", "/v1/completions", deep).status, 400);
  EXPECT_EQ(post("/v1/chat/completions", chat_body()).status, 200);
}

TEST_F(ApiServerTest, ApiKey) {
  ApiServerOptions options = api_options();
  options.api_key = "secret";
  start(options);
  api_->set_ready(*engine_, text_, limits(), {});
  EXPECT_EQ(post("/v1/chat/completions", chat_body()).status, 401);
  EXPECT_EQ(post("/v1/chat/completions", chat_body(), {{"Authorization", "Bearer wrong"}}).status, 401);
  EXPECT_EQ(post("/v1/chat/completions", chat_body(), {{"Authorization", "Bearer secret"}, {"Authorization", "Bearer secret"}}).status, 401);
  EXPECT_EQ(post("/v1/chat/completions", chat_body(), {{"Authorization", "Bearer secret"}}).status, 200);
  EXPECT_EQ(call("GET", "/v1/unknown").status, 401);  // no route probing without the key
  EXPECT_EQ(call("GET", "/health").status, 200);
  EXPECT_EQ(call("GET", "/metrics").status, 200);
  EXPECT_EQ(call("POST", "/tokenize", "{\"prompt\": \"a\"}").status, 401);
}

TEST_F(ApiServerTest, ProtectMetrics) {
  ApiServerOptions options = api_options();
  options.api_key = "secret";
  options.protect_metrics = true;
  start(options);
  EXPECT_EQ(call("GET", "/metrics").status, 401);
  EXPECT_EQ(call("GET", "/metrics", "", {{"Authorization", "Bearer secret"}}).status, 200);
}

TEST_F(ApiServerTest, ModelsTokenizeMetricsVersion) {
  start_ready();
  json models = json::parse(call("GET", "/v1/models").body);
  EXPECT_EQ(models["data"][0]["id"], "tiny");
  EXPECT_EQ(models["data"][0]["max_model_len"], 256);
  json tokens = json::parse(post("/tokenize", {{"prompt", "ab"}}).body);
  EXPECT_EQ(tokens["tokens"], json::array({97, 98}));
  EXPECT_EQ(tokens["count"], 2);
  json chat_tokens = json::parse(post("/tokenize", chat_body()).body);
  EXPECT_EQ(chat_tokens["count"], 2);
  EXPECT_EQ(json::parse(post("/detokenize", {{"tokens", {104, 105}}}).body)["prompt"], "hi");
  EXPECT_EQ(post("/detokenize", {{"tokens", {1000}}}).status, 400);
  EXPECT_EQ(post("/tokenize", {{"prompt", "a"}, {"chat_template", "x"}}).status, 200);  // prompt form ignores it
  EXPECT_EQ(post("/tokenize", chat_body({{"chat_template", "x"}})).status, 400);
  post("/v1/chat/completions", chat_body());
  std::string metrics = call("GET", "/metrics").body;
  EXPECT_NE(metrics.find("swallow:num_requests_running{model_name=\"tiny\"}"), std::string::npos);
  EXPECT_NE(metrics.find("swallow:request_success_total{model_name=\"tiny\",finished_reason=\"stop\"} 1"), std::string::npos);
  EXPECT_NE(metrics.find("swallow:time_to_first_token_seconds_count"), std::string::npos);
  EXPECT_EQ(json::parse(call("GET", "/version").body)["version"], "test");
}

// Sends a request on a raw socket and closes it after `wait`, without reading the answer.
void send_and_close(int port, const std::string& body, std::chrono::milliseconds wait) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  std::string message = "POST /v1/chat/completions HTTP/1.1\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  ASSERT_EQ(::send(fd, message.data(), message.size(), 0), static_cast<ssize_t>(message.size()));
  std::this_thread::sleep_for(wait);
  ::close(fd);
}

TEST_F(ApiServerTest, ClientDisconnectAbortsTheRequest) {
  FakeEngine::Options slow;
  slow.reply_tokens = 1000;
  slow.token_delay = std::chrono::milliseconds(5);
  start(api_options(), slow);
  api_->set_ready(*engine_, text_, limits(), {});
  size_t expected = 0;
  for (bool stream : {true, false}) {
    send_and_close(http_->port(), chat_body({{"stream", stream}, {"max_tokens", 200}}).dump(), std::chrono::milliseconds(50));
    ++expected;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (engine_->aborted().size() < expected && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    EXPECT_EQ(engine_->aborted().size(), expected) << (stream ? "streaming" : "non-streaming");
  }
}

TEST_F(ApiServerTest, QueueFullIs429) {
  FakeEngine::Options tiny_queue;
  tiny_queue.max_waiting = 0;
  start(api_options(), tiny_queue);
  api_->set_ready(*engine_, text_, limits(), {});
  auto r = post("/v1/chat/completions", chat_body());
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(json::parse(r.body)["error"]["type"], "rate_limit_error");
}

TEST_F(ApiServerTest, ShutdownEndsStreamsWithAnErrorChunk) {
  FakeEngine::Options slow;
  slow.reply_tokens = 1000;
  slow.token_delay = std::chrono::milliseconds(5);
  start(api_options(), slow);
  api_->set_ready(*engine_, text_, limits(), {});
  std::thread stopper([&] {
    while (api_->in_flight() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    api_->begin_shutdown();
    api_->abort_in_flight();
  });
  auto r = post("/v1/chat/completions", chat_body({{"stream", true}}));
  stopper.join();
  auto events = sse_data(r.body);
  ASSERT_GE(events.size(), 2u);
  EXPECT_EQ(events.back(), "[DONE]");
  EXPECT_EQ(json::parse(events[events.size() - 2])["error"]["code"], "unavailable");
}

}  // namespace
}  // namespace swallow::server
