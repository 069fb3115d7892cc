// Attributes and methods of built-in types (str, dict, list, loop) and the global functions.
#include <algorithm>
#include <ctime>

#include "chat/builtins.h"
#include "chat/operators.h"
#include "chat/py_format.h"
#include "chat/text_ops.h"
#include "chat/unicode_text.h"

namespace swallow::jinja {

TString text_of(const Value& value) { return to_py_str(value); }

namespace {

const std::vector<std::string> kStrMethods = {
    "capitalize", "count", "endswith", "find", "isalnum", "isalpha", "isdigit", "islower", "isspace",
    "isupper", "join", "lower", "lstrip", "removeprefix", "removesuffix", "replace", "rfind", "rsplit",
    "rstrip", "split", "splitlines", "startswith", "strip", "title", "upper"};
const std::vector<std::string> kDictMethods = {"get", "items", "keys", "values"};
const std::vector<std::string> kDictMutators = {"clear", "pop", "popitem", "setdefault", "update"};
const std::vector<std::string> kListMethods = {"count", "index"};
const std::vector<std::string> kListMutators = {"append", "clear", "extend", "insert", "pop", "remove", "reverse", "sort"};

bool contains(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

Value bound_method(const Value& receiver, const std::string& name) {
  auto fn = std::make_shared<CallableObject>();
  fn->type = CallableObject::Type::kMethod;
  fn->name = name;
  fn->receiver = receiver;
  return Value::callable(std::move(fn));
}

Value unsafe(const Value& object, const std::string& name) {
  return Value::undefined("access to attribute '" + name + "' of '" + type_name(object) + "' object is unsafe.");
}

std::optional<Value> loop_attribute(const Value& loop_value, const std::string& name) {
  const LoopObject& loop = loop_value.loop();
  const ValueList& items = loop.shared->items;
  const auto index0 = static_cast<int64_t>(loop.index0);
  const auto length = static_cast<int64_t>(items.size());
  if (name == "index0") return Value::integer(index0);
  if (name == "index") return Value::integer(index0 + 1);
  if (name == "revindex") return Value::integer(length - index0);
  if (name == "revindex0") return Value::integer(length - index0 - 1);
  if (name == "first") return Value::boolean(index0 == 0);
  if (name == "last") return Value::boolean(index0 + 1 == length);
  if (name == "length") return Value::integer(length);
  if (name == "depth") return Value::integer(loop.shared->depth0 + 1);
  if (name == "depth0") return Value::integer(loop.shared->depth0);
  if (name == "previtem") return index0 > 0 ? items[loop.index0 - 1] : Value::undefined("there is no previous item");
  if (name == "nextitem") return index0 + 1 < length ? items[loop.index0 + 1] : Value::undefined("there is no next item");
  if (name == "cycle" || name == "changed") return bound_method(loop_value, name);
  return std::nullopt;
}

const std::string& text_arg(const Value& value, const std::string& what) {
  if (value.is_undefined()) fail_undefined(value);
  if (!value.is_string()) fail(what + " must be str, not " + type_name(value));
  return value.str().text;
}

int64_t int_arg(const Value& value, const std::string& what) {
  if (value.is_int()) return value.as_int();
  if (value.kind() == Kind::kBool) return value.as_bool() ? 1 : 0;
  if (value.is_undefined()) fail_undefined(value);
  fail("'" + type_name(value) + "' object cannot be interpreted as an integer (" + what + ")");
}

bool affix_matches(const std::string& text, const Value& affix, bool at_start) {
  auto test = [&](const Value& candidate) {
    const std::string& a = text_arg(candidate, at_start ? "startswith argument" : "endswith argument");
    if (a.size() > text.size()) return false;
    return at_start ? text.compare(0, a.size(), a) == 0 : text.compare(text.size() - a.size(), a.size(), a) == 0;
  };
  if (affix.is_list() && affix.list().kind == SeqKind::kTuple) {
    return std::any_of(affix.list().items.begin(), affix.list().items.end(), test);
  }
  return test(affix);
}

Value string_list(std::vector<TString> parts) {
  ValueList items;
  items.reserve(parts.size());
  for (TString& part : parts) items.push_back(Value::string(std::move(part)));
  return Value::list(std::move(items));
}

template <typename Pred>
Value char_class(const std::string& text, Pred pred) {
  if (text.empty()) return Value::boolean(false);
  for (size_t pos = 0; pos < text.size();) {
    if (!pred(next_code_point(text, pos))) return Value::boolean(false);
  }
  return Value::boolean(true);
}

Value call_str_method(Interpreter& interp, const TString& s, const std::string& name, const CallArgs& args) {
  const std::string fn = "str." + name;
  if (name == "upper" || name == "lower" || name == "title" || name == "capitalize" || name == "isalnum" ||
      name == "isalpha" || name == "isdigit" || name == "islower" || name == "isspace" || name == "isupper") {
    ArgBinder(fn, args, {});
    if (name == "upper") return Value::string(py_upper(s));
    if (name == "lower") return Value::string(py_lower(s));
    if (name == "title") return Value::string(py_str_title(s));
    if (name == "capitalize") return Value::string(py_capitalize(s));
    if (name == "isalpha") return char_class(s.text, is_alpha);
    if (name == "isdigit") return char_class(s.text, is_digit);
    if (name == "isspace") return char_class(s.text, is_py_space);
    if (name == "isalnum") return char_class(s.text, [](char32_t cp) { return is_alpha(cp) || is_numeric(cp); });
    return Value::boolean(py_case_test(s.text, name == "islower"));
  }
  if (name == "strip" || name == "lstrip" || name == "rstrip") {
    ArgBinder a(fn, args, {"chars"});
    const Value* chars = a.get(0);
    const std::string* set = chars != nullptr && !chars->is_none() ? &text_arg(*chars, "chars") : nullptr;
    return Value::string(py_strip(s, set, name != "rstrip", name != "lstrip"));
  }
  if (name == "split" || name == "rsplit") {
    ArgBinder a(fn, args, {"sep", "maxsplit"});
    const Value* sep = a.get(0);
    const std::string* sep_text = sep != nullptr && !sep->is_none() ? &text_arg(*sep, "sep") : nullptr;
    if (sep_text != nullptr && sep_text->empty()) fail("empty separator");
    const int64_t maxsplit = a.get(1) ? int_arg(*a.get(1), "maxsplit") : -1;
    return string_list(py_split(s, sep_text, maxsplit, name == "rsplit"));
  }
  if (name == "splitlines") {
    ArgBinder a(fn, args, {"keepends"});
    return string_list(py_splitlines(s, a.get(0) != nullptr && py_truthy(*a.get(0))));
  }
  if (name == "startswith" || name == "endswith") {
    ArgBinder a(fn, args, {"affix"});
    if (a.get(0) == nullptr) fail(fn + "() takes at least 1 argument (0 given)");
    return Value::boolean(affix_matches(s.text, *a.get(0), name == "startswith"));
  }
  if (name == "replace") {
    ArgBinder a(fn, args, {"old", "new", "count"});
    if (a.get(0) == nullptr || a.get(1) == nullptr) fail(fn + "() expected at least 2 arguments");
    text_arg(*a.get(0), "replace() argument 1");
    text_arg(*a.get(1), "replace() argument 2");
    const int64_t count = a.get(2) ? int_arg(*a.get(2), "count") : -1;
    TString result = py_replace(s, a.get(0)->str(), a.get(1)->str(), count);
    interp.budget().reserve(result.text.size());
    return Value::string(std::move(result));
  }
  if (name == "find" || name == "rfind" || name == "count" || name == "removeprefix" || name == "removesuffix") {
    ArgBinder a(fn, args, {"sub"});
    if (a.get(0) == nullptr) fail(fn + "() takes exactly one argument (0 given)");
    const std::string& sub = text_arg(*a.get(0), fn + "() argument");
    if (name == "count") return Value::integer(py_count(s.text, sub));
    if (name == "find" || name == "rfind") return Value::integer(py_find(s.text, sub, name == "rfind"));
    if (name == "removeprefix") {
      return Value::string(s.text.compare(0, sub.size(), sub) == 0 ? slice(s, sub.size(), s.text.size()) : s);
    }
    const bool suffix = sub.size() <= s.text.size() && s.text.compare(s.text.size() - sub.size(), sub.size(), sub) == 0;
    return Value::string(suffix && !sub.empty() ? slice(s, 0, s.text.size() - sub.size()) : s);
  }
  // join
  ArgBinder a(fn, args, {"iterable"});
  if (a.get(0) == nullptr) fail(fn + "() takes exactly one argument (0 given)");
  const ValueList items = interp.iterate(*a.get(0));
  TStringBuilder out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (!items[i].is_string()) {
      fail("sequence item " + std::to_string(i) + ": expected str instance, " + type_name(items[i]) + " found");
    }
    if (i > 0) out.append(s);
    interp.budget().reserve(out.size() + items[i].str().text.size());
    out.append(items[i].str());
  }
  return Value::string(out.finish());
}

Value call_dict_method(const DictObject& dict, const std::string& name, const CallArgs& args) {
  const std::string fn = "dict." + name;
  if (name == "get") {
    ArgBinder a(fn, args, {"key", "default"});
    if (a.get(0) == nullptr) fail(fn + " expected at least 1 argument, got 0");
    const Value* found = dict.find(*a.get(0));
    return found != nullptr ? *found : a.get_or(1, Value::none());
  }
  ArgBinder(fn, args, {});
  ValueList items;
  items.reserve(dict.entries.size());
  for (const auto& [key, value] : dict.entries) {
    if (name == "items") {
      items.push_back(Value::list({key, value}, SeqKind::kTuple));
    } else {
      items.push_back(name == "keys" ? key : value);
    }
  }
  return Value::list(std::move(items), name == "items"  ? SeqKind::kDictItems
                                       : name == "keys" ? SeqKind::kDictKeys
                                                        : SeqKind::kDictValues);
}

Value call_list_method(const ListObject& list, const std::string& name, const CallArgs& args) {
  ArgBinder a("list." + name, args, {"value"});
  if (a.get(0) == nullptr) fail("list." + name + "() takes exactly one argument (0 given)");
  int64_t count = 0;
  for (size_t i = 0; i < list.items.size(); ++i) {
    if (!py_equals(list.items[i], *a.get(0))) continue;
    if (name == "index") return Value::integer(static_cast<int64_t>(i));
    ++count;
  }
  if (name == "index") fail("list.index(x): x not in list");
  return Value::integer(count);
}

Value call_loop_method(const LoopObject& loop, const std::string& name, const CallArgs& args) {
  if (!args.keywords.empty()) fail("loop." + name + "() takes no keyword arguments");
  if (name == "cycle") {
    if (args.positional.empty()) fail("no items for cycling given");
    return args.positional[loop.index0 % args.positional.size()];
  }
  LoopShared& shared = *loop.shared;
  const bool same = shared.changed_called && shared.last_changed.size() == args.positional.size() &&
                    std::equal(args.positional.begin(), args.positional.end(), shared.last_changed.begin(),
                               [](const Value& x, const Value& y) { return py_equals(x, y); });
  shared.changed_called = true;
  shared.last_changed = args.positional;
  return Value::boolean(!same);
}

Value make_range(Interpreter& interp, const CallArgs& args) {
  if (!args.keywords.empty()) fail("range() takes no keyword arguments");
  const ValueList& p = args.positional;
  if (p.empty() || p.size() > 3) fail("range expected 1 to 3 arguments, got " + std::to_string(p.size()));
  const int64_t start = p.size() == 1 ? 0 : int_arg(p[0], "range");
  const int64_t stop = int_arg(p.size() == 1 ? p[0] : p[1], "range");
  const int64_t step = p.size() == 3 ? int_arg(p[2], "range") : 1;
  if (step == 0) fail("range() arg 3 must not be zero");
  // Length computed in unsigned arithmetic: the distance between two int64 values fits in uint64.
  const uint64_t abs_step = step > 0 ? static_cast<uint64_t>(step) : 0 - static_cast<uint64_t>(step);
  const bool empty = step > 0 ? start >= stop : start <= stop;
  const uint64_t span = empty ? 0 : step > 0 ? static_cast<uint64_t>(stop) - static_cast<uint64_t>(start)
                                             : static_cast<uint64_t>(start) - static_cast<uint64_t>(stop);
  const uint64_t length = span / abs_step + (span % abs_step != 0 ? 1 : 0);
  if (length > 100000) fail("Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000).");
  interp.budget().charge(static_cast<int64_t>(length));
  ValueList items;
  items.reserve(static_cast<size_t>(length));
  for (int64_t i = 0; i < static_cast<int64_t>(length); ++i) items.push_back(Value::integer(start + i * step));
  return Value::range(start, stop, step, std::move(items));
}

DictObject keyword_dict(const std::string& fn, const CallArgs& args) {
  DictObject dict;
  if (args.positional.size() > 1) fail(fn + " expected at most 1 argument, got " + std::to_string(args.positional.size()));
  if (!args.positional.empty()) {
    if (!args.positional[0].is_dict()) fail(fn + "() argument must be a mapping, not " + type_name(args.positional[0]));
    dict = args.positional[0].dict();
  }
  for (const auto& [name, value] : args.keywords) dict.set(Value::string(name), value);
  return dict;
}

Value strftime_now(const CallArgs& args) {
  ArgBinder a("strftime_now", args, {"format"});
  if (a.get(0) == nullptr) fail("strftime_now() missing 1 required positional argument: 'format'");
  const std::string& format = text_arg(*a.get(0), "strftime_now format");
  if (format.empty()) return Value::string("");
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  std::string buffer(256 + format.size() * 16, '\0');
  const size_t n = std::strftime(buffer.data(), buffer.size(), format.c_str(), &local);
  buffer.resize(n);
  return Value::string(std::move(buffer));
}

}  // namespace

std::optional<Value> builtin_attribute(const Value& object, const std::string& name) {
  if (!name.empty() && name[0] == '_') return unsafe(object, name);
  switch (object.kind()) {
    case Kind::kString:
      if (contains(kStrMethods, name)) return bound_method(object, name);
      return std::nullopt;
    case Kind::kDict:
      if (contains(kDictMethods, name)) return bound_method(object, name);
      if (contains(kDictMutators, name)) return unsafe(object, name);
      return std::nullopt;
    case Kind::kList:
      if (object.list().kind != SeqKind::kList && object.list().kind != SeqKind::kTuple) return std::nullopt;
      if (contains(kListMethods, name)) return bound_method(object, name);
      if (object.list().kind == SeqKind::kList && contains(kListMutators, name)) return unsafe(object, name);
      return std::nullopt;
    case Kind::kLoop: return loop_attribute(object, name);
    default: return std::nullopt;
  }
}

Value call_method(Interpreter& interp, const Value& receiver, const std::string& name, const CallArgs& args) {
  switch (receiver.kind()) {
    case Kind::kString: return call_str_method(interp, receiver.str(), name, args);
    case Kind::kDict: return call_dict_method(receiver.dict(), name, args);
    case Kind::kList: return call_list_method(receiver.list(), name, args);
    case Kind::kLoop: return call_loop_method(receiver.loop(), name, args);
    default: fail("'" + type_name(receiver) + "' object has no method '" + name + "'");
  }
}

void add_globals(Scope& scope) {
  for (const char* name : {"range", "dict", "namespace", "raise_exception", "strftime_now"}) {
    auto fn = std::make_shared<CallableObject>();
    fn->type = CallableObject::Type::kGlobal;
    fn->name = name;
    scope.set(name, Value::callable(std::move(fn)));
  }
}

Value call_global(Interpreter& interp, const std::string& name, const CallArgs& args) {
  if (name == "range") return make_range(interp, args);
  if (name == "dict") return Value::dict(keyword_dict("dict", args));
  if (name == "namespace") {
    auto ns = std::make_shared<NamespaceObject>();
    ns->attributes = keyword_dict("namespace", args);
    interp.track_namespace(ns);
    return Value::namespace_object(std::move(ns));
  }
  if (name == "strftime_now") return strftime_now(args);
  ArgBinder a("raise_exception", args, {"message"});
  if (a.get(0) == nullptr) fail("raise_exception() missing 1 required positional argument: 'message'");
  throw RenderFailure(FailureKind::kRaised, text_of(*a.get(0)).text);
}

}  // namespace swallow::jinja
