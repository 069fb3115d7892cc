// Tokens -> syntax tree, following jinja2's grammar (operator precedence, tuples, filters and
// tests, slices, call arguments, statements). Limits nesting so that hostile templates cannot
// exhaust the stack. One Parser per template; not shared between threads.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "chat/ast.h"
#include "chat/lexer.h"

namespace swallow::jinja {

// Parses a normalised template source. Throws swallow::Error (invalid_argument, or unsupported
// for jinja2 tags this engine refuses such as include/extends) with line:column.
TemplateAst parse_template(std::string normalized_source);

// Deepest expression nesting the parser accepts (jinja2 compiles to Python, which has similar
// limits); the interpreter's recursion is bounded through it.
constexpr int kMaxExpressionHeight = 200;
constexpr int kMaxStatementNesting = 64;

class Parser {
 public:
  Parser(std::string_view source, std::vector<Token> tokens) : source_(source), tokens_(std::move(tokens)) {}
  Body parse_all();

  // Expressions (parser_expr.cpp).
  ExprPtr parse_expression(bool with_condexpr = true);
  ExprPtr parse_tuple(bool with_condexpr = true, const std::vector<std::string>& extra_end = {},
                      bool explicit_parentheses = false);
  ExprPtr parse_filter(ExprPtr node, bool start_inline);

 private:
  // Token stream.
  const Token& current() const { return tokens_[pos_]; }
  const Token& look() const { return tokens_[pos_ + 1 < tokens_.size() ? pos_ + 1 : pos_]; }
  const Token& advance();
  bool at_name(std::string_view name) const;
  bool at_op(std::string_view op) const;
  bool skip_name(std::string_view name);
  bool skip_op(std::string_view op);
  void expect_op(std::string_view op);
  void expect_name(std::string_view name);
  std::string expect_identifier();
  void expect_type(TokenType type);
  std::string describe(const Token& token) const;
  [[noreturn]] void fail(const std::string& message, size_t offset) const;
  [[noreturn]] void fail_expected(const std::string& expected) const;

  // Statements (parser.cpp).
  Body subparse(const std::vector<std::string>* end_tokens);
  Body parse_statements(const std::vector<std::string>& end_tokens, bool drop_needle);
  std::unique_ptr<Stmt> parse_statement();
  std::unique_ptr<Stmt> parse_for();
  std::unique_ptr<Stmt> parse_if();
  std::unique_ptr<Stmt> parse_set();
  std::unique_ptr<Stmt> parse_macro();
  std::unique_ptr<Stmt> parse_with();
  std::unique_ptr<Stmt> parse_block_with_body(StmtKind kind, const std::string& end_tag);
  std::unique_ptr<Stmt> parse_print();
  Target parse_assign_target(const std::vector<std::string>& extra_end, bool with_namespace);
  [[noreturn]] void fail_unknown_tag(const std::string& name, size_t offset) const;

  // Expression levels (parser_expr.cpp).
  bool is_tuple_end(const std::vector<std::string>& extra_end) const;
  ExprPtr parse_condexpr();
  ExprPtr parse_or();
  ExprPtr parse_and();
  ExprPtr parse_not();
  ExprPtr parse_compare();
  ExprPtr parse_math1();
  ExprPtr parse_concat();
  ExprPtr parse_math2();
  ExprPtr parse_pow();
  ExprPtr parse_unary(bool with_filter);
  ExprPtr parse_primary();
  ExprPtr parse_list();
  ExprPtr parse_dict();
  ExprPtr parse_postfix(ExprPtr node);
  ExprPtr parse_filter_expr(ExprPtr node);
  ExprPtr parse_subscript(ExprPtr node);
  ExprPtr parse_subscribed();
  void parse_call_args(Expr& node);
  ExprPtr parse_call(ExprPtr node);
  ExprPtr parse_test(ExprPtr node);
  ExprPtr make(ExprKind kind, size_t offset) const;
  ExprPtr finish(ExprPtr node) const;
  ExprPtr binary(ExprKind kind, std::string op, ExprPtr left, ExprPtr right, size_t offset) const;

  // Guards recursion of the descent itself (deeply nested brackets, `not not not ...`).
  struct DepthGuard {
    explicit DepthGuard(Parser& parser);
    ~DepthGuard() { --parser_.depth_; }
    Parser& parser_;
  };

  std::string_view source_;
  std::vector<Token> tokens_;
  size_t pos_ = 0;
  int depth_ = 0;
  int loop_depth_ = 0;    // for loops enclosing the current statement (break/continue validity)
  int block_nesting_ = 0;
  int varargs_refs_ = 0;  // `varargs` / `kwargs` names seen (macros accept extra arguments if used)
  int kwargs_refs_ = 0;
  std::vector<const std::vector<std::string>*> end_token_stack_;
  std::vector<std::string> tag_stack_;
};

}  // namespace swallow::jinja
