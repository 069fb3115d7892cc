// Engine-internal state of a request and of its n sequences (one per sample). A sequence holds
// all its tokens (prompt + output) and how many of them have KV entries: prefill, decode and
// recompute after preemption are the same thing, computing tokens[n_computed, size). Owned by
// the Scheduler; engine thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "backend/sampling.h"
#include "engine/block_manager.h"
#include "engine/output_processor.h"
#include "engine/request_stream.h"
#include "swallow/engine.h"

namespace swallow {

using Clock = std::chrono::steady_clock;

struct Sequence;

// A validated, tokenized request, ready for the scheduler.
struct RequestState {
  std::string id;
  std::vector<int32_t> prompt;
  int32_t n = 1;
  int32_t priority = 0;
  SamplingParams sampling;  // seed resolved
  StopRules stop;
  bool skip_special_tokens = true;
  std::shared_ptr<EventQueue> stream;
  Clock::time_point arrival;

  // Set by the scheduler.
  uint64_t arrival_seq = 0;                     // FCFS order among equal priorities
  std::optional<Clock::time_point> first_scheduled;
  std::vector<std::unique_ptr<Sequence>> seqs;  // [n]
  int32_t n_unfinished = 0;
};

// The scheduler's state for a validated request whose prompt is `prompt` and whose max_tokens
// is resolved; eos_token_ids are the engine's (dropped with ignore_eos). `stream` and `arrival`
// are left for the caller to set.
std::unique_ptr<RequestState> make_request_state(GenerationRequest request, std::vector<int32_t> prompt,
                                                 int32_t max_tokens, const std::vector<int32_t>& eos_token_ids);

struct Sequence {
  enum class Status { kWaiting, kRunning, kFinished };

  int64_t id = 0;
  RequestState* request = nullptr;
  int32_t index = 0;                  // sample index within the request
  SamplingParams sampling;            // this sample's seed
  SamplingParams sampling_min_tokens; // + stop tokens banned; used while output < min_tokens
  std::vector<int32_t> tokens;        // prompt then output
  int64_t n_computed = 0;             // tokens[0, n_computed) have KV entries
  BlockTable blocks;
  Status status = Status::kWaiting;
  std::unique_ptr<OutputProcessor> output;
  std::optional<Clock::time_point> first_token;
  Clock::time_point last_token;

  int32_t n_prompt() const { return static_cast<int32_t>(request->prompt.size()); }
  int32_t n_output() const { return static_cast<int32_t>(tokens.size()) - n_prompt(); }
  std::span<const int32_t> output_tokens() const { return std::span<const int32_t>(tokens).subspan(n_prompt()); }
  // Tokens still to compute before the next sample.
  int64_t n_pending() const { return static_cast<int64_t>(tokens.size()) - n_computed; }
  // Scheduling order: lower priority value first, then arrival, then sample index.
  bool runs_before(const Sequence& other) const {
    if (request->priority != other.request->priority) return request->priority < other.request->priority;
    if (request->arrival_seq != other.request->arrival_seq) return request->arrival_seq < other.request->arrival_seq;
    return index < other.index;
  }
};

}  // namespace swallow
