// The built-in filters, tests, methods (str/dict/list/loop) and global functions (range,
// namespace, dict, raise_exception, strftime_now) of Hugging Face's jinja2 environment.
// Stateless tables; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <unordered_map>

#include "chat/interpreter.h"

namespace swallow::jinja {

using FilterFn = Value (*)(Interpreter& interp, const Value& operand, const CallArgs& args);
using TestFn = bool (*)(Interpreter& interp, const Value& operand, const CallArgs& args);

// nullptr when there is no such filter / test.
FilterFn find_filter(const std::string& name);
TestFn find_test(const std::string& name);

// The filter table is assembled from two files: collection filters (filters.cpp) and text and
// number filters (filters_text.cpp).
using FilterTable = std::unordered_map<std::string, FilterFn>;
void add_text_filters(FilterTable& table);

// `object.name` for built-in types: a bound method (str.strip, dict.items...), a loop attribute
// (loop.index...), an "unsafe" Undefined for what the sandbox blocks (list.append, _private),
// or nullopt when the type has no such attribute.
std::optional<Value> builtin_attribute(const Value& object, const std::string& name);
Value call_method(Interpreter& interp, const Value& receiver, const std::string& name, const CallArgs& args);

// Puts the global functions into the outermost scope of a render.
void add_globals(Scope& scope);
Value call_global(Interpreter& interp, const std::string& name, const CallArgs& args);

// str(value) for filters that take text (Undefined is "").
TString text_of(const Value& value);

}  // namespace swallow::jinja
