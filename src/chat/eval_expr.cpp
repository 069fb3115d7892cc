// Expression evaluation and the attribute / item / call protocol of jinja2's sandbox.
#include "chat/builtins.h"
#include "chat/interpreter.h"
#include "chat/operators.h"
#include "chat/py_format.h"

namespace swallow::jinja {

Value Interpreter::eval(const Expr& expr, const ScopePtr& scope) {
  FrameGuard guard(*this);
  budget_.charge(1);
  try {
    return eval_node(expr, scope);
  } catch (const RenderFailure&) {
    if (!failure_offset_) failure_offset_ = expr.offset;
    throw;
  }
}

Value Interpreter::eval_node(const Expr& expr, const ScopePtr& scope) {
  const auto& c = expr.children;
  switch (expr.kind) {
    case ExprKind::kConst: return expr.constant;
    case ExprKind::kName: {
      const Value* value = scope->find(expr.name);
      return value != nullptr ? *value : Value::undefined("'" + expr.name + "' is undefined");
    }
    case ExprKind::kList:
    case ExprKind::kTuple: {
      ValueList items;
      items.reserve(c.size());
      for (const auto& child : c) items.push_back(eval(*child, scope));
      return Value::list(std::move(items), expr.kind == ExprKind::kTuple ? SeqKind::kTuple : SeqKind::kList);
    }
    case ExprKind::kDict: {
      DictObject dict;
      for (size_t i = 0; i + 1 < c.size(); i += 2) {
        Value key = eval(*c[i], scope);
        if (!py_hashable(key)) fail("unhashable type: '" + type_name(key) + "'");
        dict.set(std::move(key), eval(*c[i + 1], scope));
      }
      return Value::dict(std::move(dict));
    }
    case ExprKind::kGetattr: return getattr(eval(*c[0], scope), expr.name);
    case ExprKind::kGetitem: return eval_getitem(expr, scope);
    case ExprKind::kSlice: fail_unsupported("a slice can only be used as a subscript");
    case ExprKind::kCall: {
      const Value callee = eval(*c[0], scope);
      return call(callee, eval_args(expr, scope));
    }
    case ExprKind::kFilter: return eval_filter(expr, scope, nullptr);
    case ExprKind::kTest: {
      const Value operand = eval(*c[0], scope);
      return Value::boolean(apply_test(expr.name, operand, eval_args(expr, scope)));
    }
    case ExprKind::kNeg:
    case ExprKind::kPos: return py_negate(eval(*c[0], scope), expr.kind == ExprKind::kNeg);
    case ExprKind::kNot: return Value::boolean(!py_truthy(eval(*c[0], scope)));
    case ExprKind::kBinary: {
      const Value left = eval(*c[0], scope);
      return py_arithmetic(expr.name, left, eval(*c[1], scope), budget_);
    }
    case ExprKind::kAnd: {
      Value left = eval(*c[0], scope);
      return py_truthy(left) ? eval(*c[1], scope) : left;
    }
    case ExprKind::kOr: {
      Value left = eval(*c[0], scope);
      return py_truthy(left) ? left : eval(*c[1], scope);
    }
    case ExprKind::kConcat: {
      TStringBuilder out;
      for (const auto& child : c) {
        const TString piece = to_py_str(eval(*child, scope));
        budget_.reserve(out.size() + piece.text.size());
        out.append(piece);
      }
      return Value::string(out.finish());
    }
    case ExprKind::kCompare: return eval_compare(expr, scope);
    case ExprKind::kCondExpr:
      if (py_truthy(eval(*c[0], scope))) return eval(*c[1], scope);
      if (c[2]) return eval(*c[2], scope);
      return Value::undefined("the inline if-expression evaluated to false and no else section was defined.");
  }
  return Value();
}

Value Interpreter::eval_compare(const Expr& expr, const ScopePtr& scope) {
  Value left = eval(*expr.children[0], scope);
  for (size_t i = 0; i < expr.compare_ops.size(); ++i) {
    Value right = eval(*expr.children[i + 1], scope);
    const std::string& op = expr.compare_ops[i];
    bool result = false;
    if (op == "==") {
      result = py_equals(left, right);
    } else if (op == "!=") {
      result = !py_equals(left, right);
    } else if (op == "in") {
      result = py_contains(right, left);
    } else if (op == "notin") {
      result = !py_contains(right, left);
    } else {
      result = py_order(op, left, right);
    }
    if (!result) return Value::boolean(false);
    left = std::move(right);
  }
  return Value::boolean(true);
}

CallArgs Interpreter::eval_args(const Expr& expr, const ScopePtr& scope) {
  CallArgs args;
  for (const ExprPtr& arg : expr.args) args.positional.push_back(eval(*arg, scope));
  if (expr.dyn_args) {
    for (Value& item : iterate(eval(*expr.dyn_args, scope))) args.positional.push_back(std::move(item));
  }
  for (const Keyword& kw : expr.kwargs) args.keywords.emplace_back(kw.name, eval(*kw.value, scope));
  if (expr.dyn_kwargs) {
    const Value extra = eval(*expr.dyn_kwargs, scope);
    if (!extra.is_dict()) fail("argument after ** must be a mapping, not " + type_name(extra));
    for (const auto& [key, value] : extra.dict().entries) {
      if (!key.is_string()) fail("keywords must be strings");
      args.keywords.emplace_back(key.str().text, value);
    }
  }
  return args;
}

Value Interpreter::eval_filter(const Expr& expr, const ScopePtr& scope, const Value* operand) {
  const Expr* inner = expr.children[0].get();
  Value base;
  if (inner == nullptr) {
    base = *operand;
  } else if (operand != nullptr && inner->kind == ExprKind::kFilter) {
    base = eval_filter(*inner, scope, operand);
  } else {
    base = eval(*inner, scope);
  }
  return apply_filter(expr.name, base, eval_args(expr, scope));
}

Value Interpreter::eval_getitem(const Expr& expr, const ScopePtr& scope) {
  const Value object = eval(*expr.children[0], scope);
  const Expr& key = *expr.children[1];
  if (key.kind != ExprKind::kSlice) return getitem(object, eval(key, scope));
  Value bounds[3];
  for (size_t i = 0; i < 3; ++i) bounds[i] = key.children[i] ? eval(*key.children[i], scope) : Value::none();
  if (object.is_undefined()) fail_undefined(object);
  if (auto sliced = py_slice(object, bounds[0], bounds[1], bounds[2])) return *sliced;
  // jinja2 compiles slices to a plain Python subscript, so unsliceable objects raise TypeError.
  if (object.is_dict()) fail("unhashable type: 'slice'");
  fail("'" + type_name(object) + "' object is not subscriptable");
}

Value Interpreter::apply_filter(const std::string& name, const Value& operand, const CallArgs& args) {
  const FilterFn filter = find_filter(name);
  if (filter == nullptr) fail("No filter named '" + name + "'.");
  return filter(*this, operand, args);
}

bool Interpreter::apply_test(const std::string& name, const Value& operand, const CallArgs& args) {
  const TestFn test = find_test(name);
  if (test == nullptr) fail("No test named '" + name + "'.");
  return test(*this, operand, args);
}

Value Interpreter::getattr(const Value& object, const std::string& name) {
  if (object.is_undefined()) fail_undefined(object);
  if (object.kind() == Kind::kNamespace) {
    const Value* value = object.ns().attributes.find(name);
    if (value != nullptr) return *value;
  } else if (std::optional<Value> method = builtin_attribute(object, name)) {
    return *method;
  } else if (object.is_dict()) {
    const Value* value = object.dict().find(name);
    if (value != nullptr) return *value;
  }
  return Value::undefined(object_description(object) + " has no attribute '" + name + "'");
}

Value Interpreter::getitem(const Value& object, const Value& key) {
  if (object.is_undefined()) fail_undefined(object);
  if (object.is_dict() && py_hashable(key)) {
    const Value* value = object.dict().find(key);
    if (value != nullptr) return *value;
  } else if (std::optional<Value> item = py_index(object, key)) {
    return *item;
  }
  if (key.is_string()) return getattr(object, key.str().text);
  TStringBuilder name;
  append_py_repr(name, key);
  return Value::undefined(type_name(object) + " object has no element " + name.finish().text);
}

Value Interpreter::call(const Value& callee, const CallArgs& args) {
  if (callee.is_undefined()) fail_undefined(callee);
  if (callee.kind() != Kind::kCallable) fail("'" + type_name(callee) + "' object is not callable");
  const CallableObject& fn = callee.callable();
  switch (fn.type) {
    case CallableObject::Type::kGlobal: return call_global(*this, fn.name, args);
    case CallableObject::Type::kMethod: return call_method(*this, fn.receiver, fn.name, args);
    case CallableObject::Type::kMacro: return call_macro(fn, args);
  }
  return Value();
}

}  // namespace swallow::jinja
