// Schema parsing and validation of chat and completion requests: a table of bad inputs with the
// parameter each error must name, and the values good inputs must produce.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "server/api_error.h"
#include "server/openai_request.h"

namespace swallow::server {
namespace {

using nlohmann::json;

SchemaLimits test_limits() {
  SchemaLimits limits;
  limits.max_model_len = 2048;
  limits.vocab_size = 1000;
  return limits;
}

ApiRequest parse_chat(const json& extra, const SamplingDefaults& defaults = {}) {
  json body = {{"model", "m"}, {"messages", json::array({{{"role", "user"}, {"content", "hi"}}})}};
  body.update(extra);
  return parse_api_request(Endpoint::kChatCompletions, body, test_limits(), defaults);
}

ApiRequest parse_completion(const json& extra) {
  json body = {{"model", "m"}, {"prompt", "hello"}};
  body.update(extra);
  return parse_api_request(Endpoint::kCompletions, body, test_limits(), {});
}

struct BadCase {
  Endpoint endpoint;
  std::string body_extra;  // JSON merged into a valid request
  std::string param;       // what the error must name
};

class BadRequestTest : public testing::TestWithParam<BadCase> {};

TEST_P(BadRequestTest, NamesTheParameter) {
  const BadCase& c = GetParam();
  json extra = json::parse(c.body_extra);
  try {
    if (c.endpoint == Endpoint::kChatCompletions) parse_chat(extra);
    else parse_completion(extra);
    FAIL() << "accepted: " << c.body_extra;
  } catch (const ApiError& e) {
    EXPECT_EQ(e.status(), 400) << c.body_extra;
    ASSERT_TRUE(e.param().has_value()) << e.what();
    EXPECT_EQ(*e.param(), c.param) << e.what();
    EXPECT_NE(std::string(e.what()).find(c.param), std::string::npos) << e.what();
  }
}

constexpr Endpoint kChat = Endpoint::kChatCompletions;
constexpr Endpoint kCmpl = Endpoint::kCompletions;

INSTANTIATE_TEST_SUITE_P(
    Table, BadRequestTest,
    testing::Values(
        BadCase{kChat, R"({"temperature": -1})", "temperature"}, BadCase{kChat, R"({"temperature": "1"})", "temperature"},
        BadCase{kChat, R"({"temperature": 1e308})", "temperature"}, BadCase{kChat, R"({"temperature": []})", "temperature"},
        BadCase{kChat, R"({"temperature": true})", "temperature"}, BadCase{kChat, R"({"top_p": 0})", "top_p"},
        BadCase{kChat, R"({"top_p": 1.5})", "top_p"}, BadCase{kChat, R"({"top_k": -2})", "top_k"},
        BadCase{kChat, R"({"top_k": 2147483648})", "top_k"}, BadCase{kChat, R"({"top_k": 1.5})", "top_k"},
        BadCase{kChat, R"({"min_p": 2})", "min_p"}, BadCase{kChat, R"({"presence_penalty": 3})", "presence_penalty"},
        BadCase{kChat, R"({"frequency_penalty": -2.5})", "frequency_penalty"},
        BadCase{kChat, R"({"repetition_penalty": 0})", "repetition_penalty"},
        BadCase{kChat, R"({"seed": 9223372036854775808})", "seed"}, BadCase{kChat, R"({"seed": "1"})", "seed"},
        BadCase{kChat, R"({"seed": 1e308})", "seed"}, BadCase{kChat, R"({"n": 0})", "n"}, BadCase{kChat, R"({"n": -1})", "n"},
        BadCase{kChat, R"({"n": 17})", "n"}, BadCase{kChat, R"({"n": 2147483648})", "n"},
        BadCase{kChat, R"({"max_tokens": 0})", "max_tokens"}, BadCase{kChat, R"({"max_tokens": 4096})", "max_tokens"},
        BadCase{kChat, R"({"max_tokens": 9223372036854775807})", "max_tokens"},
        BadCase{kChat, R"({"max_tokens": 18446744073709551615})", "max_tokens"},
        BadCase{kChat, R"({"max_completion_tokens": -1})", "max_completion_tokens"},
        BadCase{kChat, R"({"min_tokens": 20, "max_tokens": 10})", "min_tokens"},
        BadCase{kChat, R"({"stop": 5})", "stop"}, BadCase{kChat, R"({"stop": ["a", 1]})", "stop"},
        BadCase{kChat, R"({"stop": ["1","2","3","4","5","6","7","8","9","10","11","12","13","14","15","16","17"]})", "stop"},
        BadCase{kChat, R"({"stop_token_ids": [1000]})", "stop_token_ids[0]"},
        BadCase{kChat, R"({"logit_bias": {"abc": 1}})", "logit_bias"}, BadCase{kChat, R"({"logit_bias": {"5": 101}})", "logit_bias"},
        BadCase{kChat, R"({"logit_bias": {"1000": 1}})", "logit_bias"}, BadCase{kChat, R"({"logit_bias": [1]})", "logit_bias"},
        BadCase{kChat, R"({"logprobs": 1})", "logprobs"}, BadCase{kChat, R"({"top_logprobs": 3})", "top_logprobs"},
        BadCase{kChat, R"({"logprobs": true, "top_logprobs": 21})", "top_logprobs"},
        BadCase{kChat, R"({"stream": "yes"})", "stream"}, BadCase{kChat, R"({"stream_options": {"include_usage": true}})", "stream_options"},
        BadCase{kChat, R"({"stream": true, "stream_options": {"include_usage": 1}})", "stream_options.include_usage"},
        BadCase{kChat, R"({"chat_template": "{{ 7*7 }}"})", "chat_template"},
        BadCase{kChat, R"({"messages": []})", "messages"}, BadCase{kChat, R"({"messages": "hi"})", "messages"},
        BadCase{kChat, R"({"messages": [1]})", "messages[0]"}, BadCase{kChat, R"({"messages": [{"content": "x"}]})", "messages[0].role"},
        BadCase{kChat, R"({"messages": [{"role": "user", "content": 5}]})", "messages[0].content"},
        BadCase{kChat, R"({"messages": [{"role": "user", "content": [{"type": "image_url"}]}]})", "messages[0].content[0].type"},
        BadCase{kChat, R"({"model": 5})", "model"}, BadCase{kChat, R"({"tools": {}})", "tools"},
        BadCase{kChat, R"({"tool_choice": "required"})", "tool_choice"},
        BadCase{kChat, R"({"response_format": {"type": "json_object"}})", "response_format"},
        BadCase{kChat, R"({"chat_template_kwargs": []})", "chat_template_kwargs"},
        BadCase{kChat, R"({"best_of": 3})", "best_of"}, BadCase{kChat, R"({"priority": "high"})", "priority"},
        BadCase{kCmpl, R"({"prompt": null})", "prompt"}, BadCase{kCmpl, R"({"prompt": []})", "prompt"},
        BadCase{kCmpl, R"({"prompt": 5})", "prompt"}, BadCase{kCmpl, R"({"prompt": [1, 1000]})", "prompt[1]"},
        BadCase{kCmpl, R"({"prompt": [1, -1]})", "prompt[1]"}, BadCase{kCmpl, R"({"prompt": ["a", 5]})", "prompt[1]"},
        BadCase{kCmpl, R"({"prompt": ["a", []]})", "prompt[1]"}, BadCase{kCmpl, R"({"logprobs": true})", "logprobs"},
        BadCase{kCmpl, R"({"logprobs": 21})", "logprobs"}, BadCase{kCmpl, R"({"echo": true})", "echo"},
        BadCase{kCmpl, R"({"suffix": "x"})", "suffix"}));

TEST(OpenAiRequest, ChatDefaultsAreOpenAis) {
  ApiRequest r = parse_chat(json::object());
  ASSERT_EQ(r.prompts.size(), 1u);
  const GenerationRequest& g = r.prompts[0];
  EXPECT_EQ(g.sampling.temperature, 1.0f);
  EXPECT_EQ(g.sampling.top_p, 1.0f);
  EXPECT_EQ(g.sampling.top_k, 0);
  EXPECT_EQ(g.max_tokens, -1);
  EXPECT_EQ(g.sampling.n_logprobs, -1);
  EXPECT_FALSE(r.stream);
  EXPECT_EQ(r.model, "m");
  ASSERT_TRUE(g.chat.has_value());
  EXPECT_EQ((*g.chat)["messages"][0]["content"], "hi");
}

TEST(OpenAiRequest, GenerationConfigDefaultsApplyOnlyWhenAbsent) {
  SamplingDefaults defaults;
  defaults.temperature = 0.6f;
  defaults.top_p = 0.9f;
  defaults.max_tokens = 512;
  ApiRequest r = parse_chat(json::object(), defaults);
  EXPECT_FLOAT_EQ(r.prompts[0].sampling.temperature, 0.6f);
  EXPECT_FLOAT_EQ(r.prompts[0].sampling.top_p, 0.9f);
  EXPECT_EQ(r.prompts[0].max_tokens, 512);
  r = parse_chat({{"temperature", 0}, {"top_p", 1}, {"max_tokens", 7}}, defaults);
  EXPECT_EQ(r.prompts[0].sampling.temperature, 0.0f);
  EXPECT_EQ(r.prompts[0].sampling.top_p, 1.0f);
  EXPECT_EQ(r.prompts[0].max_tokens, 7);
}

TEST(OpenAiRequest, NullMeansAbsent) {
  ApiRequest r = parse_chat({{"temperature", nullptr}, {"n", nullptr}, {"stop", nullptr}, {"seed", nullptr}});
  EXPECT_EQ(r.prompts[0].sampling.temperature, 1.0f);
  EXPECT_EQ(r.n, 1);
  EXPECT_TRUE(r.prompts[0].stop.empty());
}

TEST(OpenAiRequest, SamplingFieldsAreCopied) {
  ApiRequest r = parse_chat(json::parse(R"({"temperature": 0.5, "top_p": 0.8, "top_k": -1, "min_p": 0.1,
      "presence_penalty": 0.5, "frequency_penalty": -0.5, "repetition_penalty": 1.1, "seed": -1, "n": 3,
      "max_completion_tokens": 9, "max_tokens": 100, "stop": "END", "stop_token_ids": [7], "logit_bias": {"42": -100},
      "logprobs": true, "top_logprobs": 2, "ignore_eos": true, "min_tokens": 2, "priority": -5,
      "stream": true, "stream_options": {"include_usage": true}})"));
  const GenerationRequest& g = r.prompts[0];
  EXPECT_FLOAT_EQ(g.sampling.temperature, 0.5f);
  EXPECT_FLOAT_EQ(g.sampling.top_p, 0.8f);
  EXPECT_EQ(g.sampling.top_k, 0);
  EXPECT_FLOAT_EQ(g.sampling.min_p, 0.1f);
  EXPECT_FLOAT_EQ(g.sampling.presence_penalty, 0.5f);
  EXPECT_FLOAT_EQ(g.sampling.frequency_penalty, -0.5f);
  EXPECT_FLOAT_EQ(g.sampling.repetition_penalty, 1.1f);
  EXPECT_EQ(g.seed, ~uint64_t{0});
  EXPECT_EQ(r.n, 3);
  EXPECT_EQ(g.n, 3);
  EXPECT_EQ(g.max_tokens, 9);  // max_completion_tokens wins
  EXPECT_EQ(g.stop, std::vector<std::string>{"END"});
  EXPECT_EQ(g.stop_token_ids, std::vector<int32_t>{7});
  ASSERT_EQ(g.sampling.logit_bias.size(), 1u);
  EXPECT_EQ(g.sampling.logit_bias[0].first, 42);
  EXPECT_FLOAT_EQ(g.sampling.logit_bias[0].second, -100.0f);
  EXPECT_TRUE(r.logprobs);
  EXPECT_EQ(g.sampling.n_logprobs, 2);
  EXPECT_TRUE(g.ignore_eos);
  EXPECT_EQ(g.min_tokens, 2);
  EXPECT_EQ(g.priority, -5);
  EXPECT_TRUE(r.stream);
  EXPECT_TRUE(r.include_usage);
}

TEST(OpenAiRequest, IntegralFloatsAreIntegers) {
  EXPECT_EQ(parse_chat({{"max_tokens", 5.0}}).prompts[0].max_tokens, 5);
}

TEST(OpenAiRequest, UnknownFieldsAreReported) {
  ApiRequest r = parse_chat({{"frobnicate", 1}, {"metadata", {{"a", 1}}}});
  EXPECT_EQ(r.ignored_fields, (std::vector<std::string>{"frobnicate", "metadata"}));
}

TEST(OpenAiRequest, ContentPartsAreJoined) {
  ApiRequest r = parse_chat(json::parse(R"({"messages": [{"role": "system", "content": null},
      {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}],
      "chat_template_kwargs": {"enable_thinking": false}, "tools": [{"type": "function"}]})"));
  const json& chat = *r.prompts[0].chat;
  EXPECT_EQ(chat["messages"][0]["content"], "");
  EXPECT_EQ(chat["messages"][1]["content"], "a\nb");
  EXPECT_EQ(chat["enable_thinking"], false);
  EXPECT_EQ(chat["tools"].size(), 1u);
}

TEST(OpenAiRequest, CompletionPromptForms) {
  EXPECT_EQ(*parse_completion(json::object()).prompts[0].prompt_text, "hello");
  EXPECT_EQ(parse_completion(json::object()).prompts[0].max_tokens, 16);  // vLLM's completions default
  auto ids = parse_completion({{"prompt", {1, 2, 3}}});
  ASSERT_EQ(ids.prompts.size(), 1u);
  EXPECT_EQ(*ids.prompts[0].prompt_ids, (std::vector<int32_t>{1, 2, 3}));
  auto many = parse_completion(json::parse(R"({"prompt": ["a", [4, 5], "c"], "n": 2, "logprobs": 0})"));
  ASSERT_EQ(many.prompts.size(), 3u);
  EXPECT_EQ(*many.prompts[2].prompt_text, "c");
  EXPECT_EQ(many.prompts[1].n, 2);
  EXPECT_TRUE(many.logprobs);
  EXPECT_EQ(many.prompts[0].sampling.n_logprobs, 0);
}

TEST(OpenAiRequest, ServerCapOnMaxTokens) {
  SchemaLimits limits = test_limits();
  limits.max_tokens = 100;
  json body = {{"messages", json::array({{{"role", "user"}, {"content", "x"}}})}, {"max_tokens", 101}};
  EXPECT_THROW(parse_api_request(Endpoint::kChatCompletions, body, limits, {}), ApiError);
  body["max_tokens"] = 100;
  EXPECT_EQ(parse_api_request(Endpoint::kChatCompletions, body, limits, {}).prompts[0].max_tokens, 100);
}

TEST(JsonBody, RejectsBadBodies) {
  for (const char* body : {"", "{", "[1]", "\"x\"", "{\"a\": NaN}", "{\"a\": \"\\ud800\"}", "{\"a\": \"\xff\"}", "{} x"}) {
    try {
      parse_json_body(body, 64);
      FAIL() << "accepted: " << body;
    } catch (const ApiError& e) {
      EXPECT_EQ(e.status(), 400);
    }
  }
  std::string deep(100000, '[');
  EXPECT_THROW(parse_json_body("{\"a\": " + deep, 64), ApiError);
  EXPECT_EQ(parse_json_body("{\"a\": \"[[[[\"}", 2)["a"], "[[[[");
  EXPECT_EQ(parse_json_body("{\"a\": [[1]]}", 3)["a"][0][0], 1);
}

}  // namespace
}  // namespace swallow::server
