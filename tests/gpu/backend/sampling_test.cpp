// CUDA vs CPU sample op: greedy tokens and raw-logit logprobs identical, seeded draws identical
// (random logits: cumulative-probability boundaries are far from the draws), penalties and
// logit_bias, ties, bf16 logits, and the errors for bad token ids and non-finite logits.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "core/error.h"
#include "gpu_test_util.h"

namespace swallow::gpu_test {
namespace {

struct Row {
  SamplingParams params;
  std::vector<int32_t> prompt;
  std::vector<int32_t> output;
};

void compare(const std::vector<float>& logits, int64_t vocab, const std::vector<Row>& rows, DType logits_dtype) {
  const auto n = static_cast<int64_t>(rows.size());
  std::vector<SequenceSampling> seqs;
  for (const Row& r : rows) seqs.push_back({&r.params, r.prompt, r.output});
  DeviceTensor g_logits(n, vocab, logits_dtype);
  g_logits.upload(logits);
  std::vector<SampledToken> got(rows.size()), want(rows.size());
  cuda().sample(g_logits.t(), seqs, got);
  HostTensor c_logits(n, vocab, DType::kF32);
  c_logits.set(representable(logits, logits_dtype));
  cpu().sample(c_logits.t(), seqs, want);
  for (size_t r = 0; r < rows.size(); ++r) {
    const SamplingParams& p = rows[r].params;
    SCOPED_TRACE(testing::Message() << "row " << r << " T " << p.temperature << " top_p " << p.top_p << " top_k "
                                    << p.top_k << " min_p " << p.min_p << " seed " << p.seed << " counter "
                                    << rows[r].output.size() << " (test seed " << run_seed() << ")");
    EXPECT_EQ(got[r].token, want[r].token);
    if (p.n_logprobs >= 0) {
      EXPECT_NEAR(got[r].logprob, want[r].logprob, 1e-4);
      ASSERT_EQ(got[r].top.size(), want[r].top.size());
      for (size_t i = 0; i < want[r].top.size(); ++i) {
        EXPECT_EQ(got[r].top[i].token, want[r].top[i].token) << "top " << i;
        EXPECT_NEAR(got[r].top[i].logprob, want[r].top[i].logprob, 1e-4) << "top " << i;
      }
    }
  }
}

Row random_row(int64_t vocab, float temperature, float top_p, int32_t top_k, float min_p) {
  Row r;
  r.params.temperature = temperature;
  r.params.top_p = top_p;
  r.params.top_k = top_k;
  r.params.min_p = min_p;
  r.params.seed = static_cast<uint64_t>(rng()());
  r.output = random_ints(static_cast<size_t>(random_ints(1, 0, 30)[0]), 0, static_cast<int32_t>(vocab - 1));
  return r;
}

TEST(GpuSampling, GreedyAndLogprobsMatchCpu) {
  for (int64_t vocab : {128256, 1001}) {
    std::vector<Row> rows;
    for (int32_t n_logprobs : {-1, 0, 1, 5, 20}) {
      Row r = random_row(vocab, 0.0f, 1.0f, 0, 0.0f);
      r.params.n_logprobs = n_logprobs;
      rows.push_back(r);
    }
    compare(random_floats(rows.size() * vocab, -10, 10), vocab, rows, DType::kF32);
  }
}

TEST(GpuSampling, SeededDrawsMatchCpu) {
  for (int64_t vocab : {128256, 32000}) {
    std::vector<Row> rows;
    for (float t : {0.6f, 1.0f, 1.3f}) {
      for (float top_p : {1.0f, 0.9f, 0.5f}) {
        for (int32_t top_k : {0, 1, 40, 1000}) {
          rows.push_back(random_row(vocab, t, top_p, top_k, 0.0f));
        }
      }
      rows.push_back(random_row(vocab, t, 1.0f, 0, 0.05f));
      rows.push_back(random_row(vocab, t, 0.95f, 50, 0.1f));
    }
    rows[3].params.n_logprobs = 3;
    compare(random_floats(rows.size() * vocab, -10, 10), vocab, rows, DType::kF32);
  }
}

TEST(GpuSampling, PeakedDistributionsMatchCpu) {
  const int64_t vocab = 50000;
  std::vector<Row> rows;
  for (int i = 0; i < 24; ++i) rows.push_back(random_row(vocab, 0.8f, 0.9f, i % 3 == 0 ? 20 : 0, 0.0f));
  std::vector<float> logits = random_floats(rows.size() * vocab, -30, 0);
  for (size_t r = 0; r < rows.size(); ++r) {
    for (int j = 0; j < 5; ++j) logits[r * vocab + random_ints(1, 0, vocab - 1)[0]] = random_floats(1, 0, 4)[0];
  }
  compare(logits, vocab, rows, DType::kF32);
}

TEST(GpuSampling, PenaltiesAndLogitBiasMatchCpu) {
  const int64_t vocab = 5000;
  std::vector<Row> rows;
  for (int i = 0; i < 16; ++i) {
    Row r = random_row(vocab, i % 2 == 0 ? 0.0f : 0.9f, 0.95f, 0, 0.0f);
    r.params.repetition_penalty = 1.0f + 0.1f * static_cast<float>(i % 4);
    r.params.frequency_penalty = 0.3f * static_cast<float>(i % 3);
    r.params.presence_penalty = 0.5f * static_cast<float>(i % 2);
    r.prompt = random_ints(200, 0, 300);  // duplicates on purpose
    r.output = random_ints(50, 0, 300);
    const int32_t t = random_ints(1, 0, 300)[0];
    r.params.logit_bias = {{t, 3.5f}, {random_ints(1, 0, 4999)[0], -100.0f}, {t, 1.25f}};
    r.params.n_logprobs = i % 3 == 0 ? 4 : -1;
    rows.push_back(r);
  }
  // Logits concentrated on the penalised range so the penalties decide the outcome.
  std::vector<float> logits = random_floats(rows.size() * vocab, -10, 0);
  for (size_t r = 0; r < rows.size(); ++r) {
    for (int j = 0; j <= 300; ++j) logits[r * vocab + j] = random_floats(1, 0, 3)[0];
  }
  compare(logits, vocab, rows, DType::kF32);
}

TEST(GpuSampling, TiesAreBrokenLikeCpu) {
  const int64_t vocab = 3000;
  std::vector<Row> rows;
  for (int i = 0; i < 12; ++i) rows.push_back(random_row(vocab, i < 4 ? 0.0f : 1.0f, 1.0f, i % 2 == 0 ? 3 : 7, 0.0f));
  rows[0].params.n_logprobs = 10;
  std::vector<float> logits(rows.size() * vocab);
  const std::vector<int32_t> levels = random_ints(logits.size(), 0, 6);  // few distinct values: many ties
  for (size_t i = 0; i < logits.size(); ++i) logits[i] = static_cast<float>(levels[i]) * 0.75f;
  compare(logits, vocab, rows, DType::kF32);
}

TEST(GpuSampling, Bf16LogitsMatchCpuOnTheSameValues) {
  const int64_t vocab = 128256;
  std::vector<Row> rows = {random_row(vocab, 0.0f, 1.0f, 0, 0.0f), random_row(vocab, 0.7f, 0.9f, 0, 0.0f),
                           random_row(vocab, 1.0f, 1.0f, 50, 0.0f)};
  rows[0].params.n_logprobs = 5;
  compare(random_floats(rows.size() * vocab, -8, 8), vocab, rows, DType::kBF16);
}

TEST(GpuSampling, BadTokenIdsAndNonFiniteLogitsThrow) {
  const int64_t vocab = 100;
  DeviceTensor logits(1, vocab, DType::kF32);
  logits.upload(random_floats(vocab, -1, 1));
  Row r = random_row(vocab, 1.0f, 1.0f, 0, 0.0f);
  r.params.logit_bias = {{static_cast<int32_t>(vocab), 1.0f}};
  std::vector<SequenceSampling> seqs = {{&r.params, r.prompt, r.output}};
  std::vector<SampledToken> out(1);
  EXPECT_THROW(cuda().sample(logits.t(), seqs, out), Error);
  r.params.logit_bias.clear();
  logits.upload(std::vector<float>(vocab, -std::numeric_limits<float>::infinity()));
  EXPECT_THROW(cuda().sample(logits.t(), seqs, out), Error);
  logits.upload(random_floats(vocab, -1, 1));
  EXPECT_NO_THROW(cuda().sample(logits.t(), seqs, out));
}

}  // namespace
}  // namespace swallow::gpu_test
