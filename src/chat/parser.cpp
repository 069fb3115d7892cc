// Statement parsing and the token-stream helpers of the parser.
#include "chat/parser.h"

#include "chat/builtins.h"
#include "core/error.h"

namespace swallow::jinja {
namespace {

// jinja2 rejects unknown filter and test names when it compiles a template, except inside
// `if` statements and conditional expressions ("soft" frames), where the error waits until the
// filter is called. Loop, macro, with, set-block and filter-block bodies start hard again.
class NameCheck {
 public:
  explicit NameCheck(std::string_view source) : source_(source) {}

  void body(const Body& statements, bool soft) {
    for (const auto& stmt : statements) statement(*stmt, soft);
  }

 private:
  void statement(const Stmt& stmt, bool soft) {
    for (const OutputPiece& piece : stmt.output) expr(piece.expr.get(), soft);
    for (const auto& [test, branch] : stmt.branches) {
      expr(test.get(), true);
      body(branch, true);
    }
    const bool branches = stmt.kind == StmtKind::kIf;
    body(stmt.body, branches);
    body(stmt.else_body, branches);
    expr(stmt.expr.get(), soft);
    expr(stmt.condition.get(), false);
    expr(stmt.filter.get(), false);
    for (const ExprPtr& value : stmt.defaults) expr(value.get(), false);
    for (const ExprPtr& value : stmt.with_values) expr(value.get(), soft);
  }

  void expr(const Expr* node, bool soft) {
    if (node == nullptr) return;
    if (node->kind == ExprKind::kCondExpr) soft = true;
    if (!soft && node->kind == ExprKind::kFilter && find_filter(node->name) == nullptr) {
      throw_syntax_error(source_, node->offset, "No filter named '" + node->name + "'.");
    }
    if (!soft && node->kind == ExprKind::kTest && find_test(node->name) == nullptr) {
      throw_syntax_error(source_, node->offset, "No test named '" + node->name + "'.");
    }
    for (const ExprPtr& child : node->children) expr(child.get(), soft);
    for (const ExprPtr& arg : node->args) expr(arg.get(), soft);
    for (const Keyword& kw : node->kwargs) expr(kw.value.get(), soft);
    expr(node->dyn_args.get(), soft);
    expr(node->dyn_kwargs.get(), soft);
  }

  std::string_view source_;
};

}  // namespace

TemplateAst parse_template(std::string normalized_source) {
  TemplateAst ast;
  ast.source = std::move(normalized_source);
  Parser parser(ast.source, tokenize(ast.source));
  ast.body = parser.parse_all();
  NameCheck(ast.source).body(ast.body, false);
  return ast;
}

// ---- token stream -------------------------------------------------------------------------------

const Token& Parser::advance() {
  const Token& token = tokens_[pos_];
  if (pos_ + 1 < tokens_.size()) ++pos_;
  return token;
}

bool Parser::at_name(std::string_view name) const {
  return current().type == TokenType::kName && current().text == name;
}

bool Parser::at_op(std::string_view op) const {
  return current().type == TokenType::kOperator && current().text == op;
}

bool Parser::skip_name(std::string_view name) {
  if (!at_name(name)) return false;
  advance();
  return true;
}

bool Parser::skip_op(std::string_view op) {
  if (!at_op(op)) return false;
  advance();
  return true;
}

void Parser::expect_op(std::string_view op) {
  if (!skip_op(op)) fail_expected(std::string(op));
}

void Parser::expect_name(std::string_view name) {
  if (!skip_name(name)) fail_expected(std::string(name));
}

std::string Parser::expect_identifier() {
  if (current().type != TokenType::kName) fail_expected("name");
  return advance().text;
}

void Parser::expect_type(TokenType type) {
  if (current().type == type) {
    advance();
    return;
  }
  fail_expected(describe(Token{type, "", 0, 0, 0}));
}

std::string Parser::describe(const Token& token) const {
  switch (token.type) {
    case TokenType::kName:
    case TokenType::kOperator: return token.text;
    case TokenType::kString: return "string";
    case TokenType::kInteger: return "integer";
    case TokenType::kFloat: return "float";
    case TokenType::kData: return "template data / text";
    case TokenType::kBlockBegin: return "begin of statement block";
    case TokenType::kBlockEnd: return "end of statement block";
    case TokenType::kVariableBegin: return "begin of print statement";
    case TokenType::kVariableEnd: return "end of print statement";
    case TokenType::kEof: return "end of template";
  }
  return "token";
}

void Parser::fail(const std::string& message, size_t offset) const { throw_syntax_error(source_, offset, message); }

void Parser::fail_expected(const std::string& expected) const {
  if (current().type == TokenType::kEof) fail("unexpected end of template, expected '" + expected + "'.", current().offset);
  fail("expected token '" + expected + "', got '" + describe(current()) + "'", current().offset);
}

Parser::DepthGuard::DepthGuard(Parser& parser) : parser_(parser) {
  if (++parser_.depth_ > kMaxExpressionHeight) parser_.fail("expression nested too deeply", parser_.current().offset);
}

// ---- statements ---------------------------------------------------------------------------------

Body Parser::parse_all() {
  Body body = subparse(nullptr);
  return body;
}

Body Parser::subparse(const std::vector<std::string>* end_tokens) {
  Body body;
  std::unique_ptr<Stmt> output;
  auto flush = [&] {
    if (output) body.push_back(std::move(output));
  };
  auto add_piece = [&](OutputPiece piece) {
    if (!output) {
      output = std::make_unique<Stmt>();
      output->kind = StmtKind::kOutput;
      output->offset = piece.offset;
    }
    output->output.push_back(std::move(piece));
  };
  if (end_tokens != nullptr) end_token_stack_.push_back(end_tokens);
  while (current().type != TokenType::kEof) {
    const Token& token = current();
    if (token.type == TokenType::kData) {
      add_piece(OutputPiece{token.text, nullptr, token.offset});
      advance();
    } else if (token.type == TokenType::kVariableBegin) {
      advance();
      const size_t offset = current().offset;
      add_piece(OutputPiece{"", parse_tuple(true), offset});
      expect_type(TokenType::kVariableEnd);
    } else if (token.type == TokenType::kBlockBegin) {
      flush();
      advance();
      if (end_tokens != nullptr && current().type == TokenType::kName) {
        for (const std::string& end : *end_tokens) {
          if (current().text == end) {
            end_token_stack_.pop_back();
            return body;
          }
        }
      }
      body.push_back(parse_statement());
      expect_type(TokenType::kBlockEnd);
    } else {
      fail("unexpected '" + describe(token) + "'", token.offset);
    }
  }
  flush();
  if (end_tokens != nullptr) end_token_stack_.pop_back();
  return body;
}

Body Parser::parse_statements(const std::vector<std::string>& end_tokens, bool drop_needle) {
  skip_op(":");
  expect_type(TokenType::kBlockEnd);
  if (++block_nesting_ > kMaxStatementNesting) fail("statements nested too deeply", current().offset);
  Body body = subparse(&end_tokens);
  --block_nesting_;
  if (current().type == TokenType::kEof) {
    std::string looking;
    for (size_t i = 0; i < end_tokens.size(); ++i) looking += (i ? " or '" : "'") + end_tokens[i] + "'";
    std::string message = "Unexpected end of template. Jinja was looking for the following tags: " + looking + ".";
    if (!tag_stack_.empty()) message += " The innermost block that needs to be closed is '" + tag_stack_.back() + "'.";
    fail(message, current().offset);
  }
  if (drop_needle) advance();
  return body;
}

void Parser::fail_unknown_tag(const std::string& name, size_t offset) const {
  std::string message = "Encountered unknown tag '" + name + "'.";
  if (!end_token_stack_.empty()) {
    const auto& looking = *end_token_stack_.back();
    std::string names;
    for (size_t i = 0; i < looking.size(); ++i) names += (i ? " or '" : "'") + looking[i] + "'";
    message += " Jinja was looking for the following tags: " + names + ".";
  }
  if (!tag_stack_.empty()) message += " The innermost block that needs to be closed is '" + tag_stack_.back() + "'.";
  fail(message, offset);
}

std::unique_ptr<Stmt> Parser::parse_statement() {
  const Token& token = current();
  if (token.type != TokenType::kName) fail("tag name expected", token.offset);
  const std::string tag = token.text;
  const size_t offset = token.offset;
  static const std::vector<std::string> kRefused = {"extends", "include", "import", "from", "block", "call", "autoescape"};
  for (const std::string& refused : kRefused) {
    if (tag == refused) {
      throw unsupported("chat template at " + describe_location(source_, offset) + ": the '" + tag +
                        "' tag is not supported by swallow's template engine");
    }
  }
  tag_stack_.push_back(tag);
  std::unique_ptr<Stmt> stmt;
  if (tag == "for") {
    stmt = parse_for();
  } else if (tag == "if") {
    stmt = parse_if();
  } else if (tag == "set") {
    stmt = parse_set();
  } else if (tag == "macro") {
    stmt = parse_macro();
  } else if (tag == "with") {
    stmt = parse_with();
  } else if (tag == "print") {
    stmt = parse_print();
  } else if (tag == "filter") {
    stmt = parse_block_with_body(StmtKind::kFilterBlock, "endfilter");
  } else if (tag == "generation") {
    stmt = parse_block_with_body(StmtKind::kGeneration, "endgeneration");
  } else if (tag == "break" || tag == "continue") {
    if (loop_depth_ == 0) fail("'" + tag + "' outside loop", offset);
    advance();
    stmt = std::make_unique<Stmt>();
    stmt->kind = tag == "break" ? StmtKind::kBreak : StmtKind::kContinue;
  } else {
    tag_stack_.pop_back();
    fail_unknown_tag(tag, offset);
  }
  tag_stack_.pop_back();
  stmt->offset = offset;
  return stmt;
}

std::unique_ptr<Stmt> Parser::parse_for() {
  auto stmt = std::make_unique<Stmt>();
  stmt->kind = StmtKind::kFor;
  expect_name("for");
  stmt->target = parse_assign_target({"in"}, false);
  expect_name("in");
  stmt->expr = parse_tuple(false, {"recursive"});
  if (skip_name("if")) stmt->condition = parse_expression();
  if (at_name("recursive")) {
    throw unsupported("chat template at " + describe_location(source_, current().offset) +
                      ": recursive for loops are not supported by swallow's template engine");
  }
  ++loop_depth_;
  stmt->body = parse_statements({"endfor", "else"}, false);
  --loop_depth_;
  if (advance().text == "else") stmt->else_body = parse_statements({"endfor"}, true);
  return stmt;
}

std::unique_ptr<Stmt> Parser::parse_if() {
  auto stmt = std::make_unique<Stmt>();
  stmt->kind = StmtKind::kIf;
  expect_name("if");
  while (true) {
    ExprPtr test = parse_tuple(false);
    Body body = parse_statements({"elif", "else", "endif"}, false);
    stmt->branches.emplace_back(std::move(test), std::move(body));
    const std::string tag = advance().text;
    if (tag == "elif") continue;
    if (tag == "else") stmt->else_body = parse_statements({"endif"}, true);
    break;
  }
  return stmt;
}

std::unique_ptr<Stmt> Parser::parse_set() {
  auto stmt = std::make_unique<Stmt>();
  advance();
  stmt->target = parse_assign_target({}, true);
  if (skip_op("=")) {
    stmt->kind = StmtKind::kSet;
    stmt->expr = parse_tuple();
    return stmt;
  }
  stmt->kind = StmtKind::kSetBlock;
  if (at_op("|")) stmt->filter = parse_filter(nullptr, false);
  stmt->body = parse_statements({"endset"}, true);
  return stmt;
}

std::unique_ptr<Stmt> Parser::parse_macro() {
  auto stmt = std::make_unique<Stmt>();
  stmt->kind = StmtKind::kMacro;
  advance();
  stmt->name = expect_identifier();
  expect_op("(");
  while (!at_op(")")) {
    if (!stmt->params.empty()) expect_op(",");
    stmt->params.push_back(expect_identifier());
    if (skip_op("=")) {
      stmt->defaults.push_back(parse_expression());
    } else if (!stmt->defaults.empty()) {
      fail("non-default argument follows default argument", current().offset);
    }
  }
  expect_op(")");
  const int saved_loop_depth = loop_depth_;
  const int saved_varargs_refs = varargs_refs_, saved_kwargs_refs = kwargs_refs_;
  loop_depth_ = 0;
  stmt->body = parse_statements({"endmacro"}, true);
  loop_depth_ = saved_loop_depth;
  stmt->catches_varargs = varargs_refs_ > saved_varargs_refs;
  stmt->catches_kwargs = kwargs_refs_ > saved_kwargs_refs;
  return stmt;
}

std::unique_ptr<Stmt> Parser::parse_with() {
  auto stmt = std::make_unique<Stmt>();
  stmt->kind = StmtKind::kWith;
  advance();
  while (current().type != TokenType::kBlockEnd) {
    if (!stmt->with_targets.empty()) expect_op(",");
    stmt->with_targets.push_back(parse_assign_target({}, false));
    expect_op("=");
    stmt->with_values.push_back(parse_expression());
  }
  stmt->body = parse_statements({"endwith"}, true);
  return stmt;
}

std::unique_ptr<Stmt> Parser::parse_block_with_body(StmtKind kind, const std::string& end_tag) {
  auto stmt = std::make_unique<Stmt>();
  stmt->kind = kind;
  advance();
  if (kind == StmtKind::kFilterBlock) stmt->filter = parse_filter(nullptr, true);
  // A generation block is a call block: its body is a function, so break/continue cannot leave it.
  const int saved_loop_depth = loop_depth_;
  if (kind == StmtKind::kGeneration) loop_depth_ = 0;
  stmt->body = parse_statements({end_tag}, true);
  loop_depth_ = saved_loop_depth;
  return stmt;
}

std::unique_ptr<Stmt> Parser::parse_print() {
  auto stmt = std::make_unique<Stmt>();
  stmt->kind = StmtKind::kOutput;
  advance();
  while (current().type != TokenType::kBlockEnd) {
    if (!stmt->output.empty()) expect_op(",");
    const size_t offset = current().offset;
    stmt->output.push_back(OutputPiece{"", parse_expression(), offset});
  }
  return stmt;
}

Target Parser::parse_assign_target(const std::vector<std::string>& extra_end, bool with_namespace) {
  std::vector<Target> items;
  bool is_tuple = false;
  while (true) {
    if (!items.empty()) expect_op(",");
    if (is_tuple_end(extra_end)) break;
    const Token& token = current();
    if (token.type != TokenType::kName || token.text == "true" || token.text == "false" || token.text == "True" ||
        token.text == "False" || token.text == "none" || token.text == "None") {
      fail("can't assign to '" + describe(token) + "'", token.offset);
    }
    Target item;
    item.names.push_back(advance().text);
    if (with_namespace && at_op(".")) {
      advance();
      item.type = Target::Type::kNamespaceAttr;
      item.attribute = expect_identifier();
    }
    items.push_back(std::move(item));
    if (!at_op(",")) break;
    is_tuple = true;
  }
  if (!is_tuple) {
    if (items.empty()) fail("Expected an expression, got '" + describe(current()) + "'", current().offset);
    return std::move(items.front());
  }
  Target target;
  target.type = Target::Type::kTuple;
  for (Target& item : items) {
    if (item.type != Target::Type::kName) fail("can't assign to a namespace attribute inside a tuple", current().offset);
    target.names.push_back(std::move(item.names.front()));
  }
  return target;
}

}  // namespace swallow::jinja
