// Scheduler: queues, step planning with preemption, and applying step results.
#include "engine/scheduler.h"

#include <algorithm>
#include <limits>

#include "core/error.h"

namespace swallow {
namespace {

// Sample i > 0 of a request draws with its own seed, derived from the request's.
uint64_t sample_seed(uint64_t seed, int32_t index) {
  if (index == 0) return seed;
  uint64_t x = seed + 0x9e3779b97f4a7c15ull * static_cast<uint64_t>(index);
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

}  // namespace

Scheduler::Scheduler(const SchedulerOptions& options, const TextCodec& codec)
    : options_(options),
      max_running_(std::min(options.max_num_seqs, options.max_num_batched_tokens)),
      codec_(codec),
      blocks_(options.n_blocks, options.block_size, options.enable_prefix_caching) {
  if (options.max_num_seqs <= 0) throw invalid_argument("max_num_seqs must be >= 1");
  if (options.max_num_batched_tokens <= 0) throw invalid_argument("max_num_batched_tokens must be >= 1");
  stats_.kv_block_size = options.block_size;
}

void Scheduler::insert_sorted(std::vector<Sequence*>& queue, Sequence* seq) {
  auto it = std::upper_bound(queue.begin(), queue.end(), seq,
                             [](const Sequence* a, const Sequence* b) { return a->runs_before(*b); });
  queue.insert(it, seq);
}

void Scheduler::remove(std::vector<Sequence*>& queue, Sequence* seq) {
  auto it = std::find(queue.begin(), queue.end(), seq);
  if (it != queue.end()) queue.erase(it);
}

void Scheduler::add(std::unique_ptr<RequestState> request) {
  RequestState& r = *request;
  if (!requests_.emplace(r.id, std::move(request)).second) {
    throw internal_error("request id '" + r.id + "' is already scheduled");
  }
  r.arrival_seq = next_arrival_++;
  r.n_unfinished = r.n;
  for (int32_t i = 0; i < r.n; ++i) {
    auto seq = std::make_unique<Sequence>();
    seq->id = next_seq_id_++;
    seq->request = &r;
    seq->index = i;
    seq->sampling = r.sampling;
    seq->sampling.seed = sample_seed(r.sampling.seed, i);
    seq->sampling_min_tokens = seq->sampling;
    for (const auto* ids : {&r.stop.eos_token_ids, &r.stop.stop_token_ids}) {
      for (int32_t id : *ids) seq->sampling_min_tokens.logit_bias.emplace_back(id, -std::numeric_limits<float>::infinity());
    }
    seq->tokens = r.prompt;
    seq->output = std::make_unique<OutputProcessor>(r.stop, codec_.new_decoder(r.skip_special_tokens));
    insert_sorted(waiting_, seq.get());
    r.seqs.push_back(std::move(seq));
  }
}

// ---- planning ----

const StepPlan& Scheduler::schedule() {
  scheduled_.clear();
  budget_ = options_.max_num_batched_tokens;
  preempted_this_step_ = false;
  schedule_running(/*decoding=*/true);
  schedule_running(/*decoding=*/false);
  if (!preempted_this_step_) schedule_waiting();
  build_plan();
  return plan_;
}

void Scheduler::schedule_running(bool decoding) {
  const std::vector<Sequence*> snapshot = running_;  // preemption edits running_
  for (Sequence* seq : snapshot) {
    if (budget_ == 0) return;
    if (seq->status != Sequence::Status::kRunning || (seq->n_pending() == 1) != decoding) continue;
    int64_t n = std::min(seq->n_pending(), budget_);
    if (!reserve(seq, n)) continue;
    scheduled_.push_back({seq, n});
    budget_ -= n;
  }
}

bool Scheduler::reserve(Sequence* seq, int64_t n_tokens) {
  while (!blocks_.allocate(seq->blocks, seq->n_computed + n_tokens)) {
    Sequence* victim = running_.back();
    preempt(victim);
    if (victim == seq) return false;
  }
  return true;
}

void Scheduler::preempt(Sequence* seq) {
  auto it = std::find_if(scheduled_.begin(), scheduled_.end(), [seq](const Scheduled& s) { return s.seq == seq; });
  if (it != scheduled_.end()) {
    budget_ += it->n_tokens;
    scheduled_.erase(it);
  }
  blocks_.release(seq->blocks);
  seq->n_computed = 0;
  seq->status = Sequence::Status::kWaiting;
  remove(running_, seq);
  insert_sorted(waiting_, seq);
  preempted_this_step_ = true;
  ++stats_.preemptions;
}

std::optional<Scheduler::Admission> Scheduler::admission_prefix(const Sequence& seq) const {
  const int32_t n_shared = (seq.n_prompt() - 1) / blocks_.block_size();
  if (seq.index > 0 && seq.n_output() == 0 && n_shared > 0) {
    const Sequence& first = *seq.request->seqs[0];
    if (first.status == Sequence::Status::kRunning &&
        first.n_computed >= static_cast<int64_t>(n_shared) * blocks_.block_size()) {
      return Admission{BlockManager::shared_prefix(first.blocks, n_shared), /*shared=*/true};
    }
    if (first.status != Sequence::Status::kFinished) return std::nullopt;  // wait for sample 0
  }
  return Admission{blocks_.match_prefix(seq.tokens), /*shared=*/false};
}

void Scheduler::schedule_waiting() {
  const std::vector<Sequence*> snapshot = waiting_;
  for (Sequence* seq : snapshot) {
    if (budget_ == 0 || static_cast<int32_t>(running_.size()) >= max_running_) return;
    std::optional<Admission> admission = admission_prefix(*seq);
    if (!admission) continue;
    const int64_t start = static_cast<int64_t>(admission->prefix.blocks.size()) * blocks_.block_size();
    const int64_t n = std::min(static_cast<int64_t>(seq->tokens.size()) - start, budget_);
    // Head of line: a sequence that does not fit blocks those behind it (no starvation).
    if (!blocks_.allocate_with_prefix(seq->blocks, admission->prefix, start + n)) return;
    if (!admission->shared) blocks_.record_query(static_cast<int64_t>(seq->tokens.size()), start);
    RequestState& request = *seq->request;
    if (!request.first_scheduled) {
      request.first_scheduled = Clock::now();
      stats_.prompt_tokens_total += static_cast<int64_t>(request.prompt.size());
    }
    seq->n_computed = start;
    seq->status = Sequence::Status::kRunning;
    remove(waiting_, seq);
    insert_sorted(running_, seq);
    scheduled_.push_back({seq, n});
    budget_ -= n;
  }
}

void Scheduler::build_plan() {
  plan_.seqs.clear();
  for (const Scheduled& s : scheduled_) {
    Sequence& seq = *s.seq;
    SequenceStep step;
    step.seq_id = seq.id;
    step.tokens = std::span<const int32_t>(seq.tokens).subspan(seq.n_computed, s.n_tokens);
    step.start_pos = static_cast<int32_t>(seq.n_computed);
    step.block_table = seq.blocks.blocks;
    step.sample = seq.n_computed + s.n_tokens == static_cast<int64_t>(seq.tokens.size());
    step.sampling.params = seq.n_output() < seq.request->stop.min_tokens ? &seq.sampling_min_tokens : &seq.sampling;
    step.sampling.prompt_tokens = seq.request->prompt;
    step.sampling.output_tokens = seq.output_tokens();
    plan_.seqs.push_back(step);
  }
}

// ---- results ----

void Scheduler::update(const StepResult& result) {
  const auto now = Clock::now();
  size_t n_sampled = 0;
  for (const Scheduled& s : scheduled_) n_sampled += s.seq->n_computed + s.n_tokens == static_cast<int64_t>(s.seq->tokens.size());
  if (result.sampled.size() != n_sampled) {
    throw internal_error("model runner returned " + std::to_string(result.sampled.size()) + " sampled tokens for " +
                         std::to_string(n_sampled) + " sampling sequences");
  }
  size_t k = 0;
  for (const Scheduled& s : scheduled_) {
    Sequence& seq = *s.seq;
    seq.n_computed += s.n_tokens;
    blocks_.commit(seq.blocks, seq.tokens, seq.n_computed);
    if (seq.n_computed < static_cast<int64_t>(seq.tokens.size())) continue;  // mid-prefill chunk
    const SampledToken& sampled = result.sampled[k++];
    seq.tokens.push_back(sampled.token);
    if (!seq.first_token) seq.first_token = now;
    seq.last_token = now;
    RequestEvent event;
    event.index = seq.index;
    std::optional<FinishReason> finish = seq.output->add(sampled, seq.n_output(), event);
    if (finish) {
      event.kind = RequestEvent::Kind::kFinished;
      event.finish_reason = finish;
      end_sequence(seq, std::move(event));
    } else {
      seq.request->stream->push(std::move(event));
    }
  }
  stats_.generation_tokens_total += static_cast<int64_t>(n_sampled);
  ++stats_.steps;
  scheduled_.clear();
  reap();
}

void Scheduler::end_request(RequestState& request, const RequestEvent& event) {
  for (auto& seq : request.seqs) {
    if (seq->status == Sequence::Status::kFinished) continue;
    RequestEvent copy = event;
    copy.index = seq->index;
    end_sequence(*seq, std::move(copy));
  }
}

RequestEvent Scheduler::error_event(const std::string& message) {
  RequestEvent event;
  event.kind = RequestEvent::Kind::kError;
  event.finish_reason = FinishReason::kError;
  event.error = message;
  return event;
}

void Scheduler::fail_step(const std::string& message) {
  std::vector<RequestState*> failed;
  for (const Scheduled& s : scheduled_) {
    if (std::find(failed.begin(), failed.end(), s.seq->request) == failed.end()) failed.push_back(s.seq->request);
  }
  scheduled_.clear();
  for (RequestState* request : failed) end_request(*request, error_event(message));
  reap();
}

void Scheduler::fail_all(const std::string& message) {
  scheduled_.clear();
  for (auto& [id, request] : requests_) end_request(*request, error_event(message));
  reap();
}

bool Scheduler::abort(const std::string& request_id) {
  auto it = requests_.find(request_id);
  if (it == requests_.end()) return false;
  RequestEvent event;
  event.kind = RequestEvent::Kind::kFinished;
  event.finish_reason = FinishReason::kAbort;
  end_request(*it->second, event);
  reap();
  return true;
}

void Scheduler::fill_final_event(const Sequence& seq, RequestEvent& event) const {
  const RequestState& request = *seq.request;
  const auto now = Clock::now();
  event.prompt_tokens = seq.n_prompt();
  event.completion_tokens = seq.n_output();
  RequestTimings& t = event.timings;
  if (request.first_scheduled) t.queue_s = seconds(*request.first_scheduled - request.arrival);
  if (seq.first_token) {
    t.time_to_first_token_s = seconds(*seq.first_token - request.arrival);
    if (seq.n_output() > 1) t.time_per_output_token_s = seconds(seq.last_token - *seq.first_token) / (seq.n_output() - 1);
  }
  t.total_s = seconds(now - request.arrival);
}

void Scheduler::end_sequence(Sequence& seq, RequestEvent event) {
  fill_final_event(seq, event);
  blocks_.release(seq.blocks);
  remove(seq.status == Sequence::Status::kRunning ? running_ : waiting_, &seq);
  seq.status = Sequence::Status::kFinished;
  RequestState& request = *seq.request;
  request.stream->push(std::move(event));
  if (--request.n_unfinished == 0) {
    request.stream->close();
    account_finished_request(request);
    ended_.push_back(request.id);
  }
}

void Scheduler::account_finished_request(const RequestState& request) {
  ++stats_.requests_finished;
  if (request.first_scheduled) stats_.queue_time_s_sum += seconds(*request.first_scheduled - request.arrival);
  std::optional<Clock::time_point> first_token;
  double tpot_sum = 0;
  for (const auto& seq : request.seqs) {
    if (seq->first_token && (!first_token || *seq->first_token < *first_token)) first_token = seq->first_token;
    if (seq->first_token && seq->n_output() > 1) {
      tpot_sum += seconds(seq->last_token - *seq->first_token) / (seq->n_output() - 1);
    }
  }
  if (first_token) stats_.time_to_first_token_s_sum += seconds(*first_token - request.arrival);
  stats_.time_per_output_token_s_sum += tpot_sum / static_cast<double>(request.seqs.size());
}

void Scheduler::reap() {
  for (const std::string& id : ended_) {
    requests_.erase(id);
    finished_.push_back(id);
  }
  ended_.clear();
}

std::vector<std::string> Scheduler::take_finished() {
  std::vector<std::string> out;
  out.swap(finished_);
  return out;
}

EngineStats Scheduler::stats() const {
  EngineStats s = stats_;
  s.running = static_cast<int32_t>(running_.size());
  s.waiting = static_cast<int32_t>(waiting_.size());
  s.kv_blocks_total = blocks_.n_blocks();
  s.kv_blocks_free = blocks_.n_free();
  s.kv_usage = 1.0 - static_cast<double>(s.kv_blocks_free) / static_cast<double>(s.kv_blocks_total);
  s.prefix_cache_queries = blocks_.stats().prefix_queries;
  s.prefix_cache_hits = blocks_.stats().prefix_hits;
  return s;
}

}  // namespace swallow
