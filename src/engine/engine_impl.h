// The Engine implementation: submit() validates and tokenizes on the caller's thread and hands
// the request to the engine thread through an inbox; the engine thread owns the Scheduler (and
// through it the KV block manager) and the ModelRunner, runs steps while there is work and
// sleeps otherwise. submit/abort/stats are thread-safe. Constructed by Engine::create, or by
// tests with their own TextCodec.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "engine/scheduler.h"
#include "engine/text_codec.h"
#include "model/model_runner.h"
#include "swallow/engine.h"

namespace swallow {

class EngineImpl final : public Engine {
 public:
  EngineImpl(ModelRunner& runner, std::unique_ptr<TextCodec> codec, const EngineOptions& options);
  ~EngineImpl() override;

  std::shared_ptr<RequestStream> submit(GenerationRequest request) override;
  void abort(const std::string& request_id) override;
  EngineStats stats() const override;
  int32_t max_model_len() const override { return max_model_len_; }
  void shutdown() override;

 private:
  void loop();
  void run_step();
  // Copies the scheduler's stats and forgets the ids of ended requests.
  void publish();

  ModelRunner& runner_;
  std::unique_ptr<TextCodec> codec_;
  EngineOptions options_;
  int32_t max_model_len_;
  int32_t vocab_size_;
  Scheduler scheduler_;  // engine thread only
  double schedule_s_ = 0;  // engine thread: the step time sums of EngineStats
  double execute_s_ = 0;
  double update_s_ = 0;

  mutable std::mutex mutex_;  // guards everything below
  std::condition_variable wake_;
  std::vector<std::unique_ptr<RequestState>> inbox_;
  std::vector<std::string> aborts_;
  std::unordered_set<std::string> active_ids_;  // submitted and not yet ended
  EngineStats stats_;
  std::mt19937_64 seed_source_;
  uint64_t next_request_number_ = 0;
  bool stopping_ = false;

  std::thread thread_;
};

}  // namespace swallow
