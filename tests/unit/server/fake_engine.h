// A fake Engine and ModelText for the server's tests: no model, no tokenizer. A prompt's tokens
// are its bytes; each sample generates "tok0 tok1 ..." one token every `token_delay`, from its
// own thread, until max_tokens (finish "length") or `reply_tokens` tokens (finish "stop").
// Records aborted request ids. Thread-safe like the real engine.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "server/model_text.h"
#include "swallow/engine.h"

namespace swallow::test {

class FakeEngine final : public Engine {
 public:
  struct Options {
    int32_t max_model_len = 256;
    int32_t reply_tokens = 5;
    std::chrono::milliseconds token_delay{1};
    int32_t max_waiting = 1000;  // submit throws resource_exhausted beyond this many running
  };
  explicit FakeEngine(Options options) : options_(options) {}
  ~FakeEngine() override { shutdown(); }

  std::shared_ptr<RequestStream> submit(GenerationRequest request) override;
  void abort(const std::string& request_id) override;
  EngineStats stats() const override;
  int32_t max_model_len() const override { return options_.max_model_len; }
  void shutdown() override;

  std::set<std::string> aborted() const;
  int32_t running() const { return running_.load(); }
  // The tokens a prompt is made of (bytes of its text or chat contents).
  static std::vector<int32_t> prompt_tokens(const GenerationRequest& request);

 private:
  Options options_;
  mutable std::mutex mutex_;
  std::set<std::string> aborted_;
  std::vector<std::thread> threads_;
  std::atomic<int32_t> running_{0};
  std::atomic<int64_t> next_id_{0};
};

class FakeText final : public server::ModelText {
 public:
  std::vector<int32_t> tokenize(const GenerationRequest& prompt, bool) const override {
    return FakeEngine::prompt_tokens(prompt);
  }
  std::string detokenize(const std::vector<int32_t>& ids) const override {
    std::string text;
    for (int32_t id : ids) text.push_back(static_cast<char>(id));
    return text;
  }
  std::string token_bytes(int32_t id) const override { return std::string(1, static_cast<char>(id)); }
};

}  // namespace swallow::test
