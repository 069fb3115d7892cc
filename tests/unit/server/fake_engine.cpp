// FakeEngine: a thread per request that emits deterministic tokens (see fake_engine.h).
#include "fake_engine.h"

#include "core/error.h"

namespace swallow::test {

namespace {

class FakeStream final : public RequestStream {
 public:
  FakeStream(std::string id, int32_t prompt_tokens) : id_(std::move(id)), prompt_tokens_(prompt_tokens) {}
  const std::string& request_id() const override { return id_; }
  int32_t prompt_tokens() const override { return prompt_tokens_; }
  bool next(RequestEvent& event, std::chrono::milliseconds timeout) override {
    std::unique_lock lock(mutex_);
    if (!ready_.wait_for(lock, timeout, [&] { return !events_.empty(); })) return false;
    event = std::move(events_.front());
    events_.pop_front();
    return true;
  }
  void push(RequestEvent event) {
    std::lock_guard lock(mutex_);
    events_.push_back(std::move(event));
    ready_.notify_all();
  }

 private:
  std::string id_;
  int32_t prompt_tokens_;
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<RequestEvent> events_;
};

}  // namespace

std::vector<int32_t> FakeEngine::prompt_tokens(const GenerationRequest& request) {
  if (request.prompt_ids) return *request.prompt_ids;
  std::string text = request.prompt_text.value_or("");
  if (request.chat) {
    for (const auto& message : (*request.chat)["messages"]) text += message["content"].get<std::string>();
  }
  return std::vector<int32_t>(text.begin(), text.end());
}

std::shared_ptr<RequestStream> FakeEngine::submit(GenerationRequest request) {
  const int32_t n_prompt = static_cast<int32_t>(prompt_tokens(request).size());
  if (request.max_tokens > 0 && n_prompt + request.max_tokens > options_.max_model_len) {
    throw invalid_argument("prompt (" + std::to_string(n_prompt) + " tokens) + max_tokens (" +
                           std::to_string(request.max_tokens) + ") exceeds the context length of " +
                           std::to_string(options_.max_model_len));
  }
  if (running_.load() >= options_.max_waiting) throw resource_exhausted("the waiting queue is full");
  std::string id = request.request_id.empty() ? "fake-" + std::to_string(next_id_++) : request.request_id;
  auto stream = std::make_shared<FakeStream>(id, n_prompt);
  running_.fetch_add(1);
  std::lock_guard lock(mutex_);
  threads_.emplace_back([this, stream, request = std::move(request), id, n_prompt] {
    for (int32_t sample = 0; sample < request.n; ++sample) {
      const int32_t limit = request.max_tokens > 0 ? std::min(request.max_tokens, options_.reply_tokens) : options_.reply_tokens;
      int32_t produced = 0;
      bool was_aborted = false;
      for (; produced < limit; ++produced) {
        std::this_thread::sleep_for(options_.token_delay);
        {
          std::lock_guard guard(mutex_);
          was_aborted = aborted_.count(id) > 0;
        }
        if (was_aborted) break;
        RequestEvent delta;
        delta.index = sample;
        delta.token_ids = {produced};
        delta.text = (produced ? " tok" : "tok") + std::to_string(produced);
        if (request.sampling.n_logprobs >= 0) delta.logprobs = {{'t', -0.25f, {}}};
        stream->push(std::move(delta));
      }
      RequestEvent done;
      done.kind = RequestEvent::Kind::kFinished;
      done.index = sample;
      done.finish_reason = was_aborted ? FinishReason::kAbort
                           : produced == request.max_tokens ? FinishReason::kLength
                                                            : FinishReason::kStop;
      done.prompt_tokens = n_prompt;
      done.completion_tokens = produced;
      stream->push(std::move(done));
    }
    running_.fetch_sub(1);
  });
  return stream;
}

void FakeEngine::abort(const std::string& request_id) {
  std::lock_guard lock(mutex_);
  aborted_.insert(request_id);
}

std::set<std::string> FakeEngine::aborted() const {
  std::lock_guard lock(mutex_);
  return aborted_;
}

EngineStats FakeEngine::stats() const {
  EngineStats stats;
  stats.running = running_.load();
  stats.kv_usage = stats.running > 0 ? 0.5 : 0.0;
  return stats;
}

void FakeEngine::shutdown() {
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(mutex_);
    threads.swap(threads_);
  }
  for (auto& t : threads) t.join();
}

}  // namespace swallow::test
