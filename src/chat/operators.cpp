// Python operator semantics for template values.
#include "chat/operators.h"

#include <cmath>
#include <limits>

#include "chat/py_format.h"
#include "chat/text_ops.h"

namespace swallow::jinja {

void fail_undefined(const Value& undefined) { fail(undefined.undefined_message()); }

bool py_truthy(const Value& value) {
  switch (value.kind()) {
    case Kind::kUndefined:
    case Kind::kNone: return false;
    case Kind::kBool: return value.as_bool();
    case Kind::kInt: return value.as_int() != 0;
    case Kind::kFloat: return value.as_float() != 0.0;
    case Kind::kString: return !value.str().text.empty();
    case Kind::kList: return !value.list().items.empty();
    case Kind::kDict: return !value.dict().entries.empty();
    default: return true;
  }
}

bool py_hashable(const Value& value) {
  if (value.is_dict()) return false;
  if (!value.is_list()) return true;
  const ListObject& list = value.list();
  if (list.kind != SeqKind::kTuple) return false;
  for (const Value& item : list.items) {
    if (!py_hashable(item)) return false;
  }
  return true;
}

namespace {

bool same_sequence_family(const ListObject& a, const ListObject& b) {
  const bool a_tuple = a.kind == SeqKind::kTuple, b_tuple = b.kind == SeqKind::kTuple;
  return a_tuple == b_tuple && a.kind != SeqKind::kDictItems && b.kind != SeqKind::kDictItems;
}

bool equals(const Value& a, const Value& b, int depth) {
  if (depth > kMaxValueNesting) fail("maximum recursion depth exceeded in comparison");
  if (a.is_number() && b.is_number()) {
    if (a.kind() == Kind::kFloat || b.kind() == Kind::kFloat) return a.to_double() == b.to_double();
    return (a.is_int() ? a.as_int() : a.as_bool()) == (b.is_int() ? b.as_int() : b.as_bool());
  }
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case Kind::kUndefined:
    case Kind::kNone: return true;
    case Kind::kString: return a.str().text == b.str().text;
    case Kind::kList: {
      const ListObject& x = a.list();
      const ListObject& y = b.list();
      if (!same_sequence_family(x, y) || x.items.size() != y.items.size()) return false;
      for (size_t i = 0; i < x.items.size(); ++i) {
        if (!equals(x.items[i], y.items[i], depth + 1)) return false;
      }
      return true;
    }
    case Kind::kDict: {
      const DictObject& x = a.dict();
      const DictObject& y = b.dict();
      if (x.entries.size() != y.entries.size()) return false;
      for (const auto& [key, value] : x.entries) {
        const Value* other = y.find(key);
        if (other == nullptr || !equals(value, *other, depth + 1)) return false;
      }
      return true;
    }
    default: return a.identity() == b.identity();
  }
}

[[noreturn]] void fail_operands(const std::string& op, const Value& a, const Value& b) {
  fail("unsupported operand type(s) for " + op + ": '" + type_name(a) + "' and '" + type_name(b) + "'");
}

bool less(const Value& a, const Value& b, const std::string& op, int depth) {
  if (depth > kMaxValueNesting) fail("maximum recursion depth exceeded in comparison");
  if (a.is_undefined()) fail_undefined(a);
  if (b.is_undefined()) fail_undefined(b);
  if (a.is_number() && b.is_number()) {
    if (a.kind() == Kind::kFloat || b.kind() == Kind::kFloat) return a.to_double() < b.to_double();
    return (a.is_int() ? a.as_int() : a.as_bool()) < (b.is_int() ? b.as_int() : b.as_bool());
  }
  if (a.is_string() && b.is_string()) return a.str().text < b.str().text;
  if (a.is_list() && b.is_list() && a.list().kind == b.list().kind &&
      (a.list().kind == SeqKind::kList || a.list().kind == SeqKind::kTuple)) {
    const ValueList& x = a.list().items;
    const ValueList& y = b.list().items;
    for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
      if (!equals(x[i], y[i], depth + 1)) return less(x[i], y[i], op, depth + 1);
    }
    return x.size() < y.size();
  }
  fail("'" + op + "' not supported between instances of '" + type_name(a) + "' and '" + type_name(b) + "'");
}

int64_t as_integer(const Value& v) { return v.is_int() ? v.as_int() : (v.as_bool() ? 1 : 0); }

[[noreturn]] void fail_overflow() { fail("integer result does not fit in 64 bits"); }

Value repeat(const Value& seq, int64_t times, Budget& budget) {
  if (times < 0) times = 0;
  if (seq.is_string()) {
    const TString& s = seq.str();
    budget.reserve(static_cast<uint64_t>(s.text.size()) * static_cast<uint64_t>(times));
    TStringBuilder out;
    for (int64_t i = 0; i < times; ++i) out.append(s);
    return Value::string(out.finish());
  }
  const ListObject& list = seq.list();
  budget.reserve(static_cast<uint64_t>(list.items.size()) * static_cast<uint64_t>(times) * 16);
  ValueList items;
  for (int64_t i = 0; i < times; ++i) items.insert(items.end(), list.items.begin(), list.items.end());
  return Value::list(std::move(items), list.kind == SeqKind::kTuple ? SeqKind::kTuple : SeqKind::kList);
}

bool is_plain_sequence(const Value& v) {
  return v.is_list() && (v.list().kind == SeqKind::kList || v.list().kind == SeqKind::kTuple);
}

double float_floor_div(double a, double b, double* mod_out) {
  double mod = std::fmod(a, b);
  double div = (a - mod) / b;
  if (mod != 0.0) {
    if ((b < 0) != (mod < 0)) {
      mod += b;
      div -= 1.0;
    }
  } else {
    mod = std::copysign(0.0, b);
  }
  double floordiv;
  if (div != 0.0) {
    floordiv = std::floor(div);
    if (div - floordiv > 0.5) floordiv += 1.0;
  } else {
    floordiv = std::copysign(0.0, a / b);
  }
  if (mod_out != nullptr) *mod_out = mod;
  return floordiv;
}

Value integer_arithmetic(const std::string& op, int64_t x, int64_t y) {
  int64_t r = 0;
  if (op == "+") {
    if (__builtin_add_overflow(x, y, &r)) fail_overflow();
  } else if (op == "-") {
    if (__builtin_sub_overflow(x, y, &r)) fail_overflow();
  } else if (op == "*") {
    if (__builtin_mul_overflow(x, y, &r)) fail_overflow();
  } else if (op == "/") {
    if (y == 0) fail("division by zero");
    return Value::number(static_cast<double>(x) / static_cast<double>(y));
  } else if (op == "//" || op == "%") {
    if (y == 0) fail(op == "//" ? "integer division or modulo by zero" : "integer modulo by zero");
    if (x == std::numeric_limits<int64_t>::min() && y == -1) {
      if (op == "%") return Value::integer(0);
      fail_overflow();
    }
    int64_t q = x / y, m = x % y;
    if (m != 0 && ((m < 0) != (y < 0))) {
      --q;
      m += y;
    }
    r = op == "//" ? q : m;
  } else {  // "**"
    if (y < 0) {
      if (x == 0) fail("0.0 cannot be raised to a negative power");
      return Value::number(std::pow(static_cast<double>(x), static_cast<double>(y)));
    }
    r = 1;
    int64_t base = x;
    for (int64_t e = y; e > 0; e >>= 1) {
      if ((e & 1) && __builtin_mul_overflow(r, base, &r)) fail_overflow();
      if (e > 1 && __builtin_mul_overflow(base, base, &base)) fail_overflow();
    }
  }
  return Value::integer(r);
}

Value float_arithmetic(const std::string& op, double x, double y) {
  if (op == "+") return Value::number(x + y);
  if (op == "-") return Value::number(x - y);
  if (op == "*") return Value::number(x * y);
  if (op == "/") {
    if (y == 0.0) fail("float division by zero");
    return Value::number(x / y);
  }
  if (op == "//" || op == "%") {
    if (y == 0.0) fail(op == "//" ? "float floor division by zero" : "float modulo");
    double mod = 0;
    const double div = float_floor_div(x, y, &mod);
    return Value::number(op == "//" ? div : mod);
  }
  if (x == 0.0 && y < 0) fail("0.0 cannot be raised to a negative power");
  if (x < 0 && y != std::floor(y)) fail_unsupported("complex results of ** are not supported");
  return Value::number(std::pow(x, y));
}

}  // namespace

bool py_equals(const Value& a, const Value& b) { return equals(a, b, 0); }

bool py_order(const std::string& op, const Value& a, const Value& b) {
  if (op == "<") return less(a, b, op, 0);
  if (op == ">") return less(b, a, op, 0);
  if (op == "<=") return !less(b, a, op, 0);
  return !less(a, b, op, 0);
}

bool py_contains(const Value& container, const Value& item) {
  switch (container.kind()) {
    case Kind::kUndefined: return false;
    case Kind::kString:
      if (item.is_undefined()) fail_undefined(item);
      if (!item.is_string()) fail("'in <string>' requires string as left operand, not " + type_name(item));
      return container.str().text.find(item.str().text) != std::string::npos;
    case Kind::kList:
      for (const Value& v : container.list().items) {
        if (py_equals(v, item)) return true;
      }
      return false;
    case Kind::kDict:
      if (!py_hashable(item)) fail("unhashable type: '" + type_name(item) + "'");
      return container.dict().find(item) != nullptr;
    case Kind::kIterator:
      for (const Value& v : container.iterator().take()) {
        if (py_equals(v, item)) return true;
      }
      return false;
    default: fail("argument of type '" + type_name(container) + "' is not iterable");
  }
}

Value py_arithmetic(const std::string& op, const Value& a, const Value& b, Budget& budget) {
  if (a.is_undefined()) fail_undefined(a);
  if (b.is_undefined()) fail_undefined(b);
  if (a.is_number() && b.is_number()) {
    if (a.kind() == Kind::kFloat || b.kind() == Kind::kFloat) return float_arithmetic(op, a.to_double(), b.to_double());
    return integer_arithmetic(op, as_integer(a), as_integer(b));
  }
  if (op == "+") {
    if (a.is_string() && b.is_string()) {
      budget.reserve(a.str().text.size() + b.str().text.size());
      TStringBuilder out;
      out.append(a.str());
      out.append(b.str());
      return Value::string(out.finish());
    }
    if (is_plain_sequence(a) && is_plain_sequence(b) && a.list().kind == b.list().kind) {
      budget.reserve((a.list().items.size() + b.list().items.size()) * 16);
      ValueList items = a.list().items;
      items.insert(items.end(), b.list().items.begin(), b.list().items.end());
      return Value::list(std::move(items), a.list().kind);
    }
    if (a.is_string()) fail("can only concatenate str (not \"" + type_name(b) + "\") to str");
    if (a.is_list()) fail("can only concatenate " + type_name(a) + " (not \"" + type_name(b) + "\") to " + type_name(a));
  }
  if (op == "*") {
    const bool a_int = a.is_int() || a.kind() == Kind::kBool;
    const bool b_int = b.is_int() || b.kind() == Kind::kBool;
    if ((a.is_string() || is_plain_sequence(a)) && b_int) return repeat(a, as_integer(b), budget);
    if ((b.is_string() || is_plain_sequence(b)) && a_int) return repeat(b, as_integer(a), budget);
  }
  if (op == "%" && a.is_string()) fail_unsupported("printf-style '%' string formatting is not supported");
  fail_operands(op, a, b);
}

Value py_negate(const Value& value, bool negative) {
  if (value.is_undefined()) fail_undefined(value);
  if (value.kind() == Kind::kFloat) return Value::number(negative ? -value.as_float() : value.as_float());
  if (value.is_int() || value.kind() == Kind::kBool) {
    const int64_t v = as_integer(value);
    if (!negative) return Value::integer(v);
    if (v == std::numeric_limits<int64_t>::min()) fail_overflow();
    return Value::integer(-v);
  }
  fail(std::string("bad operand type for unary ") + (negative ? "-" : "+") + ": '" + type_name(value) + "'");
}

std::string object_description(const Value& value) {
  if (value.is_none()) return "None";
  std::string description = "'";
  description += type_name(value);
  description += " object'";
  return description;
}

namespace {

bool indexable(const Value& seq) {
  return seq.is_string() || (seq.is_list() && (seq.list().kind == SeqKind::kList || seq.list().kind == SeqKind::kTuple ||
                                               seq.list().kind == SeqKind::kRange));
}

}  // namespace

std::optional<Value> py_index(const Value& seq, const Value& index) {
  if (!indexable(seq) || !(index.is_int() || index.kind() == Kind::kBool)) return std::nullopt;
  const int64_t i = as_integer(index);
  auto missing = [&] { return Value::undefined(type_name(seq) + " object has no element " + std::to_string(i)); };
  if (seq.is_string()) {
    const std::string& text = seq.str().text;
    if (is_ascii(text)) {
      const auto n = static_cast<int64_t>(text.size());
      const int64_t k = i < 0 ? i + n : i;
      if (k < 0 || k >= n) return missing();
      return Value::string(slice(seq.str(), static_cast<size_t>(k), static_cast<size_t>(k) + 1));
    }
    const std::vector<size_t> offsets = code_point_offsets(text);
    const auto n = static_cast<int64_t>(offsets.size()) - 1;
    const int64_t k = i < 0 ? i + n : i;
    if (k < 0 || k >= n) return missing();
    return Value::string(slice(seq.str(), offsets[static_cast<size_t>(k)], offsets[static_cast<size_t>(k) + 1]));
  }
  const ValueList& items = seq.list().items;
  const auto n = static_cast<int64_t>(items.size());
  const int64_t k = i < 0 ? i + n : i;
  if (k < 0 || k >= n) return missing();
  return items[static_cast<size_t>(k)];
}

std::optional<Value> py_slice(const Value& seq, const Value& start, const Value& stop, const Value& step) {
  if (!indexable(seq)) return std::nullopt;
  auto bound = [](const Value& v, int64_t fallback) -> int64_t {
    if (v.is_none()) return fallback;
    if (v.is_int() || v.kind() == Kind::kBool) return as_integer(v);
    fail("slice indices must be integers or None or have an __index__ method");
  };
  const int64_t s = bound(step, 1);
  if (s == 0) fail("slice step cannot be zero");
  const bool is_string = seq.is_string();
  std::vector<size_t> offsets;
  int64_t n = 0;
  if (is_string) {
    offsets = code_point_offsets(seq.str().text);
    n = static_cast<int64_t>(offsets.size()) - 1;
  } else {
    n = static_cast<int64_t>(seq.list().items.size());
  }
  auto adjust = [n, s](int64_t v) {  // CPython's PySlice_AdjustIndices
    if (v < 0) {
      v += n;
      if (v < 0) v = s < 0 ? -1 : 0;
    } else if (v >= n) {
      v = s < 0 ? n - 1 : n;
    }
    return v;
  };
  const int64_t begin = start.is_none() ? (s < 0 ? n - 1 : 0) : adjust(bound(start, 0));
  const int64_t end = stop.is_none() ? (s < 0 ? -1 : n) : adjust(bound(stop, 0));
  std::vector<int64_t> picks;
  for (int64_t i = begin; s > 0 ? i < end : i > end; i += s) picks.push_back(i);
  if (is_string) {
    TStringBuilder out;
    if (s == 1 && !picks.empty()) {
      out.append_slice(seq.str(), offsets[static_cast<size_t>(begin)], offsets[static_cast<size_t>(end)]);
    } else {
      for (int64_t i : picks) {
        out.append_slice(seq.str(), offsets[static_cast<size_t>(i)], offsets[static_cast<size_t>(i) + 1]);
      }
    }
    return Value::string(out.finish());
  }
  ValueList items;
  items.reserve(picks.size());
  for (int64_t i : picks) items.push_back(seq.list().items[static_cast<size_t>(i)]);
  return Value::list(std::move(items), seq.list().kind == SeqKind::kTuple ? SeqKind::kTuple : SeqKind::kList);
}

}  // namespace swallow::jinja
