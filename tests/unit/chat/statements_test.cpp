// Statements (for, if, set, macro, with, filter blocks) and scoping against jinja2 (expected values produced by jinja2 3.1.6 with Hugging Face's
// apply_chat_template environment).
#include <gtest/gtest.h>

#include "render_helpers.h"

namespace swallow::test {
namespace {

TEST(ChatTemplateStatements, LoopVariables) {
  expect_renders(kFourMessages, {
      {"{% for m in messages %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.revindex0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }}{{ loop.cycle('a', 'b', 'c') }}{{ loop.depth }} {% endfor %}", "1043TrueFalse4a1 2132FalseFalse4b1 3221FalseFalse4c1 4310FalseTrue4a1 "},
      {"{% for m in messages %}{{ loop.previtem.role if loop.previtem is defined else '-' }}>{{ loop.nextitem.role if loop.nextitem is defined else '-' }} {{ loop.changed(m.role) }};{% endfor %}", "->user True;system>assistant True;user>user True;assistant>- True;"},
  });
}

TEST(ChatTemplateStatements, LoopFilterElseAndControl) {
  expect_renders(kFourMessages, {
      {"{% for m in messages if m.role == 'user' %}{{ loop.index }}/{{ loop.length }}:{{ m.content }} {% endfor %}", "1/2:Hi there 2/2:日本語で "},
  });
  expect_renders({
      {"{% for x in [] %}x{% else %}empty{% endfor %} {% for x in [1] if x > 5 %}x{% else %}filtered out{% endfor %}", "empty filtered out"},
      {"{% for i in range(10) %}{% if i is odd %}{% continue %}{% endif %}{% if i > 6 %}{% break %}{% endif %}{{ i }}{% endfor %}", "0246"},
      {"{% for i in range(3) %}{% for j in range(3) %}{% if j > i %}{% break %}{% endif %}{{ i }}{{ j }} {% endfor %}{% endfor %}", "00 10 11 20 21 22 "},
  });
}

TEST(ChatTemplateStatements, LoopTargets) {
  expect_renders({
      {"{% for k, v in {'b': 1, 'a': 2}.items() %}{{ k }}={{ v }} {% endfor %}{% for k in {'z': 1, 'y': 2} %}{{ k }}{% endfor %} {% for k, v in {'q': [1]} | items %}{{ k }}{{ v }}{% endfor %}", "b=1 a=2 zy q[1]"},
      {"{% for a, b in [[1, 2], (3, 4), 'xy'] %}({{ a }},{{ b }}){% endfor %} {% for ch in 'aé😀' %}[{{ ch }}]{% endfor %} {% for i in range(5, 0, -2) %}{{ i }}{% endfor %}", "(1,2)(3,4)(x,y) [a][é][😀] 531"},
  });
}

TEST(ChatTemplateStatements, ScopingFollowsJinja) {
  expect_renders({
      {"{% set x = 1 %}{% for i in range(3) %}{{ x }}{% set x = x + 10 %}{{ x }} {% endfor %}{{ x }}", "111 111 111 1"},
      {"{% for i in range(2) %}{% set inner = i %}{% endfor %}[{{ inner }}] {% set x = 5 %}{% for x in range(2) %}{% endfor %}{{ x }}", "[] 5"},
      {"{% set ns = namespace(total=0, seen=[]) %}{% for i in range(4) %}{% set ns.total = ns.total + i %}{% set ns.seen = ns.seen + [i] %}{% endfor %}{{ ns.total }} {{ ns.seen }} {{ ns }}", "6 [0, 1, 2, 3] <Namespace {'total': 6, 'seen': [0, 1, 2, 3]}>"},
      {"{% if true %}{% set top = 'visible' %}{% endif %}{{ top }} {% with a = 1 %}{% set b = 2 %}{{ a }}{% endwith %}[{{ a }}{{ b }}] {% for x in [] %}{% else %}{% set e = 1 %}{% endfor %}[{{ e }}]", "visible 1[] []"},
  });
  expect_renders(kFourMessages, {
      {"{% set messages = messages[1:] %}{{ messages | length }} {{ messages[0].role }}", "3 user"},
  });
}

TEST(ChatTemplateStatements, Macros) {
  expect_renders({
      {"{% macro greet(name, greeting='Hello') %}{{ greeting }}, {{ name }}!{% endmacro %}{{ greet('A') }} {{ greet('B', 'Hi') }} {{ greet(greeting='Yo', name='C') }} [{{ greet() }}]", "Hello, A! Hi, B! Yo, C! [Hello, !]"},
      {"{% macro f(n) %}{{ n }}{% if n > 0 %},{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(4) }} {{ f(2) | length }} {{ f }}", "4,3,2,1,0 5 <Macro 'f'>"},
      {"{% set late = 'before' %}{% macro show() %}{{ late }}{% endmacro %}{% set late = 'after' %}{{ show() }}", "after"},
      {"{% macro v(a) %}{{ a }}|{{ varargs }}|{{ kwargs }}{% endmacro %}{{ v(1, 2, 3, k='w') }} {{ v(1) }}", "1|(2, 3)|{'k': 'w'} 1|()|{}"},
  });
}

TEST(ChatTemplateStatements, SetBlocksWithAndFilterBlocks) {
  expect_renders({
      {"{% set block %}line {{ 1 + 1 }}\n{% endset %}[{{ block }}] {% set shout | upper | trim %}  quiet  {% endset %}[{{ shout }}]", "[line 2\n] [QUIET]"},
      {"{% set a, b = 1, 2 %}{{ a }}{{ b }} {% set t = 1, 'x' %}{{ t }} {% with p = 1, q = 2 %}{{ p + q }}{% endwith %}", "12 (1, 'x') 3"},
      {"{% filter upper %}up {{ 'here' }}{% endfilter %} {% filter replace('a', 'o') | title %}banana split{% endfilter %}", "UP HERE Bonono Split"},
      {"{% if false %}a{% elif none %}b{% elif 0 %}c{% else %}d{% endif %}{% if [] %}e{% elif [0] %}f{% endif %} {% print 'printed', 2 %}", "df printed2"},
  });
}

}  // namespace
}  // namespace swallow::test
