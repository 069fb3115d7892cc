// The filter table and the collection filters: default, length, first/last, list, join, items,
// map, select/reject(attr), sum, min/max, sort, unique, reverse, dictsort, batch, attr.
#include <algorithm>

#include "chat/builtins.h"
#include "chat/operators.h"
#include "chat/py_format.h"
#include "chat/text_ops.h"

namespace swallow::jinja {
namespace {

// jinja2's make_attrgetter: "a.b.0" looks up a, then b, then item 0 (digits are integers).
Value get_attribute_path(Interpreter& interp, Value item, const Value& attribute, const Value* fallback) {
  std::vector<Value> parts;
  if (attribute.is_string()) {
    const std::string& path = attribute.str().text;
    size_t begin = 0;
    while (true) {
      const size_t dot = path.find('.', begin);
      const std::string part = path.substr(begin, dot == std::string::npos ? std::string::npos : dot - begin);
      const bool digits = !part.empty() && std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; });
      parts.push_back(digits && part.size() < 19 ? Value::integer(std::stoll(part)) : Value::string(part));
      if (dot == std::string::npos) break;
      begin = dot + 1;
    }
  } else if (!attribute.is_none()) {
    parts.push_back(attribute);
  }
  for (const Value& part : parts) {
    item = interp.getitem(item, part);
    if (fallback != nullptr && item.is_undefined()) item = *fallback;
  }
  return item;
}

Value lowercase_if_string(const Value& v) { return v.is_string() ? Value::string(py_lower(v.str())) : v; }

Value filter_default(Interpreter&, const Value& value, const CallArgs& args) {
  ArgBinder a("default", args, {"default_value", "boolean"});
  const bool boolean = a.get(1) != nullptr && py_truthy(*a.get(1));
  if (value.is_undefined() || (boolean && !py_truthy(value))) return a.get_or(0, Value::string(""));
  return value;
}

Value filter_length(Interpreter&, const Value& value, const CallArgs& args) {
  ArgBinder("length", args, {});
  switch (value.kind()) {
    case Kind::kUndefined: return Value::integer(0);
    case Kind::kString: return Value::integer(static_cast<int64_t>(code_point_count(value.str().text)));
    case Kind::kList: return Value::integer(static_cast<int64_t>(value.list().items.size()));
    case Kind::kDict: return Value::integer(static_cast<int64_t>(value.dict().entries.size()));
    case Kind::kLoop: return Value::integer(static_cast<int64_t>(value.loop().shared->items.size()));
    default: fail("object of type '" + type_name(value) + "' has no len()");
  }
}

Value filter_first(Interpreter& interp, const Value& value, const CallArgs& args) {
  ArgBinder("first", args, {});
  const ValueList items = interp.iterate(value);
  return items.empty() ? Value::undefined("No first item, sequence was empty.") : items.front();
}

Value filter_last(Interpreter& interp, const Value& value, const CallArgs& args) {
  ArgBinder("last", args, {});
  if (value.kind() == Kind::kIterator) fail("'generator' object is not reversible");
  const ValueList items = interp.iterate(value);
  return items.empty() ? Value::undefined("No last item, sequence was empty.") : items.back();
}

Value filter_list(Interpreter& interp, const Value& value, const CallArgs& args) {
  ArgBinder("list", args, {});
  return Value::list(interp.iterate(value));
}

Value filter_join(Interpreter& interp, const Value& value, const CallArgs& args) {
  ArgBinder a("join", args, {"d", "attribute"});
  const TString separator = text_of(a.get_or(0, Value::string("")));
  const Value* attribute = a.get(1);
  TStringBuilder out;
  const ValueList items = interp.iterate(value);
  for (size_t i = 0; i < items.size(); ++i) {
    interp.budget().charge(1);
    const Value item = attribute != nullptr ? get_attribute_path(interp, items[i], *attribute, nullptr) : items[i];
    const TString text = text_of(item);
    interp.budget().reserve(out.size() + separator.text.size() + text.text.size());
    if (i > 0) out.append(separator);
    out.append(text);
  }
  return Value::string(out.finish());
}

// Python generator filters are lazy: their body runs when the result is first iterated (so a
// generator that is only printed or tested for truth never fails). `Producer` is that body.
using Producer = ValueList (*)(Interpreter& interp, const Value& value, const CallArgs& args);

Value generator(Interpreter& interp, Producer produce, const Value& value, const CallArgs& args, std::string origin) {
  ValueList captured = args.positional;
  captured.push_back(value);
  for (const auto& kw : args.keywords) captured.push_back(kw.second);
  return Value::iterator([&interp, produce, value, args] { return produce(interp, value, args); }, std::move(origin),
                         captured);
}

ValueList produce_items(Interpreter&, const Value& value, const CallArgs& args) {
  ArgBinder("items", args, {});
  if (value.is_undefined()) return {};
  if (!value.is_dict()) fail("Can only get item pairs from a mapping.");
  ValueList pairs;
  for (const auto& [key, item] : value.dict().entries) pairs.push_back(Value::list({key, item}, SeqKind::kTuple));
  return pairs;
}

ValueList produce_map(Interpreter& interp, const Value& value, const CallArgs& args) {
  ValueList out;
  if (!py_truthy(value)) return out;
  const ValueList items = interp.iterate(value);
  const bool by_attribute = args.positional.empty();
  if (by_attribute) {
    const Value* attribute = nullptr;
    const Value* fallback = nullptr;
    for (const auto& kw : args.keywords) {
      if (kw.first != "attribute" && kw.first != "default") fail("Unexpected keyword argument '" + kw.first + "'");
      (kw.first == "attribute" ? attribute : fallback) = &kw.second;
    }
    if (attribute == nullptr) fail("map requires a filter argument");
    for (const Value& item : items) {
      interp.budget().charge(1);
      out.push_back(get_attribute_path(interp, item, *attribute, fallback != nullptr && !fallback->is_none() ? fallback : nullptr));
    }
    return out;
  }
  const std::string name = text_of(args.positional[0]).text;
  const CallArgs rest{ValueList(args.positional.begin() + 1, args.positional.end()), args.keywords};
  for (const Value& item : items) {
    interp.budget().charge(1);
    out.push_back(interp.apply_filter(name, item, rest));
  }
  return out;
}

template <bool kSelect, bool kByAttribute>
ValueList produce_select(Interpreter& interp, const Value& value, const CallArgs& args) {
  ValueList out;
  if (!py_truthy(value)) return out;
  const ValueList items = interp.iterate(value);
  size_t next = 0;
  const Value* attribute = nullptr;
  if (kByAttribute) {
    if (args.positional.empty()) fail("Missing parameter for attribute name");
    attribute = &args.positional[next++];
  }
  const bool has_test = next < args.positional.size();
  const std::string test = has_test ? text_of(args.positional[next]).text : std::string();
  const CallArgs rest{has_test ? ValueList(args.positional.begin() + static_cast<std::ptrdiff_t>(next) + 1, args.positional.end())
                               : ValueList(),
                      args.keywords};
  for (const Value& item : items) {
    interp.budget().charge(1);
    const Value probe = attribute != nullptr ? get_attribute_path(interp, item, *attribute, nullptr) : item;
    const bool passed = has_test ? interp.apply_test(test, probe, rest) : py_truthy(probe);
    if (passed == kSelect) out.push_back(item);
  }
  return out;
}

Value filter_items(Interpreter& interp, const Value& value, const CallArgs& args) {
  return generator(interp, produce_items, value, args, "do_items");
}

Value filter_map(Interpreter& interp, const Value& value, const CallArgs& args) {
  return generator(interp, produce_map, value, args, "sync_do_map");
}

template <bool kSelect, bool kByAttribute>
Value filter_select(Interpreter& interp, const Value& value, const CallArgs& args) {
  return generator(interp, produce_select<kSelect, kByAttribute>, value, args, "select_or_reject");
}

Value filter_sum(Interpreter& interp, const Value& value, const CallArgs& args) {
  ArgBinder a("sum", args, {"attribute", "start"});
  Value total = a.get_or(1, Value::integer(0));
  for (const Value& item : interp.iterate(value)) {
    interp.budget().charge(1);
    const Value term = a.get(0) != nullptr ? get_attribute_path(interp, item, *a.get(0), nullptr) : item;
    total = py_arithmetic("+", total, term, interp.budget());
  }
  return total;
}

// Sort keys as jinja2 builds them: attribute lookups (comma-separated for sort), lowercased
// strings unless case_sensitive.
struct SortKeys {
  std::vector<Value> attributes;
  bool case_sensitive = false;

  Value key(Interpreter& interp, const Value& item) const {
    if (attributes.size() <= 1) {
      const Value v = attributes.empty() ? item : get_attribute_path(interp, item, attributes[0], nullptr);
      return case_sensitive ? v : lowercase_if_string(v);
    }
    ValueList parts;
    for (const Value& attribute : attributes) {
      const Value v = get_attribute_path(interp, item, attribute, nullptr);
      parts.push_back(case_sensitive ? v : lowercase_if_string(v));
    }
    return Value::list(std::move(parts));
  }
};

SortKeys make_sort_keys(const Value* attribute, const Value* case_sensitive, bool allow_multiple) {
  SortKeys keys;
  keys.case_sensitive = case_sensitive != nullptr && py_truthy(*case_sensitive);
  if (attribute == nullptr || attribute->is_none()) return keys;
  if (allow_multiple && attribute->is_string()) {
    const std::string& text = attribute->str().text;
    size_t begin = 0;
    while (true) {
      const size_t comma = text.find(',', begin);
      keys.attributes.push_back(Value::string(text.substr(begin, comma == std::string::npos ? std::string::npos : comma - begin)));
      if (comma == std::string::npos) break;
      begin = comma + 1;
    }
  } else {
    keys.attributes.push_back(*attribute);
  }
  return keys;
}

std::vector<std::pair<Value, Value>> keyed(Interpreter& interp, const ValueList& items, const SortKeys& keys) {
  std::vector<std::pair<Value, Value>> out;
  out.reserve(items.size());
  for (const Value& item : items) {
    interp.budget().charge(1);
    out.emplace_back(keys.key(interp, item), item);
  }
  return out;
}

void sort_keyed(Interpreter& interp, std::vector<std::pair<Value, Value>>& entries, bool reverse) {
  interp.budget().charge(static_cast<int64_t>(entries.size()) * 8);
  std::stable_sort(entries.begin(), entries.end(), [reverse](const auto& x, const auto& y) {
    return reverse ? py_order("<", y.first, x.first) : py_order("<", x.first, y.first);
  });
}

Value filter_sort(Interpreter& interp, const Value& value, const CallArgs& args) {
  ArgBinder a("sort", args, {"reverse", "case_sensitive", "attribute"});
  auto entries = keyed(interp, interp.iterate(value), make_sort_keys(a.get(2), a.get(1), true));
  sort_keyed(interp, entries, a.get(0) != nullptr && py_truthy(*a.get(0)));
  ValueList out;
  for (auto& entry : entries) out.push_back(std::move(entry.second));
  return Value::list(std::move(out));
}

template <bool kMin>
Value filter_min_max(Interpreter& interp, const Value& value, const CallArgs& args) {
  ArgBinder a(kMin ? "min" : "max", args, {"case_sensitive", "attribute"});
  const auto entries = keyed(interp, interp.iterate(value), make_sort_keys(a.get(1), a.get(0), false));
  if (entries.empty()) return Value::undefined("No aggregated item, sequence was empty.");
  size_t best = 0;
  for (size_t i = 1; i < entries.size(); ++i) {
    if (py_order("<", kMin ? entries[i].first : entries[best].first, kMin ? entries[best].first : entries[i].first)) best = i;
  }
  return entries[best].second;
}

ValueList produce_unique(Interpreter& interp, const Value& value, const CallArgs& args) {
  ArgBinder a("unique", args, {"case_sensitive", "attribute"});
  const auto entries = keyed(interp, interp.iterate(value), make_sort_keys(a.get(1), a.get(0), false));
  ValueList seen, out;
  for (const auto& entry : entries) {
    const Value& key = entry.first;
    if (!py_hashable(key)) fail("unhashable type: '" + type_name(key) + "'");
    if (std::any_of(seen.begin(), seen.end(), [&key](const Value& s) { return py_equals(s, key); })) continue;
    interp.budget().charge(static_cast<int64_t>(seen.size() / 16));
    seen.push_back(key);
    out.push_back(entry.second);
  }
  return out;
}

Value filter_unique(Interpreter& interp, const Value& value, const CallArgs& args) {
  return generator(interp, produce_unique, value, args, "sync_do_unique");
}

Value filter_reverse(Interpreter& interp, const Value& value, const CallArgs& args) {
  ArgBinder("reverse", args, {});
  if (value.is_string()) {
    const std::vector<size_t> offsets = code_point_offsets(value.str().text);
    TStringBuilder out;
    for (size_t i = offsets.size() - 1; i > 0; --i) out.append_slice(value.str(), offsets[i - 1], offsets[i]);
    return Value::string(out.finish());
  }
  const bool reversible = value.kind() != Kind::kIterator;
  ValueList items = interp.iterate(value);
  std::reverse(items.begin(), items.end());
  if (!reversible) return Value::list(std::move(items));
  return Value::iterator([items = std::move(items)]() mutable { return std::move(items); }, "reversed", {value});
}

Value filter_dictsort(Interpreter& interp, const Value& value, const CallArgs& args) {
  ArgBinder a("dictsort", args, {"case_sensitive", "by", "reverse"});
  if (!value.is_dict()) fail("dictsort expects a mapping, not " + type_name(value));
  const std::string by = a.get(1) != nullptr ? text_of(*a.get(1)).text : "key";
  if (by != "key" && by != "value") fail("You can only sort by either \"key\" or \"value\"");
  const bool case_sensitive = a.get(0) != nullptr && py_truthy(*a.get(0));
  std::vector<std::pair<Value, Value>> entries;
  for (const auto& [key, item] : value.dict().entries) {
    const Value& k = by == "key" ? key : item;
    entries.emplace_back(case_sensitive ? k : lowercase_if_string(k), Value::list({key, item}, SeqKind::kTuple));
  }
  sort_keyed(interp, entries, a.get(2) != nullptr && py_truthy(*a.get(2)));
  ValueList out;
  for (auto& entry : entries) out.push_back(std::move(entry.second));
  return Value::list(std::move(out));
}

ValueList produce_batch(Interpreter& interp, const Value& value, const CallArgs& args) {
  ArgBinder a("batch", args, {"linecount", "fill_with"});
  if (a.get(0) == nullptr || !a.get(0)->is_int()) fail("batch() requires an integer line count");
  const int64_t size = a.get(0)->as_int();
  if (size <= 0) fail("batch() line count must be positive");
  ValueList batches, current;
  for (const Value& item : interp.iterate(value)) {
    current.push_back(item);
    if (static_cast<int64_t>(current.size()) == size) {
      batches.push_back(Value::list(std::move(current)));
      current.clear();
    }
  }
  if (!current.empty()) {
    if (a.get(1) != nullptr && !a.get(1)->is_none()) {
      while (static_cast<int64_t>(current.size()) < size) current.push_back(*a.get(1));
    }
    batches.push_back(Value::list(std::move(current)));
  }
  return batches;
}

Value filter_batch(Interpreter& interp, const Value& value, const CallArgs& args) {
  return generator(interp, produce_batch, value, args, "do_batch");
}

Value filter_attr(Interpreter& interp, const Value& value, const CallArgs& args) {
  ArgBinder a("attr", args, {"name"});
  if (a.get(0) == nullptr) fail("attr() missing 1 required positional argument: 'name'");
  const std::string name = text_of(*a.get(0)).text;
  if (value.kind() == Kind::kNamespace || builtin_attribute(value, name)) return interp.getattr(value, name);
  return Value::undefined(object_description(value) + " has no attribute '" + name + "'");
}

FilterTable make_table() {
  FilterTable table;
  table["default"] = table["d"] = filter_default;
  table["length"] = table["count"] = filter_length;
  table["first"] = filter_first;
  table["last"] = filter_last;
  table["list"] = filter_list;
  table["join"] = filter_join;
  table["items"] = filter_items;
  table["map"] = filter_map;
  table["select"] = filter_select<true, false>;
  table["reject"] = filter_select<false, false>;
  table["selectattr"] = filter_select<true, true>;
  table["rejectattr"] = filter_select<false, true>;
  table["sum"] = filter_sum;
  table["sort"] = filter_sort;
  table["min"] = filter_min_max<true>;
  table["max"] = filter_min_max<false>;
  table["unique"] = filter_unique;
  table["reverse"] = filter_reverse;
  table["dictsort"] = filter_dictsort;
  table["batch"] = filter_batch;
  table["attr"] = filter_attr;
  add_text_filters(table);
  return table;
}

}  // namespace

FilterFn find_filter(const std::string& name) {
  static const FilterTable table = make_table();
  const auto it = table.find(name);
  return it == table.end() ? nullptr : it->second;
}

}  // namespace swallow::jinja
