// Statement execution, scopes, macros and output capture.
#include "chat/interpreter.h"

#include "chat/builtins.h"
#include "chat/operators.h"
#include "chat/py_format.h"
#include "chat/unicode_text.h"

namespace swallow::jinja {

ArgBinder::ArgBinder(const std::string& function, const CallArgs& args, std::vector<std::string> params)
    : bound_(params.size(), nullptr) {
  if (args.positional.size() > params.size()) {
    fail(function + "() takes at most " + std::to_string(params.size()) + " argument(s) (" +
         std::to_string(args.positional.size()) + " given)");
  }
  for (size_t i = 0; i < args.positional.size(); ++i) bound_[i] = &args.positional[i];
  for (const auto& [name, value] : args.keywords) {
    size_t i = 0;
    while (i < params.size() && params[i] != name) ++i;
    if (i == params.size()) fail(function + "() got an unexpected keyword argument '" + name + "'");
    if (bound_[i] != nullptr) fail(function + "() got multiple values for argument '" + name + "'");
    bound_[i] = &value;
  }
}

const Value* Scope::find(const std::string& name) const {
  for (const Scope* scope = this; scope != nullptr; scope = scope->parent_.get()) {
    for (const auto& [key, value] : scope->vars_) {
      if (key == name) return &value;
    }
  }
  return nullptr;
}

void Scope::set(const std::string& name, Value value) {
  for (auto& [key, existing] : vars_) {
    if (key == name) {
      existing = std::move(value);
      return;
    }
  }
  vars_.emplace_back(name, std::move(value));
}

Interpreter::FrameGuard::FrameGuard(Interpreter& interpreter) : interpreter_(interpreter) {
  if (++interpreter_.frames_ > kMaxFrames) {
    --interpreter_.frames_;
    throw RenderFailure(FailureKind::kBudget, "the template nests or recurses too deeply");
  }
}

Interpreter::~Interpreter() {
  // Namespaces are the only mutable containers, so only they can hold themselves or long chains of
  // each other. Keep them all alive while emptying them, then let them go: nothing leaks and no
  // deep chain is destroyed recursively.
  std::vector<std::shared_ptr<NamespaceObject>> alive;
  for (const auto& weak : namespaces_) {
    if (auto ns = weak.lock()) alive.push_back(std::move(ns));
  }
  for (const auto& ns : alive) {
    ns->attributes.entries.clear();
    ns->attributes.string_index.clear();
  }
}

TString Interpreter::render(const ScopePtr& scope) {
  outputs_.emplace_back();
  exec_body(ast_.body, scope);
  TString result = outputs_.back().finish();
  outputs_.pop_back();
  return result;
}

void Interpreter::write(const TString& text) {
  TStringBuilder& out = outputs_.back();
  budget_.check_size(out.size() + text.text.size());
  budget_.charge(static_cast<int64_t>(text.text.size() / 64));
  out.append(text);
}

TString Interpreter::capture(const Body& body, const ScopePtr& scope) {
  outputs_.emplace_back();
  exec_body(body, scope);
  TString captured = outputs_.back().finish();
  outputs_.pop_back();
  return captured;
}

Interpreter::Flow Interpreter::exec_body(const Body& body, const ScopePtr& scope) {
  for (const auto& stmt : body) {
    const Flow flow = exec(*stmt, scope);
    if (flow != Flow::kNormal) return flow;
  }
  return Flow::kNormal;
}

Interpreter::Flow Interpreter::exec(const Stmt& stmt, const ScopePtr& scope) {
  FrameGuard guard(*this);
  budget_.charge(1);
  try {
    switch (stmt.kind) {
      case StmtKind::kOutput:
        exec_output(stmt, scope);
        return Flow::kNormal;
      case StmtKind::kIf:
        for (const auto& [test, body] : stmt.branches) {
          if (py_truthy(eval(*test, scope))) return exec_body(body, scope);
        }
        return exec_body(stmt.else_body, scope);
      case StmtKind::kFor:
        return exec_for(stmt, scope);
      case StmtKind::kSet:
        assign(stmt.target, eval(*stmt.expr, scope), scope);
        return Flow::kNormal;
      case StmtKind::kSetBlock: {
        Value text = Value::string(capture(stmt.body, scope));
        assign(stmt.target, stmt.filter ? eval_filter(*stmt.filter, scope, &text) : text, scope);
        return Flow::kNormal;
      }
      case StmtKind::kMacro: {
        auto macro = std::make_shared<CallableObject>();
        macro->type = CallableObject::Type::kMacro;
        macro->name = stmt.name;
        macro->macro = &stmt;
        macro->closure = scope.get();
        macro_scopes_.push_back(scope);
        scope->set(stmt.name, Value::callable(std::move(macro)));
        return Flow::kNormal;
      }
      case StmtKind::kBreak: return Flow::kBreak;
      case StmtKind::kContinue: return Flow::kContinue;
      case StmtKind::kWith: {
        std::vector<Value> values;
        for (const auto& value : stmt.with_values) values.push_back(eval(*value, scope));
        auto inner = std::make_shared<Scope>(scope);
        for (size_t i = 0; i < values.size(); ++i) assign(stmt.with_targets[i], values[i], inner);
        return exec_body(stmt.body, inner);
      }
      case StmtKind::kFilterBlock: {
        const Value text = Value::string(capture(stmt.body, scope));
        write(to_py_str(eval_filter(*stmt.filter, scope, &text)));
        return Flow::kNormal;
      }
      case StmtKind::kGeneration:
        return exec_body(stmt.body, std::make_shared<Scope>(scope));
    }
  } catch (const RenderFailure&) {
    if (!failure_offset_) failure_offset_ = stmt.offset;
    throw;
  }
  return Flow::kNormal;
}

void Interpreter::exec_output(const Stmt& stmt, const ScopePtr& scope) {
  for (const OutputPiece& piece : stmt.output) {
    if (piece.expr) {
      write(to_py_str(eval(*piece.expr, scope)));
    } else {
      write(TString(piece.text));
    }
  }
}

Interpreter::Flow Interpreter::exec_for(const Stmt& stmt, const ScopePtr& scope) {
  ValueList items = iterate(eval(*stmt.expr, scope));
  if (stmt.condition) {
    ValueList kept;
    for (Value& item : items) {
      budget_.charge(1);
      auto probe = std::make_shared<Scope>(scope);
      assign(stmt.target, item, probe);
      if (py_truthy(eval(*stmt.condition, probe))) kept.push_back(std::move(item));
    }
    items = std::move(kept);
  }
  if (items.empty()) {
    exec_body(stmt.else_body, std::make_shared<Scope>(scope));
    return Flow::kNormal;
  }
  auto shared = std::make_shared<LoopShared>();
  shared->depth = max_nesting(items);
  shared->items = std::move(items);
  for (size_t i = 0; i < shared->items.size(); ++i) {
    budget_.charge(1);
    auto iteration = std::make_shared<Scope>(scope);
    assign(stmt.target, shared->items[i], iteration);
    auto loop = std::make_shared<LoopObject>();
    loop->shared = shared;
    loop->index0 = i;
    iteration->set("loop", Value::loop(std::move(loop)));
    if (exec_body(stmt.body, iteration) == Flow::kBreak) break;
  }
  return Flow::kNormal;
}

void Interpreter::assign(const Target& target, const Value& value, const ScopePtr& scope) {
  switch (target.type) {
    case Target::Type::kName:
      scope->set(target.names.front(), value);
      return;
    case Target::Type::kNamespaceAttr: {
      const Value* ns = scope->find(target.names.front());
      if (ns == nullptr || ns->kind() != Kind::kNamespace) fail("cannot assign attribute on non-namespace object");
      ns->ns().attributes.set(Value::string(target.attribute), value);
      return;
    }
    case Target::Type::kTuple: {
      const ValueList items = iterate(value);
      if (items.size() != target.names.size()) {
        fail(items.size() > target.names.size()
                 ? "too many values to unpack (expected " + std::to_string(target.names.size()) + ")"
                 : "not enough values to unpack (expected " + std::to_string(target.names.size()) + ", got " +
                       std::to_string(items.size()) + ")");
      }
      for (size_t i = 0; i < items.size(); ++i) scope->set(target.names[i], items[i]);
      return;
    }
  }
}

Value Interpreter::call_macro(const CallableObject& macro, const CallArgs& args) {
  if (macro_depth_ >= budget_.max_depth()) {
    throw RenderFailure(FailureKind::kBudget,
                        "macro calls nested deeper than the limit of " + std::to_string(budget_.max_depth()));
  }
  const Stmt& def = *macro.macro;
  auto scope = std::make_shared<Scope>(macro.closure->shared_from_this());
  std::vector<const Value*> bound(def.params.size(), nullptr);
  ValueList varargs;
  DictObject kwargs;
  for (size_t i = 0; i < args.positional.size(); ++i) {
    if (i < bound.size()) {
      bound[i] = &args.positional[i];
    } else if (def.catches_varargs) {
      varargs.push_back(args.positional[i]);
    } else {
      fail("macro '" + def.name + "' takes not more than " + std::to_string(bound.size()) + " argument(s)");
    }
  }
  for (const auto& [name, value] : args.keywords) {
    size_t i = 0;
    while (i < def.params.size() && def.params[i] != name) ++i;
    if (i == def.params.size()) {
      if (!def.catches_kwargs) fail("macro '" + def.name + "' takes no keyword argument '" + name + "'");
      kwargs.set(Value::string(name), value);
    } else if (bound[i] != nullptr) {
      fail("macro '" + def.name + "' got multiple values for argument '" + name + "'");
    } else {
      bound[i] = &value;
    }
  }
  const size_t first_default = def.params.size() - def.defaults.size();
  for (size_t i = 0; i < def.params.size(); ++i) {
    if (bound[i] != nullptr) {
      scope->set(def.params[i], *bound[i]);
    } else if (i >= first_default) {
      scope->set(def.params[i], eval(*def.defaults[i - first_default], scope));
    } else {
      scope->set(def.params[i], Value::undefined("'" + def.params[i] + "' is undefined"));
    }
  }
  if (def.catches_varargs) scope->set("varargs", Value::list(std::move(varargs), SeqKind::kTuple));
  if (def.catches_kwargs) scope->set("kwargs", Value::dict(std::move(kwargs)));
  ++macro_depth_;
  TString text = capture(def.body, scope);
  --macro_depth_;
  return Value::string(std::move(text));
}

ValueList Interpreter::iterate(const Value& iterable) {
  switch (iterable.kind()) {
    case Kind::kUndefined: return {};
    case Kind::kList: return iterable.list().items;
    case Kind::kDict: {
      ValueList keys;
      keys.reserve(iterable.dict().entries.size());
      for (const auto& entry : iterable.dict().entries) keys.push_back(entry.first);
      return keys;
    }
    case Kind::kString: {
      const TString& s = iterable.str();
      ValueList chars;
      for (size_t pos = 0; pos < s.text.size();) {
        const size_t start = pos;
        next_code_point(s.text, pos);
        chars.push_back(Value::string(slice(s, start, pos)));
      }
      budget_.charge(static_cast<int64_t>(chars.size()));
      return chars;
    }
    case Kind::kIterator: return iterable.iterator().take();
    default: fail("'" + type_name(iterable) + "' object is not iterable");
  }
}

}  // namespace swallow::jinja
