// Test doubles for the engine: FakeRunner, a deterministic ModelRunner whose "KV cache" stores
// token ids (so a wrong block table or a bad shared prefix changes the output) and whose next
// token is a hash of the history read back from that cache (plus seed and output index when
// sampling); FakeCodec, a TextCodec with a settable text per token; and SchedulerHarness, which
// drives a Scheduler step by step. Single-threaded unless noted.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/scheduler.h"
#include "engine/text_codec.h"
#include "model/model_runner.h"

namespace swallow::test {

struct RecordedSeq {
  int64_t seq_id = 0;
  std::vector<int32_t> tokens;
  int32_t start_pos = 0;
  std::vector<int32_t> block_table;
  bool sample = false;
};
using RecordedStep = std::vector<RecordedSeq>;

class FakeRunner final : public ModelRunner {
 public:
  FakeRunner(int32_t n_blocks, int32_t block_size, int32_t max_model_len = 4096, int32_t vocab_size = 64);

  StepResult execute(const StepPlan& plan) override;
  const KvCacheShape& kv_shape() const override { return shape_; }
  int32_t max_model_len() const override { return max_model_len_; }
  int32_t vocab_size() const override { return vocab_size_; }

  std::vector<RecordedStep> steps;       // every plan executed, copied
  std::function<void()> before_execute;  // runs at the start of execute (on the engine thread)

 private:
  KvCacheShape shape_;
  int32_t max_model_len_;
  int32_t vocab_size_;
  std::vector<int32_t> slots_;  // [n_blocks * block_size] the token stored in each KV slot
};

// Token t decodes to pieces[t] when set, else to the letter 'a' + t % 26. Tokens >= special_from
// are special (no text with skip_special_tokens). prompt_text encodes one token per byte.
class FakeCodec final : public TextCodec {
 public:
  std::map<int32_t, std::string> pieces;
  int32_t special_from = 1 << 30;

  std::vector<int32_t> encode_prompt(const GenerationRequest& request) const override;
  std::unique_ptr<IncrementalDecoder> new_decoder(bool skip_special_tokens) const override;
  std::string text(int32_t token) const;
};

// What one sample of a request produced, read from its stream.
struct SampleOutput {
  std::vector<int32_t> tokens;
  std::string text;
  std::optional<FinishReason> finish_reason;
  std::optional<std::string> stop_reason;
  std::optional<int32_t> stop_token_id;
  int32_t completion_tokens = 0;
  std::string error;
};
// Drains a closed stream: one SampleOutput per sample index.
std::vector<SampleOutput> drain(RequestStream& stream, int32_t n = 1);

class SchedulerHarness {
 public:
  SchedulerHarness(const SchedulerOptions& options, int32_t max_model_len = 4096);

  // Queues a request (default: greedy, max_tokens 8) whose prompt is `prompt`.
  std::shared_ptr<EventQueue> add(std::vector<int32_t> prompt, GenerationRequest request = {});
  void step();
  // Steps until no work is left (fails the test after max_steps).
  void run(int max_steps = 100000);

  FakeCodec codec;
  std::vector<int32_t> eos_token_ids;  // the engine's eos ids for requests added later
  FakeRunner runner;
  Scheduler scheduler;
  int32_t max_model_len;

 private:
  int next_id_ = 0;
};

// A request with greedy sampling and `max_tokens`.
GenerationRequest greedy_request(int32_t max_tokens);
// Prompt tokens [base, base + n) modulo the fake vocabulary.
std::vector<int32_t> make_prompt(int32_t n, int32_t base = 1);

}  // namespace swallow::test
