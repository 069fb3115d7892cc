// Text and number filters: trim, upper/lower/title/capitalize, replace, indent, center,
// wordcount, string, safe, int, float, abs, round, tojson.
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "chat/builtins.h"
#include "chat/json_dump.h"
#include "chat/operators.h"
#include "chat/py_format.h"
#include "chat/text_ops.h"
#include "chat/unicode_text.h"

namespace swallow::jinja {
namespace {

Value filter_trim(Interpreter&, const Value& value, const CallArgs& args) {
  ArgBinder a("trim", args, {"chars"});
  const Value* chars = a.get(0);
  std::string set;
  if (chars != nullptr && !chars->is_none()) set = text_of(*chars).text;
  return Value::string(py_strip(text_of(value), chars != nullptr && !chars->is_none() ? &set : nullptr, true, true));
}

template <TString (*Transform)(const TString&)>
Value filter_text(Interpreter&, const Value& value, const CallArgs& args) {
  ArgBinder("text filter", args, {});
  return Value::string(Transform(text_of(value)));
}

Value filter_replace(Interpreter& interp, const Value& value, const CallArgs& args) {
  ArgBinder a("replace", args, {"old", "new", "count"});
  if (a.get(0) == nullptr || a.get(1) == nullptr) fail("replace() missing required arguments 'old' and 'new'");
  int64_t count = -1;
  if (a.get(2) != nullptr && !a.get(2)->is_none()) {
    if (!a.get(2)->is_int()) fail("'" + type_name(*a.get(2)) + "' object cannot be interpreted as an integer");
    count = a.get(2)->as_int();
  }
  TString result = py_replace(text_of(value), text_of(*a.get(0)), text_of(*a.get(1)), count);
  interp.budget().reserve(result.text.size());
  return Value::string(std::move(result));
}

Value filter_indent(Interpreter& interp, const Value& value, const CallArgs& args) {
  ArgBinder a("indent", args, {"width", "first", "blank"});
  if (value.is_undefined()) fail_undefined(value);
  if (!value.is_string()) fail("unsupported operand type(s) for +=: '" + type_name(value) + "' and 'str'");
  TString indentation;
  const Value width = a.get_or(0, Value::integer(4));
  if (width.is_string()) {
    indentation = width.str();
  } else {
    if (!width.is_int()) fail("can't multiply sequence by non-int of type '" + type_name(width) + "'");
    interp.budget().reserve(static_cast<uint64_t>(std::max<int64_t>(width.as_int(), 0)));
    indentation = TString(std::string(static_cast<size_t>(std::max<int64_t>(width.as_int(), 0)), ' '));
  }
  const bool first = a.get(1) != nullptr && py_truthy(*a.get(1));
  const bool blank = a.get(2) != nullptr && py_truthy(*a.get(2));
  interp.budget().reserve(value.str().text.size() * (indentation.text.size() + 1));
  return Value::string(jinja_indent(value.str(), indentation, first, blank));
}

Value filter_center(Interpreter& interp, const Value& value, const CallArgs& args) {
  ArgBinder a("center", args, {"width"});
  const Value width = a.get_or(0, Value::integer(80));
  if (!width.is_int()) fail("integer argument expected, got " + type_name(width));
  interp.budget().reserve(static_cast<uint64_t>(std::max<int64_t>(width.as_int(), 0)));
  return Value::string(py_center(text_of(value), width.as_int()));
}

Value filter_wordcount(Interpreter&, const Value& value, const CallArgs& args) {
  ArgBinder("wordcount", args, {});
  const std::string text = text_of(value).text;
  int64_t words = 0;
  bool in_word = false;
  for (size_t pos = 0; pos < text.size();) {
    const char32_t cp = next_code_point(text, pos);
    const bool word_char = cp == '_' || is_alpha(cp) || is_numeric(cp);
    if (word_char && !in_word) ++words;
    in_word = word_char;
  }
  return Value::integer(words);
}

Value filter_string(Interpreter&, const Value& value, const CallArgs& args) {
  ArgBinder("string", args, {});
  return value.is_string() ? value : Value::string(text_of(value));
}

// Python's int(str, base) / float(str): optional whitespace, sign, underscores between digits.
std::optional<std::string> clean_number_text(const std::string& raw) {
  const size_t begin = skip_py_space(raw, 0);
  const size_t end = py_rstrip_length(raw);
  if (begin >= end) return std::nullopt;
  std::string out;
  for (size_t i = begin; i < end; ++i) {
    const char c = raw[i];
    if (c == '_') {
      if (i == begin || i + 1 == end || !std::isalnum(static_cast<unsigned char>(raw[i - 1])) ||
          !std::isalnum(static_cast<unsigned char>(raw[i + 1]))) {
        return std::nullopt;
      }
      continue;
    }
    if (static_cast<unsigned char>(c) >= 0x80) return std::nullopt;
    out += c;
  }
  return out;
}

std::optional<int64_t> parse_int(const std::string& raw, int base) {
  std::optional<std::string> text = clean_number_text(raw);
  if (!text) return std::nullopt;
  std::string digits = *text;
  bool negative = false;
  if (digits[0] == '+' || digits[0] == '-') {
    negative = digits[0] == '-';
    digits.erase(0, 1);
  }
  if (digits.size() > 2 && digits[0] == '0') {
    const char p = static_cast<char>(digits[1] | 0x20);
    if ((p == 'x' && base == 16) || (p == 'o' && base == 8) || (p == 'b' && base == 2)) digits.erase(0, 2);
  }
  if (digits.empty()) return std::nullopt;
  for (char c : digits) {
    const int d = std::isdigit(static_cast<unsigned char>(c)) ? c - '0' : std::isalpha(static_cast<unsigned char>(c)) ? (c | 0x20) - 'a' + 10 : 99;
    if (d >= base) return std::nullopt;
  }
  errno = 0;
  const long long v = std::strtoll(digits.c_str(), nullptr, base);
  if (errno == ERANGE) fail("integer value does not fit in 64 bits");
  return negative ? -v : v;
}

std::optional<double> parse_float(const std::string& raw) {
  std::optional<std::string> text = clean_number_text(raw);
  if (!text) return std::nullopt;
  std::string lower;
  for (char c : *text) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const size_t sign = lower[0] == '+' || lower[0] == '-' ? 1 : 0;
  const std::string body = lower.substr(sign);
  if (body == "inf" || body == "infinity" || body == "nan") {
    const double v = body == "nan" ? NAN : INFINITY;
    return lower[0] == '-' ? -v : v;
  }
  for (char c : body) {
    if (!std::isdigit(static_cast<unsigned char>(c)) && c != '.' && c != 'e' && c != '+' && c != '-') return std::nullopt;
  }
  char* end = nullptr;
  const double v = std::strtod(lower.c_str(), &end);
  if (end != lower.c_str() + lower.size()) return std::nullopt;
  return v;
}

Value float_to_int(double d, const Value& fallback) {
  if (std::isnan(d) || std::isinf(d) || std::fabs(d) >= 9.2e18) return fallback;
  return Value::integer(static_cast<int64_t>(std::trunc(d)));
}

Value filter_int(Interpreter&, const Value& value, const CallArgs& args) {
  ArgBinder a("int", args, {"default", "base"});
  const Value fallback = a.get_or(0, Value::integer(0));
  const Value base = a.get_or(1, Value::integer(10));
  switch (value.kind()) {
    case Kind::kUndefined: fail_undefined(value);
    case Kind::kBool: return Value::integer(value.as_bool() ? 1 : 0);
    case Kind::kInt: return value;
    case Kind::kFloat:
      if (std::isnan(value.as_float()) || std::isinf(value.as_float())) fail("cannot convert float to integer");
      return float_to_int(value.as_float(), fallback);
    case Kind::kString: {
      if (!base.is_int() || base.as_int() < 2 || base.as_int() > 36) fail("int() base must be >= 2 and <= 36");
      if (auto parsed = parse_int(value.str().text, static_cast<int>(base.as_int()))) return Value::integer(*parsed);
      if (auto parsed = parse_float(value.str().text)) return float_to_int(*parsed, fallback);
      return fallback;
    }
    default: return fallback;
  }
}

Value filter_float(Interpreter&, const Value& value, const CallArgs& args) {
  ArgBinder a("float", args, {"default"});
  const Value fallback = a.get_or(0, Value::number(0.0));
  switch (value.kind()) {
    case Kind::kUndefined: fail_undefined(value);
    case Kind::kBool:
    case Kind::kInt:
    case Kind::kFloat: return Value::number(value.to_double());
    case Kind::kString: {
      if (auto parsed = parse_float(value.str().text)) return Value::number(*parsed);
      return fallback;
    }
    default: return fallback;
  }
}

Value filter_abs(Interpreter&, const Value& value, const CallArgs& args) {
  ArgBinder("abs", args, {});
  if (value.kind() == Kind::kFloat) return Value::number(std::fabs(value.as_float()));
  if (value.is_number()) {
    const Value v = py_negate(value, false);
    return v.as_int() < 0 ? py_negate(v, true) : v;
  }
  if (value.is_undefined()) fail_undefined(value);
  fail("bad operand type for abs(): '" + type_name(value) + "'");
}

Value filter_round(Interpreter&, const Value& value, const CallArgs& args) {
  ArgBinder a("round", args, {"precision", "method"});
  const Value precision = a.get_or(0, Value::integer(0));
  const std::string method = a.get(1) != nullptr ? text_of(*a.get(1)).text : "common";
  if (method != "common" && method != "ceil" && method != "floor") fail("method must be common, ceil or floor");
  if (value.is_undefined()) fail_undefined(value);
  if (!value.is_number()) fail("type " + type_name(value) + " doesn't define __round__ method");
  if (!precision.is_int()) fail("'" + type_name(precision) + "' object cannot be interpreted as an integer");
  const double x = value.to_double();
  const int64_t digits = precision.as_int();
  if (method == "common" && value.kind() != Kind::kFloat) {  // round(int, n) stays an int
    const int64_t v = value.is_int() ? value.as_int() : value.as_bool();
    if (digits >= 0) return Value::integer(v);
    if (digits < -18) return Value::integer(0);
    int64_t scale = 1;
    for (int64_t i = 0; i < -digits; ++i) scale *= 10;
    int64_t q = v / scale, r = v % scale;
    if (r < 0) {
      r += scale;
      --q;
    }
    if (2 * r > scale || (2 * r == scale && (q & 1))) ++q;  // round half to even, like Python
    int64_t rounded = 0;
    if (__builtin_mul_overflow(q, scale, &rounded)) fail("integer result does not fit in 64 bits");
    return Value::integer(rounded);
  }
  if (method == "common") {
    if (std::isinf(x) || std::isnan(x) || digits > 300) return Value::number(x);
    if (digits >= 0) {
      char buf[512];
      std::snprintf(buf, sizeof(buf), "%.*f", static_cast<int>(digits), x);
      return Value::number(std::strtod(buf, nullptr));
    }
    const double scale = std::pow(10.0, static_cast<double>(-digits));
    return Value::number(std::nearbyint(x / scale) * scale);
  }
  const double scale = std::pow(10.0, static_cast<double>(digits));
  return Value::number((method == "ceil" ? std::ceil(x * scale) : std::floor(x * scale)) / scale);
}

Value filter_tojson(Interpreter& interp, const Value& value, const CallArgs& args) {
  ArgBinder a("tojson", args, {"ensure_ascii", "indent", "separators", "sort_keys"});
  JsonDumpOptions options;
  options.ensure_ascii = a.get(0) != nullptr && py_truthy(*a.get(0));
  if (const Value* indent = a.get(1); indent != nullptr && !indent->is_none()) {
    if (indent->is_string()) {
      options.indent = indent->str().text;
    } else if (indent->is_int() || indent->kind() == Kind::kBool) {
      const int64_t n = indent->is_int() ? indent->as_int() : indent->as_bool();
      interp.budget().reserve(static_cast<uint64_t>(std::max<int64_t>(n, 0)));
      options.indent = std::string(static_cast<size_t>(std::max<int64_t>(n, 0)), ' ');
    } else {
      fail("indent must be an int or a str, not " + type_name(*indent));
    }
  }
  if (const Value* separators = a.get(2); separators != nullptr && !separators->is_none()) {
    const ValueList parts = interp.iterate(*separators);
    if (parts.size() != 2 || !parts[0].is_string() || !parts[1].is_string()) fail("separators must be a (item, key) pair of strings");
    options.item_separator = parts[0].str().text;
    options.key_separator = parts[1].str().text;
  }
  options.sort_keys = a.get(3) != nullptr && py_truthy(*a.get(3));
  TString json = json_dumps(value, options);
  interp.budget().reserve(json.text.size());
  return Value::string(std::move(json));
}

Value filter_format(Interpreter&, const Value&, const CallArgs&) {
  fail_unsupported("the 'format' filter (printf-style formatting) is not supported");
}

}  // namespace

void add_text_filters(FilterTable& table) {
  table["trim"] = filter_trim;
  table["upper"] = filter_text<py_upper>;
  table["lower"] = filter_text<py_lower>;
  table["capitalize"] = filter_text<py_capitalize>;
  table["title"] = filter_text<jinja_title>;
  table["replace"] = filter_replace;
  table["indent"] = filter_indent;
  table["center"] = filter_center;
  table["wordcount"] = filter_wordcount;
  table["string"] = filter_string;
  table["safe"] = filter_string;
  table["int"] = filter_int;
  table["float"] = filter_float;
  table["abs"] = filter_abs;
  table["round"] = filter_round;
  table["tojson"] = filter_tojson;
  table["format"] = filter_format;
}

}  // namespace swallow::jinja
