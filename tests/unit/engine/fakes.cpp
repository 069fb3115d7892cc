// FakeRunner, FakeCodec and SchedulerHarness.
#include "fakes.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace swallow::test {
namespace {

uint64_t mix(uint64_t h, uint64_t v) {
  h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
  h *= 0xbf58476d1ce4e5b9ull;
  return h ^ (h >> 31);
}

bool banned(const SamplingParams& params, int32_t token) {
  for (const auto& [id, bias] : params.logit_bias) {
    if (id == token && std::isinf(bias) && bias < 0) return true;
  }
  return false;
}

class FakeDecoder final : public IncrementalDecoder {
 public:
  FakeDecoder(const FakeCodec& codec, bool skip_special) : codec_(codec), skip_special_(skip_special) {}
  std::string push(int32_t token) override {
    if (skip_special_ && token >= codec_.special_from) return "";
    return codec_.text(token);
  }
  std::string finish() override { return ""; }

 private:
  const FakeCodec& codec_;
  bool skip_special_;
};

}  // namespace

FakeRunner::FakeRunner(int32_t n_blocks, int32_t block_size, int32_t max_model_len, int32_t vocab_size)
    : max_model_len_(max_model_len), vocab_size_(vocab_size), slots_(static_cast<size_t>(n_blocks) * block_size, -1) {
  shape_.n_blocks = n_blocks;
  shape_.block_size = block_size;
  shape_.n_layers = 1;
  shape_.n_kv_heads = 1;
  shape_.head_dim = 1;
}

StepResult FakeRunner::execute(const StepPlan& plan) {
  if (before_execute) before_execute();
  const int32_t bs = shape_.block_size;
  RecordedStep recorded;
  StepResult result;
  for (const SequenceStep& s : plan.seqs) {
    recorded.push_back({s.seq_id, {s.tokens.begin(), s.tokens.end()}, s.start_pos,
                        {s.block_table.begin(), s.block_table.end()}, s.sample});
    const int32_t end = s.start_pos + static_cast<int32_t>(s.tokens.size());
    if (static_cast<int64_t>(s.block_table.size()) * bs < end) throw internal_error("block table too short");
    auto slot = [&](int32_t pos) { return s.block_table[pos / bs] * bs + pos % bs; };
    for (size_t i = 0; i < s.tokens.size(); ++i) slots_[slot(s.start_pos + static_cast<int32_t>(i))] = s.tokens[i];
    if (!s.sample) continue;
    uint64_t h = 1469598103934665603ull;
    for (int32_t pos = 0; pos < end; ++pos) h = mix(h, static_cast<uint64_t>(slots_[slot(pos)]) + 1);
    const SamplingParams& params = *s.sampling.params;
    if (!params.greedy()) h = mix(mix(h, params.seed), s.sampling.output_tokens.size());
    auto token = static_cast<int32_t>(h % static_cast<uint64_t>(vocab_size_));
    while (banned(params, token)) token = (token + 1) % vocab_size_;
    SampledToken sampled;
    sampled.token = token;
    sampled.logprob = -0.5f * static_cast<float>(token % 5);
    result.sampled.push_back(sampled);
  }
  steps.push_back(std::move(recorded));
  return result;
}

std::vector<int32_t> FakeCodec::encode_prompt(const GenerationRequest& request) const {
  if (request.prompt_ids) return *request.prompt_ids;
  if (request.prompt_text) {
    std::vector<int32_t> ids;
    for (unsigned char c : *request.prompt_text) ids.push_back(c % 64);
    return ids;
  }
  throw invalid_argument("FakeCodec has no chat template");
}

std::unique_ptr<IncrementalDecoder> FakeCodec::new_decoder(bool skip_special_tokens) const {
  return std::make_unique<FakeDecoder>(*this, skip_special_tokens);
}

std::string FakeCodec::text(int32_t token) const {
  auto it = pieces.find(token);
  return it != pieces.end() ? it->second : std::string(1, static_cast<char>('a' + token % 26));
}

std::vector<SampleOutput> drain(RequestStream& stream, int32_t n) {
  std::vector<SampleOutput> out(n);
  RequestEvent event;
  while (stream.next(event, std::chrono::seconds(30))) {
    SampleOutput& o = out.at(event.index);
    EXPECT_FALSE(o.finish_reason.has_value()) << "event after the end of sample " << event.index;
    o.tokens.insert(o.tokens.end(), event.token_ids.begin(), event.token_ids.end());
    o.text += event.text;
    if (event.kind != RequestEvent::Kind::kDelta) {
      o.finish_reason = event.finish_reason;
      o.stop_reason = event.stop_reason;
      o.stop_token_id = event.stop_token_id;
      o.completion_tokens = event.completion_tokens;
      o.error = event.error;
    }
  }
  return out;
}

SchedulerHarness::SchedulerHarness(const SchedulerOptions& options, int32_t max_len)
    : runner(options.n_blocks, options.block_size, max_len), scheduler(options, codec), max_model_len(max_len) {}

std::shared_ptr<EventQueue> SchedulerHarness::add(std::vector<int32_t> prompt, GenerationRequest request) {
  if (request.request_id.empty()) request.request_id = std::string("r").append(std::to_string(next_id_++));
  int32_t max_tokens = request.max_tokens;
  auto state = make_request_state(std::move(request), std::move(prompt), max_tokens, eos_token_ids);
  state->arrival = Clock::now();
  auto stream = std::make_shared<EventQueue>(state->id, static_cast<int32_t>(state->prompt.size()));
  state->stream = stream;
  scheduler.add(std::move(state));
  return stream;
}

void SchedulerHarness::step() {
  const StepPlan& plan = scheduler.schedule();
  ASSERT_FALSE(plan.seqs.empty()) << "the scheduler made no progress";
  scheduler.update(runner.execute(plan));
}

void SchedulerHarness::run(int max_steps) {
  for (int i = 0; i < max_steps && scheduler.has_work(); ++i) {
    step();
    if (::testing::Test::HasFatalFailure()) return;
  }
  ASSERT_FALSE(scheduler.has_work()) << "not done after " << max_steps << " steps";
}

GenerationRequest greedy_request(int32_t max_tokens) {
  GenerationRequest r;
  r.sampling.temperature = 0.0f;
  r.max_tokens = max_tokens;
  return r;
}

std::vector<int32_t> make_prompt(int32_t n, int32_t base) {
  std::vector<int32_t> p(n);
  for (int32_t i = 0; i < n; ++i) p[i] = (base + i * 7) % 64;
  return p;
}

}  // namespace swallow::test
