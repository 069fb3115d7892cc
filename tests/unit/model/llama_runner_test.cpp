// LlamaRunner: KV cache sizing from the byte budget, max_model_len, and the checks that turn a
// malformed StepPlan into an error naming the sequence.
#include "model/llama_runner.h"

#include <gtest/gtest.h>

#include "backend/cpu/cpu_backend.h"
#include "core/error.h"
#include "model/single_sequence.h"
#include "tiny_llama.h"

namespace swallow::test {
namespace {

class LlamaRunnerTest : public testing::Test {
 protected:
  void SetUp() override { write_tiny_checkpoint(dir_.path(), spec_, make_tiny_tensors(spec_, 3)); }

  // Expects `plan` to be refused with a message containing `part`.
  void expect_refused(LlamaRunner& runner, const StepPlan& plan, const std::string& part) {
    try {
      runner.execute(plan);
      ADD_FAILURE() << "accepted a plan that should fail with: " << part;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kInvalidArgument);
      EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
    }
  }

  TinySpec spec_;  // 2 layers, 2 kv heads of 16, f32 cache: 512 bytes per token
  TempDir dir_;
};

TEST_F(LlamaRunnerTest, CacheBlocksAndMaxModelLenFollowTheBudget) {
  auto runner = make_cpu_runner(dir_.path(), {.kv_cache_bytes = 1 << 20});
  EXPECT_EQ(runner->kv_shape().bytes_per_token(), 512);
  EXPECT_EQ(runner->kv_shape().n_blocks, 128);  // 1 MiB / (512 B * 16)
  EXPECT_EQ(runner->max_model_len(), 256);      // max_position_embeddings < 2048 cached tokens
  auto small = make_cpu_runner(dir_.path(), {.kv_cache_bytes = 64 << 10});
  EXPECT_EQ(small->max_model_len(), 128);  // 8 blocks of 16
  EXPECT_EQ(small->vocab_size(), 67);
}

TEST_F(LlamaRunnerTest, BudgetsThatCannotWorkAreRefused) {
  EXPECT_THROW(make_cpu_runner(dir_.path(), {.kv_cache_bytes = 4 << 10}), Error);  // < one block
  const ModelConfig config = load_model_config(dir_.path());
  auto make = [&](int64_t bytes, int32_t max_len) {
    auto backend = std::make_unique<CpuBackend>(CpuBackendOptions{.n_threads = 1});
    LlamaWeights w = load_llama_weights(dir_.path(), config, *backend, {.host_memory = true});
    LlamaRunner r(std::move(backend), config, std::move(w), {.kv_cache_bytes = bytes, .max_model_len = max_len});
  };
  try {
    make(64 << 10, 200);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kResourceExhausted);
    EXPECT_NE(std::string(e.what()).find("holds 128 tokens"), std::string::npos) << e.what();
  }
  try {
    make(1 << 20, 300);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("max_position_embeddings 256"), std::string::npos) << e.what();
  }
}

TEST_F(LlamaRunnerTest, MalformedPlansNameTheSequence) {
  auto runner = make_cpu_runner(dir_.path(), {.kv_cache_bytes = 64 << 10});  // 8 blocks, 128 tokens
  const std::vector<int32_t> tokens = {1, 2, 3}, bad_token = {1, 67}, blocks = {0, 1}, far_block = {8};
  SamplingParams greedy;
  expect_refused(*runner, StepPlan{}, "no sequences");
  expect_refused(*runner, {{{.seq_id = 5, .tokens = {}, .block_table = blocks}}}, "sequence 5 has no tokens");
  expect_refused(*runner, {{{.seq_id = 6, .tokens = bad_token, .block_table = blocks}}}, "token id 67");
  expect_refused(*runner, {{{.seq_id = 7, .tokens = tokens, .start_pos = 126, .block_table = blocks}}},
                 "sequence 7: positions 126..128 exceed max_model_len 128");
  expect_refused(*runner, {{{.seq_id = 8, .tokens = tokens, .start_pos = 15, .block_table = std::span(blocks).first(1)}}},
                 "sequence 8: block table has 1 blocks, positions up to 17 need 2");
  expect_refused(*runner, {{{.seq_id = 9, .tokens = tokens, .block_table = far_block}}},
                 "sequence 9: block 8 is outside the KV cache (8 blocks)");
  expect_refused(*runner, {{{.seq_id = 10, .tokens = tokens, .block_table = blocks, .sample = true}}},
                 "sequence 10: sample is set without sampling params");
  StepPlan fine{{{.seq_id = 11, .tokens = tokens, .block_table = blocks, .sample = true,
                  .sampling = {.params = &greedy}}}};
  EXPECT_EQ(runner->execute(fine).sampled.size(), 1u);
}

TEST_F(LlamaRunnerTest, SingleSequenceDropsTokensOfAFailedStep) {
  auto runner = make_cpu_runner(dir_.path(), {.kv_cache_bytes = 64 << 10});  // max_model_len 128
  SingleSequence seq(*runner, 50);
  seq.append(std::vector<int32_t>(100, 3));
  EXPECT_THROW(seq.append(std::vector<int32_t>(40, 3)), Error);
  EXPECT_EQ(seq.length(), 100);
  SamplingParams greedy;
  greedy.temperature = 0.0f;
  EXPECT_THROW(seq.append_and_sample(std::vector<int32_t>(29, 3), greedy), Error);
  EXPECT_EQ(seq.length(), 100);
  seq.append_and_sample(std::vector<int32_t>(28, 3), greedy);
  EXPECT_EQ(seq.length(), 128);
}

}  // namespace
}  // namespace swallow::test
