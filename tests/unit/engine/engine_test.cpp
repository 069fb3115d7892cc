// EngineImpl with the fake runner and codec: validation errors naming the parameter, concurrent
// submits from several threads, abort from another thread, stats, seeds, shutdown.
#include <gtest/gtest.h>

#include <functional>
#include <thread>

#include "core/error.h"
#include "engine/engine_impl.h"
#include "fakes.h"

namespace swallow::test {
namespace {

class EngineTest : public ::testing::Test {
 protected:
  void start(int32_t n_blocks = 64, int32_t max_model_len = 128, EngineOptions options = {}) {
    runner_ = std::make_unique<FakeRunner>(n_blocks, 4, max_model_len, 64);
    engine_ = std::make_unique<EngineImpl>(*runner_, std::make_unique<FakeCodec>(), options);
  }
  GenerationRequest ids_request(int32_t n_prompt, int32_t max_tokens, int32_t base = 1) {
    GenerationRequest r = greedy_request(max_tokens);
    r.prompt_ids = make_prompt(n_prompt, base);
    return r;
  }
  // Makes every step take 2 ms, so that a long request is still running when the test acts.
  void slow_steps() {
    runner_->before_execute = [] { std::this_thread::sleep_for(std::chrono::milliseconds(2)); };
  }
  // The message of the kInvalidArgument error submit throws, or "" when it succeeds.
  std::string submit_error(GenerationRequest r) {
    try {
      auto stream = engine_->submit(std::move(r));
      drain(*stream);
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kInvalidArgument) << e.what();
      return e.what();
    }
    return "";
  }

  // Stats are published after the step that changed them: polls until `done` holds (2 s).
  EngineStats stats_when(const std::function<bool(const EngineStats&)>& done) {
    EngineStats stats = engine_->stats();
    for (int i = 0; i < 400 && !done(stats); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      stats = engine_->stats();
    }
    return stats;
  }

  std::unique_ptr<FakeRunner> runner_;
  std::unique_ptr<EngineImpl> engine_;
};

TEST_F(EngineTest, RejectsBadParametersNamingThem) {
  start();
  auto with = [&](auto edit) {
    GenerationRequest r = ids_request(4, 4);
    edit(r);
    return submit_error(std::move(r));
  };
  EXPECT_NE(with([](auto& r) { r.n = 0; }).find("'n'"), std::string::npos);
  EXPECT_NE(with([](auto& r) { r.max_tokens = 0; }).find("'max_tokens'"), std::string::npos);
  EXPECT_NE(with([](auto& r) { r.sampling.temperature = -0.5f; }).find("'temperature'"), std::string::npos);
  EXPECT_NE(with([](auto& r) { r.sampling.top_p = 0.0f; }).find("'top_p'"), std::string::npos);
  EXPECT_NE(with([](auto& r) { r.sampling.top_p = 1.5f; }).find("'top_p'"), std::string::npos);
  EXPECT_NE(with([](auto& r) { r.sampling.top_k = -2; }).find("'top_k'"), std::string::npos);
  EXPECT_NE(with([](auto& r) { r.sampling.min_p = 1.5f; }).find("'min_p'"), std::string::npos);
  EXPECT_NE(with([](auto& r) { r.sampling.repetition_penalty = 0.0f; }).find("'repetition_penalty'"), std::string::npos);
  EXPECT_NE(with([](auto& r) { r.sampling.presence_penalty = 2.5f; }).find("'presence_penalty'"), std::string::npos);
  EXPECT_NE(with([](auto& r) { r.sampling.frequency_penalty = -3.0f; }).find("'frequency_penalty'"), std::string::npos);
  EXPECT_NE(with([](auto& r) { r.min_tokens = 5; }).find("'min_tokens'"), std::string::npos);
  EXPECT_NE(with([](auto& r) { r.stop = {""}; }).find("'stop'"), std::string::npos);
  EXPECT_NE(with([](auto& r) { r.stop_token_ids = {64}; }).find("'stop_token_ids'"), std::string::npos);
  EXPECT_NE(with([](auto& r) { r.prompt_ids = std::vector<int32_t>{}; }).find("'prompt'"), std::string::npos);
  EXPECT_NE(with([](auto& r) { r.prompt_ids = std::vector<int32_t>{1, 99}; }).find("'prompt'"), std::string::npos);
  EXPECT_NE(with([](auto& r) { r.prompt_text = "both"; }).find("'prompt'"), std::string::npos);
  EXPECT_NE(with([](auto& r) {
              r.prompt_ids.reset();
              r.chat = nlohmann::json{{"messages", nlohmann::json::array()}};
            }).find("'messages'"),
            std::string::npos);
  EXPECT_EQ(with([](auto&) {}), "");
  EXPECT_EQ(stats_when([](const EngineStats& s) { return s.requests_finished > 0; }).requests_finished, 1);
}

TEST_F(EngineTest, RejectsRequestsLongerThanTheContextWithTheCounts) {
  start(64, 100);
  std::string message = submit_error(ids_request(90, 20));
  EXPECT_NE(message.find("'max_tokens'"), std::string::npos) << message;
  EXPECT_NE(message.find("100"), std::string::npos) << message;
  EXPECT_NE(message.find("110"), std::string::npos) << message;
  EXPECT_NE(message.find("90 in the prompt"), std::string::npos) << message;
  EXPECT_NE(submit_error(ids_request(100, -1)).find("'prompt' is too long"), std::string::npos);
  // -1: the rest of the context.
  auto stream = engine_->submit(ids_request(90, -1));
  EXPECT_EQ(drain(*stream)[0].completion_tokens, 10);
}

TEST_F(EngineTest, ContextIsLimitedByTheKvCache) {
  start(/*n_blocks=*/8, /*max_model_len=*/1000);
  EXPECT_EQ(engine_->max_model_len(), 32);
}

TEST_F(EngineTest, ConcurrentSubmitsMatchRunningAlone) {
  start(40);
  std::vector<std::vector<int32_t>> results(24);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = t; i < 24; i += 4) {
        GenerationRequest r = ids_request(3 + i % 17, 6 + i % 5, i);
        if (i % 2) {
          r.sampling.temperature = 0.9f;
          r.seed = i;
        }
        auto stream = engine_->submit(std::move(r));
        results[i] = drain(*stream)[0].tokens;
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int i = 0; i < 24; ++i) {
    SchedulerHarness alone(SchedulerOptions{256, 2048, true, 64, 4}, 128);
    GenerationRequest r = ids_request(3 + i % 17, 6 + i % 5, i);
    if (i % 2) {
      r.sampling.temperature = 0.9f;
      r.seed = i;
    }
    auto stream = alone.add(*r.prompt_ids, r);
    alone.run();
    EXPECT_EQ(results[i], drain(*stream)[0].tokens) << "request " << i;
  }
  EngineStats stats = stats_when([](const EngineStats& s) { return s.requests_finished == 24; });
  EXPECT_EQ(stats.requests_finished, 24);
  EXPECT_EQ(stats.kv_blocks_free, stats.kv_blocks_total);
  EXPECT_EQ(stats.running + stats.waiting, 0);
}

TEST_F(EngineTest, AbortFromAnotherThreadFreesBlocks) {
  start();
  slow_steps();
  GenerationRequest r = ids_request(10, 100);
  r.request_id = "long";
  auto stream = engine_->submit(std::move(r));
  RequestEvent event;
  ASSERT_TRUE(stream->next(event, std::chrono::seconds(10)));  // first token arrived
  std::thread([&] { engine_->abort("long"); }).join();
  auto out = drain(*stream);
  EXPECT_EQ(out[0].finish_reason, FinishReason::kAbort);
  EXPECT_LT(out[0].tokens.size(), 99u);
  engine_->abort("long");     // already over: ignored
  engine_->abort("unknown");  // never existed: ignored
  EXPECT_EQ(stats_when([](const EngineStats& s) { return s.kv_blocks_free == 64; }).kv_blocks_free, 64);
}

TEST_F(EngineTest, UnseededRequestsDrawDifferentSeeds) {
  start();
  auto sample = [&](std::optional<uint64_t> seed) {
    GenerationRequest r = ids_request(5, 8);
    r.sampling.temperature = 1.0f;
    r.seed = seed;
    return drain(*engine_->submit(std::move(r)))[0].tokens;
  };
  EXPECT_EQ(sample(5), sample(5));
  EXPECT_NE(sample(std::nullopt), sample(std::nullopt));
}

TEST_F(EngineTest, RejectsDuplicateRequestIds) {
  start();
  slow_steps();
  GenerationRequest r = ids_request(5, 100);
  r.request_id = "same";
  auto stream = engine_->submit(r);
  EXPECT_NE(submit_error(r).find("'request_id'"), std::string::npos);
  engine_->abort("same");
  drain(*stream);
}

TEST_F(EngineTest, ShutdownAbortsWhatIsLeft) {
  EngineOptions options;
  options.max_num_seqs = 1;
  start(64, 128, options);
  slow_steps();
  auto running = engine_->submit(ids_request(5, 100));
  auto queued = engine_->submit(ids_request(5, 100, 3));
  engine_->shutdown();
  EXPECT_EQ(drain(*running)[0].finish_reason, FinishReason::kAbort);
  EXPECT_EQ(drain(*queued)[0].finish_reason, FinishReason::kAbort);
  try {
    engine_->submit(ids_request(5, 5));
    FAIL() << "submit after shutdown";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kResourceExhausted);
  }
}

TEST_F(EngineTest, RunnerFailureEndsTheStepsRequestsWithAnError) {
  start();
  runner_->before_execute = [] { throw invalid_argument("bad plan"); };
  auto out = drain(*engine_->submit(ids_request(5, 5)));
  EXPECT_EQ(out[0].finish_reason, FinishReason::kError);
  EXPECT_NE(out[0].error.find("bad plan"), std::string::npos);
  runner_->before_execute = nullptr;
  EXPECT_EQ(drain(*engine_->submit(ids_request(5, 5)))[0].finish_reason, FinishReason::kLength);
}

}  // namespace
}  // namespace swallow::test
