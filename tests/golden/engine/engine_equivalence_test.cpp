// The engine on the real CPU backend with a tiny random Llama checkpoint (written by the test):
// 64 concurrent requests of different lengths give token-identical outputs to each request run
// alone, with chunk sizes 1, 7 and 64, with a KV cache small enough to force preemption, with
// prefix caching on and off, greedy and with seeded sampling (n = 1 and n = 3). Aborts leak no
// KV block.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "swallow/engine.h"
#include "tiny_llama.h"
#include "tiny_tokenizer.h"

namespace swallow::test {
namespace {

constexpr int kRequests = 64;
constexpr int32_t kSharedPrefix = 40;  // every fourth request starts with request 0's first tokens

struct EngineSetup {
  const char* name;
  int32_t max_num_batched_tokens;
  int32_t kv_blocks;  // of 16 tokens
  bool prefix_caching;
  bool expect_preemption = false;
};

class EngineEquivalence : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    write_tiny_checkpoint(dir_->path(), spec_, make_tiny_tensors(spec_, 20251126));
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }

  // Prompts of 1..60 tokens; outputs of 3..18 tokens; `sampled`: temperature 0.9 with a seed
  // per request, and n = 3 for every eighth request.
  static std::vector<GenerationRequest> workload(bool sampled) {
    std::vector<GenerationRequest> requests;
    for (int i = 0; i < kRequests; ++i) {
      GenerationRequest r;
      std::vector<int32_t> prompt;
      const int32_t n_prompt = 1 + (i * 13) % 60;
      for (int32_t k = 0; k < n_prompt; ++k) {
        const int source = (i % 4 == 0 && k < kSharedPrefix) ? 0 : i;
        prompt.push_back(static_cast<int32_t>((source * 31 + k * 7 + 3) % spec_.vocab));
      }
      r.prompt_ids = prompt;
      r.max_tokens = 3 + i % 16;
      r.ignore_eos = true;
      r.sampling.temperature = 0.0f;
      if (sampled) {
        r.sampling.temperature = 0.9f;
        r.sampling.top_p = 0.95f;
        r.seed = 1000 + i;
        if (i % 8 == 0) r.n = 3;
      }
      requests.push_back(std::move(r));
    }
    return requests;
  }

  // Output tokens of every sample of every request, [request][sample].
  using Outputs = std::vector<std::vector<std::vector<int32_t>>>;

  static Outputs run(const EngineSetup& setup, const std::vector<GenerationRequest>& requests, bool concurrently) {
    const int64_t block_bytes = make_cpu_runner(dir_->path())->kv_shape().bytes_per_token() * 16;
    auto runner = make_cpu_runner(dir_->path(),
                                  {.n_threads = 2, .kv_cache_bytes = block_bytes * setup.kv_blocks, .block_size = 16});
    EngineOptions options;
    options.max_num_batched_tokens = setup.max_num_batched_tokens;
    options.enable_prefix_caching = setup.prefix_caching;
    auto engine = Engine::create(*runner, tiny_tokenizer(), std::nullopt, options);
    Outputs outputs(requests.size());
    auto collect = [&](size_t i, RequestStream& stream) {
      outputs[i].resize(requests[i].n);
      RequestEvent event;
      while (stream.next(event)) {
        EXPECT_NE(event.kind, RequestEvent::Kind::kError) << event.error;
        auto& tokens = outputs[i][event.index];
        tokens.insert(tokens.end(), event.token_ids.begin(), event.token_ids.end());
      }
    };
    if (concurrently) {
      std::vector<std::shared_ptr<RequestStream>> streams;
      for (const GenerationRequest& r : requests) streams.push_back(engine->submit(r));
      for (size_t i = 0; i < requests.size(); ++i) collect(i, *streams[i]);
    } else {
      for (size_t i = 0; i < requests.size(); ++i) collect(i, *engine->submit(requests[i]));
    }
    engine->shutdown();
    const EngineStats stats = engine->stats();
    EXPECT_EQ(stats.kv_blocks_free, stats.kv_blocks_total) << setup.name << ": KV blocks leaked";
    if (setup.expect_preemption) {
      EXPECT_GT(stats.preemptions, 0) << setup.name;
    }
    if (setup.prefix_caching && concurrently) {
      EXPECT_GT(stats.prefix_cache_hits, 0) << setup.name;
    }
    return outputs;
  }

  static const Outputs& alone(bool sampled) {
    static Outputs greedy, seeded;
    Outputs& cached = sampled ? seeded : greedy;
    if (cached.empty()) cached = run({"alone", 2048, 64, false}, workload(sampled), /*concurrently=*/false);
    return cached;
  }

  static void expect_equivalent(const EngineSetup& setup, bool sampled) {
    const std::vector<GenerationRequest> requests = workload(sampled);
    const Outputs got = run(setup, requests, /*concurrently=*/true);
    const Outputs& want = alone(sampled);
    for (size_t i = 0; i < want.size(); ++i) {
      for (const auto& sample : want[i]) ASSERT_EQ(static_cast<int32_t>(sample.size()), requests[i].max_tokens);
      EXPECT_EQ(got[i], want[i]) << setup.name << (sampled ? " (seeded)" : " (greedy)") << ": request " << i;
    }
  }

  static inline TinySpec spec_{};
  static inline TempDir* dir_ = nullptr;
};

const EngineSetup kSetups[] = {
    {"chunk 1", 1, 512, false},
    {"chunk 7", 7, 512, false},
    {"chunk 64", 64, 512, false},
    {"chunk 64, prefix caching", 64, 512, true},
    {"chunk 7, prefix caching", 7, 512, true},
    {"small KV cache", 64, 24, false, true},
    {"small KV cache, prefix caching", 64, 24, true, true},
};

TEST_F(EngineEquivalence, GreedyMatchesRunningAlone) {
  for (const EngineSetup& setup : kSetups) expect_equivalent(setup, /*sampled=*/false);
}

TEST_F(EngineEquivalence, SeededSamplingMatchesRunningAlone) {
  for (const EngineSetup& setup : {kSetups[1], kSetups[4], kSetups[6]}) expect_equivalent(setup, /*sampled=*/true);
  EXPECT_NE(alone(true), alone(false));
  EXPECT_NE(alone(true)[0][0], alone(true)[0][1]);  // the samples of an n = 3 request differ
}

TEST_F(EngineEquivalence, AbortsLeakNoBlocks) {
  auto runner = make_cpu_runner(dir_->path(), {.n_threads = 2, .kv_cache_bytes = 4 << 20, .block_size = 16});
  EngineOptions options;
  options.max_num_batched_tokens = 16;  // long prompts stay mid-prefill for a few steps
  auto engine = Engine::create(*runner, tiny_tokenizer(), std::nullopt, options);
  std::vector<std::shared_ptr<RequestStream>> streams;
  for (int i = 0; i < 12; ++i) {
    GenerationRequest r;
    r.prompt_ids = std::vector<int32_t>(static_cast<size_t>(5 + i * 9), static_cast<int32_t>(i + 3));
    r.max_tokens = 150;
    r.ignore_eos = true;
    r.sampling.temperature = 0.0f;
    streams.push_back(engine->submit(r));
  }
  RequestEvent event;
  ASSERT_TRUE(streams[0]->next(event));  // the first request is decoding by now
  for (const auto& stream : streams) engine->abort(stream->request_id());
  for (const auto& stream : streams) {
    std::optional<FinishReason> reason;
    while (stream->next(event)) reason = event.finish_reason;
    EXPECT_EQ(reason, FinishReason::kAbort);
  }
  engine->shutdown();
  const EngineStats stats = engine->stats();
  EXPECT_EQ(stats.kv_blocks_free, stats.kv_blocks_total);
  EXPECT_EQ(stats.running + stats.waiting, 0);
}

}  // namespace
}  // namespace swallow::test
