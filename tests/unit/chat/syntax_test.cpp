// Lexer and expression semantics against jinja2 (expected values produced by jinja2 3.1.6 with
// Hugging Face's apply_chat_template environment).
#include <gtest/gtest.h>

#include "render_helpers.h"

namespace swallow::test {
namespace {

TEST(ChatTemplateWhitespace, TrimBlocksDropsTheNewlineAfterABlockTag) {
  expect_renders({
      {"{% if true %}\nx{% endif %}\ny", "xy"},
      {"{% for i in [1, 2] %}\n{{ i }}\n{% endfor %}\n", "1\n2\n"},
  });
}

TEST(ChatTemplateWhitespace, LstripBlocksDropsIndentationBeforeBlockTags) {
  expect_renders({
      {"a\n    {% if true %}\n    b\n    {% endif %}\nc", "a\n    b\nc"},
      {"a {% if true %}b{% endif %} c", "a b c"},
      {"\t {% if true %}x{% endif %}", "x"},
  });
}

TEST(ChatTemplateWhitespace, VariableTagsAreNotLstripped) {
  expect_renders({
      {"  {{ 'x' }}\n  {{ 'y' }}\n", "  x\n  y"},
  });
}

TEST(ChatTemplateWhitespace, MinusStripsAllWhitespaceOnThatSide) {
  expect_renders({
      {"a  \n\n  {%- if true -%}  \n\n b  {%- endif %}", "ab"},
      {"x \n {{- 'y' -}} \n z", "xyz"},
      {"x\n  {#- comment -#}\n  y", "xy"},
  });
}

TEST(ChatTemplateWhitespace, MinusStripsUnicodeWhitespace) {
  expect_renders({
      {"a　  {%- if true %}b{% endif %}", "ab"},
      {"{{ 'a' -}} 　b", "ab"},
  });
}

TEST(ChatTemplateWhitespace, PlusKeepsWhitespace) {
  expect_renders({
      {"  {%+ if true %}x{% endif %}", "  x"},
      {"{% if true +%}\nx{% endif %}", "\nx"},
      {"{# c +#}\nx", "\nx"},
  });
}

TEST(ChatTemplateWhitespace, CommentsFollowBlockRules) {
  expect_renders({
      {"  {# comment #}\nx", "x"},
      {"a{# c #}\nb", "ab"},
      {"a {#- c #} b", "a b"},
  });
}

TEST(ChatTemplateWhitespace, RawBlocksAreNotEvaluated) {
  expect_renders({
      {"{% raw %}{{ x }}{% if %}{% endraw %}", "{{ x }}{% if %}"},
      {"  {%- raw -%}  a  {%- endraw -%}  b", "ab"},
      {"{% raw %}\nx\n{% endraw %}\ny", "\nx\ny"},
  });
}

TEST(ChatTemplateWhitespace, NewlinesAreNormalisedAndOneTrailingNewlineDropped) {
  expect_renders({
      {"a\r\nb\rc\n", "a\nb\nc"},
      {"x\n\n", "x\n"},
      {"{{ 'in\r\nstring' }}", "in\nstring"},
      {"\n", ""},
  });
}

TEST(ChatTemplateWhitespace, LstripOnlyAtLineStart) {
  expect_renders({
      {"x {% if true %}y{% endif %}", "x y"},
      {"x\n  {% if true %}y{% endif %}", "x\ny"},
      {"{% if true %}a{% endif %}  {% if true %}b{% endif %}", "a  b"},
  });
}

TEST(ChatTemplateWhitespace, StatementsInsideLoopsAtLineStarts) {
  expect_renders(kThreeMessages, {
      {"{% for m in messages %}\n  {% if m.role == 'user' %}\n  U:{{ m.content }}\n  {% else %}\n  O:{{ m.content }}\n  {% endif %}\n{% endfor %}", "  O:  Be brief.  \n  U:Hi\n  O:Hello\n"},
  });
}

TEST(ChatTemplateExpressions, OperatorPrecedence) {
  expect_renders({
      {"{{ 1 + 2 * 3 }} {{ (1 + 2) * 3 }} {{ 2 ** 3 ** 2 }} {{ -2 ** 2 }} {{ 'a' ~ 2 * 3 }} {{ 'a' ~ 'b' + 'c' }} {{ not 1 == 2 }} {{ 10 - 2 - 3 }}", "7 9 64 4 a6 abc True 5"},
      {"{{ 1 if false else 2 if true else 3 }} {{ 'x' if none }}|{{ 1 or 2 and 0 }} {{ not none and 'y' }}", "2 |1 y"},
  });
}

TEST(ChatTemplateExpressions, ArithmeticFollowsPython) {
  expect_renders({
      {"{{ 7 / 2 }} {{ 8 / 4 }} {{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 7 % -3 }} {{ 7.5 // 2 }} {{ -7.5 % 2 }} {{ 2 ** -2 }} {{ true + true }} {{ 3 * 1.5 }}", "3.5 2.0 3 -4 1 2 -2 3.0 0.5 0.25 2 4.5"},
  });
}

TEST(ChatTemplateExpressions, FloatsPrintLikePythonRepr) {
  expect_renders({
      {"{{ 1.0 }} {{ 0.1 + 0.2 }} {{ 1e16 }} {{ 1e15 }} {{ 1e-4 }} {{ 1e-5 }} {{ -0.0 }} {{ 100 / 3 }} {{ 2.5e-300 * 1e-100 }} {{ 1.5e300 * 1e300 }} {{ 123456789.123456789 }}", "1.0 0.30000000000000004 1e+16 1000000000000000.0 0.0001 1e-05 -0.0 33.333333333333336 0.0 inf 123456789.12345679"},
  });
}

TEST(ChatTemplateExpressions, NumberLiterals) {
  expect_renders({
      {"{{ 1_000 }} {{ 0x1f }} {{ 0o17 }} {{ 0b101 }} {{ 1.5e3 }} {{ 2E-2 }}", "1000 31 15 5 1500.0 0.02"},
  });
}

TEST(ChatTemplateExpressions, StringLiteralEscapes) {
  expect_renders({
      {"{{ 'tab\\tnl\\nq\\'dq\\\"bs\\\\ \\x41\\u00e9\\U0001F600 \\101 \\q' }}", "tab\tnl\nq'dq\"bs\\ Aé😀 A \\q"},
      {"{{ \"adjacent\" ' strings' }}", "adjacent strings"},
      {"{{ '\\あ' }}", "\\u3042"},
  });
}

TEST(ChatTemplateExpressions, ContainersPrintLikePython) {
  expect_renders({
      {"{{ [1, 'two', 3.0, none, true, [4], {'k': 'v'}] }} {{ (1,) }} {{ () }} {{ (1, 2) }}", "[1, 'two', 3.0, None, True, [4], {'k': 'v'}] (1,) () (1, 2)"},
      {"{{ ['it\\'s', 'say \"hi\"', 'both \\' and \"', 'tab\\t', 'nl\\n', '\\x7f\\x00', '　 ​', 'é日本'] }}", "[\"it's\", 'say \"hi\"', 'both \\' and \"', 'tab\\t', 'nl\\n', '\\x7f\\x00', '\\u3000\\xa0\\u200b', 'é日本']"},
      {"{{ {'a': 1, 1: 'b', none: [], (1, 2): 'tuple key'} }}", "{'a': 1, 1: 'b', None: [], (1, 2): 'tuple key'}"},
  });
}

TEST(ChatTemplateExpressions, Comparisons) {
  expect_renders({
      {"{{ 1 < 2 < 3 }} {{ 3 > 2 > 2 }} {{ 1 == 1.0 }} {{ true == 1 }} {{ 'a' < 'b' }} {{ 'B' < 'a' }} {{ [1, 2] < [1, 3] }} {{ [1] == (1,) }} {{ {'a': 1, 'b': 2} == {'b': 2, 'a': 1} }} {{ missing == missing }} {{ none != false }}", "True False True True True True True False True True True"},
  });
}

TEST(ChatTemplateExpressions, Membership) {
  expect_renders(kThreeMessages, {
      {"{{ 'a' in 'cat' }} {{ '' in 'x' }} {{ 1 in [1, 2] }} {{ 1.0 in [1] }} {{ 'k' in {'k': 0} }} {{ 'z' not in {'k': 0} }} {{ 'x' in missing }} {{ 'role' in messages[0] }}", "True True True True True True False True"},
  });
}

TEST(ChatTemplateExpressions, SubscriptsAndAttributes) {
  expect_renders(kThreeMessages, {
      {"{{ messages[0].role }} {{ messages[-1]['content'] }} {{ messages.1.role }} {{ messages[0]['nope'] }}|{{ messages[9] }}|{{ (messages | first).content }}", "system Hello user ||  Be brief.  "},
  });
  expect_renders({
      {"{% set d = {'items': 'key wins for []', 'x': 1} %}{{ d['items'] }} {{ d.items() | list | length }} {{ d.x }}", "key wins for [] 2 1"},
  });
}

TEST(ChatTemplateExpressions, SlicesCountCharactersNotBytes) {
  expect_renders({
      {"{{ 'abcdef'[1:4] }} {{ 'abcdef'[::-1] }} {{ 'abcdef'[::2] }} {{ 'abcdef'[-2:] }} {{ 'abcdef'[:-10] }}|{{ 'abcdef'[4:1:-1] }}", "bcd fedcba ace ef |edc"},
      {"{{ 'こんにちは'[1:3] }} {{ 'こんにちは'[-1] }} {{ 'aé😀b'[2] }} {{ 'aé😀b'[::-1] }} {{ [1, 2, 3, 4][::-2] }} {{ (1, 2, 3)[1:] }}", "んに は 😀 b😀éa [4, 2] (2, 3)"},
  });
}

TEST(ChatTemplateExpressions, UndefinedBehavesLikeJinja) {
  expect_renders(kThreeMessages, {
      {"[{{ missing }}] [{{ missing | default('d') }}] [{{ missing is defined }}] [{{ missing | length }}] [{{ missing | list }}] [{% for x in missing %}x{% endfor %}] [{{ messages[0].missing }}] [{{ messages[0].missing is defined }}]", "[] [d] [False] [0] [[]] [] [] [False]"},
  });
}

TEST(ChatTemplateExpressions, StringConcatenation) {
  expect_renders({
      {"{{ 'a' + 'b' }} {{ 'a' ~ 1 ~ none ~ true ~ missing ~ 2.5 }} {{ 'ab' * 3 }} {{ 3 * 'x' }} {{ [1] + [2] }} {{ [0] * 3 }} {{ 'x' * 0 }}|{{ 'x' * -1 }}|", "ab a1NoneTrue2.5 ababab xxx [1, 2] [0, 0, 0] ||"},
  });
}

}  // namespace
}  // namespace swallow::test
