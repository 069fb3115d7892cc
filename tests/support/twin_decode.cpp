// TwinDecode and the bucket scenario.
#include "support/twin_decode.h"

#include <gtest/gtest.h>

#include <numeric>

namespace swallow::test {
namespace {

constexpr int32_t kBlocksPerSeq = 64;

}  // namespace

TwinDecode::TwinDecode(LlamaRunner& eager, LlamaRunner& graphed, Compare compare)
    : eager_(eager), graphed_(graphed), compare_(std::move(compare)) {
  greedy_.temperature = 0.0f;
  greedy_.n_logprobs = 5;
}

void TwinDecode::add(int64_t id, size_t prompt_len) {
  Seq s{id, {}, std::vector<int32_t>(kBlocksPerSeq), 0};
  std::iota(s.blocks.begin(), s.blocks.end(), static_cast<int32_t>(id) * kBlocksPerSeq);
  const auto vocab = static_cast<uint32_t>(eager_.vocab_size());
  for (uint32_t x = static_cast<uint32_t>(id) * 7919u + 1u; s.tokens.size() < prompt_len;) {
    x = x * 1664525u + 1013904223u;
    s.tokens.push_back(static_cast<int32_t>((x >> 8) % vocab));
  }
  seqs_.push_back(std::move(s));
}

void TwinDecode::drop(size_t index) { seqs_.erase(seqs_.begin() + static_cast<std::ptrdiff_t>(index)); }

void TwinDecode::step() {
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
  const StepResult eager = eager_.execute(plan);
  const StepResult graphed = graphed_.execute(plan);
  ASSERT_EQ(eager.sampled.size(), seqs_.size());
  ASSERT_EQ(graphed.sampled.size(), seqs_.size());
  for (size_t i = 0; i < seqs_.size(); ++i) {
    compare_(eager.sampled[i], graphed.sampled[i],
             "step " + std::to_string(steps_) + ", sequence " + std::to_string(seqs_[i].id));
    seqs_[i].done = static_cast<int32_t>(seqs_[i].tokens.size());
    seqs_[i].tokens.push_back(eager.sampled[i].token);
  }
  ++steps_;
}

void run_bucket_scenario(TwinDecode& twin, const LlamaRunner& graphed) {
  const int lengths[] = {7, 30, 250, 3, 100, 12, 40, 5, 64, 90};
  for (int id = 0; id < 10; ++id) twin.add(id, static_cast<size_t>(lengths[id]));
  twin.step();  // prefill of every prompt: a mixed step, run eagerly by both
  EXPECT_EQ(graphed.decode_graph_stats().recorded, 0);
  for (int i = 0; i < 4; ++i) twin.step();  // 10 sequences in the 12 bucket (2 padding), contexts up to 256
  EXPECT_EQ(graphed.decode_graph_stats().recorded, 1);
  EXPECT_EQ(graphed.decode_graph_stats().replayed, 3);
  twin.drop(1);
  twin.drop(4);                             // 8 sequences: the 8 bucket
  for (int i = 0; i < 4; ++i) twin.step();  // the 250-id sequence grows past 256 keys: the next context bucket
  ASSERT_GT(twin.tokens_of(1), 257u);
  const DecodeGraphs::Stats before = graphed.decode_graph_stats();
  EXPECT_EQ(before.recorded, 3);
  EXPECT_EQ(before.replayed, 5);
  twin.add(10, 700);
  twin.step();  // a 700-id prompt beside eight decodes: the scratch buffers grow
  for (int i = 0; i < 4; ++i) twin.step();  // 9 sequences in the 12 bucket (3 padding), 1024 keys
  const DecodeGraphs::Stats after = graphed.decode_graph_stats();
  EXPECT_EQ(after.recorded, before.recorded + 1);  // recorded again after the buffers moved
  EXPECT_EQ(after.replayed, before.replayed + 3);
  EXPECT_EQ(after.held, 1);
}

}  // namespace swallow::test
