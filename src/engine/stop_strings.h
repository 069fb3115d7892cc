// Stop-string matching over streamed text. Text arrives in pieces (one per token); a stop string
// may span several pieces. Text that could still be the start of a stop string is held back
// until it is known not to be one, so the emitted text never contains any part of a matched
// stop string. One matcher per output sequence; not thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace swallow {

class StopStringMatcher {
 public:
  explicit StopStringMatcher(std::vector<std::string> stops);

  struct Result {
    std::string text;                   // text safe to emit now
    std::optional<size_t> stop_index;   // index into the stop strings when one matched
  };
  // Adds a piece of text. On a match, `text` is everything before the earliest stop string and
  // the matcher must not be used again.
  Result push(std::string_view piece);
  // The held-back text, released when the sequence ends for another reason.
  std::string flush();

 private:
  std::vector<std::string> stops_;
  std::string held_;
};

}  // namespace swallow
