// Python's json.dumps for template values, as Hugging Face's `tojson` filter calls it:
// ensure_ascii, indent (int or string), separators, sort_keys; key order as inserted. Taint marks
// of string characters follow them into the JSON text. Stateless; thread-safe.
#pragma once

#include <optional>
#include <string>

#include "chat/tainted_string.h"
#include "chat/value.h"

namespace swallow::jinja {

struct JsonDumpOptions {
  bool ensure_ascii = false;
  std::optional<std::string> indent;  // none: one line
  std::optional<std::string> item_separator;  // default ", " (one line) or "," (indented)
  std::string key_separator = ": ";
  bool sort_keys = false;
};

TString json_dumps(const Value& value, const JsonDumpOptions& options);

}  // namespace swallow::jinja
