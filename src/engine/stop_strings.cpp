// StopStringMatcher: earliest match wins; the held tail is the longest suffix of the pending text
// that is a proper prefix of some stop string.
#include "engine/stop_strings.h"

#include <algorithm>

namespace swallow {

StopStringMatcher::StopStringMatcher(std::vector<std::string> stops) : stops_(std::move(stops)) {}

StopStringMatcher::Result StopStringMatcher::push(std::string_view piece) {
  Result result;
  held_.append(piece);
  if (stops_.empty()) {
    result.text.swap(held_);
    return result;
  }
  size_t best = std::string::npos;
  for (size_t i = 0; i < stops_.size(); ++i) {
    size_t pos = held_.find(stops_[i]);
    if (pos < best) {
      best = pos;
      result.stop_index = i;
    }
  }
  if (result.stop_index) {
    result.text = held_.substr(0, best);
    held_.clear();
    return result;
  }
  // Keep the earliest position whose suffix could still grow into a stop string.
  size_t keep_from = held_.size();
  for (const std::string& stop : stops_) {
    size_t max_len = std::min(stop.size() - 1, held_.size());
    for (size_t len = max_len; len > 0; --len) {
      if (held_.compare(held_.size() - len, len, stop, 0, len) == 0) {
        keep_from = std::min(keep_from, held_.size() - len);
        break;
      }
    }
  }
  result.text = held_.substr(0, keep_from);
  held_.erase(0, keep_from);
  return result;
}

std::string StopStringMatcher::flush() {
  std::string out;
  out.swap(held_);
  return out;
}

}  // namespace swallow
