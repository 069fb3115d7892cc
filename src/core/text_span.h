// A half-open byte range [begin, end) inside a string. Used to mark which parts of a rendered
// chat prompt came from message content, so the tokenizer can treat them as plain text.
#pragma once

#include <cstddef>

namespace swallow {

struct TextSpan {
  size_t begin = 0;
  size_t end = 0;
  bool operator==(const TextSpan&) const = default;
};

}  // namespace swallow
