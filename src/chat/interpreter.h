// Renders a parsed template: statements, scopes (jinja2's: a fresh scope per loop iteration,
// per macro call and per `with`), macros, loop variables, output capture, and the services that
// filters, tests and methods call back into. One Interpreter per render call; single-threaded.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "chat/ast.h"
#include "chat/budget.h"
#include "chat/tainted_string.h"
#include "chat/value.h"

namespace swallow::jinja {

struct CallArgs {
  ValueList positional;
  std::vector<std::pair<std::string, Value>> keywords;
};

// Binds call arguments to a Python-style parameter list, e.g. join(d="", attribute=None):
// positional arguments in order, then keywords by name; extra or unknown ones are errors.
class ArgBinder {
 public:
  ArgBinder(const std::string& function, const CallArgs& args, std::vector<std::string> params);
  // The argument for parameter `i`, or nullptr when it was not passed.
  const Value* get(size_t i) const { return bound_[i]; }
  Value get_or(size_t i, Value fallback) const { return bound_[i] ? *bound_[i] : std::move(fallback); }

 private:
  std::vector<const Value*> bound_;
};

class Scope : public std::enable_shared_from_this<Scope> {
 public:
  explicit Scope(std::shared_ptr<Scope> parent = nullptr) : parent_(std::move(parent)) {}
  const Value* find(const std::string& name) const;
  void set(const std::string& name, Value value);

 private:
  std::shared_ptr<Scope> parent_;
  std::vector<std::pair<std::string, Value>> vars_;
};

using ScopePtr = std::shared_ptr<Scope>;

class Interpreter {
 public:
  Interpreter(const TemplateAst& ast, Budget& budget) : ast_(ast), budget_(budget) {}
  // Empties the namespaces the render created (breaking any reference cycles through them).
  ~Interpreter();
  Interpreter(const Interpreter&) = delete;
  Interpreter& operator=(const Interpreter&) = delete;

  TString render(const ScopePtr& scope);
  // Where the last failure happened (byte offset in the normalised source), if known.
  std::optional<size_t> failure_offset() const { return failure_offset_; }

  // Services for filters, tests and methods.
  Budget& budget() { return budget_; }
  Value getattr(const Value& object, const std::string& name);
  Value getitem(const Value& object, const Value& key);
  Value call(const Value& callee, const CallArgs& args);
  Value apply_filter(const std::string& name, const Value& operand, const CallArgs& args);
  bool apply_test(const std::string& name, const Value& operand, const CallArgs& args);
  // Python iter(): list items, dict keys, string characters; consumes one-shot iterators.
  ValueList iterate(const Value& iterable);
  // Records a namespace() created by this render so that the destructor can release it.
  void track_namespace(const std::shared_ptr<NamespaceObject>& ns) { namespaces_.push_back(ns); }

 private:
  enum class Flow { kNormal, kBreak, kContinue };

  Flow exec_body(const Body& body, const ScopePtr& scope);
  Flow exec(const Stmt& stmt, const ScopePtr& scope);
  Flow exec_for(const Stmt& stmt, const ScopePtr& scope);
  void exec_output(const Stmt& stmt, const ScopePtr& scope);
  void assign(const Target& target, const Value& value, const ScopePtr& scope);
  TString capture(const Body& body, const ScopePtr& scope);
  Value call_macro(const CallableObject& macro, const CallArgs& args);
  void write(const TString& text);

  // Expressions (eval_expr.cpp).
  Value eval(const Expr& expr, const ScopePtr& scope);
  Value eval_node(const Expr& expr, const ScopePtr& scope);
  CallArgs eval_args(const Expr& expr, const ScopePtr& scope);
  Value eval_compare(const Expr& expr, const ScopePtr& scope);
  Value eval_filter(const Expr& expr, const ScopePtr& scope, const Value* operand);
  Value eval_getitem(const Expr& expr, const ScopePtr& scope);

  // Counts nested eval/exec frames so that no template can exhaust the native stack.
  struct FrameGuard {
    explicit FrameGuard(Interpreter& interpreter);
    ~FrameGuard() { --interpreter_.frames_; }
    Interpreter& interpreter_;
  };

  const TemplateAst& ast_;
  Budget& budget_;
  std::vector<TStringBuilder> outputs_;  // innermost capture last
  std::optional<size_t> failure_offset_;
  std::vector<ScopePtr> macro_scopes_;  // scopes that define macros (macros point at them)
  std::vector<std::weak_ptr<NamespaceObject>> namespaces_;
  int frames_ = 0;
  int macro_depth_ = 0;
};

// Native stack frames of eval/exec one render may nest (macro recursion included).
constexpr int kMaxFrames = 3000;

}  // namespace swallow::jinja
