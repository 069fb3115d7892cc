// Errors: syntax errors with line:column, runtime errors, raise_exception, the sandbox (no
// loading, no private attributes, no mutation) and the work budget (RenderLimits).
#include <gtest/gtest.h>

#include <ctime>
#include <string>

#include "render_helpers.h"

namespace swallow::test {
namespace {

void expect_error(const std::string& source, ErrorKind kind, const std::string& message_part,
                  const std::string& variables = "{}", const RenderLimits& limits = {}) {
  const std::optional<Error> error = render_error(source, variables, limits);
  ASSERT_TRUE(error.has_value()) << "no error for: " << source;
  EXPECT_EQ(error->kind(), kind) << error->what();
  EXPECT_NE(std::string(error->what()).find(message_part), std::string::npos)
      << "'" << error->what() << "' does not contain '" << message_part << "'";
}

TEST(ChatTemplateErrors, SyntaxErrorsNameLineAndColumn) {
  expect_error("line one\n{{ 1 + }}", ErrorKind::kInvalidArgument,
               "syntax error at line 2, column 8: unexpected 'end of print statement'");
  expect_error("{% if x %}never closed", ErrorKind::kInvalidArgument,
               "Unexpected end of template. Jinja was looking for the following tags: 'elif' or 'else' or 'endif'.");
  expect_error("{% for x in y %}{% endif %}", ErrorKind::kInvalidArgument, "Encountered unknown tag 'endif'.");
  expect_error("ok\n  {% frobnicate %}", ErrorKind::kInvalidArgument,
               "line 2, column 6: Encountered unknown tag 'frobnicate'.");
  expect_error("{{ 'unterminated }}", ErrorKind::kInvalidArgument, "line 1, column 4: unexpected char '''");
  expect_error("{% break %}", ErrorKind::kInvalidArgument, "'break' outside loop");
  expect_error("{% for x in y %}{% macro m() %}{% continue %}{% endmacro %}{% endfor %}", ErrorKind::kInvalidArgument,
               "'continue' outside loop");
  expect_error("{# never closed", ErrorKind::kInvalidArgument, "Missing end of comment tag");
  expect_error("{{ (1 }}", ErrorKind::kInvalidArgument, "unexpected '}', expected ')'");
  expect_error("{% macro m(a=1, b) %}{% endmacro %}", ErrorKind::kInvalidArgument,
               "non-default argument follows default argument");
  expect_error("{{ '\xe6\x97' }}", ErrorKind::kInvalidArgument, "not valid UTF-8");
}

TEST(ChatTemplateErrors, NestingIsBoundedWithoutCrashing) {
  expect_error("{{ " + std::string(1000, '(') + "1" + std::string(1000, ')') + " }}", ErrorKind::kInvalidArgument,
               "nested too deeply");
  std::string chain = "{{ 1";
  for (int i = 0; i < 5000; ++i) chain += " + 1";
  expect_error(chain + " }}", ErrorKind::kInvalidArgument, "nested too deeply");
  std::string nested_ifs;
  for (int i = 0; i < 1000; ++i) nested_ifs += "{% if true %}";
  expect_error(nested_ifs, ErrorKind::kInvalidArgument, "nested too deeply");
}

TEST(ChatTemplateErrors, RuntimeErrorsNameLineAndColumn) {
  expect_error("{{ x.y }}", ErrorKind::kInvalidArgument, "line 1, column 5: 'x' is undefined");
  expect_error("\n\n   {{ messages[0].nope.deeper }}", ErrorKind::kInvalidArgument,
               "line 3, column 23: 'dict object' has no attribute 'nope'", R"({"messages": [{"role": "user"}]})");
  expect_error("{{ 1 + 'a' }}", ErrorKind::kInvalidArgument, "unsupported operand type(s) for +: 'int' and 'str'");
  expect_error("{{ 1 < 'a' }}", ErrorKind::kInvalidArgument, "'<' not supported between instances of 'int' and 'str'");
  expect_error("{{ missing | tojson }}", ErrorKind::kInvalidArgument, "Object of type Undefined is not JSON serializable");
  expect_error("{{ 1 / 0 }}", ErrorKind::kInvalidArgument, "division by zero");
  expect_error("{{ x | nosuchfilter }}", ErrorKind::kInvalidArgument, "No filter named 'nosuchfilter'.");
  expect_error("{{ [1, 2] | length(3) }}", ErrorKind::kInvalidArgument, "takes at most 0 argument(s)");
  expect_error("{% macro m(a) %}{% endmacro %}{{ m(1, 2) }}", ErrorKind::kInvalidArgument,
               "macro 'm' takes not more than 1 argument(s)");
  expect_error("{% for a, b in [[1, 2, 3]] %}{% endfor %}", ErrorKind::kInvalidArgument, "too many values to unpack");
}

TEST(ChatTemplateErrors, RaiseExceptionPassesTheMessageThrough) {
  const std::optional<Error> error =
      render_error("{% if messages | length == 0 %}{{ raise_exception('Conversation must not be empty!') }}{% endif %}",
                   R"({"messages": []})");
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->kind(), ErrorKind::kInvalidArgument);
  EXPECT_STREQ(error->what(), "Conversation must not be empty!");
}

TEST(ChatTemplateErrors, UnsupportedFeaturesAreRefusedClearly) {
  expect_error("{% include 'other.jinja' %}", ErrorKind::kUnsupported, "the 'include' tag is not supported");
  expect_error("{% extends 'base.jinja' %}", ErrorKind::kUnsupported, "the 'extends' tag is not supported");
  expect_error("{% from 'x' import y %}", ErrorKind::kUnsupported, "the 'from' tag is not supported");
  expect_error("{% for x in y recursive %}{% endfor %}", ErrorKind::kUnsupported, "recursive for loops");
  expect_error("{{ 'a %s' % 1 }}", ErrorKind::kUnsupported, "printf-style");
}

TEST(ChatTemplateSandbox, NothingOutsideTheInputsIsReachable) {
  // Private attributes and mutating methods are blocked like jinja2's ImmutableSandboxedEnvironment.
  EXPECT_EQ(render("[{{ ''.__class__ }}]"), "[]");
  expect_error("{{ ''.__class__.__mro__ }}", ErrorKind::kInvalidArgument, "access to attribute '__class__' of 'str' object is unsafe.");
  expect_error("{{ messages.append(1) }}", ErrorKind::kInvalidArgument,
               "access to attribute 'append' of 'list' object is unsafe.", R"({"messages": []})");
  expect_error("{{ {}.update({'a': 1}) }}", ErrorKind::kInvalidArgument, "access to attribute 'update' of 'dict' object is unsafe.");
  // No environment, files, modules or configuration are exposed as variables.
  EXPECT_EQ(render("[{{ environ }}{{ os }}{{ config }}{{ request }}{{ open }}{{ import }}{{ __builtins__ }}]"), "[]");
  expect_error("{{ open('/etc/passwd') }}", ErrorKind::kInvalidArgument, "'open' is undefined");
  expect_error("{{ range(200000) | length }}", ErrorKind::kInvalidArgument,
               "Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000).");
}

std::string local_date() {
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  char buffer[32];
  return std::string(buffer, std::strftime(buffer, sizeof(buffer), "%Y-%m-%d %b", &local));
}

TEST(ChatTemplateSandbox, StrftimeNowFormatsTheLocalTime) {
  const std::string before = local_date();
  const std::string rendered = render("{{ strftime_now('%Y-%m-%d %b') }}");
  const std::string after = local_date();
  EXPECT_TRUE(rendered == before || rendered == after) << rendered;
  EXPECT_EQ(render("[{{ strftime_now('') }}]"), "[]");
}

TEST(ChatTemplateBudget, RunawayTemplatesStopWithResourceExhausted) {
  expect_error("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
               ErrorKind::kResourceExhausted, "work budget of 10000000 steps");
  expect_error("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", ErrorKind::kResourceExhausted,
               "macro calls nested deeper than the limit of 64");
  expect_error("{{ 'x' * 100000000 }}", ErrorKind::kResourceExhausted, "larger than the limit of 16777216 bytes");
  expect_error("{{ [0] * 100000000 }}", ErrorKind::kResourceExhausted, "larger than the limit");
  expect_error("{% set ns = namespace(s='x') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
               ErrorKind::kResourceExhausted, "larger than the limit");
}

TEST(ChatTemplateBudget, LimitsAreConfigurable) {
  RenderLimits small;
  small.max_output_bytes = 100;
  expect_error("{% for i in range(50) %}{{ 'abc' }}{% endfor %}", ErrorKind::kResourceExhausted, "limit of 100 bytes",
               "{}", small);
  RenderLimits few_steps;
  few_steps.max_steps = 1000;
  expect_error("{% for i in range(2000) %}{% endfor %}", ErrorKind::kResourceExhausted, "work budget of 1000 steps",
               "{}", few_steps);
  RenderLimits shallow;
  shallow.max_depth = 3;
  expect_error("{% macro f(n) %}{{ f(n + 1) if n < 10 }}{% endmacro %}{{ f(0) }}", ErrorKind::kResourceExhausted,
               "limit of 3", "{}", shallow);
  EXPECT_EQ(render_prompt("{% macro f(n) %}{{ n }}{{ f(n + 1) if n < 2 }}{% endmacro %}{{ f(0) }}", "{}", shallow).text,
            "012");
}

TEST(ChatTemplateBudget, DeepValuesAndCyclesAreHandled) {
  expect_error("{% set ns = namespace(x=[]) %}{% for i in range(99999) %}{% set ns.x = [ns.x] %}{% endfor %}",
               ErrorKind::kInvalidArgument, "nested deeper than 500 levels");
  EXPECT_EQ(render("{% set ns = namespace(n=none) %}{% for i in range(99999) %}{% set ns.n = namespace(x=ns.n) %}"
                   "{% endfor %}done"),
            "done");
  EXPECT_EQ(render("{% set ns = namespace() %}{% set ns.me = ns %}{{ ns.me.me.me is defined }}"), "True");
  expect_error("{% set ns = namespace() %}{% set ns.me = ns %}{{ ns }}", ErrorKind::kInvalidArgument,
               "maximum recursion depth exceeded");
}

}  // namespace
}  // namespace swallow::test
