// Python's str() and repr() of template values, byte for byte: float repr (shortest round trip,
// exponent rules), quoted and escaped strings, list/tuple/dict/dict_items/range printing. Taint
// marks follow each character into the printed text. Stateless; thread-safe.
#pragma once

#include <cstdint>
#include <string>

#include "chat/tainted_string.h"
#include "chat/value.h"

namespace swallow::jinja {

std::string format_float(double value);  // repr(float): "1.0", "1e-05", "1e+16", "inf", "nan"

// str(value): what {{ value }} prints.
TString to_py_str(const Value& value);
// repr(value): how the value prints inside a container.
void append_py_repr(TStringBuilder& out, const Value& value, int depth = 0);

}  // namespace swallow::jinja
