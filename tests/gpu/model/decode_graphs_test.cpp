// Decode steps replayed from CUDA graphs against the same steps run op by op (--enforce-eager),
// on a dummy Llama 3.2 1B with a ragged, changing batch: sequences leave (the batch bucket
// shrinks), grow past a context bucket (256 -> 512 keys), and a long prompt arrives in a mixed
// step (the model's scratch buffers move, so every graph is recorded again). Both runners get
// the same plans (teacher forcing with the eager runner's tokens). The two paths differ only in
// padding (batch rows, attention key splits), so the graph path's greedy token must be the eager
// one, or a near tie within the bound below.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "backend/cuda/cuda_backend.h"
#include "model/dummy_presets.h"
#include "model/llama_runner.h"

namespace swallow {
namespace {

constexpr int32_t kBlockSize = 16;
constexpr int32_t kBlocksPerSeq = 64;
// |logprob difference| allowed between the two paths for the same token (bf16 activations).
constexpr float kLogprobBound = 0.05f;

std::unique_ptr<LlamaRunner> runner_1b(bool graphs) {
  const ModelConfig config = dummy_preset_config("llama3.2-1b");
  auto backend = std::make_unique<CudaBackend>(CudaBackendOptions{.graphs = graphs});
  LlamaWeights weights = make_dummy_llama_weights(config, *backend, {});
  return std::make_unique<LlamaRunner>(std::move(backend), config, std::move(weights),
                                       LlamaRunnerOptions{.kv_cache_bytes = int64_t{512} << 20, .max_model_len = 1024});
}

struct Seq {
  int64_t id;
  std::vector<int32_t> tokens;  // prompt and every token fed since
  std::vector<int32_t> blocks;  // [kBlocksPerSeq] its own KV blocks
  int32_t done = 0;             // tokens already in the KV cache
};

std::vector<int32_t> prompt(size_t n, uint32_t seed) {
  std::vector<int32_t> ids = {128000};
  for (uint32_t x = seed; ids.size() < n;) {
    x = x * 1664525u + 1013904223u;
    ids.push_back(static_cast<int32_t>(1000 + (x >> 8) % 100000));
  }
  return ids;
}

class DecodeGraphsTest : public testing::Test {
 protected:
  void add(int64_t id, size_t prompt_len) {
    Seq s{id, prompt(prompt_len, static_cast<uint32_t>(id) * 7919u), {}, 0};
    s.blocks.resize(kBlocksPerSeq);
    std::iota(s.blocks.begin(), s.blocks.end(), static_cast<int32_t>(id) * kBlocksPerSeq);
    seqs_.push_back(std::move(s));
  }

  // One step over every sequence (its unprocessed tokens, sampling greedily after the last) on
  // both runners; appends the eager runner's token to each sequence and counts ties.
  void step() {
    StepPlan plan;
    for (Seq& s : seqs_) {
      SequenceStep& p = plan.seqs.emplace_back();
      p.seq_id = s.id;
      p.tokens = std::span(s.tokens).subspan(static_cast<size_t>(s.done));
      p.start_pos = s.done;
      p.block_table = s.blocks;
      p.sample = true;
      p.sampling.params = &greedy_;
    }
    const StepResult eager = eager_->execute(plan);
    const StepResult graphed = graphed_->execute(plan);
    ASSERT_EQ(eager.sampled.size(), seqs_.size());
    ASSERT_EQ(graphed.sampled.size(), seqs_.size());
    for (size_t i = 0; i < seqs_.size(); ++i) {
      const SampledToken& e = eager.sampled[i];
      const SampledToken& g = graphed.sampled[i];
      EXPECT_NEAR(e.logprob, g.logprob, kLogprobBound) << "step " << steps_ << ", sequence " << seqs_[i].id;
      if (e.token != g.token) {
        ++ties_;
        // A near tie: each side's token is among the other's top tokens with a close logprob.
        const auto find = [](const SampledToken& t, int32_t token) {
          return std::find_if(t.top.begin(), t.top.end(), [&](const TokenLogprob& x) { return x.token == token; });
        };
        const auto in_graphed = find(g, e.token);
        ASSERT_NE(in_graphed, g.top.end()) << "step " << steps_ << ", sequence " << seqs_[i].id;
        EXPECT_NEAR(in_graphed->logprob, e.logprob, kLogprobBound);
      }
      seqs_[i].done = static_cast<int32_t>(seqs_[i].tokens.size());
      seqs_[i].tokens.push_back(e.token);
    }
    ++steps_;
  }

  void SetUp() override {
    greedy_.temperature = 0.0f;
    greedy_.n_logprobs = 5;
    eager_ = runner_1b(false);
    graphed_ = runner_1b(true);
  }

  SamplingParams greedy_;
  std::unique_ptr<LlamaRunner> eager_;
  std::unique_ptr<LlamaRunner> graphed_;
  std::vector<Seq> seqs_;
  int steps_ = 0;
  int ties_ = 0;
};

TEST_F(DecodeGraphsTest, ReplayedStepsMatchEagerSteps) {
  for (auto [id, len] : {std::pair{0, 7}, {1, 30}, {2, 250}, {3, 3}, {4, 100}}) add(id, static_cast<size_t>(len));
  step();  // prefill of every prompt: a mixed step, run eagerly on both
  EXPECT_EQ(graphed_->decode_graph_stats().recorded, 0);
  for (int i = 0; i < 4; ++i) step();  // 5 sequences, contexts up to 256: one bucket pair
  EXPECT_EQ(graphed_->decode_graph_stats().recorded, 1);
  EXPECT_EQ(graphed_->decode_graph_stats().replayed, 3);
  seqs_.erase(seqs_.begin() + 1);  // 4 sequences: another batch bucket
  for (int i = 0; i < 4; ++i) step();  // sequence 2 grows past 256 keys: the next context bucket
  ASSERT_GT(seqs_[1].tokens.size(), 257u);
  const DecodeGraphs::Stats before = graphed_->decode_graph_stats();
  EXPECT_GE(before.recorded, 3);
  add(5, 600);
  step();  // a 600-token prompt beside three decodes: the scratch buffers grow
  for (int i = 0; i < 4; ++i) step();
  const DecodeGraphs::Stats after = graphed_->decode_graph_stats();
  EXPECT_EQ(after.recorded, before.recorded + 1);  // recorded again after the buffers moved
  EXPECT_EQ(after.replayed, before.replayed + 3);
  EXPECT_EQ(after.held, 1);
  std::printf("%d steps, %d near ties, %lld recorded, %lld replayed\n", steps_, ties_,
              static_cast<long long>(after.recorded), static_cast<long long>(after.replayed));
  EXPECT_LE(ties_, 2);
}

TEST(DecodeGraphs, EnforceEagerRecordsNothing) {
  const std::unique_ptr<LlamaRunner> eager = runner_1b(false);
  EXPECT_FALSE(eager->backend().supports_graphs());
  const std::vector<int32_t> ids = prompt(20, 1);
  std::vector<int32_t> blocks = {0, 1};
  SamplingParams greedy;
  greedy.temperature = 0.0f;
  StepPlan plan{{{.seq_id = 1, .tokens = ids, .block_table = blocks, .sample = true, .sampling = {.params = &greedy}}}};
  const int32_t first = eager->execute(plan).sampled.at(0).token;
  plan.seqs[0].tokens = std::span(&first, 1);
  plan.seqs[0].start_pos = 20;
  eager->execute(plan);
  EXPECT_EQ(eager->decode_graph_stats().recorded, 0);
}

}  // namespace
}  // namespace swallow
