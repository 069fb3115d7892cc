// DecodeGraphs without a GPU: a tiny checkpoint on RecordingBackend (the CPU backend with graph
// capture as recorded closures) against the same steps on a plain CpuBackend, through the bucket
// scenario of tests/support/twin_decode.h. The CPU backend is batch-invariant, so padding rows,
// the padding KV block and wider block tables must change nothing: tokens and logprobs are equal
// bit for bit.
#include <gtest/gtest.h>

#include "backend/cpu/cpu_backend.h"
#include "io/model_config.h"
#include "model/llama_runner.h"
#include "recording_backend.h"
#include "support/twin_decode.h"
#include "tiny_llama.h"

namespace swallow {
namespace {

constexpr int64_t kKvCacheBytes = int64_t{16} << 20;

std::unique_ptr<LlamaRunner> tiny_runner(const std::string& dir, std::unique_ptr<Backend> backend) {
  const ModelConfig config = load_model_config(dir);
  LlamaWeights weights = load_llama_weights(dir, config, *backend, {.host_memory = true, .n_threads = 1});
  return std::make_unique<LlamaRunner>(std::move(backend), config, std::move(weights),
                                       LlamaRunnerOptions{.kv_cache_bytes = kKvCacheBytes, .max_model_len = 1024});
}

TEST(DecodeGraphs, ReplayedStepsEqualEagerStepsBitForBit) {
  test::TempDir dir;
  test::TinySpec spec;
  spec.max_positions = 1024;
  test::write_tiny_checkpoint(dir.path(), spec, test::make_tiny_tensors(spec, 7));
  const CpuBackendOptions options{.n_threads = 2};
  const std::unique_ptr<LlamaRunner> eager = tiny_runner(dir.path(), std::make_unique<CpuBackend>(options));
  auto recording = std::make_unique<test::RecordingBackend>(options);
  const test::RecordingBackend& backend = *recording;
  const std::unique_ptr<LlamaRunner> graphed = tiny_runner(dir.path(), std::move(recording));

  test::TwinDecode twin(*eager, *graphed, [](const SampledToken& e, const SampledToken& g, const std::string& where) {
    EXPECT_EQ(e.token, g.token) << where;
    EXPECT_EQ(e.logprob, g.logprob) << where;
    ASSERT_EQ(e.top.size(), g.top.size()) << where;
    for (size_t i = 0; i < e.top.size(); ++i) {
      EXPECT_EQ(e.top[i].token, g.top[i].token) << where;
      EXPECT_EQ(e.top[i].logprob, g.top[i].logprob) << where;
    }
  });
  test::run_bucket_scenario(twin, *graphed);
  EXPECT_EQ(backend.replays(), graphed->decode_graph_stats().replayed);
  EXPECT_FALSE(eager->backend().supports_graphs());
  EXPECT_EQ(eager->decode_graph_stats().recorded, 0);
}

}  // namespace
}  // namespace swallow
