// The Llama forward pass on the CUDA backend (bf16 activations) end to end:
// - every golden checkpoint under tests/golden/model/data/ (tiny random checkpoints and the
//   demo model): logits rows within a bf16 bound of transformers' float32 rows, and greedy
//   tokens equal to transformers' under vLLM's check_logprobs_close rule;
// - dummy Llama 3.2 1B and Llama 3.1 8B: CUDA greedy tokens against the CPU backend's, same rule.
// check_logprobs_close: the two token lists agree up to their first difference; there each
// side's token must be among the other side's top-5 next-token logits, and comparison stops.
// The golden side's logits at a difference come from the CPU backend, which tests/golden/model
// holds within 1e-5 of transformers.
#include <gtest/gtest.h>

#include <algorithm>

#include "backend/cpu/cpu_backend.h"
#include "backend/cuda/cuda_backend.h"
#include "model/dummy_presets.h"
#include "model/llama_runner.h"
#include "model/single_sequence.h"
#include "support/model_goldens.h"
#include "support/test_support.h"

namespace swallow {
namespace {

constexpr int kTopK = 5;
// Max |logit difference| / max |golden logit| per row. bf16 keeps 8 significant bits and the
// forward pass rounds activations a dozen times per layer.
constexpr double kBf16LogitsBound = 0.05;
constexpr int64_t kKvCacheBytes = int64_t{64} << 20;

std::unique_ptr<Backend> make_backend(bool cuda) {
  if (cuda) return std::make_unique<CudaBackend>();
  // The AVX2 table, which tests/golden/model holds within 1e-5 of transformers (not AMX's bf16).
  return std::make_unique<CpuBackend>(CpuBackendOptions{.n_threads = 0, .kernels = "avx2"});
}

std::unique_ptr<LlamaRunner> checkpoint_runner(const std::string& dir, bool cuda) {
  const ModelConfig config = load_model_config(dir);
  std::unique_ptr<Backend> backend = make_backend(cuda);
  LlamaWeights weights = load_llama_weights(dir, config, *backend, {.host_memory = !cuda});
  return std::make_unique<LlamaRunner>(std::move(backend), config, std::move(weights),
                                       LlamaRunnerOptions{.kv_cache_bytes = kKvCacheBytes});
}

std::unique_ptr<LlamaRunner> dummy_runner(const std::string& preset, bool cuda) {
  const ModelConfig config = dummy_preset_config(preset);
  std::unique_ptr<Backend> backend = make_backend(cuda);
  LlamaWeights weights = make_dummy_llama_weights(config, *backend, {.host_memory = !cuda});
  return std::make_unique<LlamaRunner>(std::move(backend), config, std::move(weights),
                                       LlamaRunnerOptions{.kv_cache_bytes = 4 * kKvCacheBytes, .max_model_len = 1024});
}

// Next-token logits after `prefix`: [vocab] f32.
std::vector<float> next_logits(LlamaRunner& runner, const std::vector<int32_t>& prefix) {
  SingleSequence seq(runner);
  const int32_t last = static_cast<int32_t>(prefix.size()) - 1;
  return seq.append(prefix, std::span(&last, 1));
}

bool in_top_k(const std::vector<float>& row, int32_t token) {
  const float value = row.at(static_cast<size_t>(token));
  return std::count_if(row.begin(), row.end(), [&](float x) { return x > value; }) < kTopK;
}

// check_logprobs_close between `a` (tokens from runner_a) and `b`; returns the index of the
// first difference, or -1 when the lists are equal.
int expect_close(const std::vector<int32_t>& prompt, const std::vector<int32_t>& a, LlamaRunner& runner_a,
                 const std::vector<int32_t>& b, LlamaRunner& runner_b) {
  EXPECT_EQ(a.size(), b.size());
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
    if (a[i] == b[i]) continue;
    std::vector<int32_t> prefix = prompt;
    prefix.insert(prefix.end(), a.begin(), a.begin() + static_cast<std::ptrdiff_t>(i));
    EXPECT_TRUE(in_top_k(next_logits(runner_b, prefix), a[i])) << "step " << i << ": token " << a[i];
    EXPECT_TRUE(in_top_k(next_logits(runner_a, prefix), b[i])) << "step " << i << ": token " << b[i];
    return static_cast<int>(i);
  }
  return -1;
}

class CudaModelGolden : public testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    golden_ = test::load_golden_checkpoint(GetParam());
    cuda_ = checkpoint_runner(golden_.model_dir, true);
  }

  test::GoldenCheckpoint golden_;
  std::unique_ptr<LlamaRunner> cuda_;
};

TEST_P(CudaModelGolden, LogitsRowsWithinBf16BoundOfTransformers) {
  const double worst = test::expect_logits_rows_within(*cuda_, golden_, kBf16LogitsBound);
  std::printf("%s: worst relative logits error %.3g\n", GetParam().c_str(), worst);
  RecordProperty("worst_relative_error", (testing::Message() << worst).GetString());
}

TEST_P(CudaModelGolden, GreedyTokensCloseToTransformers) {
  const std::unique_ptr<LlamaRunner> cpu = checkpoint_runner(golden_.model_dir, false);
  int identical = 0;
  for (const test::GoldenPrompt& prompt : golden_.prompts) {
    const std::vector<int32_t>& want = prompt.greedy_tokens;
    const std::vector<int32_t> got = test::greedy_tokens(*cuda_, prompt.ids, want.size());
    const int difference = expect_close(prompt.ids, got, *cuda_, want, *cpu);
    if (difference < 0) ++identical;
    std::printf("%s: prompt of %zu ids: %s\n", GetParam().c_str(), prompt.ids.size(),
                difference < 0 ? "identical" : ("first difference at step " + std::to_string(difference)).c_str());
  }
  RecordProperty("identical_prompts", identical);
}

INSTANTIATE_TEST_SUITE_P(Checkpoints, CudaModelGolden, testing::ValuesIn(test::model_golden_names()), [](const auto& p) {
  std::string name = p.param;
  std::replace(name.begin(), name.end(), '-', '_');
  return name;
});

class CudaDummyVsCpu : public testing::TestWithParam<std::string> {};

TEST_P(CudaDummyVsCpu, GreedyTokensClose) {
  const std::string preset = GetParam();
  const size_t n_tokens = preset == "llama3.1-8b" ? 8 : 16;
  std::vector<int32_t> prompt = {128000};
  for (uint32_t x = 12345; prompt.size() < 32;) {
    x = x * 1664525u + 1013904223u;
    prompt.push_back(static_cast<int32_t>(1000 + (x >> 8) % 100000));
  }
  const std::unique_ptr<LlamaRunner> cuda = dummy_runner(preset, true);
  const std::vector<int32_t> on_gpu = test::greedy_tokens(*cuda, prompt, n_tokens);
  const std::unique_ptr<LlamaRunner> cpu = dummy_runner(preset, false);
  const std::vector<int32_t> on_cpu = test::greedy_tokens(*cpu, prompt, n_tokens);
  const int difference = expect_close(prompt, on_gpu, *cuda, on_cpu, *cpu);
  std::printf("%s: %zu greedy tokens, %s\n", preset.c_str(), n_tokens,
              difference < 0 ? "identical" : ("first difference at step " + std::to_string(difference)).c_str());
  RecordProperty("first_difference", difference);
}

INSTANTIATE_TEST_SUITE_P(Presets, CudaDummyVsCpu, testing::Values("llama3.2-1b", "llama3.1-8b"), [](const auto& p) {
  std::string name = p.param;
  std::replace_if(name.begin(), name.end(), [](char c) { return c == '-' || c == '.'; }, '_');
  return name;
});

}  // namespace
}  // namespace swallow
