// Scheduler with the fake runner: token budget and sequence limit, chunked prefill next to
// decodes, preemption by recompute (identical tokens, victim choice), blocks freed on finish and
// abort, prefix-cache hits and eviction, priority and FCFS order, no starvation, n > 1 sharing,
// and the stop rules end to end.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "fakes.h"

namespace swallow::test {
namespace {

struct Spec {
  std::vector<int32_t> prompt;
  GenerationRequest request;
};

SchedulerOptions options(int32_t n_blocks, int32_t block_size, int32_t budget, int32_t max_seqs = 256,
                         bool prefix_caching = true) {
  SchedulerOptions o;
  o.n_blocks = n_blocks;
  o.block_size = block_size;
  o.max_num_batched_tokens = budget;
  o.max_num_seqs = max_seqs;
  o.enable_prefix_caching = prefix_caching;
  return o;
}

// Runs all specs submitted together; checks that every block is free at the end.
std::vector<std::vector<SampleOutput>> run_together(const SchedulerOptions& o, const std::vector<Spec>& specs,
                                                    EngineStats* stats = nullptr) {
  SchedulerHarness h(o, o.n_blocks * o.block_size);
  std::vector<std::shared_ptr<EventQueue>> streams;
  for (const Spec& s : specs) streams.push_back(h.add(s.prompt, s.request));
  h.run();
  EXPECT_EQ(h.scheduler.block_manager().n_free(), o.n_blocks) << "blocks leaked";
  if (stats != nullptr) *stats = h.scheduler.stats();
  std::vector<std::vector<SampleOutput>> out;
  for (size_t i = 0; i < specs.size(); ++i) out.push_back(drain(*streams[i], specs[i].request.n));
  return out;
}

std::vector<SampleOutput> run_alone(const Spec& spec) {
  return run_together(options(512, 4, 4096), {spec})[0];
}

void expect_same_outputs(const std::vector<std::vector<SampleOutput>>& got, const std::vector<Spec>& specs) {
  for (size_t i = 0; i < specs.size(); ++i) {
    std::vector<SampleOutput> alone = run_alone(specs[i]);
    ASSERT_EQ(got[i].size(), alone.size());
    for (size_t j = 0; j < alone.size(); ++j) {
      EXPECT_EQ(got[i][j].tokens, alone[j].tokens) << "request " << i << " sample " << j;
      EXPECT_EQ(got[i][j].text, alone[j].text) << "request " << i << " sample " << j;
      EXPECT_EQ(got[i][j].finish_reason, alone[j].finish_reason);
    }
  }
}

// Requests with prompts of different lengths; every third one samples with a seed.
std::vector<Spec> mixed_specs(int count, int32_t max_tokens) {
  std::vector<Spec> specs;
  for (int i = 0; i < count; ++i) {
    Spec s{make_prompt(3 + (i * 5) % 23, i), greedy_request(max_tokens)};
    if (i % 3 == 2) {
      s.request.sampling.temperature = 0.8f;
      s.request.seed = 1000 + i;
    }
    specs.push_back(s);
  }
  return specs;
}

// Index of the first step in which seq_id appears, or -1.
int first_step_of(const FakeRunner& runner, int64_t seq_id) {
  for (size_t i = 0; i < runner.steps.size(); ++i) {
    for (const RecordedSeq& s : runner.steps[i]) {
      if (s.seq_id == seq_id) return static_cast<int>(i);
    }
  }
  return -1;
}

TEST(Scheduler, RespectsTokenBudgetAndSequenceLimit) {
  std::vector<Spec> specs = mixed_specs(12, 6);
  SchedulerOptions o = options(64, 4, 8, /*max_seqs=*/4);
  SchedulerHarness h(o, 256);
  std::vector<std::shared_ptr<EventQueue>> streams;
  for (const Spec& s : specs) streams.push_back(h.add(s.prompt, s.request));
  h.run();
  for (const RecordedStep& step : h.runner.steps) {
    int64_t n = 0;
    for (const RecordedSeq& s : step) n += static_cast<int64_t>(s.tokens.size());
    EXPECT_LE(n, 8);
    EXPECT_LE(step.size(), 4u);
  }
  std::vector<std::vector<SampleOutput>> got;
  for (size_t i = 0; i < specs.size(); ++i) got.push_back(drain(*streams[i]));
  expect_same_outputs(got, specs);
}

TEST(Scheduler, ChunkedPrefillRunsNextToDecodes) {
  SchedulerHarness h(options(128, 4, 8), 512);
  auto a = h.add(make_prompt(3), greedy_request(40));
  h.step();  // A's prefill
  h.step();  // A decodes
  auto b = h.add(make_prompt(60, 5), greedy_request(2));
  const size_t first = h.runner.steps.size();
  int32_t expected_start = 0;
  while (expected_start < 60) {
    h.step();
    const RecordedStep& step = h.runner.steps.back();
    ASSERT_EQ(step.size(), 2u);
    EXPECT_EQ(step[0].seq_id, 0);  // the decode comes first and is never left out
    EXPECT_EQ(step[0].tokens.size(), 1u);
    EXPECT_TRUE(step[0].sample);
    EXPECT_EQ(step[1].seq_id, 1);
    EXPECT_EQ(step[1].start_pos, expected_start);
    EXPECT_EQ(step[1].tokens.size(), std::min<size_t>(7, 60 - expected_start));
    expected_start += static_cast<int32_t>(step[1].tokens.size());
    EXPECT_EQ(step[1].sample, expected_start == 60);
  }
  EXPECT_EQ(h.runner.steps.size() - first, 9u);  // ceil(60 / 7)
  h.run();
}

TEST(Scheduler, PreemptionResumesWithIdenticalTokens) {
  std::vector<Spec> specs = mixed_specs(8, 20);
  for (bool caching : {false, true}) {
    EngineStats stats;
    auto got = run_together(options(20, 4, 64, 256, caching), specs, &stats);
    EXPECT_GT(stats.preemptions, 0) << "the KV budget should force preemption";
    expect_same_outputs(got, specs);
  }
}

TEST(Scheduler, PreemptsLowestPriorityNewestFirst) {
  // 9 blocks of 2 tokens; three requests grow until the blocks run out.
  SchedulerHarness h(options(9, 2, 64, 256, /*prefix_caching=*/false), 18);
  GenerationRequest low = greedy_request(12);
  low.priority = 1;
  h.add(make_prompt(4, 0), greedy_request(12));  // seq 0: priority 0
  h.add(make_prompt(4, 1), low);                 // seq 1: priority 1
  h.add(make_prompt(4, 2), greedy_request(12));  // seq 2: priority 0, newer than seq 0
  std::vector<int64_t> preempted;  // in preemption order: the running sequences left out
  while (h.scheduler.has_work() && preempted.size() < 2) {
    const int64_t before = h.scheduler.stats().preemptions;
    h.step();
    if (h.scheduler.stats().preemptions == before) continue;
    std::set<int64_t> in_step;
    for (const RecordedSeq& s : h.runner.steps.back()) in_step.insert(s.seq_id);
    for (int64_t id : {0, 1, 2}) {
      if (!in_step.count(id) && std::find(preempted.begin(), preempted.end(), id) == preempted.end()) {
        preempted.push_back(id);
      }
    }
  }
  ASSERT_EQ(preempted.size(), 2u);
  EXPECT_EQ(preempted[0], 1);  // lowest priority
  EXPECT_EQ(preempted[1], 2);  // then the newest
  h.run();
}

TEST(Scheduler, FreesBlocksWhenAbortedQueuedPrefillingOrDecoding) {
  for (bool caching : {false, true}) {
    SchedulerHarness h(options(32, 4, 4, /*max_seqs=*/1, caching), 128);
    auto decoding = h.add(make_prompt(6), greedy_request(50));
    auto queued = h.add(make_prompt(5, 3), greedy_request(50));
    for (int i = 0; i < 5; ++i) h.step();  // 2 prefill chunks, 3 decodes; `queued` never ran
    EXPECT_TRUE(h.scheduler.abort("r1"));
    EXPECT_TRUE(h.scheduler.abort("r0"));
    EXPECT_EQ(h.scheduler.block_manager().n_free(), 32);
    auto prefilling = h.add(make_prompt(30, 9), greedy_request(5));
    h.step();  // first 4-token chunk of 30
    EXPECT_TRUE(h.scheduler.abort("r2"));
    EXPECT_FALSE(h.scheduler.abort("r2"));
    EXPECT_EQ(h.scheduler.block_manager().n_free(), 32);
    EXPECT_FALSE(h.scheduler.has_work());
    auto d = drain(*decoding);
    EXPECT_EQ(d[0].finish_reason, FinishReason::kAbort);
    EXPECT_EQ(d[0].tokens.size(), 4u);
    auto q = drain(*queued);
    EXPECT_EQ(q[0].finish_reason, FinishReason::kAbort);
    EXPECT_TRUE(q[0].tokens.empty());
    auto p = drain(*prefilling);
    EXPECT_EQ(p[0].finish_reason, FinishReason::kAbort);
    EXPECT_EQ(h.scheduler.stats().running + h.scheduler.stats().waiting, 0);
  }
}

TEST(Scheduler, ReusesCachedPrefix) {
  SchedulerHarness h(options(64, 4, 256), 256);
  std::vector<int32_t> a = make_prompt(18);
  auto first = h.add(a, greedy_request(4));
  h.run();
  std::vector<int32_t> b(a.begin(), a.begin() + 16);
  for (int32_t t : {40, 41, 42}) b.push_back(t);
  auto second = h.add(b, greedy_request(4));
  h.step();
  const RecordedSeq& s = h.runner.steps.back()[0];
  EXPECT_EQ(s.start_pos, 16);
  EXPECT_EQ(s.tokens.size(), 3u);
  h.run();
  EngineStats stats = h.scheduler.stats();
  EXPECT_EQ(stats.prefix_cache_queries, 18 + 19);
  EXPECT_EQ(stats.prefix_cache_hits, 16);
  EXPECT_EQ(drain(*second)[0].tokens, run_together(options(64, 4, 256, 256, false), {{b, greedy_request(4)}})[0][0].tokens);

  auto same = h.add(a, greedy_request(4));  // the whole prompt is cached: its last token is recomputed
  h.step();
  EXPECT_EQ(h.runner.steps.back()[0].start_pos, 16);
  h.run();
  EXPECT_EQ(drain(*same)[0].tokens, drain(*first)[0].tokens);
}

TEST(Scheduler, EvictsCachedBlocksUnderPressure) {
  std::vector<Spec> specs;
  for (int i = 0; i < 10; ++i) specs.push_back({make_prompt(12, i * 3), greedy_request(6)});
  specs.push_back(specs[0]);  // by now evicted
  EngineStats stats;
  auto got = run_together(options(12, 2, 8, /*max_seqs=*/1), specs, &stats);
  expect_same_outputs(got, specs);
  EXPECT_EQ(stats.prefix_cache_hits, 0);
}

TEST(Scheduler, OrdersByPriorityThenArrival) {
  SchedulerHarness h(options(64, 4, 64, /*max_seqs=*/1), 256);
  for (int32_t priority : {3, 1, 2, 1}) {
    GenerationRequest r = greedy_request(2);
    r.priority = priority;
    h.add(make_prompt(4, priority), r);
  }
  h.run();
  std::vector<int> first_steps;
  for (int64_t id = 0; id < 4; ++id) first_steps.push_back(first_step_of(h.runner, id));
  EXPECT_LT(first_steps[1], first_steps[3]);  // priority 1, FCFS
  EXPECT_LT(first_steps[3], first_steps[2]);  // then priority 2
  EXPECT_LT(first_steps[2], first_steps[0]);  // then priority 3
}

TEST(Scheduler, LongRequestIsNotStarvedByLaterShortOnes) {
  // seq 0 takes up to 15 of 16 blocks; the long request cannot start until it ends, while the
  // short ones arriving meanwhile would fit: none of them may overtake it.
  SchedulerHarness h(options(16, 4, 16), 64);
  h.add(make_prompt(48, 1), greedy_request(10));
  h.step();
  auto long_stream = h.add(make_prompt(40, 2), greedy_request(4));  // seq 1
  std::vector<int64_t> later;
  for (int i = 0; i < 30 && h.scheduler.has_work(); ++i) {
    h.add(make_prompt(3, 10 + i), greedy_request(2));
    later.push_back(2 + i);
    h.step();
  }
  h.run();
  const int long_first = first_step_of(h.runner, 1);
  EXPECT_GT(long_first, 3);  // it had to wait
  for (int64_t id : later) EXPECT_GE(first_step_of(h.runner, id), long_first) << "seq " << id << " overtook";
  EXPECT_EQ(drain(*long_stream)[0].finish_reason, FinishReason::kLength);
}

TEST(Scheduler, SamplesShareThePromptBlocks) {
  for (bool caching : {false, true}) {
    SchedulerHarness h(options(64, 4, 256, 256, caching), 256);
    GenerationRequest r = greedy_request(5);
    r.n = 3;
    r.sampling.temperature = 1.0f;
    r.seed = 7;
    auto stream = h.add(make_prompt(18), r);
    h.run();
    // Step 0: sample 0 computes the prompt; step 1: samples 1 and 2 join at position 16,
    // sharing sample 0's first four blocks.
    const RecordedSeq& s0 = h.runner.steps[0][0];
    ASSERT_EQ(h.runner.steps[0].size(), 1u);
    EXPECT_EQ(s0.tokens.size(), 18u);
    ASSERT_EQ(h.runner.steps[1].size(), 3u);
    for (int k = 1; k <= 2; ++k) {
      const RecordedSeq& s = h.runner.steps[1][k];
      EXPECT_EQ(s.start_pos, 16);
      EXPECT_EQ(std::vector<int32_t>(s.block_table.begin(), s.block_table.begin() + 4),
                std::vector<int32_t>(s0.block_table.begin(), s0.block_table.begin() + 4));
      EXPECT_NE(s.block_table[4], s0.block_table[4]);
    }
    EXPECT_EQ(h.scheduler.stats().prefix_cache_hits, 0);
    auto out = drain(*stream, 3);
    EXPECT_NE(out[0].tokens, out[1].tokens);
    EXPECT_NE(out[1].tokens, out[2].tokens);
    EXPECT_EQ(h.scheduler.block_manager().n_free(), 64);
  }
}

TEST(Scheduler, SeededSamplesDoNotDependOnTheBatch) {
  std::vector<Spec> specs = mixed_specs(10, 12);
  specs[4].request.n = 4;
  specs[4].request.sampling.temperature = 1.0f;
  specs[4].request.seed = 99;
  auto got = run_together(options(40, 4, 16), specs);
  expect_same_outputs(got, specs);
}

TEST(Scheduler, StopsOnStopStringAcrossTokens) {
  Spec spec{make_prompt(5), greedy_request(12)};
  const std::string text = run_alone(spec)[0].text;
  ASSERT_EQ(text.size(), 12u);  // one letter per token
  spec.request.stop = {text.substr(4, 3)};
  auto out = run_alone(spec)[0];
  EXPECT_EQ(out.finish_reason, FinishReason::kStop);
  EXPECT_EQ(out.stop_reason, text.substr(4, 3));
  EXPECT_EQ(out.text, text.substr(0, text.find(text.substr(4, 3))));
}

TEST(Scheduler, EndsAtMaxTokens) {
  auto out = run_alone({make_prompt(5), greedy_request(7)})[0];
  EXPECT_EQ(out.finish_reason, FinishReason::kLength);
  EXPECT_EQ(out.tokens.size(), 7u);
  EXPECT_EQ(out.completion_tokens, 7);
}

TEST(Scheduler, EosStopsUnlessMinTokensOrIgnoreEos) {
  const std::vector<int32_t> prompt = make_prompt(5);
  const std::vector<int32_t> ref = run_alone({prompt, greedy_request(6)})[0].tokens;
  ASSERT_NE(ref[0], ref[1]);
  auto run_with_eos = [&](GenerationRequest r) {
    SchedulerHarness h(options(64, 4, 64), 256);
    h.eos_token_ids = {ref[1]};
    auto stream = h.add(prompt, r);
    h.run();
    return drain(*stream)[0];
  };
  auto stopped = run_with_eos(greedy_request(6));
  EXPECT_EQ(stopped.finish_reason, FinishReason::kStop);
  EXPECT_EQ(stopped.tokens, std::vector<int32_t>(ref.begin(), ref.begin() + 2));

  GenerationRequest at_least = greedy_request(6);
  at_least.min_tokens = 3;
  auto delayed = run_with_eos(at_least);
  ASSERT_GE(delayed.tokens.size(), 3u);
  for (int i = 0; i < 3; ++i) EXPECT_NE(delayed.tokens[i], ref[1]);

  GenerationRequest ignoring = greedy_request(6);
  ignoring.ignore_eos = true;
  auto ignored = run_with_eos(ignoring);
  EXPECT_EQ(ignored.finish_reason, FinishReason::kLength);
  EXPECT_EQ(ignored.tokens, ref);
}

}  // namespace
}  // namespace swallow::test
