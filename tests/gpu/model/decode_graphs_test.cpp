// Decode steps replayed from CUDA graphs against the same steps run op by op (--enforce-eager) on
// a dummy Llama 3.2 1B, through the bucket scenario of tests/support/twin_decode.h. The two paths
// differ only in padding (batch rows, attention key splits), so the graph path's greedy token must
// be the eager one, or a near tie within the bound below.
#include <gtest/gtest.h>

#include <algorithm>

#include "backend/cuda/cuda_backend.h"
#include "model/dummy_presets.h"
#include "model/llama_runner.h"
#include "support/twin_decode.h"

namespace swallow {
namespace {

// |logprob difference| allowed between the two paths for the same token (bf16 activations).
constexpr float kLogprobBound = 0.05f;

std::unique_ptr<LlamaRunner> runner_1b(bool graphs) {
  const ModelConfig config = dummy_preset_config("llama3.2-1b");
  auto backend = std::make_unique<CudaBackend>(CudaBackendOptions{.graphs = graphs});
  LlamaWeights weights = make_dummy_llama_weights(config, *backend, {});
  return std::make_unique<LlamaRunner>(std::move(backend), config, std::move(weights),
                                       LlamaRunnerOptions{.kv_cache_bytes = int64_t{512} << 20, .max_model_len = 1024});
}

TEST(CudaDecodeGraphs, ReplayedStepsMatchEagerSteps) {
  const std::unique_ptr<LlamaRunner> eager = runner_1b(false);
  const std::unique_ptr<LlamaRunner> graphed = runner_1b(true);
  int ties = 0;
  test::TwinDecode twin(*eager, *graphed, [&](const SampledToken& e, const SampledToken& g, const std::string& where) {
    EXPECT_NEAR(e.logprob, g.logprob, kLogprobBound) << where;
    if (e.token == g.token) return;
    ++ties;  // a near tie: the eager token is among the graphed top tokens with a close logprob
    const auto it = std::find_if(g.top.begin(), g.top.end(), [&](const TokenLogprob& x) { return x.token == e.token; });
    ASSERT_NE(it, g.top.end()) << where;
    EXPECT_NEAR(it->logprob, e.logprob, kLogprobBound) << where;
  });
  test::run_bucket_scenario(twin, *graphed);
  std::printf("%d steps, %d near ties, %lld recorded, %lld replayed\n", twin.steps(), ties,
              static_cast<long long>(graphed->decode_graph_stats().recorded),
              static_cast<long long>(graphed->decode_graph_stats().replayed));
  EXPECT_LE(ties, 2);
}

TEST(CudaDecodeGraphs, EnforceEagerRecordsNothing) {
  const std::unique_ptr<LlamaRunner> eager = runner_1b(false);
  EXPECT_FALSE(eager->backend().supports_graphs());
  const std::unique_ptr<LlamaRunner> also_eager = runner_1b(false);
  test::TwinDecode twin(*eager, *also_eager, [](const SampledToken& a, const SampledToken& b, const std::string& where) {
    EXPECT_EQ(a.token, b.token) << where;
  });
  twin.add(1, 20);
  for (int i = 0; i < 3; ++i) twin.step();
  EXPECT_EQ(eager->decode_graph_stats().recorded, 0);
}

}  // namespace
}  // namespace swallow
