// The engine's string: UTF-8 text plus taint marks, the byte ranges that came from message
// content. Every string operation carries the marks along (concatenation shifts them, slicing and
// trimming clip them, per-character transforms map them), so the rendered prompt knows which of
// its bytes are user text. Plain values; not shared between threads while being built.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/text_span.h"

namespace swallow::jinja {

struct TString {
  std::string text;
  std::vector<TextSpan> spans;  // sorted, disjoint, non-adjacent byte ranges of `text`

  TString() = default;
  explicit TString(std::string plain) : text(std::move(plain)) {}
  TString(std::string content, bool tainted);
  bool tainted() const { return !spans.empty(); }
};

// Builds a TString piece by piece, merging adjacent marks.
class TStringBuilder {
 public:
  void append(std::string_view piece, bool tainted = false);
  void append(const TString& piece);
  void append_slice(const TString& source, size_t begin, size_t end);
  size_t size() const { return out_.text.size(); }
  TString finish() { return std::move(out_); }

 private:
  void mark(size_t begin, size_t end);
  TString out_;
};

// Answers "is byte `pos` tainted?" for non-decreasing positions in linear total time.
class TaintCursor {
 public:
  explicit TaintCursor(const std::vector<TextSpan>& spans) : spans_(spans) {}
  bool at(size_t pos);

 private:
  const std::vector<TextSpan>& spans_;
  size_t next_ = 0;
};

// The bytes [begin, end) of `source` with their marks.
TString slice(const TString& source, size_t begin, size_t end);

}  // namespace swallow::jinja
