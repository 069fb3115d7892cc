// Response building: the OpenAI shapes of chat and completion responses, stream chunks, usage,
// logprobs, and partial-UTF-8 token bytes in JSON.
#include <gtest/gtest.h>

#include "server/api_error.h"
#include "server/openai_response.h"

namespace swallow::server {
namespace {

using nlohmann::json;

ResponseContext context(Endpoint endpoint, bool logprobs) {
  ResponseContext ctx;
  ctx.endpoint = endpoint;
  ctx.id = "id-1";
  ctx.created = 1700000000;
  ctx.model = "tiny";
  ctx.logprobs = logprobs;
  // Token t is the letter 'a' + t, except 99: the first byte of a 3-byte character.
  ctx.token_bytes = [](int32_t t) { return t == 99 ? std::string("\xe3") : std::string(1, static_cast<char>('a' + t)); };
  return ctx;
}

ChoiceOutput choice_with_logprobs() {
  ChoiceOutput c;
  c.index = 1;
  c.text = "ab";
  c.logprobs = {{0, -0.5f, {{0, -0.5f}, {2, -1.5f}}}, {99, -std::numeric_limits<float>::infinity(), {}}};
  c.finish_reason = FinishReason::kLength;
  return c;
}

TEST(OpenAiResponse, ChatCompletion) {
  json r = build_response(context(Endpoint::kChatCompletions, true), {choice_with_logprobs()}, {10, 2});
  EXPECT_EQ(r["object"], "chat.completion");
  EXPECT_EQ(r["id"], "id-1");
  EXPECT_EQ(r["model"], "tiny");
  EXPECT_EQ(r["choices"][0]["index"], 1);
  EXPECT_EQ(r["choices"][0]["message"]["role"], "assistant");
  EXPECT_EQ(r["choices"][0]["message"]["content"], "ab");
  EXPECT_EQ(r["choices"][0]["finish_reason"], "length");
  const json& content = r["choices"][0]["logprobs"]["content"];
  ASSERT_EQ(content.size(), 2u);
  EXPECT_EQ(content[0]["token"], "a");
  EXPECT_EQ(content[0]["bytes"], json::array({97}));
  EXPECT_EQ(content[0]["top_logprobs"][1]["token"], "c");
  EXPECT_DOUBLE_EQ(content[0]["top_logprobs"][1]["logprob"].get<double>(), -1.5);
  EXPECT_EQ(content[1]["token"], "\xef\xbf\xbd");  // U+FFFD for a partial character
  EXPECT_EQ(content[1]["bytes"], json::array({0xe3}));
  EXPECT_EQ(content[1]["logprob"], -9999.0);
  EXPECT_EQ(r["usage"], json({{"prompt_tokens", 10}, {"completion_tokens", 2}, {"total_tokens", 12}}));
}

TEST(OpenAiResponse, TextCompletionLogprobs) {
  json r = build_response(context(Endpoint::kCompletions, true), {choice_with_logprobs()}, {1, 2});
  EXPECT_EQ(r["object"], "text_completion");
  const json& choice = r["choices"][0];
  EXPECT_EQ(choice["text"], "ab");
  EXPECT_EQ(choice["logprobs"]["tokens"], json::array({"a", "\xef\xbf\xbd"}));
  EXPECT_EQ(choice["logprobs"]["text_offset"], json::array({0, 1}));
  EXPECT_EQ(choice["logprobs"]["top_logprobs"][0], json({{"a", -0.5}, {"c", -1.5}}));
}

TEST(OpenAiResponse, NoLogprobsIsNull) {
  ChoiceOutput c;
  c.text = "x";
  c.finish_reason = FinishReason::kStop;
  c.stop_reason = "END";
  json r = build_response(context(Endpoint::kCompletions, false), {c}, {1, 1});
  EXPECT_TRUE(r["choices"][0]["logprobs"].is_null());
  EXPECT_EQ(r["choices"][0]["stop_reason"], "END");
  EXPECT_EQ(r["choices"][0]["finish_reason"], "stop");
}

TEST(OpenAiResponse, StreamChunks) {
  ResponseContext ctx = context(Endpoint::kChatCompletions, false);
  json role = build_role_chunk(ctx, 0);
  EXPECT_EQ(role["object"], "chat.completion.chunk");
  EXPECT_EQ(role["choices"][0]["delta"]["role"], "assistant");
  ChoiceOutput delta;
  delta.text = "he";
  size_t offset = 0;
  json chunk = build_delta_chunk(ctx, delta, offset);
  EXPECT_EQ(chunk["choices"][0]["delta"], json({{"content", "he"}}));
  EXPECT_TRUE(chunk["choices"][0]["finish_reason"].is_null());
  delta.text.clear();
  delta.finish_reason = FinishReason::kStop;
  chunk = build_delta_chunk(ctx, delta, offset);
  EXPECT_EQ(chunk["choices"][0]["delta"], json::object());
  EXPECT_EQ(chunk["choices"][0]["finish_reason"], "stop");
  json usage = build_usage_chunk(ctx, {3, 4});
  EXPECT_TRUE(usage["choices"].empty());
  EXPECT_EQ(usage["usage"]["total_tokens"], 7);
}

TEST(OpenAiResponse, CompletionStreamOffsetsAdvance) {
  ResponseContext ctx = context(Endpoint::kCompletions, true);
  ChoiceOutput delta;
  delta.text = "a";
  delta.logprobs = {{0, -0.1f, {}}};
  size_t offset = 0;
  build_delta_chunk(ctx, delta, offset);
  json second = build_delta_chunk(ctx, delta, offset);
  EXPECT_EQ(second["choices"][0]["logprobs"]["text_offset"], json::array({1}));
  EXPECT_EQ(second["choices"][0]["text"], "a");
}

TEST(OpenAiResponse, WireNeverThrowsOnInvalidUtf8) {
  json value = {{"text", std::string("ok\xe3\x81")}};
  EXPECT_EQ(to_wire(value), "{\"text\":\"ok\xef\xbf\xbd\"}");
  EXPECT_EQ(sse_event(json{{"a", 1}}), "data: {\"a\":1}\n\n");
}

TEST(ApiErrorJson, Shape) {
  json e = bad_param("temperature", "must be >= 0").to_json();
  EXPECT_EQ(e["error"]["param"], "temperature");
  EXPECT_EQ(e["error"]["type"], "invalid_request_error");
  EXPECT_EQ(e["error"]["code"], "invalid_value");
  EXPECT_EQ(e["error"]["message"], "temperature: must be >= 0");
  EXPECT_TRUE(unauthorized().to_json()["error"]["param"].is_null());
  EXPECT_EQ(from_library_error(resource_exhausted("queue full")).status(), 429);
  EXPECT_EQ(from_library_error(invalid_argument("too long")).status(), 400);
}

}  // namespace
}  // namespace swallow::server
