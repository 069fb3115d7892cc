// EngineImpl: request intake, the engine thread loop and Engine::create.
#include "engine/engine_impl.h"

#include <algorithm>
#include <chrono>

#include "core/error.h"
#include "core/log.h"
#include "engine/request_validation.h"
#include "engine/tokenizer_codec.h"

namespace swallow {
namespace {

SchedulerOptions scheduler_options(const EngineOptions& options, const KvCacheShape& kv) {
  SchedulerOptions s;
  s.max_num_seqs = options.max_num_seqs;
  s.max_num_batched_tokens = options.max_num_batched_tokens;
  s.enable_prefix_caching = options.enable_prefix_caching;
  s.n_blocks = kv.n_blocks;
  s.block_size = kv.block_size;
  return s;
}

}  // namespace

const char* finish_reason_name(FinishReason reason) {
  switch (reason) {
    case FinishReason::kStop: return "stop";
    case FinishReason::kLength: return "length";
    case FinishReason::kAbort: return "abort";
    case FinishReason::kError: return "error";
  }
  return "?";
}

std::unique_ptr<Engine> Engine::create(ModelRunner& runner, const Tokenizer& tokenizer,
                                       std::optional<TokenizerConfig> chat_config, const EngineOptions& options) {
  return std::make_unique<EngineImpl>(runner, std::make_unique<TokenizerCodec>(tokenizer, std::move(chat_config)),
                                      options);
}

EngineImpl::EngineImpl(ModelRunner& runner, std::unique_ptr<TextCodec> codec, const EngineOptions& options)
    : runner_(runner),
      codec_(std::move(codec)),
      options_(options),
      max_model_len_(static_cast<int32_t>(std::min<int64_t>(
          runner.max_model_len(), int64_t{runner.kv_shape().n_blocks} * runner.kv_shape().block_size))),
      vocab_size_(runner.vocab_size()),
      scheduler_(scheduler_options(options, runner.kv_shape()), *codec_),
      seed_source_(std::random_device{}()) {
  const KvCacheShape& kv = runner.kv_shape();
  const int64_t kv_tokens = int64_t{kv.n_blocks} * kv.block_size;
  log_info("engine: KV cache " + std::to_string(kv.n_blocks) + " blocks x " + std::to_string(kv.block_size) +
           " tokens = " + std::to_string(kv_tokens) + " tokens; max_model_len " + std::to_string(max_model_len_) +
           ", max_num_seqs " + std::to_string(options.max_num_seqs) + ", max_num_batched_tokens " +
           std::to_string(options.max_num_batched_tokens) + ", prefix caching " +
           (options.enable_prefix_caching ? "on" : "off"));
  if (kv_tokens < runner.max_model_len()) {
    log_warn("engine: the KV cache holds fewer tokens than the model's context (" +
             std::to_string(runner.max_model_len()) + "); requests are limited to " + std::to_string(max_model_len_));
  }
  stats_ = scheduler_.stats();
  thread_ = std::thread([this] { loop(); });
}

EngineImpl::~EngineImpl() { shutdown(); }

std::shared_ptr<RequestStream> EngineImpl::submit(GenerationRequest request) {
  const auto arrival = Clock::now();
  validate_request(request, vocab_size_);
  std::vector<int32_t> prompt = codec_->encode_prompt(request);
  const int32_t max_tokens = resolve_max_tokens(request, prompt, max_model_len_, vocab_size_);
  const bool random_seed = !request.seed;
  std::unique_ptr<RequestState> state =
      make_request_state(std::move(request), std::move(prompt), max_tokens, options_.eos_token_ids);
  state->arrival = arrival;

  std::shared_ptr<EventQueue> stream;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) throw resource_exhausted("the engine is shut down");
    if (static_cast<int64_t>(inbox_.size()) + stats_.waiting >= options_.max_waiting) {
      throw resource_exhausted("the engine's queue is full (" + std::to_string(options_.max_waiting) +
                               " waiting requests); retry later");
    }
    if (state->id.empty()) state->id = "req-" + std::to_string(next_request_number_++);
    if (!active_ids_.insert(state->id).second) {
      throw invalid_argument("'request_id' " + state->id + " is already in use by a running request");
    }
    if (random_seed) state->sampling.seed = seed_source_();
    stream = std::make_shared<EventQueue>(state->id, static_cast<int32_t>(state->prompt.size()));
    state->stream = stream;
    inbox_.push_back(std::move(state));
  }
  wake_.notify_one();
  return stream;
}

void EngineImpl::abort(const std::string& request_id) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (active_ids_.count(request_id) == 0) return;
    aborts_.push_back(request_id);
  }
  wake_.notify_one();
}

EngineStats EngineImpl::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stats_;
}

void EngineImpl::shutdown() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void EngineImpl::loop() {
  for (;;) {
    std::vector<std::unique_ptr<RequestState>> inbox;
    std::vector<std::string> aborts;
    bool stopping = false;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || !inbox_.empty() || !aborts_.empty() || scheduler_.has_work(); });
      inbox.swap(inbox_);
      aborts.swap(aborts_);
      stopping = stopping_;
      if (stopping) aborts.assign(active_ids_.begin(), active_ids_.end());
    }
    try {
      for (auto& request : inbox) scheduler_.add(std::move(request));
      for (const std::string& id : aborts) scheduler_.abort(id);
      if (!stopping && scheduler_.has_work()) run_step();
    } catch (const std::exception& e) {
      log_error(std::string("engine: ") + e.what());
      scheduler_.fail_all(std::string("internal engine error: ") + e.what());
    }
    publish();
    if (stopping) return;
  }
}

void EngineImpl::run_step() {
  const auto seconds_since = [](Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); };
  auto start = Clock::now();
  const StepPlan& plan = scheduler_.schedule();
  if (plan.seqs.empty()) throw internal_error("the scheduler found no work it could run");
  schedule_s_ += seconds_since(start);
  start = Clock::now();
  StepResult result;
  try {
    result = runner_.execute(plan);
  } catch (const std::exception& e) {
    log_error(std::string("engine: model step failed: ") + e.what());
    scheduler_.fail_step(e.what());
    return;
  }
  execute_s_ += seconds_since(start);
  start = Clock::now();
  scheduler_.update(result);
  update_s_ += seconds_since(start);
}

void EngineImpl::publish() {
  std::vector<std::string> ended = scheduler_.take_finished();
  EngineStats stats = scheduler_.stats();
  stats.schedule_s_sum = schedule_s_;
  stats.execute_s_sum = execute_s_;
  stats.update_s_sum = update_s_;
  std::lock_guard<std::mutex> lock(mutex_);
  for (const std::string& id : ended) active_ids_.erase(id);
  stats_ = stats;
}

}  // namespace swallow
