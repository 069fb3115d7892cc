// The forward pass on the CPU backend against the double-precision reference Llama, and batch
// invariance: a sequence's logits are bit-identical alone, inside a ragged batch, and however its
// prompt is chunked.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string_view>

#include "backend/cpu/cpu_kernels.h"
#include "model/single_sequence.h"
#include "reference_llama.h"
#include "tiny_llama.h"

namespace swallow::test {
namespace {

std::vector<int32_t> some_tokens(int n, int vocab, int salt) {
  std::vector<int32_t> t(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) t[static_cast<size_t>(i)] = (i * 37 + salt * 11 + 3) % vocab;
  return t;
}

std::vector<int32_t> all_positions(int n) {
  std::vector<int32_t> p(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) p[static_cast<size_t>(i)] = i;
  return p;
}

// max |ours - reference| over the row / max |reference| over the row, worst row.
double worst_relative_error(const std::vector<float>& ours, const std::vector<std::vector<double>>& ref) {
  double worst = 0;
  for (size_t r = 0; r < ref.size(); ++r) {
    double max_ref = 0, max_diff = 0;
    for (size_t c = 0; c < ref[r].size(); ++c) {
      max_ref = std::max(max_ref, std::abs(ref[r][c]));
      max_diff = std::max(max_diff, std::abs(ours[r * ref[r].size() + c] - ref[r][c]));
    }
    worst = std::max(worst, max_diff / max_ref);
  }
  return worst;
}

struct Variant {
  const char* name;
  TinySpec spec;
  bool reference_kernels;
  double bound;             // relative error bound against the f64 reference
  const char* kernels = "";  // a kernel table by name; "": RunnerSetup's default
};

void PrintTo(const Variant& v, std::ostream* os) { *os << v.name; }

TinySpec spec_with(auto&& edit) {
  TinySpec s;
  edit(s);
  return s;
}

const Variant kVariants[] = {
    {"gqa_f32_llama3_rope", {}, true, 2e-6},
    {"gqa_f32_llama3_rope_fast_kernels", {}, false, 2e-6},
    {"mqa_bf16_tied_default_rope", spec_with([](TinySpec& s) {
       s.n_kv_heads = 1;
       s.dtype = DType::kBF16;
       s.tied = true;
       s.llama3_rope = false;
     }), false, 2e-6},
    // The AMX table rounds activations to bf16 before bf16 matmuls, as bf16 inference does.
    {"mqa_bf16_tied_default_rope_amx", spec_with([](TinySpec& s) {
       s.n_kv_heads = 1;
       s.dtype = DType::kBF16;
       s.tied = true;
       s.llama3_rope = false;
     }), false, 2e-2, "amx"},
    {"head_dim_not_hidden_over_heads_f16", spec_with([](TinySpec& s) {
       s.hidden = 40;
       s.head_dim = 24;
       s.n_kv_heads = 4;
       s.dtype = DType::kF16;
     }), false, 2e-6},
};

class ForwardVsReference : public testing::TestWithParam<Variant> {};

TEST_P(ForwardVsReference, LogitsOfEveryPositionMatchDoublePrecision) {
  const Variant& v = GetParam();
  if (std::string_view(v.kernels) == "amx" && cpu::amx_kernels() == nullptr) {
    GTEST_SKIP() << "this CPU or its OS does not allow AMX";
  }
  TempDir dir;
  const std::vector<NamedTensor> tensors = make_tiny_tensors(v.spec, 1234);
  write_tiny_checkpoint(dir.path(), v.spec, tensors);
  auto runner = make_cpu_runner(dir.path(), {.reference_kernels = v.reference_kernels, .kernels = v.kernels});
  const std::vector<int32_t> tokens = some_tokens(70, static_cast<int>(v.spec.vocab), 1);  // past original 32
  SingleSequence seq(*runner, 29);
  const std::vector<float> ours = seq.append(tokens, all_positions(70));
  const double err = worst_relative_error(ours, reference_logits(v.spec, tensors, tokens));
  EXPECT_LT(err, v.bound) << v.name;
  RecordProperty("relative_error", (testing::Message() << err).GetString());
}

INSTANTIATE_TEST_SUITE_P(Tiny, ForwardVsReference, testing::ValuesIn(kVariants),
                         [](const auto& p) { return std::string(p.param.name); });

class BatchInvariance : public testing::Test {
 protected:
  void SetUp() override {
    write_tiny_checkpoint(dir_.path(), spec_, make_tiny_tensors(spec_, 99));
    runner_ = make_cpu_runner(dir_.path(), {.n_threads = 2, .kv_cache_bytes = 4 << 20});
  }
  // Logits of every position of `tokens` prefilled alone with the given chunk size.
  std::vector<float> alone(const std::vector<int32_t>& tokens, int32_t chunk) {
    auto runner = make_cpu_runner(dir_.path(), {.n_threads = 1});
    SingleSequence seq(*runner, chunk);
    return seq.append(tokens, all_positions(static_cast<int>(tokens.size())));
  }

  TinySpec spec_;
  TempDir dir_;
  std::unique_ptr<LlamaRunner> runner_;
};

std::vector<int32_t> blocks(int32_t first, int32_t count) {
  std::vector<int32_t> b(static_cast<size_t>(count));
  for (int32_t i = 0; i < count; ++i) b[static_cast<size_t>(i)] = first + i;
  return b;
}

TEST_F(BatchInvariance, ChunkingDoesNotChangeLogits) {
  const std::vector<int32_t> tokens = some_tokens(45, static_cast<int>(spec_.vocab), 2);
  const std::vector<float> whole = alone(tokens, 1000);
  for (int32_t chunk : {1, 7}) {
    const std::vector<float> chunked = alone(tokens, chunk);
    ASSERT_EQ(whole.size(), chunked.size());
    EXPECT_EQ(0, std::memcmp(whole.data(), chunked.data(), whole.size() * sizeof(float))) << "chunk " << chunk;
  }
}

TEST_F(BatchInvariance, RaggedBatchDoesNotChangeLogits) {
  const std::vector<int32_t> a = some_tokens(40, static_cast<int>(spec_.vocab), 3);
  const std::vector<int32_t> b = some_tokens(13, static_cast<int>(spec_.vocab), 4);
  const std::vector<int32_t> c = some_tokens(21, static_cast<int>(spec_.vocab), 5);
  const std::vector<float> a_alone = alone(a, 1000);

  // C's first 20 tokens go in an earlier step; then one step holds B's prefill, all of A, and
  // C's decode token, each sequence with its own blocks.
  const std::vector<int32_t> a_blocks = blocks(7, 3), b_blocks = blocks(0, 1), c_blocks = blocks(3, 2);
  StepPlan first;
  first.seqs.push_back({.seq_id = 3, .tokens = std::span(c).first(20), .start_pos = 0, .block_table = c_blocks});
  runner_->execute(first);
  StepPlan mixed;
  mixed.seqs.push_back({.seq_id = 2, .tokens = b, .start_pos = 0, .block_table = b_blocks});
  mixed.seqs.push_back({.seq_id = 1, .tokens = a, .start_pos = 0, .block_table = a_blocks});
  mixed.seqs.push_back({.seq_id = 3, .tokens = std::span(c).subspan(20), .start_pos = 20, .block_table = c_blocks});
  std::vector<int32_t> a_rows(a.size());
  for (size_t i = 0; i < a.size(); ++i) a_rows[i] = static_cast<int32_t>(b.size() + i);
  const std::vector<float> a_batched = runner_->logits(mixed, a_rows);
  ASSERT_EQ(a_alone.size(), a_batched.size());
  EXPECT_EQ(0, std::memcmp(a_alone.data(), a_batched.data(), a_alone.size() * sizeof(float)));
}

TEST_F(BatchInvariance, GreedySampleIsTheArgmaxOfTheLogits) {
  const std::vector<int32_t> tokens = some_tokens(9, static_cast<int>(spec_.vocab), 6);
  const std::vector<float> logits = alone(tokens, 1000);
  const auto last = logits.begin() + static_cast<ptrdiff_t>((tokens.size() - 1) * static_cast<size_t>(spec_.vocab));
  const auto argmax = static_cast<int32_t>(std::max_element(last, logits.end()) - last);
  SamplingParams greedy;
  greedy.temperature = 0.0f;
  SingleSequence seq(*runner_);
  EXPECT_EQ(argmax, seq.append_and_sample(tokens, greedy).token);
}

}  // namespace
}  // namespace swallow::test
