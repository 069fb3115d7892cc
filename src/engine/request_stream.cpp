// EventQueue: mutex + condition variable around a deque.
#include "engine/request_stream.h"

namespace swallow {

bool EventQueue::next(RequestEvent& event, std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (!ready_.wait_for(lock, timeout, [this] { return !events_.empty() || closed_; })) return false;
  if (events_.empty()) return false;  // closed and drained
  event = std::move(events_.front());
  events_.pop_front();
  return true;
}

void EventQueue::push(RequestEvent event) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (closed_) return;
    events_.push_back(std::move(event));
  }
  ready_.notify_one();
}

void EventQueue::close() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    closed_ = true;
  }
  ready_.notify_all();
}

}  // namespace swallow
