// The batch runner against the fake engine: results in input order, bad lines become error
// lines without stopping the others, the window of lines in flight is respected.
#include <gtest/gtest.h>

#include <sstream>

#include "fake_engine.h"
#include "server/batch_runner.h"

namespace swallow::server {
namespace {

using nlohmann::json;

TEST(BatchRunner, ResultsInOrderAndBadLinesIsolated) {
  test::FakeEngine engine({});
  test::FakeText text;
  std::stringstream input;
  input << R"({"custom_id": "a", "method": "POST", "url": "/v1/chat/completions", "body": {"messages": [{"role": "user", "content": "x"}]}})" "\n"
        << "not json\n"
        << "\n"
        << R"({"custom_id": "c", "method": "POST", "url": "/v1/completions", "body": {"prompt": "yy", "max_tokens": 2, "n": 2}})" "\n"
        << R"({"custom_id": "d", "method": "POST", "url": "/v1/embeddings", "body": {}})" "\n"
        << R"({"custom_id": "e", "method": "POST", "url": "/v1/completions", "body": {"prompt": "z", "temperature": -1}})" "\n"
        << R"({"custom_id": "f", "method": "POST", "url": "/v1/completions", "body": {"prompt": "z", "model": "other"}})" "\n";
  std::stringstream output;
  BatchOptions options;
  options.model_name = "tiny";
  options.max_lines_in_flight = 2;
  int progress_calls = 0;
  BatchProgress done = run_batch(engine, text, input, output, options, [&](const BatchProgress&) { ++progress_calls; });
  EXPECT_EQ(done.lines_total, 6);
  EXPECT_EQ(done.lines_done, 6);
  EXPECT_EQ(done.lines_failed, 4);
  EXPECT_EQ(progress_calls, 6);

  std::vector<json> lines;
  for (std::string line; std::getline(output, line);) lines.push_back(json::parse(line));
  ASSERT_EQ(lines.size(), 6u);
  EXPECT_EQ(lines[0]["custom_id"], "a");
  EXPECT_EQ(lines[0]["response"]["status_code"], 200);
  EXPECT_EQ(lines[0]["response"]["body"]["choices"][0]["message"]["content"], "tok0 tok1 tok2 tok3 tok4");
  EXPECT_TRUE(lines[0]["error"].is_null());
  EXPECT_TRUE(lines[1]["custom_id"].is_null());
  EXPECT_TRUE(lines[1]["response"].is_null());
  EXPECT_EQ(lines[1]["error"]["status_code"], 400);
  EXPECT_EQ(lines[2]["custom_id"], "c");
  EXPECT_EQ(lines[2]["response"]["body"]["choices"].size(), 2u);
  EXPECT_EQ(lines[2]["response"]["body"]["usage"]["completion_tokens"], 4);
  EXPECT_EQ(lines[3]["error"]["param"], "url");
  EXPECT_EQ(lines[4]["error"]["param"], "temperature");
  EXPECT_EQ(lines[5]["error"]["status_code"], 404);
}

}  // namespace
}  // namespace swallow::server
