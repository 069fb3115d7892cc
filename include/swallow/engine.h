// Public C++ API of the serving engine: submit generation requests, read each request's event
// stream, abort, and read statistics. One engine thread owns the scheduler, the KV cache and the
// model; submit/abort/stats may be called from any thread, and each RequestStream is read by
// one consumer thread. See src/engine for the implementation.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "backend/sampling.h"
#include "chat/tokenizer_config.h"

namespace swallow {

class ModelRunner;
class Tokenizer;

// What to generate from: exactly one of prompt_ids, prompt_text, chat.
struct GenerationRequest {
  std::optional<std::vector<int32_t>> prompt_ids;  // used as given
  std::optional<std::string> prompt_text;          // completion: encoded with the tokenizer's BOS
  // Chat: {"messages": [...], "tools": [...]?, extra template variables...}, rendered with the
  // model's chat template (never a request-supplied one) and encoded without a second BOS.
  // Ordered so that tojson prints object keys in the order given, as Python does.
  std::optional<nlohmann::ordered_json> chat;
  bool add_generation_prompt = true;
  bool allow_special_in_content = false;  // true: HF parity (content may inject special tokens)

  SamplingParams sampling;           // sampling.seed is set by the engine from `seed`
  std::optional<uint64_t> seed;      // fixes the random draws; unset: a random seed per request
  int32_t n = 1;                      // independent samples sharing the prompt
  int32_t max_tokens = -1;            // -1: until the context is full
  int32_t min_tokens = 0;
  std::vector<std::string> stop;      // stop strings (not included in the output)
  std::vector<int32_t> stop_token_ids;
  bool ignore_eos = false;
  bool skip_special_tokens = true;
  int32_t priority = 0;               // lower value runs first (vLLM convention)
  std::string request_id;             // optional; the engine makes one when empty
};

enum class FinishReason { kStop, kLength, kAbort, kError };
const char* finish_reason_name(FinishReason reason);  // "stop", "length", "abort", "error"

struct RequestTimings {
  double queue_s = 0;          // submit -> first scheduled
  double time_to_first_token_s = 0;
  double time_per_output_token_s = 0;
  double total_s = 0;
};

// One event of a request's stream. `index` is the sample index (0..n-1). Every sample ends with
// exactly one kFinished or kError event; a kFinished event may also carry the sample's last
// tokens and text.
struct RequestEvent {
  enum class Kind { kDelta, kFinished, kError } kind = Kind::kDelta;
  int32_t index = 0;
  std::vector<int32_t> token_ids;          // tokens added since the last event of this index
  std::string text;                        // whole UTF-8 characters added (stop strings removed)
  std::vector<SampledToken> logprobs;      // one per token in token_ids, when asked
  std::optional<FinishReason> finish_reason;  // on kFinished (kError on kError)
  std::optional<std::string> stop_reason;     // the stop string that ended it
  std::optional<int32_t> stop_token_id;       // the stop_token_ids entry that ended it
  int32_t prompt_tokens = 0;               // on kFinished and kError
  int32_t completion_tokens = 0;           // on kFinished and kError
  RequestTimings timings;                  // on kFinished and kError
  std::string error;                       // on kError (the sample is over)
};

// The consumer side of one request's events. Closed after every sample has finished or failed.
class RequestStream {
 public:
  virtual ~RequestStream() = default;
  virtual const std::string& request_id() const = 0;
  virtual int32_t prompt_tokens() const = 0;
  // Waits for the next event; false when the stream is closed and drained, or on timeout.
  virtual bool next(RequestEvent& event, std::chrono::milliseconds timeout = std::chrono::hours(24)) = 0;
};

struct EngineStats {
  int32_t running = 0;              // sequences (one per sample) with KV blocks
  int32_t waiting = 0;              // sequences queued or preempted
  double kv_usage = 0;              // used blocks / all blocks, 0..1
  int64_t kv_blocks_total = 0;
  int64_t kv_blocks_free = 0;
  int64_t prefix_cache_queries = 0; // prompt tokens looked up
  int64_t prefix_cache_hits = 0;    // prompt tokens found cached
  int64_t preemptions = 0;
  int64_t prompt_tokens_total = 0;
  int64_t generation_tokens_total = 0;
  int64_t requests_finished = 0;
  int64_t steps = 0;
  int32_t kv_block_size = 0;        // tokens per KV block
  // Sums over finished requests (divide by requests_finished for means).
  double queue_time_s_sum = 0;
  double time_to_first_token_s_sum = 0;
  double time_per_output_token_s_sum = 0;
  // Engine-thread time summed over steps: building plans; running them (model and sampling,
  // including the wait for the device); applying their results (detokenizing, stop checks,
  // streaming to the requests).
  double schedule_s_sum = 0;
  double execute_s_sum = 0;
  double update_s_sum = 0;
};

struct EngineOptions {
  int32_t max_num_seqs = 256;             // running sequences at most (and at most max_num_batched_tokens)
  int32_t max_num_batched_tokens = 2048;  // tokens per step; longer prompts are prefilled in chunks
  bool enable_prefix_caching = true;
  int32_t max_waiting = 100000;  // submit fails with kResourceExhausted beyond this
  std::vector<int32_t> eos_token_ids;  // default stop tokens (generation_config)
};

class Engine {
 public:
  virtual ~Engine() = default;
  // Starts the engine thread. The runner must outlive the engine. chat_config is the model's
  // tokenizer_config.json (chat templates and the special-token template variables); without
  // one, or without a template in it, chat requests are refused.
  static std::unique_ptr<Engine> create(ModelRunner& runner, const Tokenizer& tokenizer,
                                        std::optional<TokenizerConfig> chat_config, const EngineOptions& options);
  // Validates, tokenizes and queues the request; throws swallow::Error (kInvalidArgument with
  // the parameter named, kResourceExhausted when the queue is full) without queuing on failure.
  virtual std::shared_ptr<RequestStream> submit(GenerationRequest request) = 0;
  // Ends the request (its stream gets kFinished with kAbort) and frees its KV blocks. Unknown ids
  // are ignored.
  virtual void abort(const std::string& request_id) = 0;
  virtual EngineStats stats() const = 0;
  virtual int32_t max_model_len() const = 0;
  // Stops accepting work, aborts what is left, joins the engine thread.
  virtual void shutdown() = 0;
};

}  // namespace swallow
