// The CPU sampler, rule by rule against its definition on small hand-made logits: logit_bias,
// repetition / frequency / presence penalties, greedy ties, temperature, min_p, top_k, top_p and
// their order, the counter-based draw (determinism, uniformity, empirical frequencies over 20k
// draws) and raw logprobs.
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>

#include "backend/cpu/cpu_sampler.h"
#include "backend_test_util.h"

namespace swallow::test {
namespace {

using cpu::penalized_logits;
using cpu::sample_row;
using cpu::sampling_distribution;
using cpu::sampling_uniform;

SequenceSampling seq_of(const SamplingParams& params, std::span<const int32_t> prompt = {},
                        std::span<const int32_t> output = {}) {
  return {&params, prompt, output};
}

// Logits whose softmax is exactly proportional to `probs`.
std::vector<float> logits_for(const std::vector<double>& probs) {
  std::vector<float> logits;
  for (double p : probs) logits.push_back(static_cast<float>(std::log(p)));
  return logits;
}

// Indices of the non-zero entries.
std::vector<int> support(const std::vector<double>& probs) {
  std::vector<int> kept;
  for (size_t i = 0; i < probs.size(); ++i) {
    if (probs[i] > 0.0) kept.push_back(static_cast<int>(i));
  }
  return kept;
}

const std::vector<double> kProbs = {0.5, 0.3, 0.15, 0.05};

TEST(Sampler, GreedyTakesArgmaxLowestIdOnTies) {
  SamplingParams params{.temperature = 0.0f};
  const std::vector<float> logits = {1.0f, 3.0f, 3.0f, 2.0f};
  EXPECT_EQ(sample_row(logits, seq_of(params)).token, 1);
}

TEST(Sampler, LogitBiasIsAddedFirst) {
  SamplingParams params{.temperature = 0.0f, .logit_bias = {{3, 1.5f}, {1, -0.5f}}};
  const std::vector<float> logits = {1.0f, 3.0f, 2.9f, 2.0f};
  EXPECT_EQ(penalized_logits(logits, seq_of(params)), (std::vector<float>{1.0f, 2.5f, 2.9f, 3.5f}));
  EXPECT_EQ(sample_row(logits, seq_of(params)).token, 3);
  SamplingParams bad{.logit_bias = {{4, 1.0f}}};
  EXPECT_THROW(sample_row(logits, seq_of(bad)), Error);
}

// For tokens in prompt or output: logit > 0 ? logit / p : logit * p, once per distinct token.
TEST(Sampler, RepetitionPenaltyCoversPromptAndOutput) {
  SamplingParams params{.repetition_penalty = 2.0f};
  const std::vector<int32_t> prompt = {0, 0}, output = {1, 1};
  const std::vector<float> logits = {2.0f, -1.0f, 0.5f, 3.0f};
  EXPECT_EQ(penalized_logits(logits, seq_of(params, prompt, output)), (std::vector<float>{1.0f, -2.0f, 0.5f, 3.0f}));
}

// logit -= frequency * count + presence * (count > 0), output tokens only.
TEST(Sampler, FrequencyAndPresencePenaltiesCountOutputOnly) {
  SamplingParams params{.presence_penalty = 0.25f, .frequency_penalty = 0.5f};
  const std::vector<int32_t> prompt = {3}, output = {2, 2, 2, 1};
  const std::vector<float> logits = {1.0f, 1.0f, 1.0f, 1.0f};
  EXPECT_EQ(penalized_logits(logits, seq_of(params, prompt, output)), (std::vector<float>{1.0f, 0.25f, -0.75f, 1.0f}));
}

TEST(Sampler, TemperatureScalesLogits) {
  SamplingParams params{.temperature = 0.5f};
  const std::vector<float> logits = {0.0f, 1.0f, -1.0f};
  const std::vector<double> probs = sampling_distribution(logits, seq_of(params));
  const double z = std::exp(0.0) + std::exp(2.0) + std::exp(-2.0);
  EXPECT_NEAR(probs[0], 1.0 / z, 1e-7);
  EXPECT_NEAR(probs[1], std::exp(2.0) / z, 1e-7);
  EXPECT_NEAR(probs[2], std::exp(-2.0) / z, 1e-7);
}

TEST(Sampler, TopKKeepsTheKLargestAndTies) {
  SamplingParams params{.top_k = 2};
  std::vector<double> probs = sampling_distribution(logits_for(kProbs), seq_of(params));
  EXPECT_EQ(support(probs), (std::vector<int>{0, 1}));
  EXPECT_NEAR(probs[0], 0.5 / 0.8, 1e-7);
  const std::vector<float> tied = {1.0f, 2.0f, 2.0f, 0.0f};
  params.top_k = 1;
  EXPECT_EQ(support(sampling_distribution(tied, seq_of(params))), (std::vector<int>{1, 2}));
}

// The smallest set of most likely tokens whose probability reaches top_p, renormalized.
TEST(Sampler, TopPKeepsTheSmallestSetReachingP) {
  const std::pair<float, std::vector<int>> cases[] = {
      {0.4f, {0}}, {0.6f, {0, 1}}, {0.85f, {0, 1, 2}}, {0.99f, {0, 1, 2, 3}}, {1e-6f, {0}}};
  for (const auto& [top_p, expected] : cases) {
    SamplingParams params{.top_p = top_p};
    std::vector<double> probs = sampling_distribution(logits_for(kProbs), seq_of(params));
    EXPECT_EQ(support(probs), expected) << "top_p " << top_p;
    double kept_mass = 0.0;
    for (int i : expected) kept_mass += kProbs[i];
    EXPECT_NEAR(probs[0], 0.5 / kept_mass, 1e-7) << "top_p " << top_p;
  }
}

// Drops tokens with probability below min_p times the largest probability.
TEST(Sampler, MinPIsRelativeToTheMostLikelyToken) {
  SamplingParams params{.min_p = 0.2f};  // threshold 0.1
  EXPECT_EQ(support(sampling_distribution(logits_for(kProbs), seq_of(params))), (std::vector<int>{0, 1, 2}));
  params.min_p = 0.7f;  // threshold 0.35
  EXPECT_EQ(support(sampling_distribution(logits_for(kProbs), seq_of(params))), (std::vector<int>{0}));
}

// vLLM applies min_p before top_p: {0.5, 0.3, 0.2} with min_p 0.5 keeps {0.625, 0.375}, and then
// top_p 0.6 keeps token 0 alone (top_p first would keep tokens 0 and 1).
TEST(Sampler, MinPRunsBeforeTopP) {
  SamplingParams params{.top_p = 0.6f, .min_p = 0.5f};
  EXPECT_EQ(support(sampling_distribution(logits_for({0.5, 0.3, 0.2}), seq_of(params))), (std::vector<int>{0}));
}

TEST(Sampler, UniformIsDeterministicAndSpreadOverCounters) {
  EXPECT_EQ(sampling_uniform(42, 7), sampling_uniform(42, 7));
  EXPECT_NE(sampling_uniform(42, 7), sampling_uniform(43, 7));
  // 20k counters into 20 bins: each bin holds 1000 +- 5 sigma (sigma ~ 30.8).
  std::vector<int> bins(20, 0);
  double sum = 0.0;
  for (uint64_t c = 0; c < 20000; ++c) {
    const double u = sampling_uniform(42, c);
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    sum += u;
    ++bins[static_cast<size_t>(u * 20)];
  }
  EXPECT_NEAR(sum / 20000, 0.5, 0.01);
  for (int b : bins) EXPECT_NEAR(b, 1000, 155);
}

// Draws with counters 0..19999 follow the processed distribution: every frequency within 5
// standard deviations of its probability, and removed tokens never drawn.
TEST(Sampler, DrawsFollowTheProcessedDistribution) {
  SamplingParams params{.temperature = 0.7f, .top_p = 0.95f, .top_k = 6, .seed = 1234};
  const std::vector<float> logits = {0.3f, 1.2f, -0.4f, 0.9f, 2.0f, -3.0f, 0.0f, 1.1f, -1.0f, 0.5f};
  const std::vector<int32_t> counter_source(20000, 0);  // only its length (the counter) matters here
  const std::vector<double> want = sampling_distribution(logits, seq_of(params));
  std::vector<int> counts(logits.size(), 0);
  for (size_t c = 0; c < 20000; ++c) {
    ++counts[sample_row(logits, seq_of(params, {}, std::span(counter_source).first(c))).token];
  }
  for (size_t i = 0; i < logits.size(); ++i) {
    const double sigma = std::sqrt(want[i] * (1 - want[i]) / 20000);
    EXPECT_NEAR(counts[i] / 20000.0, want[i], 5 * sigma + 1e-12) << "token " << i;
  }
}

TEST(Sampler, SameSeedAndCounterSameTokenWhateverTheBatch) {
  CpuBackend backend = make_backend(Kernels::kFast);
  HostTensor logits = HostTensor::random(3, 1000, DType::kF32, 5, -3.0f, 3.0f);
  SamplingParams a{.temperature = 1.0f, .seed = 7}, b{.temperature = 0.8f, .top_p = 0.9f, .seed = 9};
  const std::vector<int32_t> out_a = {1, 2, 3};
  const std::vector<SequenceSampling> batch = {seq_of(b), seq_of(a, {}, out_a), seq_of(b)};
  std::vector<SampledToken> batched(3), alone(1);
  backend.sample(logits.view(), batch, batched);
  backend.sample(logits.view().row_slice(1, 1), std::span(batch).subspan(1, 1), alone);
  EXPECT_EQ(alone[0].token, batched[1].token);
  EXPECT_EQ(batched[0].token, sample_row(std::span(logits.f32(), 1000), batch[0]).token);
}

// Logprobs are log_softmax of the raw logits, whatever the processing; top-n best first.
TEST(Sampler, LogprobsAreOfTheRawDistribution) {
  SamplingParams params{.temperature = 0.0f, .repetition_penalty = 3.0f, .logit_bias = {{0, 10.0f}}, .n_logprobs = 2};
  const std::vector<float> logits = {0.0f, 2.0f, 1.0f, 2.0f};
  const SampledToken got = sample_row(logits, seq_of(params));
  EXPECT_EQ(got.token, 0);
  const double log_z = std::log(1.0 + 2 * std::exp(2.0) + std::exp(1.0));
  EXPECT_NEAR(got.logprob, 0.0 - log_z, 1e-6);
  ASSERT_EQ(got.top.size(), 2u);
  EXPECT_EQ(got.top[0].token, 1);
  EXPECT_EQ(got.top[1].token, 3);
  EXPECT_NEAR(got.top[0].logprob, 2.0 - log_z, 1e-6);
  params.n_logprobs = 0;
  EXPECT_TRUE(sample_row(logits, seq_of(params)).top.empty());
}

TEST(Sampler, RejectsInvalidParameters) {
  const std::vector<float> logits = {0.0f, 1.0f};
  for (SamplingParams bad : {SamplingParams{.top_p = 0.0f}, SamplingParams{.min_p = 1.5f},
                             SamplingParams{.repetition_penalty = 0.0f}, SamplingParams{.temperature = -1.0f}}) {
    EXPECT_THROW(sample_row(logits, seq_of(bad)), Error);
  }
}

}  // namespace
}  // namespace swallow::test
