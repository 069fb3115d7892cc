// The work budget of one render call (RenderLimits): steps (expression evaluations, loop
// iterations, items processed by filters), the size of any string or list a template builds, and
// recursion depth. Exceeding it throws RenderFailure(kBudget). One per render; single-threaded.
#pragma once

#include <cstdint>
#include <string>

#include "chat/render_error.h"

namespace swallow::jinja {

class Budget {
 public:
  Budget(int64_t max_output_bytes, int64_t max_steps, int max_depth)
      : max_output_bytes_(max_output_bytes), max_steps_(max_steps), max_depth_(max_depth) {}

  void charge(int64_t steps) {
    steps_ += steps;
    if (steps_ > max_steps_) {
      throw RenderFailure(FailureKind::kBudget,
                          "the template exceeded its work budget of " + std::to_string(max_steps_) + " steps");
    }
  }
  // Fails when a value or output of `bytes` bytes would exceed max_output_bytes.
  void check_size(uint64_t bytes) const {
    if (bytes > static_cast<uint64_t>(max_output_bytes_)) {
      throw RenderFailure(FailureKind::kBudget, "the template built a value or output larger than the limit of " +
                                                    std::to_string(max_output_bytes_) + " bytes");
    }
  }
  // Called before building a new string of `bytes` bytes (or a list of bytes/16 items).
  void reserve(uint64_t bytes) {
    check_size(bytes);
    charge(static_cast<int64_t>(bytes / 64));
  }
  int max_depth() const { return max_depth_; }

 private:
  int64_t max_output_bytes_;
  int64_t max_steps_;
  int max_depth_;
  int64_t steps_ = 0;
};

}  // namespace swallow::jinja
