// Python str operations on TStrings, indexed by code point like Python: length, index, slice,
// strip, case mappings, replace, split, splitlines, find/count, indent. Taint marks follow the
// characters. Stateless; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "chat/tainted_string.h"

namespace swallow::jinja {

// Byte offsets of each code point of `text`, plus text.size() at the end.
std::vector<size_t> code_point_offsets(const std::string& text);
size_t code_point_count(const std::string& text);
bool is_ascii(const std::string& text);

// str.strip / lstrip / rstrip; `chars` null means whitespace.
TString py_strip(const TString& s, const std::string* chars, bool left, bool right);

TString py_upper(const TString& s);
TString py_lower(const TString& s);
TString py_capitalize(const TString& s);   // str.capitalize
TString py_str_title(const TString& s);    // str.title
TString jinja_title(const TString& s);     // jinja2's `title` filter (word starts after -, space, ( { [ <)

// str.islower() (lower=true) / str.isupper(): no character of the other case or titlecase, and at
// least one cased character.
bool py_case_test(const std::string& text, bool lower);

// str.replace(old, new, count); count < 0 replaces all.
TString py_replace(const TString& s, const TString& old, const TString& replacement, int64_t count);
// str.split(sep, maxsplit) / str.rsplit; `sep` null splits on whitespace runs.
std::vector<TString> py_split(const TString& s, const std::string* sep, int64_t maxsplit, bool from_right);
std::vector<TString> py_splitlines(const TString& s, bool keepends);

// str.find / rfind (code point index or -1) and str.count, within the whole string.
int64_t py_find(const std::string& s, const std::string& sub, bool from_right);
int64_t py_count(const std::string& s, const std::string& sub);

// jinja2's `indent` filter.
TString jinja_indent(const TString& s, const TString& indentation, bool first, bool blank);
// str.center(width).
TString py_center(const TString& s, int64_t width);

}  // namespace swallow::jinja
