// The engine's RequestStream: a thread-safe queue of one request's events. The engine thread
// pushes and closes; one consumer thread reads with next(). Events pushed after close() are
// dropped.
#pragma once

#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>

#include "swallow/engine.h"

namespace swallow {

class EventQueue final : public RequestStream {
 public:
  EventQueue(std::string request_id, int32_t prompt_tokens)
      : request_id_(std::move(request_id)), prompt_tokens_(prompt_tokens) {}

  const std::string& request_id() const override { return request_id_; }
  int32_t prompt_tokens() const override { return prompt_tokens_; }
  bool next(RequestEvent& event, std::chrono::milliseconds timeout) override;

  void push(RequestEvent event);
  void close();

 private:
  const std::string request_id_;
  const int32_t prompt_tokens_;
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<RequestEvent> events_;
  bool closed_ = false;
};

}  // namespace swallow
