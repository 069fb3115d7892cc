// Every checkpoint under tests/golden/model/data/ (made by tools/model/make_tiny_checkpoints.py;
// tiny-demo-ja by tools/train_demo/make_goldens.py, whose golden.json names the shipped model
// folder as model_dir) against transformers: logits rows within a relative error bound, and the
// greedy continuation identical. Both CPU kernel sets are checked. Missing data: REQUIRE_TEST_DATA.
#include <gtest/gtest.h>

#include <algorithm>

#include "backend/cpu/cpu_backend.h"
#include "model/llama_runner.h"
#include "support/model_goldens.h"
#include "support/test_support.h"

namespace swallow {
namespace {

// The golden is transformers' float32 computation with the stored weights upcast exactly; we
// upcast the same way, so only summation order differs, for f32- and bf16-stored checkpoints
// alike. Measured worst case 1.6e-6 (both kernel sets, AVX2 machine, 2026-11-26); each test
// records its own as the property worst_relative_error.
constexpr double kRelativeErrorBound = 1e-5;

struct Case {
  std::string checkpoint;
  bool reference_kernels;
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.checkpoint << (c.reference_kernels ? " reference" : " fast"); }

std::vector<Case> cases() {
  std::vector<Case> all;
  for (const std::string& name : test::model_golden_names()) {
    all.push_back({name, true});
    all.push_back({name, false});
  }
  return all;
}

std::unique_ptr<LlamaRunner> load_runner(const std::string& dir, bool reference_kernels) {
  const ModelConfig config = load_model_config(dir);
  auto backend = std::make_unique<CpuBackend>(CpuBackendOptions{.n_threads = 2, .reference_kernels = reference_kernels});
  LlamaWeights weights = load_llama_weights(dir, config, *backend, {.host_memory = true, .n_threads = 1});
  return std::make_unique<LlamaRunner>(std::move(backend), config, std::move(weights),
                                       LlamaRunnerOptions{.kv_cache_bytes = 16 << 20});
}

class ModelGolden : public testing::TestWithParam<Case> {
 protected:
  void SetUp() override {
    golden_ = test::load_golden_checkpoint(GetParam().checkpoint);
    runner_ = load_runner(golden_.model_dir, GetParam().reference_kernels);
  }

  test::GoldenCheckpoint golden_;
  std::unique_ptr<LlamaRunner> runner_;
};

TEST(ModelGoldenData, IsPresent) {
  const std::string present = test::model_golden_names().empty() ? "" : test::model_goldens_dir();
  REQUIRE_TEST_DATA(present, "tests/golden/model/data/<checkpoint>/golden.json (tools/model/make_tiny_checkpoints.py)");
}

TEST_P(ModelGolden, LogitsRowsMatchTransformers) {
  const double worst = test::expect_logits_rows_within(*runner_, golden_, kRelativeErrorBound);
  RecordProperty("worst_relative_error", (testing::Message() << worst).GetString());
}

TEST_P(ModelGolden, GreedyContinuationMatchesTransformers) {
  for (const test::GoldenPrompt& prompt : golden_.prompts) {
    EXPECT_EQ(test::greedy_tokens(*runner_, prompt.ids, prompt.greedy_tokens.size()), prompt.greedy_tokens)
        << "prompt of " << prompt.ids.size() << " ids";
  }
}

INSTANTIATE_TEST_SUITE_P(Checkpoints, ModelGolden, testing::ValuesIn(cases()), [](const auto& p) {
  std::string name = p.param.checkpoint + (p.param.reference_kernels ? "_reference" : "_fast");
  std::replace(name.begin(), name.end(), '-', '_');
  return name;
});
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(ModelGolden);

}  // namespace
}  // namespace swallow
