// Python semantics of the template operators: truthiness, ==, <, `in`, arithmetic (+ - * / // %
// ** and unary), subscripts and slices, with Python's results and TypeErrors. Stateless apart
// from charging the render budget for values they build.
#pragma once

#include <optional>
#include <string>

#include "chat/budget.h"
#include "chat/value.h"

namespace swallow::jinja {

bool py_truthy(const Value& value);
// Whether a value can be a dict key (lists and dicts cannot).
bool py_hashable(const Value& value);
bool py_equals(const Value& a, const Value& b);
// a <op> b for op in "<", "<=", ">", ">=" (TypeError for unordered types).
bool py_order(const std::string& op, const Value& a, const Value& b);
// `item in container`.
bool py_contains(const Value& container, const Value& item);
// a <op> b for op in "+", "-", "*", "/", "//", "%", "**".
Value py_arithmetic(const std::string& op, const Value& a, const Value& b, Budget& budget);
Value py_negate(const Value& value, bool negative);

// Raises the UndefinedError an Undefined value carries.
[[noreturn]] void fail_undefined(const Value& undefined);

// seq[index] for lists, tuples, ranges and strings; nullopt when `seq` is not indexable by an
// integer (the caller then falls back to attributes, like jinja2). Out of range gives Undefined.
std::optional<Value> py_index(const Value& seq, const Value& index);
// seq[start:stop:step]; nullopt when `seq` cannot be sliced.
std::optional<Value> py_slice(const Value& seq, const Value& start, const Value& stop, const Value& step);

// How jinja2 names an object in "... has no attribute" messages: "'dict object'", "None".
std::string object_description(const Value& value);

}  // namespace swallow::jinja
