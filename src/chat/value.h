// The template engine's value type: the Python objects a Hugging Face chat template sees (None,
// bool, int, float, str, list/tuple, dict, generators, namespace(), macros, loop) plus jinja2's
// Undefined. Immutable containers are shared by pointer; the mutable ones (namespace, generator
// consumption, loop.changed state) belong to one render call, which runs on one thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "chat/tainted_string.h"

namespace swallow::jinja {

class Value;
using ValueList = std::vector<Value>;
struct ListObject;
struct DictObject;
struct IteratorObject;
struct NamespaceObject;
struct CallableObject;
struct LoopObject;

enum class Kind : uint8_t {
  kUndefined, kNone, kBool, kInt, kFloat, kString, kList, kDict, kIterator, kNamespace, kCallable, kLoop
};

// What Python type a list-like value is; it only changes how it prints and compares.
enum class SeqKind : uint8_t { kList, kTuple, kDictItems, kDictKeys, kDictValues, kRange };

class Value {
 public:
  Value() : data_(UndefinedInfo{}) {}
  // jinja2's Undefined; `message` is the UndefinedError raised when it is used.
  static Value undefined(std::string message);
  static Value none() { return Value(Data(std::in_place_index<1>)); }
  static Value boolean(bool b) { return Value(Data(std::in_place_index<2>, b)); }
  static Value integer(int64_t i) { return Value(Data(std::in_place_index<3>, i)); }
  static Value number(double d) { return Value(Data(std::in_place_index<4>, d)); }
  static Value string(TString s);
  static Value string(std::string plain) { return string(TString(std::move(plain))); }
  static Value list(ValueList items, SeqKind kind = SeqKind::kList);
  static Value range(int64_t start, int64_t stop, int64_t step, ValueList items);
  static Value dict(DictObject dict);
  // A one-shot iterator whose items `produce` computes when it is first iterated (Python
  // generators are lazy: errors inside them surface only when they are consumed). `captured` are
  // the values the producer holds, for the nesting bound.
  static Value iterator(std::function<ValueList()> produce, std::string origin, const ValueList& captured);
  static Value namespace_object(std::shared_ptr<NamespaceObject> ns);
  static Value callable(std::shared_ptr<const CallableObject> fn);
  static Value loop(std::shared_ptr<const LoopObject> loop);

  Kind kind() const { return static_cast<Kind>(data_.index()); }
  bool is_undefined() const { return kind() == Kind::kUndefined; }
  bool is_none() const { return kind() == Kind::kNone; }
  bool is_string() const { return kind() == Kind::kString; }
  bool is_int() const { return kind() == Kind::kInt; }
  bool is_number() const { return kind() == Kind::kInt || kind() == Kind::kFloat || kind() == Kind::kBool; }
  bool is_list() const { return kind() == Kind::kList; }
  bool is_dict() const { return kind() == Kind::kDict; }

  bool as_bool() const { return std::get<2>(data_); }
  int64_t as_int() const { return std::get<3>(data_); }
  double as_float() const { return std::get<4>(data_); }
  // Numeric value of a bool, int or float.
  double to_double() const;
  const TString& str() const { return *std::get<5>(data_); }
  const ListObject& list() const { return *std::get<6>(data_); }
  const DictObject& dict() const { return *std::get<7>(data_); }
  IteratorObject& iterator() const { return *std::get<8>(data_); }
  NamespaceObject& ns() const { return *std::get<9>(data_); }
  const CallableObject& callable() const { return *std::get<10>(data_); }
  const LoopObject& loop() const { return *std::get<11>(data_); }
  const std::string& undefined_message() const;
  // Identity of a shared object (Python `is`), null for scalars.
  const void* identity() const;

 private:
  struct UndefinedInfo {
    std::shared_ptr<const std::string> message;
  };
  using Data = std::variant<UndefinedInfo, std::monostate, bool, int64_t, double, std::shared_ptr<const TString>,
                            std::shared_ptr<const ListObject>, std::shared_ptr<const DictObject>,
                            std::shared_ptr<IteratorObject>, std::shared_ptr<NamespaceObject>,
                            std::shared_ptr<const CallableObject>, std::shared_ptr<const LoopObject>>;
  explicit Value(Data data) : data_(std::move(data)) {}
  Data data_;
};

// Deepest nesting of containers a template can build or receive (Python's recursion limit stops
// jinja2 near here too). Bounding it keeps printing, comparison and destruction off deep native
// recursion; walks over namespaces (the one mutable container) carry their own depth checks.
constexpr int kMaxValueNesting = 500;

// Nesting depth of a value: scalars 0, containers one more than their deepest element,
// namespaces 1 (their contents are released separately at the end of a render).
int nesting_depth(const Value& value);
int max_nesting(const ValueList& items);

struct ListObject {
  ValueList items;
  int depth = 1;
  SeqKind kind = SeqKind::kList;
  int64_t range_start = 0, range_stop = 0, range_step = 1;  // only for SeqKind::kRange
};

// An insertion-ordered dict with Python key equality (1 == 1.0 == True); string keys are indexed.
struct DictObject {
  std::vector<std::pair<Value, Value>> entries;
  int depth = 1;  // set by Value::dict
  std::unordered_map<std::string, size_t> string_index;

  const Value* find(const Value& key) const;
  const Value* find(const std::string& key) const;
  void set(Value key, Value value);
};

// A one-shot Python iterator (what select, map, items... return): iterating it twice yields
// nothing the second time, it is always true, and it has no length.
struct IteratorObject {
  std::function<ValueList()> produce;
  int depth = 1;
  std::string origin;  // e.g. "select_or_reject", for printing like Python
  bool consumed = false;

  // The items on first use, nothing afterwards.
  ValueList take();
};

struct NamespaceObject {
  DictObject attributes;
};

class Scope;
struct Stmt;

// Something callable: a global function, a method bound to a receiver, or a template macro.
struct CallableObject {
  enum class Type : uint8_t { kGlobal, kMethod, kMacro };
  Type type = Type::kGlobal;
  std::string name;
  Value receiver;                     // kMethod: the object whose method this is
  const Stmt* macro = nullptr;        // kMacro: the definition (owned by the parsed template)
  Scope* closure = nullptr;           // kMacro: the scope it was defined in (kept alive by the
                                      // Interpreter for the whole render; no ownership cycle)
};

// State shared by all iterations of one for loop.
struct LoopShared {
  ValueList items;
  int depth = 0;  // max_nesting(items)
  ValueList last_changed;
  bool changed_called = false;
  int depth0 = 0;
};

// The `loop` variable of one iteration.
struct LoopObject {
  std::shared_ptr<LoopShared> shared;
  size_t index0 = 0;
};

// Python's type name of a value, for error messages: "dict", "str", "NoneType"...
std::string type_name(const Value& value);

}  // namespace swallow::jinja
