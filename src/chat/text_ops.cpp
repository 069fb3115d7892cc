// Python str algorithms on tainted strings.
#include "chat/text_ops.h"

#include <algorithm>

#include "chat/unicode_text.h"

namespace swallow::jinja {

bool is_ascii(const std::string& text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

std::vector<size_t> code_point_offsets(const std::string& text) {
  std::vector<size_t> offsets;
  offsets.reserve(text.size() + 1);
  for (size_t pos = 0; pos < text.size();) {
    offsets.push_back(pos);
    next_code_point(text, pos);
  }
  offsets.push_back(text.size());
  return offsets;
}

size_t code_point_count(const std::string& text) {
  size_t n = 0;
  for (char c : text) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80 ? 1 : 0;
  return n;
}

namespace {

// The code points of a string with their byte offsets (offsets has one extra entry at the end).
struct Decoded {
  std::vector<char32_t> cps;
  std::vector<size_t> offsets;
};

Decoded decode(const std::string& text) {
  Decoded d;
  d.offsets.reserve(text.size() + 1);
  for (size_t pos = 0; pos < text.size();) {
    d.offsets.push_back(pos);
    d.cps.push_back(next_code_point(text, pos));
  }
  d.offsets.push_back(text.size());
  return d;
}

bool in_set(char32_t cp, const std::string* chars) {
  if (chars == nullptr) return is_py_space(cp);
  for (size_t pos = 0; pos < chars->size();) {
    if (next_code_point(*chars, pos) == cp) return true;
  }
  return false;
}

// Python's lower() of code point i, with the final-sigma rule evaluated inside [begin, end).
std::string lower_at(const Decoded& d, size_t i, size_t begin, size_t end) {
  if (d.cps[i] != 0x03A3) return to_lower_full(d.cps[i]);
  size_t j = i;
  while (j > begin && is_case_ignorable(d.cps[j - 1])) --j;
  bool final_sigma = j > begin && is_cased(d.cps[j - 1]);
  if (final_sigma) {
    size_t k = i + 1;
    while (k < end && is_case_ignorable(d.cps[k])) ++k;
    final_sigma = k == end || !is_cased(d.cps[k]);
  }
  return final_sigma ? "\xCF\x82" : "\xCF\x83";
}

enum class CaseStyle { kUpper, kLower, kCapitalize, kTitle };

// Appends code points [begin, end) of `s` case-mapped in `style`, keeping each one's taint.
void append_cased(TStringBuilder& out, const TString& s, const Decoded& d, size_t begin, size_t end, CaseStyle style) {
  TaintCursor taint(s.spans);
  bool previous_cased = false;
  for (size_t i = begin; i < end; ++i) {
    const char32_t cp = d.cps[i];
    std::string mapped;
    switch (style) {
      case CaseStyle::kUpper: mapped = to_upper_full(cp); break;
      case CaseStyle::kLower: mapped = lower_at(d, i, begin, end); break;
      case CaseStyle::kCapitalize: mapped = i == begin ? to_title_full(cp) : lower_at(d, i, begin, end); break;
      case CaseStyle::kTitle:
        mapped = previous_cased ? lower_at(d, i, begin, end) : to_title_full(cp);
        previous_cased = is_cased(cp);
        break;
    }
    out.append(mapped, taint.at(d.offsets[i]));
  }
}

TString cased(const TString& s, CaseStyle style) {
  const Decoded d = decode(s.text);
  TStringBuilder out;
  append_cased(out, s, d, 0, d.cps.size(), style);
  return out.finish();
}

bool is_line_break(char32_t cp) {
  switch (cp) {
    case '\n': case '\r': case 0x0B: case 0x0C: case 0x1C: case 0x1D: case 0x1E: case 0x85: case 0x2028: case 0x2029:
      return true;
    default:
      return false;
  }
}

}  // namespace

TString py_strip(const TString& s, const std::string* chars, bool left, bool right) {
  const Decoded d = decode(s.text);
  size_t begin = 0, end = d.cps.size();
  if (left) {
    while (begin < end && in_set(d.cps[begin], chars)) ++begin;
  }
  if (right) {
    while (end > begin && in_set(d.cps[end - 1], chars)) --end;
  }
  return slice(s, d.offsets[begin], d.offsets[end]);
}

TString py_upper(const TString& s) { return cased(s, CaseStyle::kUpper); }
TString py_lower(const TString& s) { return cased(s, CaseStyle::kLower); }
TString py_capitalize(const TString& s) { return cased(s, CaseStyle::kCapitalize); }
TString py_str_title(const TString& s) { return cased(s, CaseStyle::kTitle); }

TString jinja_title(const TString& s) {
  const Decoded d = decode(s.text);
  auto is_separator = [](char32_t cp) {
    return cp == '-' || cp == '(' || cp == '{' || cp == '[' || cp == '<' || is_py_space(cp);
  };
  TStringBuilder out;
  for (size_t begin = 0; begin < d.cps.size();) {
    const bool separator = is_separator(d.cps[begin]);
    size_t end = begin + 1;
    while (end < d.cps.size() && is_separator(d.cps[end]) == separator) ++end;
    append_cased(out, s, d, begin, begin + 1, CaseStyle::kUpper);
    append_cased(out, s, d, begin + 1, end, CaseStyle::kLower);
    begin = end;
  }
  return out.finish();
}

bool py_case_test(const std::string& text, bool lower) {
  bool any_cased = false;
  for (size_t pos = 0; pos < text.size();) {
    const char32_t cp = next_code_point(text, pos);
    if (is_title(cp) || (lower ? is_upper(cp) : is_lower(cp))) return false;
    any_cased = any_cased || (lower ? is_lower(cp) : is_upper(cp));
  }
  return any_cased;
}

TString py_replace(const TString& s, const TString& old, const TString& replacement, int64_t count) {
  TStringBuilder out;
  if (old.text.empty()) {
    const std::vector<size_t> offsets = code_point_offsets(s.text);
    for (size_t i = 0; i + 1 < offsets.size(); ++i) {
      if (count < 0 || static_cast<int64_t>(i) < count) out.append(replacement);
      out.append_slice(s, offsets[i], offsets[i + 1]);
    }
    if (count < 0 || static_cast<int64_t>(offsets.size()) - 1 < count) out.append(replacement);
    return out.finish();
  }
  size_t pos = 0;
  for (int64_t done = 0; count < 0 || done < count; ++done) {
    const size_t hit = s.text.find(old.text, pos);
    if (hit == std::string::npos) break;
    out.append_slice(s, pos, hit);
    out.append(replacement);
    pos = hit + old.text.size();
  }
  out.append_slice(s, pos, s.text.size());
  return out.finish();
}

std::vector<TString> py_split(const TString& s, const std::string* sep, int64_t maxsplit, bool from_right) {
  std::vector<TString> parts;
  const std::string& text = s.text;
  if (sep != nullptr) {
    if (!from_right) {
      size_t pos = 0;
      for (int64_t n = 0; maxsplit < 0 || n < maxsplit; ++n) {
        const size_t hit = text.find(*sep, pos);
        if (hit == std::string::npos) break;
        parts.push_back(slice(s, pos, hit));
        pos = hit + sep->size();
      }
      parts.push_back(slice(s, pos, text.size()));
      return parts;
    }
    size_t end = text.size();
    for (int64_t n = 0; maxsplit < 0 || n < maxsplit; ++n) {
      if (end < sep->size()) break;
      const size_t hit = text.rfind(*sep, end - sep->size());
      if (hit == std::string::npos) break;
      parts.push_back(slice(s, hit + sep->size(), end));
      end = hit;
    }
    parts.push_back(slice(s, 0, end));
    std::reverse(parts.begin(), parts.end());
    return parts;
  }
  const Decoded d = decode(text);
  const size_t n = d.cps.size();
  if (!from_right) {
    size_t i = 0;
    for (int64_t splits = 0;; ++splits) {
      while (i < n && is_py_space(d.cps[i])) ++i;
      if (i == n) break;
      if (maxsplit >= 0 && splits == maxsplit) {
        parts.push_back(slice(s, d.offsets[i], text.size()));
        break;
      }
      size_t j = i;
      while (j < n && !is_py_space(d.cps[j])) ++j;
      parts.push_back(slice(s, d.offsets[i], d.offsets[j]));
      i = j;
    }
    return parts;
  }
  size_t i = n;
  for (int64_t splits = 0;; ++splits) {
    while (i > 0 && is_py_space(d.cps[i - 1])) --i;
    if (i == 0) break;
    if (maxsplit >= 0 && splits == maxsplit) {
      parts.push_back(slice(s, 0, d.offsets[i]));
      break;
    }
    size_t j = i;
    while (j > 0 && !is_py_space(d.cps[j - 1])) --j;
    parts.push_back(slice(s, d.offsets[j], d.offsets[i]));
    i = j;
  }
  std::reverse(parts.begin(), parts.end());
  return parts;
}

std::vector<TString> py_splitlines(const TString& s, bool keepends) {
  const Decoded d = decode(s.text);
  std::vector<TString> lines;
  size_t start = 0;
  for (size_t i = 0; i < d.cps.size(); ++i) {
    if (!is_line_break(d.cps[i])) continue;
    size_t end = i + 1;
    if (d.cps[i] == '\r' && end < d.cps.size() && d.cps[end] == '\n') ++end;
    lines.push_back(slice(s, d.offsets[start], d.offsets[keepends ? end : i]));
    start = end;
    i = end - 1;
  }
  if (start < d.cps.size()) lines.push_back(slice(s, d.offsets[start], s.text.size()));
  return lines;
}

int64_t py_find(const std::string& s, const std::string& sub, bool from_right) {
  const size_t hit = from_right ? s.rfind(sub) : s.find(sub);
  if (hit == std::string::npos) return -1;
  return static_cast<int64_t>(code_point_count(s.substr(0, hit)));
}

int64_t py_count(const std::string& s, const std::string& sub) {
  if (sub.empty()) return static_cast<int64_t>(code_point_count(s)) + 1;
  int64_t n = 0;
  for (size_t pos = s.find(sub); pos != std::string::npos; pos = s.find(sub, pos + sub.size())) ++n;
  return n;
}

TString jinja_indent(const TString& s, const TString& indentation, bool first, bool blank) {
  TStringBuilder with_newline;
  with_newline.append(s);
  with_newline.append("\n");
  const std::vector<TString> lines = py_splitlines(with_newline.finish(), false);
  TStringBuilder out;
  if (first) out.append(indentation);
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i > 0) {
      out.append("\n");
      if (blank || !lines[i].text.empty()) out.append(indentation);
    }
    out.append(lines[i]);
  }
  return out.finish();
}

TString py_center(const TString& s, int64_t width) {
  const auto length = static_cast<int64_t>(code_point_count(s.text));
  if (width <= length) return s;
  const int64_t margin = width - length;
  const int64_t left = margin / 2 + (margin & width & 1);
  TStringBuilder out;
  out.append(std::string(static_cast<size_t>(left), ' '));
  out.append(s);
  out.append(std::string(static_cast<size_t>(margin - left), ' '));
  return out.finish();
}

}  // namespace swallow::jinja
