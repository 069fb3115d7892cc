// Every checkpoint under tests/golden/model/data/ (made by tools/model/make_tiny_checkpoints.py;
// tiny-demo-ja by tools/train_demo/make_goldens.py, whose golden.json names the shipped model
// folder as model_dir) against transformers: logits rows within a relative error bound, and the
// greedy continuation identical. Both CPU kernel sets are checked. Missing data: REQUIRE_TEST_DATA.
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "backend/cpu/cpu_backend.h"
#include "core/mmap_file.h"
#include "io/safetensors.h"
#include "model/llama_runner.h"
#include "model/single_sequence.h"
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
    dir_ = test::model_goldens_dir() + "/" + GetParam().checkpoint;
    golden_ = nlohmann::json::parse(read_file(dir_ + "/golden.json"));
    runner_ = load_runner(test::model_golden_model_dir(GetParam().checkpoint, golden_), GetParam().reference_kernels);
  }

  std::string dir_;
  nlohmann::json golden_;
  std::unique_ptr<LlamaRunner> runner_;
};

TEST(ModelGoldenData, IsPresent) {
  const std::string present = test::model_golden_names().empty() ? "" : test::model_goldens_dir();
  REQUIRE_TEST_DATA(present, "tests/golden/model/data/<checkpoint>/golden.json (tools/model/make_tiny_checkpoints.py)");
}

TEST_P(ModelGolden, LogitsRowsMatchTransformers) {
  const SafetensorsFile rows_file(dir_ + "/golden.safetensors");
  const size_t vocab = static_cast<size_t>(runner_->vocab_size());
  double worst = 0;
  for (const nlohmann::json& prompt : golden_["prompts"]) {
    const auto ids = prompt["ids"].get<std::vector<int32_t>>();
    const auto positions = prompt["logits_positions"].get<std::vector<int32_t>>();
    const TensorInfo* expected = rows_file.find(prompt["logits_tensor"].get<std::string>());
    ASSERT_NE(expected, nullptr);
    ASSERT_EQ(expected->dtype, DType::kF32);
    ASSERT_EQ(expected->shape, (std::vector<int64_t>{static_cast<int64_t>(positions.size()), static_cast<int64_t>(vocab)}));
    const auto* want = reinterpret_cast<const float*>(expected->data.data());  // [positions, vocab] f32
    SingleSequence seq(*runner_);
    const std::vector<float> got = seq.append(ids, positions);  // [positions, vocab] f32
    for (size_t r = 0; r < positions.size(); ++r) {
      const double err = test::max_relative_error(&got[r * vocab], &want[r * vocab], vocab);
      worst = std::max(worst, err);
      EXPECT_LT(err, kRelativeErrorBound) << "prompt of " << ids.size() << " ids, position " << positions[r];
    }
  }
  RecordProperty("worst_relative_error", (testing::Message() << worst).GetString());
}

TEST_P(ModelGolden, GreedyContinuationMatchesTransformers) {
  SamplingParams greedy;
  greedy.temperature = 0.0f;
  for (const nlohmann::json& prompt : golden_["prompts"]) {
    const auto ids = prompt["ids"].get<std::vector<int32_t>>();
    const auto want = prompt["greedy_tokens"].get<std::vector<int32_t>>();
    SingleSequence seq(*runner_);
    std::vector<int32_t> got = {seq.append_and_sample(ids, greedy).token};
    while (got.size() < want.size()) got.push_back(seq.append_and_sample(std::span(&got.back(), 1), greedy).token);
    EXPECT_EQ(got, want) << "prompt of " << ids.size() << " ids";
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
