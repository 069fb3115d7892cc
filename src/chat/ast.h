// Syntax tree of a parsed template: expressions and statements of the jinja2 subset. Built once by
// the parser, owned by ChatTemplate, read-only afterwards (shared by concurrent renders).
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "chat/value.h"

namespace swallow::jinja {

enum class ExprKind : uint8_t {
  kConst, kName, kList, kTuple, kDict, kGetattr, kGetitem, kSlice, kCall, kFilter, kTest,
  kNeg, kPos, kNot, kBinary, kAnd, kOr, kConcat, kCompare, kCondExpr
};

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Keyword {
  std::string name;
  ExprPtr value;
};

struct Expr {
  ExprKind kind = ExprKind::kConst;
  size_t offset = 0;  // where it starts in the normalised source
  int height = 1;     // nesting depth of this subtree (bounded by the parser)
  Value constant;     // kConst
  // kName: the name; kGetattr: the attribute; kFilter/kTest: the filter/test name;
  // kBinary: the operator ("+", "-", "*", "/", "//", "%", "**").
  std::string name;
  // Operands. kList/kTuple/kConcat: items; kDict: key, value, key, value...; kGetattr: object;
  // kGetitem: object, key; kSlice: start, stop, step (each may be null); kCall: callee;
  // kFilter/kTest: operand (null for {% filter %} blocks and {% set x | f %}); unary: operand;
  // kBinary/kAnd/kOr: left, right; kCompare: first operand then one per operator;
  // kCondExpr: test, value if true, value if false (may be null).
  std::vector<ExprPtr> children;
  std::vector<std::string> compare_ops;  // kCompare: "==", "!=", "<", "<=", ">", ">=", "in", "notin"
  std::vector<ExprPtr> args;             // kCall/kFilter/kTest positional arguments
  std::vector<Keyword> kwargs;
  ExprPtr dyn_args, dyn_kwargs;          // *args, **kwargs
};

// What a for/set/with assigns to: one name, several names (tuple unpacking) or namespace.attr.
struct Target {
  enum class Type : uint8_t { kName, kTuple, kNamespaceAttr };
  Type type = Type::kName;
  std::vector<std::string> names;  // kNamespaceAttr: the namespace variable
  std::string attribute;           // kNamespaceAttr only
};

enum class StmtKind : uint8_t {
  kOutput, kIf, kFor, kSet, kSetBlock, kMacro, kBreak, kContinue, kWith, kFilterBlock, kGeneration
};

struct Stmt;
using Body = std::vector<std::unique_ptr<Stmt>>;

// One piece of output: literal template text, or an expression to print.
struct OutputPiece {
  std::string text;
  ExprPtr expr;
  size_t offset = 0;
};

struct Stmt {
  StmtKind kind = StmtKind::kOutput;
  size_t offset = 0;
  std::vector<OutputPiece> output;                  // kOutput
  std::vector<std::pair<ExprPtr, Body>> branches;   // kIf: (test, body) for if and each elif
  Body body;                                        // for/set-block/macro/with/filter/generation
  Body else_body;                                   // if/for
  Target target;                                    // for/set/set-block
  ExprPtr expr;                                     // for: iterable; set: value
  ExprPtr condition;                                // for: the `if` filter
  ExprPtr filter;                                   // set-block/filter block: filter chain
  std::string name;                                 // macro
  std::vector<std::string> params;                  // macro
  std::vector<ExprPtr> defaults;                    // macro: defaults of the last params
  bool catches_varargs = false;                     // macro body reads `varargs` (extra positionals)
  bool catches_kwargs = false;                      // macro body reads `kwargs` (extra keywords)
  std::vector<Target> with_targets;                 // with
  std::vector<ExprPtr> with_values;                 // with
};

struct TemplateAst {
  std::string source;  // normalised source, for error locations
  Body body;
};

}  // namespace swallow::jinja
