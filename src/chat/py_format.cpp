// Python str()/repr() formatting of values.
#include "chat/py_format.h"

#include <charconv>
#include <cmath>
#include <cstdio>

#include "chat/render_error.h"
#include "chat/unicode_text.h"

namespace swallow::jinja {

std::string format_float(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  char buf[64];
  const auto result = std::to_chars(buf, buf + sizeof(buf), value, std::chars_format::scientific);
  std::string_view sci(buf, static_cast<size_t>(result.ptr - buf));
  std::string out;
  if (sci.front() == '-') {
    out += '-';
    sci.remove_prefix(1);
  }
  const size_t e_pos = sci.find('e');
  std::string digits;
  for (char c : sci.substr(0, e_pos)) {
    if (c != '.') digits += c;
  }
  int exponent = 0;
  std::from_chars(sci.data() + e_pos + (sci[e_pos + 1] == '+' ? 2 : 1), sci.data() + sci.size(), exponent);
  const int decpt = exponent + 1;  // value = 0.<digits> * 10^decpt
  const int n_digits = static_cast<int>(digits.size());
  if (decpt > -4 && decpt <= 16) {
    if (decpt <= 0) {
      out.append("0.").append(static_cast<size_t>(-decpt), '0').append(digits);
    } else if (decpt >= n_digits) {
      out.append(digits).append(static_cast<size_t>(decpt - n_digits), '0').append(".0");
    } else {
      out.append(digits, 0, static_cast<size_t>(decpt)).append(".").append(digits, static_cast<size_t>(decpt));
    }
    return out;
  }
  out += digits[0];
  if (n_digits > 1) out.append(".").append(digits, 1);
  char exp_buf[16];
  std::snprintf(exp_buf, sizeof(exp_buf), "e%c%02d", exponent < 0 ? '-' : '+', std::abs(exponent));
  return out + exp_buf;
}

namespace {

// Python's repr of a str: runs of printable characters are copied as slices (keeping their
// marks); quotes, backslashes and non-printable characters are escaped one by one.
void append_string_repr(TStringBuilder& out, const TString& s) {
  const std::string& text = s.text;
  const bool has_single = text.find('\'') != std::string::npos;
  const bool has_double = text.find('"') != std::string::npos;
  const char quote = (has_single && !has_double) ? '"' : '\'';
  out.append(std::string_view(&quote, 1));
  TaintCursor taint(s.spans);
  size_t run = 0;
  std::string piece;
  for (size_t pos = 0; pos < text.size();) {
    const size_t start = pos;
    const char32_t cp = next_code_point(text, pos);
    if (cp != static_cast<char32_t>(quote) && cp != '\\' && is_py_printable(cp)) continue;
    out.append_slice(s, run, start);
    run = pos;
    piece.clear();
    if (cp == static_cast<char32_t>(quote) || cp == '\\') {
      piece += '\\';
      piece += static_cast<char>(cp);
    } else if (cp == '\t') {
      piece = "\\t";
    } else if (cp == '\n') {
      piece = "\\n";
    } else if (cp == '\r') {
      piece = "\\r";
    } else {
      char buf[16];
      const char* format = cp <= 0xFF ? "\\x%02x" : cp <= 0xFFFF ? "\\u%04x" : "\\U%08x";
      std::snprintf(buf, sizeof(buf), format, static_cast<unsigned>(cp));
      piece = buf;
    }
    out.append(piece, taint.at(start));
  }
  out.append_slice(s, run, text.size());
  out.append(std::string_view(&quote, 1));
}

void append_items(TStringBuilder& out, const ValueList& items, int depth) {
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out.append(", ");
    append_py_repr(out, items[i], depth + 1);
  }
}

void append_dict_entries(TStringBuilder& out, const DictObject& dict, int depth) {
  out.append("{");
  for (size_t i = 0; i < dict.entries.size(); ++i) {
    if (i > 0) out.append(", ");
    append_py_repr(out, dict.entries[i].first, depth + 1);
    out.append(": ");
    append_py_repr(out, dict.entries[i].second, depth + 1);
  }
  out.append("}");
}

void append_list(TStringBuilder& out, const ListObject& list, int depth) {
  switch (list.kind) {
    case SeqKind::kList:
      out.append("[");
      append_items(out, list.items, depth);
      out.append("]");
      return;
    case SeqKind::kTuple:
      out.append("(");
      append_items(out, list.items, depth);
      out.append(list.items.size() == 1 ? ",)" : ")");
      return;
    case SeqKind::kDictItems:
    case SeqKind::kDictKeys:
    case SeqKind::kDictValues:
      out.append(list.kind == SeqKind::kDictItems ? "dict_items([" : list.kind == SeqKind::kDictKeys ? "dict_keys([" : "dict_values([");
      append_items(out, list.items, depth);
      out.append("])");
      return;
    case SeqKind::kRange:
      out.append("range(" + std::to_string(list.range_start) + ", " + std::to_string(list.range_stop));
      if (list.range_step != 1) out.append(", " + std::to_string(list.range_step));
      out.append(")");
      return;
  }
}

void append_py_str(TStringBuilder& out, const Value& value, int depth) {
  switch (value.kind()) {
    case Kind::kUndefined: return;
    case Kind::kNone: out.append("None"); return;
    case Kind::kBool: out.append(value.as_bool() ? "True" : "False"); return;
    case Kind::kInt: out.append(std::to_string(value.as_int())); return;
    case Kind::kFloat: out.append(format_float(value.as_float())); return;
    case Kind::kString: out.append(value.str()); return;
    case Kind::kList: append_list(out, value.list(), depth); return;
    case Kind::kDict: append_dict_entries(out, value.dict(), depth); return;
    case Kind::kIterator: out.append("<generator object " + value.iterator().origin + ">"); return;
    case Kind::kNamespace:
      out.append("<Namespace ");
      append_dict_entries(out, value.ns().attributes, depth);
      out.append(">");
      return;
    case Kind::kCallable: {
      const CallableObject& fn = value.callable();
      if (fn.type == CallableObject::Type::kMacro) {
        out.append("<Macro '" + fn.name + "'>");
      } else if (fn.type == CallableObject::Type::kMethod) {
        out.append("<built-in method " + fn.name + " of " + type_name(fn.receiver) + " object>");
      } else {
        out.append("<function " + fn.name + ">");
      }
      return;
    }
    case Kind::kLoop: {
      const LoopObject& loop = value.loop();
      out.append("<LoopContext " + std::to_string(loop.index0 + 1) + "/" + std::to_string(loop.shared->items.size()) + ">");
      return;
    }
  }
}

}  // namespace

TString to_py_str(const Value& value) {
  if (value.is_string()) return value.str();
  TStringBuilder out;
  append_py_str(out, value, 0);
  return out.finish();
}

void append_py_repr(TStringBuilder& out, const Value& value, int depth) {
  if (depth > kMaxValueNesting) fail("maximum recursion depth exceeded while printing a value");
  if (value.is_string()) {
    append_string_repr(out, value.str());
  } else if (value.is_undefined()) {
    out.append("Undefined");
  } else {
    append_py_str(out, value, depth);
  }
}

}  // namespace swallow::jinja
