// Expression parsing: jinja2's precedence levels from conditional expressions down to primaries.
#include "chat/parser.h"

#include <algorithm>

namespace swallow::jinja {

ExprPtr Parser::make(ExprKind kind, size_t offset) const {
  auto node = std::make_unique<Expr>();
  node->kind = kind;
  node->offset = offset;
  return node;
}

ExprPtr Parser::finish(ExprPtr node) const {
  int height = 0;
  auto visit = [&height](const ExprPtr& child) {
    if (child) height = std::max(height, child->height);
  };
  for (const ExprPtr& child : node->children) visit(child);
  for (const ExprPtr& arg : node->args) visit(arg);
  for (const Keyword& kw : node->kwargs) visit(kw.value);
  visit(node->dyn_args);
  visit(node->dyn_kwargs);
  node->height = height + 1;
  if (node->height > kMaxExpressionHeight) fail("expression nested too deeply", node->offset);
  return node;
}

ExprPtr Parser::binary(ExprKind kind, std::string op, ExprPtr left, ExprPtr right, size_t offset) const {
  ExprPtr node = make(kind, offset);
  node->name = std::move(op);
  node->children.push_back(std::move(left));
  node->children.push_back(std::move(right));
  return finish(std::move(node));
}

ExprPtr Parser::parse_expression(bool with_condexpr) {
  DepthGuard guard(*this);
  return with_condexpr ? parse_condexpr() : parse_or();
}

ExprPtr Parser::parse_condexpr() {
  const size_t offset = current().offset;
  ExprPtr expr1 = parse_or();
  while (skip_name("if")) {
    ExprPtr node = make(ExprKind::kCondExpr, offset);
    node->children.push_back(parse_or());
    node->children.push_back(std::move(expr1));
    node->children.push_back(skip_name("else") ? parse_condexpr() : nullptr);
    expr1 = finish(std::move(node));
  }
  return expr1;
}

ExprPtr Parser::parse_or() {
  const size_t offset = current().offset;
  ExprPtr left = parse_and();
  while (skip_name("or")) left = binary(ExprKind::kOr, "or", std::move(left), parse_and(), offset);
  return left;
}

ExprPtr Parser::parse_and() {
  const size_t offset = current().offset;
  ExprPtr left = parse_not();
  while (skip_name("and")) left = binary(ExprKind::kAnd, "and", std::move(left), parse_not(), offset);
  return left;
}

ExprPtr Parser::parse_not() {
  if (at_name("not")) {
    DepthGuard guard(*this);
    ExprPtr node = make(ExprKind::kNot, advance().offset);
    node->children.push_back(parse_not());
    return finish(std::move(node));
  }
  return parse_compare();
}

ExprPtr Parser::parse_compare() {
  const size_t offset = current().offset;
  ExprPtr expr = parse_math1();
  ExprPtr node;
  while (true) {
    std::string op;
    const Token& token = current();
    if (token.type == TokenType::kOperator &&
        (token.text == "==" || token.text == "!=" || token.text == "<" || token.text == "<=" || token.text == ">" ||
         token.text == ">=")) {
      op = token.text;
      advance();
    } else if (skip_name("in")) {
      op = "in";
    } else if (at_name("not") && look().type == TokenType::kName && look().text == "in") {
      advance();
      advance();
      op = "notin";
    } else {
      break;
    }
    if (!node) {
      node = make(ExprKind::kCompare, offset);
      node->children.push_back(std::move(expr));
    }
    node->compare_ops.push_back(op);
    node->children.push_back(parse_math1());
  }
  return node ? finish(std::move(node)) : std::move(expr);
}

ExprPtr Parser::parse_math1() {
  const size_t offset = current().offset;
  ExprPtr left = parse_concat();
  while (at_op("+") || at_op("-")) {
    std::string op = advance().text;
    left = binary(ExprKind::kBinary, std::move(op), std::move(left), parse_concat(), offset);
  }
  return left;
}

ExprPtr Parser::parse_concat() {
  const size_t offset = current().offset;
  ExprPtr first = parse_math2();
  if (!at_op("~")) return first;
  ExprPtr node = make(ExprKind::kConcat, offset);
  node->children.push_back(std::move(first));
  while (skip_op("~")) node->children.push_back(parse_math2());
  return finish(std::move(node));
}

ExprPtr Parser::parse_math2() {
  const size_t offset = current().offset;
  ExprPtr left = parse_pow();
  while (at_op("*") || at_op("/") || at_op("//") || at_op("%")) {
    std::string op = advance().text;
    left = binary(ExprKind::kBinary, std::move(op), std::move(left), parse_pow(), offset);
  }
  return left;
}

ExprPtr Parser::parse_pow() {
  const size_t offset = current().offset;
  ExprPtr left = parse_unary(true);
  while (skip_op("**")) left = binary(ExprKind::kBinary, "**", std::move(left), parse_unary(true), offset);
  return left;
}

ExprPtr Parser::parse_unary(bool with_filter) {
  DepthGuard guard(*this);
  ExprPtr node;
  if (at_op("-") || at_op("+")) {
    const Token& token = advance();
    node = make(token.text == "-" ? ExprKind::kNeg : ExprKind::kPos, token.offset);
    node->children.push_back(parse_unary(false));
    node = finish(std::move(node));
  } else {
    node = parse_primary();
  }
  node = parse_postfix(std::move(node));
  if (with_filter) node = parse_filter_expr(std::move(node));
  return node;
}

ExprPtr Parser::parse_primary() {
  const Token& token = current();
  ExprPtr node = make(ExprKind::kConst, token.offset);
  switch (token.type) {
    case TokenType::kName:
      advance();
      if (token.text == "true" || token.text == "True" || token.text == "false" || token.text == "False") {
        node->constant = Value::boolean(token.text == "true" || token.text == "True");
      } else if (token.text == "none" || token.text == "None") {
        node->constant = Value::none();
      } else {
        node->kind = ExprKind::kName;
        node->name = token.text;
        if (token.text == "varargs") ++varargs_refs_;
        if (token.text == "kwargs") ++kwargs_refs_;
      }
      return node;
    case TokenType::kString: {
      std::string text;
      while (current().type == TokenType::kString) text += advance().text;
      node->constant = Value::string(std::move(text));
      return node;
    }
    case TokenType::kInteger:
      node->constant = Value::integer(advance().integer);
      return node;
    case TokenType::kFloat:
      node->constant = Value::number(advance().number);
      return node;
    case TokenType::kOperator:
      if (token.text == "(") {
        advance();
        node = parse_tuple(true, {}, true);
        expect_op(")");
        return node;
      }
      if (token.text == "[") return parse_list();
      if (token.text == "{") return parse_dict();
      break;
    default:
      break;
  }
  fail("unexpected '" + describe(token) + "'", token.offset);
}

bool Parser::is_tuple_end(const std::vector<std::string>& extra_end) const {
  const Token& token = current();
  if (token.type == TokenType::kVariableEnd || token.type == TokenType::kBlockEnd || at_op(")")) return true;
  return std::any_of(extra_end.begin(), extra_end.end(), [this](const std::string& name) { return at_name(name); });
}

ExprPtr Parser::parse_tuple(bool with_condexpr, const std::vector<std::string>& extra_end, bool explicit_parentheses) {
  const size_t offset = current().offset;
  std::vector<ExprPtr> items;
  bool is_tuple = false;
  while (true) {
    if (!items.empty()) expect_op(",");
    if (is_tuple_end(extra_end)) break;
    items.push_back(parse_expression(with_condexpr));
    if (!at_op(",")) break;
    is_tuple = true;
  }
  if (!is_tuple) {
    if (!items.empty()) return std::move(items.front());
    if (!explicit_parentheses) fail("Expected an expression, got '" + describe(current()) + "'", current().offset);
  }
  ExprPtr node = make(ExprKind::kTuple, offset);
  node->children = std::move(items);
  return finish(std::move(node));
}

ExprPtr Parser::parse_list() {
  ExprPtr node = make(ExprKind::kList, advance().offset);
  while (!at_op("]")) {
    if (!node->children.empty()) expect_op(",");
    if (at_op("]")) break;
    node->children.push_back(parse_expression());
  }
  expect_op("]");
  return finish(std::move(node));
}

ExprPtr Parser::parse_dict() {
  ExprPtr node = make(ExprKind::kDict, advance().offset);
  while (!at_op("}")) {
    if (!node->children.empty()) expect_op(",");
    if (at_op("}")) break;
    node->children.push_back(parse_expression());
    expect_op(":");
    node->children.push_back(parse_expression());
  }
  expect_op("}");
  return finish(std::move(node));
}

ExprPtr Parser::parse_postfix(ExprPtr node) {
  while (true) {
    if (at_op(".") || at_op("[")) {
      node = parse_subscript(std::move(node));
    } else if (at_op("(")) {
      node = parse_call(std::move(node));
    } else {
      return node;
    }
  }
}

ExprPtr Parser::parse_filter_expr(ExprPtr node) {
  while (true) {
    if (at_op("|")) {
      node = parse_filter(std::move(node), false);
    } else if (at_name("is")) {
      node = parse_test(std::move(node));
    } else if (at_op("(")) {
      node = parse_call(std::move(node));
    } else {
      return node;
    }
  }
}

ExprPtr Parser::parse_subscript(ExprPtr node) {
  const Token& token = advance();
  if (token.text == ".") {
    const Token& attr = current();
    if (attr.type == TokenType::kName) {
      ExprPtr getattr = make(ExprKind::kGetattr, token.offset);
      getattr->name = advance().text;
      getattr->children.push_back(std::move(node));
      return finish(std::move(getattr));
    }
    if (attr.type != TokenType::kInteger) fail("expected name or number", attr.offset);
    ExprPtr key = make(ExprKind::kConst, attr.offset);
    key->constant = Value::integer(advance().integer);
    ExprPtr getitem = make(ExprKind::kGetitem, token.offset);
    getitem->children.push_back(std::move(node));
    getitem->children.push_back(std::move(key));
    return finish(std::move(getitem));
  }
  std::vector<ExprPtr> args;
  while (!at_op("]")) {
    if (!args.empty()) expect_op(",");
    args.push_back(parse_subscribed());
  }
  expect_op("]");
  ExprPtr getitem = make(ExprKind::kGetitem, token.offset);
  getitem->children.push_back(std::move(node));
  if (args.size() == 1) {
    getitem->children.push_back(std::move(args.front()));
  } else {
    ExprPtr tuple = make(ExprKind::kTuple, token.offset);
    tuple->children = std::move(args);
    getitem->children.push_back(finish(std::move(tuple)));
  }
  return finish(std::move(getitem));
}

ExprPtr Parser::parse_subscribed() {
  const size_t offset = current().offset;
  ExprPtr slice = make(ExprKind::kSlice, offset);
  if (skip_op(":")) {
    slice->children.push_back(nullptr);
  } else {
    ExprPtr node = parse_expression();
    if (!skip_op(":")) return node;
    slice->children.push_back(std::move(node));
  }
  auto at_slice_end = [this] { return at_op("]") || at_op(","); };
  if (at_op(":") || at_slice_end()) {
    slice->children.push_back(nullptr);
  } else {
    slice->children.push_back(parse_expression());
  }
  if (skip_op(":") && !at_slice_end()) {
    slice->children.push_back(parse_expression());
  } else {
    slice->children.push_back(nullptr);
  }
  return finish(std::move(slice));
}

void Parser::parse_call_args(Expr& node) {
  const size_t offset = current().offset;
  expect_op("(");
  auto ensure = [&](bool ok) {
    if (!ok) fail("invalid syntax for function call expression", offset);
  };
  bool require_comma = false;
  while (!at_op(")")) {
    if (require_comma) {
      expect_op(",");
      if (at_op(")")) break;
    }
    if (skip_op("*")) {
      ensure(!node.dyn_args && !node.dyn_kwargs);
      node.dyn_args = parse_expression();
    } else if (skip_op("**")) {
      ensure(!node.dyn_kwargs);
      node.dyn_kwargs = parse_expression();
    } else if (current().type == TokenType::kName && look().type == TokenType::kOperator && look().text == "=") {
      ensure(!node.dyn_kwargs);
      std::string key = advance().text;
      advance();
      node.kwargs.push_back(Keyword{std::move(key), parse_expression()});
    } else {
      ensure(!node.dyn_args && !node.dyn_kwargs && node.kwargs.empty());
      node.args.push_back(parse_expression());
    }
    require_comma = true;
  }
  expect_op(")");
}

ExprPtr Parser::parse_call(ExprPtr node) {
  ExprPtr call = make(ExprKind::kCall, current().offset);
  call->children.push_back(std::move(node));
  parse_call_args(*call);
  return finish(std::move(call));
}

ExprPtr Parser::parse_filter(ExprPtr node, bool start_inline) {
  while (at_op("|") || start_inline) {
    if (!start_inline) advance();
    start_inline = false;
    const size_t offset = current().offset;
    std::string name = expect_identifier();
    while (skip_op(".")) {
      name += '.';
      name += expect_identifier();
    }
    ExprPtr filter = make(ExprKind::kFilter, offset);
    filter->name = std::move(name);
    filter->children.push_back(std::move(node));
    if (at_op("(")) parse_call_args(*filter);
    node = finish(std::move(filter));
  }
  return node;
}

ExprPtr Parser::parse_test(ExprPtr node) {
  const size_t offset = advance().offset;
  const bool negated = skip_name("not");
  std::string name = expect_identifier();
  while (skip_op(".")) {
    name += '.';
    name += expect_identifier();
  }
  ExprPtr test = make(ExprKind::kTest, offset);
  test->name = std::move(name);
  test->children.push_back(std::move(node));
  const Token& token = current();
  const bool arg_start = token.type == TokenType::kName || token.type == TokenType::kString ||
                         token.type == TokenType::kInteger || token.type == TokenType::kFloat || at_op("(") ||
                         at_op("[") || at_op("{");
  if (at_op("(")) {
    parse_call_args(*test);
  } else if (arg_start && !at_name("else") && !at_name("or") && !at_name("and")) {
    if (at_name("is")) fail("You cannot chain multiple tests with is", token.offset);
    test->args.push_back(parse_postfix(parse_primary()));
  }
  test = finish(std::move(test));
  if (!negated) return test;
  ExprPtr negation = make(ExprKind::kNot, offset);
  negation->children.push_back(std::move(test));
  return finish(std::move(negation));
}

}  // namespace swallow::jinja
