// The continuous-batching scheduler. Each step it picks what to compute under a token budget
// (max_num_batched_tokens) and a sequence limit (max_num_seqs): first one token for every
// running sequence that is decoding, then prefill chunks of running sequences, then new or
// preempted sequences in (priority, arrival) order, taking cached prefixes. When KV blocks run
// out it preempts the lowest-priority newest running sequence by recompute: its blocks are
// freed and it is requeued with its output kept, so it later recomputes prompt + output and
// continues with exactly the tokens it would have produced. After the model ran, update()
// appends the sampled tokens, applies the stop rules and emits the request events.
//
// n > 1: sample 0 computes the prompt; samples 1..n-1 wait until its full prompt blocks are
// computed, then share them (reference counted) and recompute only the last, partial block
// themselves, so no KV data is ever copied. Engine thread only.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/block_manager.h"
#include "engine/sequence.h"
#include "engine/text_codec.h"
#include "model/step_plan.h"
#include "swallow/engine.h"

namespace swallow {

struct SchedulerOptions {
  int32_t max_num_seqs = 256;
  int32_t max_num_batched_tokens = 2048;
  bool enable_prefix_caching = true;
  int32_t n_blocks = 0;
  int32_t block_size = 16;
};

class Scheduler {
 public:
  Scheduler(const SchedulerOptions& options, const TextCodec& codec);

  // Queues every sample of a validated request (its id must not be in use).
  void add(std::unique_ptr<RequestState> request);
  // Ends the request with kAbort and frees its blocks; false when the id is unknown.
  bool abort(const std::string& request_id);
  // Ends every request with an error event carrying `message`.
  void fail_all(const std::string& message);
  bool has_work() const { return !waiting_.empty() || !running_.empty(); }

  // The next step's plan (empty when nothing can run); valid until update() / fail_step().
  const StepPlan& schedule();
  // Applies the runner's result for the last plan.
  void update(const StepResult& result);
  // The runner failed on the last plan: its requests end with an error event.
  void fail_step(const std::string& message);

  // Ids of the requests that ended since the last call.
  std::vector<std::string> take_finished();
  EngineStats stats() const;
  const BlockManager& block_manager() const { return blocks_; }

 private:
  struct Scheduled {
    Sequence* seq;
    int64_t n_tokens;
  };
  struct Admission {
    PrefixMatch prefix;
    bool shared = false;  // the prefix is sample 0's blocks, not a prefix-cache lookup
  };

  void insert_sorted(std::vector<Sequence*>& queue, Sequence* seq);
  static void remove(std::vector<Sequence*>& queue, Sequence* seq);
  void schedule_running(bool decoding);
  void schedule_waiting();
  // Grows seq's blocks to cover n more tokens, preempting others (or seq itself) as needed.
  bool reserve(Sequence* seq, int64_t n_tokens);
  void preempt(Sequence* seq);
  // The prefix a waiting sequence starts from (cached, or shared with sample 0); nullopt while
  // it must wait for sample 0 to compute the prompt.
  std::optional<Admission> admission_prefix(const Sequence& seq) const;
  void build_plan();
  // Ends a sequence with `event` (kFinished or kError), frees its blocks, closes the stream
  // when it was the request's last.
  void end_sequence(Sequence& seq, RequestEvent event);
  // Ends every unfinished sequence of the request with a copy of `event`.
  void end_request(RequestState& request, const RequestEvent& event);
  static RequestEvent error_event(const std::string& message);
  void fill_final_event(const Sequence& seq, RequestEvent& event) const;
  void account_finished_request(const RequestState& request);
  // Drops the state of ended requests (after no Sequence* of theirs is referenced any more).
  void reap();

  SchedulerOptions options_;
  int32_t max_running_;
  const TextCodec& codec_;
  BlockManager blocks_;
  std::unordered_map<std::string, std::unique_ptr<RequestState>> requests_;
  std::vector<Sequence*> waiting_;  // sorted by Sequence::runs_before
  std::vector<Sequence*> running_;  // sorted by Sequence::runs_before
  std::vector<Scheduled> scheduled_;
  StepPlan plan_;
  int64_t budget_ = 0;
  bool preempted_this_step_ = false;
  uint64_t next_arrival_ = 0;
  int64_t next_seq_id_ = 0;
  std::vector<std::string> ended_;     // requests to reap
  std::vector<std::string> finished_;  // reaped, for take_finished()
  EngineStats stats_;
};

}  // namespace swallow
