// The real `swallow serve` over real sockets with the tiny Llama: the hostile-input table (each
// case's documented status, and a normal request succeeding right after it), client
// disconnects in the queue / prefill / decode leaking no KV blocks, 256 concurrent streaming
// clients matching solo runs, SIGTERM draining then ending streams with an error chunk, and
// `swallow batch` on a file with a bad line.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <thread>

#include "server/http_client.h"
#include "server_process.h"
#include "support/test_support.h"

namespace swallow::test {
namespace {

using nlohmann::json;
using server::HttpClient;
using server::HttpClientResponse;
using server::HttpHeaders;

constexpr const char* kKey = "e2e-key";

std::vector<std::string> base_args() {
  return {"--model", tiny_model_dir(), "--served-model-name", "tiny", "--kv-cache-memory", "64MiB", "--threads", "1"};
}

class ServerE2e : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (tiny_model_dir().empty()) return;
    std::vector<std::string> args = base_args();
    args.insert(args.end(), {"--api-key", kKey, "--max-body-bytes", "1048576", "--max-num-batched-tokens", "64"});
    server_ = std::make_unique<ServerProcess>(args);
  }
  static void TearDownTestSuite() { server_.reset(); }
  void SetUp() override { REQUIRE_TEST_DATA(tiny_model_dir(), "the tiny e2e model (make_tiny_llama fixture)"); }
  void TearDown() override {
    if (HasFailure() && server_) std::printf("--- server log ---\n%s\n", server_->log().c_str());
  }

  static HttpClientResponse call(const std::string& method, const std::string& path, const std::string& body = "",
                                 HttpHeaders headers = {{"Authorization", std::string("Bearer ") + kKey}}) {
    return HttpClient("127.0.0.1", server_->port(), 60).request(method, path, body, headers);
  }
  static json chat(const std::string& content, const json& extra = json::object()) {
    json body = {{"model", "tiny"}, {"messages", {{{"role", "user"}, {"content", content}}}}, {"max_tokens", 4},
                 {"temperature", 0}};
    body.update(extra);
    return body;
  }
  static void expect_healthy(const std::string& after) {
    auto r = call("POST", "/v1/chat/completions", chat("still there?").dump());
    EXPECT_EQ(r.status, 200) << "normal request after " << after << ": " << r.body;
  }
  // The value of the first sample of `name` whose labels contain `label` ("" for any).
  static double metric(const std::string& name, const std::string& label = "") {
    std::string text = call("GET", "/metrics").body;
    size_t at = text.find("\n" + name + "{");
    while (at != std::string::npos && text.substr(at, text.find('\n', at + 1) - at).find(label) == std::string::npos) {
      at = text.find("\n" + name + "{", at + 1);
    }
    if (at == std::string::npos) return NAN;
    size_t space = text.find("} ", at);
    return std::stod(text.substr(space + 2));
  }
  // Waits until no request runs or waits and no KV block is in use.
  static bool engine_idle(double timeout_s = 10) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
    while (std::chrono::steady_clock::now() < deadline) {
      if (metric("swallow:num_requests_running") == 0 && metric("swallow:num_requests_waiting") == 0 &&
          metric("swallow:kv_cache_usage_perc") == 0) {
        return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }

  static inline std::unique_ptr<ServerProcess> server_;
};

// Raw bytes on a socket; returns the status code of the answer (0 when none).
int raw_request(int port, const std::string& bytes) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) return 0;
  size_t sent = 0;
  while (sent < bytes.size()) {
    ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<size_t>(n);
  }
  char buffer[64] = {};
  ssize_t n = ::recv(fd, buffer, sizeof(buffer) - 1, 0);
  ::close(fd);
  return n > 12 ? std::atoi(buffer + 9) : 0;
}

struct NumericRule {
  const char* field;
  const char* endpoint;  // "chat" or "completions"
  // Expected status for -1, 0, 2^31, 2^63, 1e308 (null: 200; NaN, "1", []: 400).
  int statuses[5];
};

TEST_F(ServerE2e, HostileNumericFields) {
  const NumericRule rules[] = {
      {"temperature", "chat", {400, 200, 400, 400, 400}},    {"top_p", "chat", {400, 400, 400, 400, 400}},
      {"top_k", "chat", {200, 200, 400, 400, 400}},          {"min_p", "chat", {400, 200, 400, 400, 400}},
      {"presence_penalty", "chat", {200, 200, 400, 400, 400}}, {"frequency_penalty", "chat", {200, 200, 400, 400, 400}},
      {"repetition_penalty", "chat", {400, 400, 400, 400, 400}}, {"seed", "chat", {200, 200, 200, 400, 400}},
      {"n", "chat", {400, 400, 400, 400, 400}},              {"max_tokens", "chat", {400, 400, 400, 400, 400}},
      {"max_completion_tokens", "chat", {400, 400, 400, 400, 400}}, {"min_tokens", "chat", {400, 200, 400, 400, 400}},
      {"priority", "chat", {200, 200, 400, 400, 400}},       {"logprobs", "completions", {400, 200, 400, 400, 400}},
      {"max_tokens", "completions", {400, 400, 400, 400, 400}}};
  const char* values[5] = {"-1", "0", "2147483648", "9223372036854775808", "1e308"};
  for (const NumericRule& rule : rules) {
    const bool is_chat = std::string(rule.endpoint) == "chat";
    const std::string path = is_chat ? "/v1/chat/completions" : "/v1/completions";
    std::string base = is_chat ? R"({"model": "tiny", "messages": [{"role": "user", "content": "x"}], "temperature": 0)"
                               : R"({"model": "tiny", "prompt": "x", "temperature": 0)";
    if (std::string(rule.field) != "max_tokens" && std::string(rule.field) != "max_completion_tokens") base += R"(, "max_tokens": 2)";
    for (int v = 0; v < 8; ++v) {
      const std::string value = v < 5 ? values[v] : v == 5 ? "NaN" : v == 6 ? "\"1\"" : "[]";
      const int expected = v < 5 ? rule.statuses[v] : 400;
      // A repeated key (temperature) takes the last value, as in Python's json.
      auto r = call("POST", path, base + ", \"" + rule.field + "\": " + value + "}");
      EXPECT_EQ(r.status, expected) << rule.field << "=" << value << " on " << path << ": " << r.body;
      if (r.status == 400 && v != 5) {
        json error = json::parse(r.body)["error"];
        EXPECT_EQ(error["param"], rule.field) << r.body;
      }
    }
    auto null_case = call("POST", path, base + ", \"" + rule.field + "\": null}");
    EXPECT_EQ(null_case.status, 200) << rule.field << "=null: " << null_case.body;
  }
  expect_healthy("the numeric table");
}

TEST_F(ServerE2e, HostileBodies) {
  struct Case {
    std::string name;
    std::string body;
    int status;
  };
  std::string deep = "{\"messages\": " + std::string(100000, '[') + "}";
  const std::vector<Case> cases = {
      {"unknown fields", chat("x", {{"frobnicate", {{"a", 1}}}, {"metadata", {{"k", "v"}}}}).dump(), 200},
      {"messages as string", R"({"model": "tiny", "messages": "hi"})", 400},
      {"message without role", R"({"model": "tiny", "messages": [{"content": "hi"}]})", 400},
      {"stop as number", chat("x", {{"stop", 5}}).dump(), 400},
      {"request chat template", chat("x", {{"chat_template", "{{ 7 * 7 }}"}}).dump(), 400},
      {"invalid UTF-8", std::string(R"({"model": "tiny", "messages": [{"role": "user", "content": "a)") + "\xff\xfe" + "\"}]}", 400},
      {"lone surrogate", R"({"model": "tiny", "messages": [{"role": "user", "content": "\ud800"}]})", 400},
      {"deep nesting", deep, 400},
      {"not an object", "[1, 2]", 400},
      {"empty body", "", 400},
      {"unknown model", chat("x", {{"model", "gpt-4"}}).dump(), 404},
      {"prompt over context", json({{"model", "tiny"}, {"prompt", std::vector<int>(2000, 1000)}, {"max_tokens", 100}}).dump(), 400},
      {"token id outside vocabulary", json({{"model", "tiny"}, {"prompt", {1, 128256}}}).dump(), 400},
      {"logit_bias key", chat("x", {{"logit_bias", {{"x", 1}}}}).dump(), 400},
  };
  for (const Case& c : cases) {
    const std::string path = c.body.find("\"prompt\"") != std::string::npos ? "/v1/completions" : "/v1/chat/completions";
    auto r = call("POST", path, c.body);
    EXPECT_EQ(r.status, c.status) << c.name << ": " << r.body.substr(0, 300);
    if (c.name == "prompt over context") {
      EXPECT_NE(r.body.find("2000"), std::string::npos) << r.body;
    }
    expect_healthy(c.name);
  }
}

TEST_F(ServerE2e, HostileTransport) {
  const int port = server_->port();
  const std::string auth = std::string("Authorization: Bearer ") + kKey + "\r\n";
  // 100 MB body: refused from its Content-Length, before it is read.
  EXPECT_EQ(raw_request(port, "POST /v1/completions HTTP/1.1\r\n" + auth + "Content-Length: 100000000\r\n\r\n" +
                                  std::string(1 << 20, 'x')), 413);
  expect_healthy("100 MB body");
  EXPECT_EQ(raw_request(port, "GET /health HTTP/1.1\r\nX-Big: " + std::string(1 << 20, 'a') + "\r\n\r\n"), 431);
  expect_healthy("1 MB header");
  EXPECT_EQ(raw_request(port, "POST /v1/completions HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"), 411);
  EXPECT_EQ(raw_request(port, "GARBAGE\r\n\r\n"), 400);
  EXPECT_EQ(raw_request(port, "GET /health HTTP/3.0\r\n\r\n"), 505);
  expect_healthy("malformed request lines");

  const std::string body = chat("x").dump();
  EXPECT_EQ(call("POST", "/v1/chat/completions", body, {}).status, 401);
  EXPECT_EQ(call("POST", "/v1/chat/completions", body, {{"Authorization", "Bearer wrong"}}).status, 401);
  EXPECT_EQ(call("POST", "/v1/chat/completions", body, {{"Authorization", "Basic e2Uta2V5"}}).status, 401);
  EXPECT_EQ(call("POST", "/v1/chat/completions", body,
                 {{"Authorization", std::string("Bearer ") + kKey}, {"Authorization", "Bearer wrong"}}).status, 401);
  EXPECT_EQ(call("GET", "/health", "", {}).status, 200);
  EXPECT_EQ(call("GET", "/metrics", "", {}).status, 200);
  expect_healthy("authorization cases");

  EXPECT_EQ(call("GET", "//v1/models").status, 404);
  EXPECT_EQ(call("GET", "/v1/./models").status, 404);
  EXPECT_EQ(call("GET", "/v1/../v1/models").status, 404);
  EXPECT_EQ(call("GET", "/v1/%6dodels").status, 200);  // percent-decoded: the same route
  EXPECT_EQ(call("GET", "/v1/models%2F").status, 404);
  EXPECT_EQ(call("GET", "/v1/models%00").status, 400);
  EXPECT_EQ(call("GET", "/v1/models%zz").status, 400);
  EXPECT_EQ(call("GET", "/v1/models?x=%zz").status, 200);
  EXPECT_EQ(call("DELETE", "/v1/models").status, 405);
  expect_healthy("path tricks");
}

// Sends a request on a raw socket and closes it after `wait`.
void send_and_close(int port, const std::string& body, std::chrono::milliseconds wait) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  std::string message = "POST /v1/completions HTTP/1.1\r\nAuthorization: Bearer " + std::string(kKey) +
                        "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  ASSERT_EQ(::send(fd, message.data(), message.size(), 0), static_cast<ssize_t>(message.size()));
  std::this_thread::sleep_for(wait);
  ::close(fd);
}

TEST_F(ServerE2e, DisconnectsLeakNoBlocks) {
  ASSERT_TRUE(engine_idle());
  const int port = server_->port();
  const std::string disconnects = "reason=\"client_disconnect\"";
  const double aborted_before = metric("swallow:request_aborted_total", disconnects);
  // Prefill: a 1,900-token prompt is 30 steps of 64 tokens; the client leaves after 30 ms.
  json prefill = {{"model", "tiny"}, {"prompt", std::vector<int>(1900, 1234)}, {"max_tokens", 100}, {"ignore_eos", true}};
  send_and_close(port, prefill.dump(), std::chrono::milliseconds(30));
  EXPECT_TRUE(engine_idle()) << "after a disconnect during prefill";
  // Decode: a long generation, streaming; the client leaves mid-way.
  json decode = {{"model", "tiny"}, {"prompt", "hello"}, {"max_tokens", 1500}, {"ignore_eos", true}, {"stream", true}};
  send_and_close(port, decode.dump(), std::chrono::milliseconds(300));
  EXPECT_TRUE(engine_idle()) << "after a disconnect during decode";
  // Queued: many long requests fill the batch; all their clients leave while most are queued.
  std::vector<std::thread> clients;
  json queued = {{"model", "tiny"}, {"prompt", std::vector<int>(1000, 77)}, {"max_tokens", 500}, {"ignore_eos", true}};
  for (int i = 0; i < 40; ++i) clients.emplace_back([&] { send_and_close(port, queued.dump(), std::chrono::milliseconds(200)); });
  for (auto& c : clients) c.join();
  EXPECT_TRUE(engine_idle()) << "after disconnects in the queue";
  EXPECT_EQ(metric("swallow:request_aborted_total", disconnects) - aborted_before, 42);  // every one was aborted
  expect_healthy("disconnects");
}

TEST_F(ServerE2e, ConcurrentStreamsMatchSoloRuns) {
  constexpr int kPrompts = 64, kCopies = 4;
  auto body = [](int p, bool stream) {
    return json({{"model", "tiny"}, {"prompt", "Request number " + std::to_string(p) + " says"}, {"max_tokens", 12},
                 {"temperature", 0}, {"ignore_eos", true}, {"stream", stream}}).dump();
  };
  std::vector<std::string> solo(kPrompts);
  for (int p = 0; p < kPrompts; ++p) {
    auto r = call("POST", "/v1/completions", body(p, false));
    ASSERT_EQ(r.status, 200) << r.body;
    solo[p] = json::parse(r.body)["choices"][0]["text"];
  }
  std::vector<std::string> streamed(kPrompts * kCopies);
  std::atomic<int> failures{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < kPrompts * kCopies; ++c) {
    clients.emplace_back([&, c] {
      std::string text;
      bool done = false;
      server::SseSplitter splitter([&](std::string_view data) {
        if (data == "[DONE]") {
          done = true;
          return;
        }
        json chunk = json::parse(data);
        if (!chunk["choices"].empty()) text += chunk["choices"][0].value("text", "");
      });
      try {
        auto r = HttpClient("127.0.0.1", server_->port(), 120)
                     .request("POST", "/v1/completions", body(c % kPrompts, true), {{"Authorization", std::string("Bearer ") + kKey}},
                              [&](std::string_view piece) {
                                splitter.feed(piece);
                                return true;
                              });
        if (r.status != 200 || !done) failures.fetch_add(1);
      } catch (const std::exception&) {
        failures.fetch_add(1);
      }
      streamed[c] = text;
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(failures.load(), 0);
  for (int c = 0; c < kPrompts * kCopies; ++c) EXPECT_EQ(streamed[c], solo[c % kPrompts]) << "client " << c;
  EXPECT_TRUE(engine_idle());
}

TEST(ServerShutdown, SigtermDrainsThenEndsStreams) {
  REQUIRE_TEST_DATA(tiny_model_dir(), "the tiny e2e model (make_tiny_llama fixture)");
  std::vector<std::string> args = base_args();
  args.insert(args.end(), {"--shutdown-timeout", "1"});
  ServerProcess server(args);
  std::string body = json({{"model", "tiny"}, {"prompt", "hi"}, {"max_tokens", 2000}, {"ignore_eos", true}, {"stream", true}}).dump();
  std::vector<std::string> events;
  std::thread client([&] {
    server::SseSplitter splitter([&](std::string_view data) { events.emplace_back(data); });
    HttpClient("127.0.0.1", server.port(), 60).request("POST", "/v1/completions", body, {}, [&](std::string_view piece) {
      splitter.feed(piece);
      return true;
    });
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(server.stop(SIGTERM, 20), 0) << server.log();
  client.join();
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_GE(took, 0.9);  // the running stream got its grace period
  ASSERT_GE(events.size(), 2u);
  EXPECT_EQ(events.back(), "[DONE]");
  EXPECT_TRUE(json::parse(events[events.size() - 2]).contains("error")) << events[events.size() - 2];
}

TEST(BatchCommand, RunsAFileInOrderWithErrorLines) {
  REQUIRE_TEST_DATA(tiny_model_dir(), "the tiny e2e model (make_tiny_llama fixture)");
  const std::string dir = std::filesystem::temp_directory_path() / ("swallow_batch_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  {
    std::ofstream input(dir + "/in.jsonl");
    for (int i = 0; i < 20; ++i) {
      json body = {{"model", "tiny"}, {"messages", {{{"role", "user"}, {"content", "line " + std::to_string(i)}}}},
                   {"max_tokens", 5}, {"temperature", 0}};
      input << json({{"custom_id", "req-" + std::to_string(i)}, {"method", "POST"}, {"url", "/v1/chat/completions"}, {"body", body}}).dump()
            << "\n";
      if (i == 7) input << "{\"custom_id\": \"bad\", \"method\": \"POST\", \"url\": \"/v1/completions\", \"body\": {\"prompt\": 1}}\n";
    }
  }
  const std::string command = swallow_binary() + " batch --model " + tiny_model_dir() +
                              " --kv-cache-memory 64MiB --threads 1 --served-model-name tiny --input " + dir +
                              "/in.jsonl --output " + dir + "/out.jsonl 2>" + dir + "/log.txt";
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  std::ifstream output(dir + "/out.jsonl");
  std::vector<json> lines;
  for (std::string line; std::getline(output, line);) lines.push_back(json::parse(line));
  ASSERT_EQ(lines.size(), 21u);
  int request = 0;
  for (const json& line : lines) {
    if (line["custom_id"] == "bad") {
      EXPECT_TRUE(line["response"].is_null());
      EXPECT_EQ(line["error"]["param"], "prompt");
      continue;
    }
    EXPECT_EQ(line["custom_id"], "req-" + std::to_string(request++));
    EXPECT_EQ(line["response"]["status_code"], 200);
    EXPECT_EQ(line["response"]["body"]["object"], "chat.completion");
    EXPECT_EQ(line["response"]["body"]["usage"]["completion_tokens"], 5);
    EXPECT_TRUE(line["error"].is_null());
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace swallow::test
