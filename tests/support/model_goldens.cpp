// The model goldens' folder layout, golden.json reading, comparison measure and shared checks.
#include "support/model_goldens.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>
#include <span>

#include "core/mmap_file.h"
#include "io/safetensors.h"
#include "model/single_sequence.h"
#include "support/test_support.h"

namespace swallow::test {
namespace {

// Compares the logits rows of one prompt, raising `worst` to each row's error.
void expect_prompt_rows_within(LlamaRunner& runner, const SafetensorsFile& rows_file, const GoldenPrompt& prompt,
                               double bound, double& worst) {
  const size_t vocab = static_cast<size_t>(runner.vocab_size());
  const std::vector<int32_t>& positions = prompt.logits_positions;
  const TensorInfo* expected = rows_file.find(prompt.logits_tensor);
  ASSERT_NE(expected, nullptr) << prompt.logits_tensor;
  ASSERT_EQ(expected->dtype, DType::kF32);
  ASSERT_EQ(expected->shape,
            (std::vector<int64_t>{static_cast<int64_t>(positions.size()), static_cast<int64_t>(vocab)}));
  const auto* want = reinterpret_cast<const float*>(expected->data.data());  // [positions, vocab] f32
  SingleSequence seq(runner);
  const std::vector<float> got = seq.append(prompt.ids, positions);  // [positions, vocab] f32
  for (size_t r = 0; r < positions.size(); ++r) {
    const float* row = &got[r * vocab];
    const bool finite = std::all_of(row, row + vocab, [](float x) { return std::isfinite(x); });
    const double err =
        finite ? max_relative_error(row, &want[r * vocab], vocab) : std::numeric_limits<double>::infinity();
    worst = std::max(worst, err);
    EXPECT_LT(err, bound) << "prompt of " << prompt.ids.size() << " ids, position " << positions[r];
  }
}

}  // namespace

std::string model_goldens_dir() { return source_path("tests/golden/model/data"); }

std::vector<std::string> model_golden_names() {
  std::vector<std::string> names;
  std::error_code ec;
  for (std::filesystem::directory_iterator it(model_goldens_dir(), ec), end; !ec && it != end; it.increment(ec)) {
    if (std::filesystem::exists(it->path() / "golden.json")) names.push_back(it->path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

GoldenCheckpoint load_golden_checkpoint(const std::string& name) {
  GoldenCheckpoint golden;
  golden.dir = model_goldens_dir() + "/" + name;
  const nlohmann::json json = nlohmann::json::parse(read_file(golden.dir + "/golden.json"));
  golden.model_dir = json.contains("model_dir") ? source_path(json["model_dir"].get<std::string>()) : golden.dir;
  for (const nlohmann::json& prompt : json["prompts"]) {
    golden.prompts.push_back({prompt["ids"].get<std::vector<int32_t>>(),
                              prompt["logits_positions"].get<std::vector<int32_t>>(),
                              prompt["logits_tensor"].get<std::string>(),
                              prompt["greedy_tokens"].get<std::vector<int32_t>>()});
  }
  return golden;
}

double max_relative_error(const float* got, const float* want, size_t n) {
  double max_ref = 0, max_diff = 0;
  for (size_t i = 0; i < n; ++i) {
    max_ref = std::max(max_ref, std::abs(static_cast<double>(want[i])));
    max_diff = std::max(max_diff, std::abs(static_cast<double>(got[i]) - want[i]));
  }
  return max_diff / max_ref;
}

double expect_logits_rows_within(LlamaRunner& runner, const GoldenCheckpoint& golden, double bound) {
  const SafetensorsFile rows_file(golden.dir + "/golden.safetensors");
  double worst = 0;
  for (const GoldenPrompt& prompt : golden.prompts) expect_prompt_rows_within(runner, rows_file, prompt, bound, worst);
  return worst;
}

std::vector<int32_t> greedy_tokens(LlamaRunner& runner, const std::vector<int32_t>& prompt, size_t n_tokens) {
  SamplingParams greedy;
  greedy.temperature = 0.0f;
  SingleSequence seq(runner);
  std::vector<int32_t> out = {seq.append_and_sample(prompt, greedy).token};
  while (out.size() < n_tokens) out.push_back(seq.append_and_sample(std::span(&out.back(), 1), greedy).token);
  return out;
}

}  // namespace swallow::test
