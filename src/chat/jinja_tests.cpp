// The jinja2 tests (`x is defined`, `x is string`, `x is equalto y` ...) with Python semantics.
#include <unordered_map>

#include "chat/builtins.h"
#include "chat/operators.h"
#include "chat/text_ops.h"

namespace swallow::jinja {
namespace {

const Value& one_arg(const std::string& test, const CallArgs& args) {
  if (args.positional.size() != 1 || !args.keywords.empty()) fail("test '" + test + "' takes exactly one argument");
  return args.positional[0];
}

void no_args(const std::string& test, const CallArgs& args) {
  if (!args.positional.empty() || !args.keywords.empty()) fail("test '" + test + "' takes no arguments");
}

#define SIMPLE_TEST(fn_name, test_name, expression)                           \
  bool fn_name(Interpreter&, const Value& value, const CallArgs& args) {      \
    no_args(test_name, args);                                                  \
    return expression;                                                         \
  }

SIMPLE_TEST(test_defined, "defined", !value.is_undefined())
SIMPLE_TEST(test_undefined, "undefined", value.is_undefined())
SIMPLE_TEST(test_none, "none", value.is_none())
SIMPLE_TEST(test_boolean, "boolean", value.kind() == Kind::kBool)
SIMPLE_TEST(test_false, "false", value.kind() == Kind::kBool && !value.as_bool())
SIMPLE_TEST(test_true, "true", value.kind() == Kind::kBool && value.as_bool())
SIMPLE_TEST(test_integer, "integer", value.is_int())
SIMPLE_TEST(test_float, "float", value.kind() == Kind::kFloat)
SIMPLE_TEST(test_number, "number", value.is_number())
SIMPLE_TEST(test_string, "string", value.is_string())
SIMPLE_TEST(test_mapping, "mapping", value.is_dict())
SIMPLE_TEST(test_callable, "callable",
            value.kind() == Kind::kCallable || value.kind() == Kind::kUndefined || value.kind() == Kind::kLoop)
SIMPLE_TEST(test_iterable, "iterable",
            value.is_undefined() || value.is_string() || value.is_list() || value.is_dict() ||
                value.kind() == Kind::kIterator || value.kind() == Kind::kLoop)
SIMPLE_TEST(test_sequence, "sequence",
            value.is_undefined() || value.is_string() || value.is_dict() ||
                (value.is_list() && (value.list().kind == SeqKind::kList || value.list().kind == SeqKind::kTuple ||
                                     value.list().kind == SeqKind::kRange)))

#undef SIMPLE_TEST

// Nothing is Markup here (the `safe` filter returns a plain string).
bool test_escaped(Interpreter&, const Value&, const CallArgs& args) {
  no_args("escaped", args);
  return false;
}

bool remainder_is(Interpreter& interp, const Value& value, const Value& divisor, int64_t expected) {
  const Value rest = py_arithmetic("%", value, divisor, interp.budget());
  return py_equals(rest, Value::integer(expected));
}

bool test_odd(Interpreter& interp, const Value& value, const CallArgs& args) {
  no_args("odd", args);
  return remainder_is(interp, value, Value::integer(2), 1);
}

bool test_even(Interpreter& interp, const Value& value, const CallArgs& args) {
  no_args("even", args);
  return remainder_is(interp, value, Value::integer(2), 0);
}

bool test_divisibleby(Interpreter& interp, const Value& value, const CallArgs& args) {
  return remainder_is(interp, value, one_arg("divisibleby", args), 0);
}

bool test_lower(Interpreter&, const Value& value, const CallArgs& args) {
  no_args("lower", args);
  return py_case_test(text_of(value).text, true);
}

bool test_upper(Interpreter&, const Value& value, const CallArgs& args) {
  no_args("upper", args);
  return py_case_test(text_of(value).text, false);
}

bool test_in(Interpreter&, const Value& value, const CallArgs& args) { return py_contains(one_arg("in", args), value); }

bool test_sameas(Interpreter&, const Value& value, const CallArgs& args) {
  const Value& other = one_arg("sameas", args);
  if (value.kind() != other.kind()) return false;
  if (value.identity() != nullptr) return value.identity() == other.identity();
  return py_equals(value, other);
}

bool test_eq(Interpreter&, const Value& value, const CallArgs& args) { return py_equals(value, one_arg("eq", args)); }
bool test_ne(Interpreter&, const Value& value, const CallArgs& args) { return !py_equals(value, one_arg("ne", args)); }
bool test_lt(Interpreter&, const Value& value, const CallArgs& args) { return py_order("<", value, one_arg("lt", args)); }
bool test_le(Interpreter&, const Value& value, const CallArgs& args) { return py_order("<=", value, one_arg("le", args)); }
bool test_gt(Interpreter&, const Value& value, const CallArgs& args) { return py_order(">", value, one_arg("gt", args)); }
bool test_ge(Interpreter&, const Value& value, const CallArgs& args) { return py_order(">=", value, one_arg("ge", args)); }

bool test_filter(Interpreter&, const Value& value, const CallArgs& args) {
  no_args("filter", args);
  return value.is_string() && find_filter(value.str().text) != nullptr;
}

bool test_test(Interpreter&, const Value& value, const CallArgs& args) {
  no_args("test", args);
  return value.is_string() && find_test(value.str().text) != nullptr;
}

std::unordered_map<std::string, TestFn> make_table() {
  std::unordered_map<std::string, TestFn> table = {
      {"defined", test_defined}, {"undefined", test_undefined}, {"none", test_none},
      {"boolean", test_boolean}, {"false", test_false}, {"true", test_true},
      {"integer", test_integer}, {"float", test_float}, {"number", test_number},
      {"string", test_string}, {"mapping", test_mapping}, {"iterable", test_iterable},
      {"sequence", test_sequence}, {"callable", test_callable}, {"escaped", test_escaped},
      {"odd", test_odd}, {"even", test_even}, {"divisibleby", test_divisibleby},
      {"lower", test_lower}, {"upper", test_upper}, {"in", test_in}, {"sameas", test_sameas},
      {"filter", test_filter}, {"test", test_test},
      {"eq", test_eq}, {"equalto", test_eq}, {"==", test_eq},
      {"ne", test_ne}, {"!=", test_ne},
      {"lt", test_lt}, {"lessthan", test_lt}, {"<", test_lt},
      {"le", test_le}, {"<=", test_le},
      {"gt", test_gt}, {"greaterthan", test_gt}, {">", test_gt},
      {"ge", test_ge}, {">=", test_ge},
  };
  return table;
}

}  // namespace

TestFn find_test(const std::string& name) {
  static const std::unordered_map<std::string, TestFn> table = make_table();
  const auto it = table.find(name);
  return it == table.end() ? nullptr : it->second;
}

}  // namespace swallow::jinja
