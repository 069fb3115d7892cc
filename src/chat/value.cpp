// Value factories, dict lookup and Python type names.
#include "chat/value.h"

#include <algorithm>

#include "chat/operators.h"
#include "chat/render_error.h"

namespace swallow::jinja {

namespace {

int checked_depth(int depth) {
  if (depth > kMaxValueNesting) {
    fail("values nested deeper than " + std::to_string(kMaxValueNesting) + " levels are not supported");
  }
  return depth;
}

}  // namespace

int nesting_depth(const Value& value) {
  switch (value.kind()) {
    case Kind::kList: return value.list().depth;
    case Kind::kDict: return value.dict().depth;
    case Kind::kIterator: return value.iterator().depth;
    case Kind::kNamespace: return 1;
    case Kind::kCallable: return 1 + nesting_depth(value.callable().receiver);
    case Kind::kLoop: return 1 + value.loop().shared->depth;
    default: return 0;
  }
}

int max_nesting(const ValueList& items) {
  int depth = 0;
  for (const Value& item : items) depth = std::max(depth, nesting_depth(item));
  return depth;
}

Value Value::undefined(std::string message) {
  return Value(Data(std::in_place_index<0>, UndefinedInfo{std::make_shared<const std::string>(std::move(message))}));
}

Value Value::string(TString s) {
  return Value(Data(std::in_place_index<5>, std::make_shared<const TString>(std::move(s))));
}

Value Value::list(ValueList items, SeqKind kind) {
  auto object = std::make_shared<ListObject>();
  object->depth = checked_depth(1 + max_nesting(items));
  object->items = std::move(items);
  object->kind = kind;
  return Value(Data(std::in_place_index<6>, std::shared_ptr<const ListObject>(std::move(object))));
}

Value Value::range(int64_t start, int64_t stop, int64_t step, ValueList items) {
  auto object = std::make_shared<ListObject>();
  object->items = std::move(items);
  object->kind = SeqKind::kRange;
  object->range_start = start;
  object->range_stop = stop;
  object->range_step = step;
  return Value(Data(std::in_place_index<6>, std::shared_ptr<const ListObject>(std::move(object))));
}

Value Value::dict(DictObject dict) {
  int depth = 0;
  for (const auto& [key, value] : dict.entries) depth = std::max({depth, nesting_depth(key), nesting_depth(value)});
  dict.depth = checked_depth(1 + depth);
  return Value(Data(std::in_place_index<7>, std::make_shared<const DictObject>(std::move(dict))));
}

Value Value::iterator(std::function<ValueList()> produce, std::string origin, const ValueList& captured) {
  auto object = std::make_shared<IteratorObject>();
  object->depth = checked_depth(1 + max_nesting(captured));
  object->produce = std::move(produce);
  object->origin = std::move(origin);
  return Value(Data(std::in_place_index<8>, std::move(object)));
}

Value Value::namespace_object(std::shared_ptr<NamespaceObject> ns) {
  return Value(Data(std::in_place_index<9>, std::move(ns)));
}

Value Value::callable(std::shared_ptr<const CallableObject> fn) {
  return Value(Data(std::in_place_index<10>, std::move(fn)));
}

Value Value::loop(std::shared_ptr<const LoopObject> loop) {
  return Value(Data(std::in_place_index<11>, std::move(loop)));
}

double Value::to_double() const {
  switch (kind()) {
    case Kind::kBool: return as_bool() ? 1.0 : 0.0;
    case Kind::kInt: return static_cast<double>(as_int());
    default: return as_float();
  }
}

const std::string& Value::undefined_message() const {
  static const std::string kDefault = "value is undefined";
  const auto& info = std::get<0>(data_);
  return info.message ? *info.message : kDefault;
}

const void* Value::identity() const {
  switch (kind()) {
    case Kind::kString: return std::get<5>(data_).get();
    case Kind::kList: return std::get<6>(data_).get();
    case Kind::kDict: return std::get<7>(data_).get();
    case Kind::kIterator: return std::get<8>(data_).get();
    case Kind::kNamespace: return std::get<9>(data_).get();
    case Kind::kCallable: return std::get<10>(data_).get();
    case Kind::kLoop: return std::get<11>(data_).get();
    default: return nullptr;
  }
}

ValueList IteratorObject::take() {
  if (consumed) return {};
  consumed = true;
  auto producer = std::move(produce);
  produce = nullptr;
  return producer();
}

const Value* DictObject::find(const std::string& key) const {
  const auto it = string_index.find(key);
  return it == string_index.end() ? nullptr : &entries[it->second].second;
}

const Value* DictObject::find(const Value& key) const {
  if (key.is_string()) return find(key.str().text);
  for (const auto& [k, v] : entries) {
    if (!k.is_string() && py_equals(k, key)) return &v;
  }
  return nullptr;
}

void DictObject::set(Value key, Value value) {
  if (key.is_string()) {
    const auto [it, inserted] = string_index.emplace(key.str().text, entries.size());
    if (!inserted) {
      entries[it->second].second = std::move(value);
      return;
    }
    entries.emplace_back(std::move(key), std::move(value));
    return;
  }
  for (auto& [k, v] : entries) {
    if (!k.is_string() && py_equals(k, key)) {
      v = std::move(value);
      return;
    }
  }
  entries.emplace_back(std::move(key), std::move(value));
}

std::string type_name(const Value& value) {
  switch (value.kind()) {
    case Kind::kUndefined: return "Undefined";
    case Kind::kNone: return "NoneType";
    case Kind::kBool: return "bool";
    case Kind::kInt: return "int";
    case Kind::kFloat: return "float";
    case Kind::kString: return "str";
    case Kind::kList:
      switch (value.list().kind) {
        case SeqKind::kList: return "list";
        case SeqKind::kTuple: return "tuple";
        case SeqKind::kDictItems: return "dict_items";
        case SeqKind::kDictKeys: return "dict_keys";
        case SeqKind::kDictValues: return "dict_values";
        case SeqKind::kRange: return "range";
      }
      return "list";
    case Kind::kDict: return "dict";
    case Kind::kIterator: return "generator";
    case Kind::kNamespace: return "Namespace";
    case Kind::kCallable:
      return value.callable().type == CallableObject::Type::kMacro ? "Macro" : "builtin_function_or_method";
    case Kind::kLoop: return "LoopContext";
  }
  return "object";
}

}  // namespace swallow::jinja
