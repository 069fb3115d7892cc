// TString building, slicing and taint lookup.
#include "chat/tainted_string.h"

#include <algorithm>

namespace swallow::jinja {

TString::TString(std::string content, bool tainted) : text(std::move(content)) {
  if (tainted && !text.empty()) spans.push_back({0, text.size()});
}

void TStringBuilder::mark(size_t begin, size_t end) {
  if (begin >= end) return;
  auto& spans = out_.spans;
  if (!spans.empty() && spans.back().end == begin) {
    spans.back().end = end;
  } else {
    spans.push_back({begin, end});
  }
}

void TStringBuilder::append(std::string_view piece, bool tainted) {
  const size_t begin = out_.text.size();
  out_.text.append(piece);
  if (tainted) mark(begin, out_.text.size());
}

void TStringBuilder::append(const TString& piece) { append_slice(piece, 0, piece.text.size()); }

void TStringBuilder::append_slice(const TString& source, size_t begin, size_t end) {
  if (begin >= end) return;
  const size_t offset = out_.text.size();
  out_.text.append(source.text, begin, end - begin);
  const auto first = std::lower_bound(source.spans.begin(), source.spans.end(), begin,
                                      [](const TextSpan& span, size_t pos) { return span.end <= pos; });
  for (auto it = first; it != source.spans.end(); ++it) {
    const TextSpan& span = *it;
    if (span.begin >= end) break;
    const size_t b = span.begin > begin ? span.begin : begin;
    const size_t e = span.end < end ? span.end : end;
    mark(offset + (b - begin), offset + (e - begin));
  }
}

bool TaintCursor::at(size_t pos) {
  while (next_ < spans_.size() && spans_[next_].end <= pos) ++next_;
  return next_ < spans_.size() && spans_[next_].begin <= pos;
}

TString slice(const TString& source, size_t begin, size_t end) {
  TStringBuilder builder;
  builder.append_slice(source, begin, end);
  return builder.finish();
}

}  // namespace swallow::jinja
