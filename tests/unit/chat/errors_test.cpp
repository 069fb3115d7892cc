// Errors: syntax errors with line:column, runtime errors, raise_exception, the sandbox (no
// loading, no private attributes, no mutation) and the work budget (RenderLimits).
#include <gtest/gtest.h>

#include <ctime>
#include <string>
#include <vector>

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

// A template source, a part of the message of the error rendering it throws, and its variables.
struct Failure {
  std::string source;
  std::string message_part;
  std::string variables_json = "{}";
};

// expect_error for each failure, all of `kind`.
void expect_errors(ErrorKind kind, const std::vector<Failure>& failures) {
  for (const Failure& f : failures) expect_error(f.source, kind, f.message_part, f.variables_json);
}

TEST(ChatTemplateErrors, SyntaxErrorsNameLineAndColumn) {
  expect_errors(ErrorKind::kInvalidArgument, {
      {"line one\n{{ 1 + }}", "syntax error at line 2, column 8: unexpected 'end of print statement'"},
      {"{% if x %}never closed", "Unexpected end of template. Jinja was looking for the following tags: 'elif' or 'else' or 'endif'."},
      {"{% for x in y %}{% endif %}", "Encountered unknown tag 'endif'."},
      {"ok\n  {% frobnicate %}", "line 2, column 6: Encountered unknown tag 'frobnicate'."},
      {"{{ 'unterminated }}", "line 1, column 4: unexpected char '''"},
      {"{% break %}", "'break' outside loop"},
      {"{% for x in y %}{% macro m() %}{% continue %}{% endmacro %}{% endfor %}", "'continue' outside loop"},
      {"{# never closed", "Missing end of comment tag"},
      {"{{ (1 }}", "unexpected '}', expected ')'"},
      {"{% macro m(a=1, b) %}{% endmacro %}", "non-default argument follows default argument"},
      {"{{ '\xe6\x97' }}", "not valid UTF-8"},
  });
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
  expect_errors(ErrorKind::kInvalidArgument, {
      {"{{ x.y }}", "line 1, column 5: 'x' is undefined"},
      {"\n\n   {{ messages[0].nope.deeper }}", "line 3, column 23: 'dict object' has no attribute 'nope'", R"({"messages": [{"role": "user"}]})"},
      {"{{ 1 + 'a' }}", "unsupported operand type(s) for +: 'int' and 'str'"},
      {"{{ 1 < 'a' }}", "'<' not supported between instances of 'int' and 'str'"},
      {"{{ missing | tojson }}", "Object of type Undefined is not JSON serializable"},
      {"{{ 1 / 0 }}", "division by zero"},
      {"{{ x | nosuchfilter }}", "No filter named 'nosuchfilter'."},
      {"{{ [1, 2] | length(3) }}", "takes at most 0 argument(s)"},
      {"{% macro m(a) %}{% endmacro %}{{ m(1, 2) }}", "macro 'm' takes not more than 1 argument(s)"},
      {"{% for a, b in [[1, 2, 3]] %}{% endfor %}", "too many values to unpack"},
  });
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
  expect_errors(ErrorKind::kUnsupported, {
      {"{% include 'other.jinja' %}", "the 'include' tag is not supported"},
      {"{% extends 'base.jinja' %}", "the 'extends' tag is not supported"},
      {"{% from 'x' import y %}", "the 'from' tag is not supported"},
      {"{% for x in y recursive %}{% endfor %}", "recursive for loops"},
      {"{{ 'a %s' % 1 }}", "printf-style"},
  });
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
