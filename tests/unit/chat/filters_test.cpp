// Filters, tests, methods and global functions against jinja2 (expected values produced by jinja2 3.1.6 with Hugging Face's
// apply_chat_template environment).
#include <gtest/gtest.h>

#include "render_helpers.h"

namespace swallow::test {
namespace {

TEST(ChatTemplateFilters, TrimLengthJoin) {
  expect_renders(kFourMessages, {
      {"[{{ messages[0].content | trim }}] [{{ '　\t x 　\n' | trim }}] [{{ 'xxaxx' | trim('x') }}] {{ messages | length }} {{ messages[3].content | length }} {{ {'a': 1} | count }} {{ messages | map(attribute='role') | join(', ') }} {{ [1, none, 2.5] | join }} {{ messages | join('|', attribute='role') }}", "[Be brief.] [x] [a] 4 4 1 system, user, assistant, user 1None2.5 system|user|assistant|user"},
  });
}

TEST(ChatTemplateFilters, SelectRejectMap) {
  expect_renders({
      {"{{ [1, 2, 3, 4] | select('odd') | list }} {{ [1, 2, 3, 4] | reject('odd') | list }} {{ [0, '', 'a', [], [0]] | select | list }} {{ [3, 8] | select('gt', 4) | list }} {{ ['a', 'b'] | select('in', 'abc') | list }}", "[1, 3] [2, 4] ['a', [0]] [8] ['a', 'b']"},
  });
  expect_renders(kFourMessages, {
      {"{{ messages | selectattr('role', 'equalto', 'user') | map(attribute='content') | list }} {{ messages | rejectattr('role', 'in', ['user']) | map(attribute='role') | join(',') }} {{ messages | selectattr('name', 'undefined') | list | length }} {{ messages | map(attribute='name', default='?') | join }} {{ ['a', 'B'] | map('upper') | list }} {{ [{'a': {'b': 1}}] | map(attribute='a.b') | list }} {{ [[1, 2]] | map(attribute='1') | list }}", "['Hi there', '日本語で'] system,assistant 4 ???? ['A', 'B'] [1] [2]"},
      {"{% if messages | selectattr('role', 'equalto', 'tool') %}generator is truthy{% endif %} {% set g = [1, 2] | select %}{{ g | list }}{{ g | list }}", "generator is truthy [1, 2][]"},
  });
}

TEST(ChatTemplateFilters, DefaultFirstLastList) {
  expect_renders({
      {"[{{ missing | default('d') }}] [{{ none | default('d') }}] [{{ '' | default('d', true) }}] [{{ missing | d }}] {{ [3, 4] | first }} {{ [3, 4] | last }} {{ 'abc' | first }} {{ 'abc' | last }} [{{ [] | first }}] {{ 'ab' | list }} {{ {'k': 1} | list }} {{ (1, 2) | list }}", "[d] [None] [d] [] 3 4 a c [] ['a', 'b'] ['k'] [1, 2]"},
  });
}

TEST(ChatTemplateFilters, ToJson) {
  expect_renders(kFourMessages, {
      {"{{ messages[1] | tojson }} {{ 'é\"\\\\\\n\\t\\x01<>& ' | tojson }} {{ 'é😀' | tojson(ensure_ascii=true) }} {{ [1.0, 1e20, 1e-7, -0.0, 3, true, none] | tojson }}", "{\"role\": \"user\", \"content\": \"Hi there\"} \"é\\\"\\\\\\n\\t\\u0001<>& \" \"\\u00e9\\ud83d\\ude00\" [1.0, 1e+20, 1e-07, -0.0, 3, true, null]"},
  });
  expect_renders({
      {"{{ {'name': 'f', 'parameters': {'b': [1, 2], 'a': {}}, 'empty': []} | tojson(indent=2) }}", "{\n  \"name\": \"f\",\n  \"parameters\": {\n    \"b\": [\n      1,\n      2\n    ],\n    \"a\": {}\n  },\n  \"empty\": []\n}"},
      {"{{ {'b': 1, 'a': [1]} | tojson(indent='\\t') }} {{ {'b': 1, 'a': 2} | tojson(sort_keys=true) }} {{ {'k': [1, 2]} | tojson(separators=(',', ':')) }} {{ {1: 'i', none: 'n', true: 'b', 1.5: 'f'} | tojson }} {{ [1] | tojson(indent=0) }}", "{\n\t\"b\": 1,\n\t\"a\": [\n\t\t1\n\t]\n} {\"a\": 2, \"b\": 1} {\"k\":[1,2]} {\"1\": \"b\", \"null\": \"n\", \"1.5\": \"f\"} [\n1\n]"},
  });
}

TEST(ChatTemplateFilters, CaseFilters) {
  expect_renders({
      {"{{ 'hello WORLD' | upper }} {{ 'Hello WORLD' | lower }} {{ 'hello wORLD-foo(bar [baz <q' | title }} {{ 'hELLO World' | capitalize }} {{ 'straße ǆ ﬁ' | upper }} {{ 'ΣΑΣ ΟΔΟΣ' | lower }} {{ 'ǆemal' | title }} {{ 'ǆemal' | capitalize }}", "HELLO WORLD hello world Hello World-Foo(Bar [Baz <Q Hello world STRASSE Ǆ FI σας οδος Ǆemal ǅemal"},
  });
}

TEST(ChatTemplateFilters, NumberAndStringConversions) {
  expect_renders({
      {"{{ 1 | string }} {{ [1, 'a'] | string }} {{ none | string }} [{{ missing | string }}] {{ '42' | int + 1 }} {{ ' -7 ' | int }} {{ '1_000' | int }} {{ '3.9' | int }} {{ 'x' | int }} {{ 'x' | int(7) }} {{ '0x1F' | int(base=16) }} {{ 4.7 | int }} {{ true | int }} {{ none | int }}", "1 [1, 'a'] None [] 43 -7 1000 3 0 7 31 4 1 0"},
      {"{{ '2.5' | float }} {{ ' 1e3 ' | float }} {{ 'x' | float }} {{ 'x' | float(1.5) }} {{ 3 | float }} {{ '-inf' | float }} {{ -3 | abs }} {{ -2.5 | abs }} {{ 2.5 | round }} {{ 3.5 | round }} {{ 2.675 | round(2) }} {{ 2.7 | round(0, 'floor') }} {{ 2.1 | round(method='ceil') }} {{ 1234 | round(-2) }}", "2.5 1000.0 0.0 1.5 3.0 -inf 3 2.5 2.0 4.0 2.67 2.0 3.0 1200"},
  });
}

TEST(ChatTemplateFilters, ReplaceIndentCenterWordcount) {
  expect_renders({
      {"{{ 'a-b-c' | replace('-', '+') }} {{ 'aaaa' | replace('a', 'b', 2) }} {{ 'abc' | replace('', '.') }} [{{ 'ab' | center(7) }}] [{{ 'abc' | center(2) }}] {{ 'one two  three_four 5 日本' | wordcount }} {{ '<b>' | safe }}", "a+b+c bbaa .a.b.c. [   ab  ] [abc] 5 <b>"},
      {"[{{ 'a\\nb\\n\\nc' | indent(2) }}] [{{ 'a\\nb' | indent('> ', first=true) }}] [{{ 'a\\n\\nb\\n' | indent(1, blank=true) }}] [{{ 'x\\r\\ny' | indent }}]", "[a\n  b\n\n  c] [> a\n> b] [a\n \n b\n ] [x\n    y]"},
  });
}

TEST(ChatTemplateFilters, SortUniqueMinMaxSum) {
  expect_renders(kFourMessages, {
      {"{{ [3, 1, 2] | sort }} {{ ['b', 'A', 'c'] | sort }} {{ ['b', 'A', 'c'] | sort(case_sensitive=true) }} {{ [3, 1, 2] | sort(reverse=true) }} {{ messages | sort(attribute='role') | map(attribute='role') | join(',') }} {{ [{'a': 2, 'b': 1}, {'a': 1, 'b': 2}] | sort(attribute='a,b') | map(attribute='b') | list }}", "[1, 2, 3] ['A', 'b', 'c'] ['A', 'b', 'c'] [3, 2, 1] assistant,system,user,user [2, 1]"},
  });
  expect_renders({
      {"{{ [1, 2, 1, 3] | unique | list }} {{ ['a', 'A', 'b'] | unique | list }} {{ {'b': 1, 'a': 2} | dictsort }} {{ {'b': 1, 'a': 2} | dictsort(by='value', reverse=true) }} {{ [3, 1] | min }} {{ ['b', 'a'] | max }} {{ [] | max is defined }} {{ [1, 2.5] | sum }} {{ [{'n': 1}, {'n': 2}] | sum(attribute='n', start=10) }}", "[1, 2, 3] ['a', 'b'] [('a', 2), ('b', 1)] [('a', 2), ('b', 1)] 1 b False 3.5 13"},
  });
  expect_renders(kFourMessages, {
      {"{{ 'abc' | reverse }} {{ [1, 2, 3] | reverse | list }} {{ [1, 2, 3, 4, 5] | batch(2) | list }} {{ [1, 2, 3] | batch(2, 'x') | list }} {{ {'a': 1} | items | list }} {{ messages[0] | attr('role') is defined }} {{ {'a': 1} | attr('items') is defined }}", "cba [3, 2, 1] [[1, 2], [3, 4], [5]] [[1, 2], [3, 'x']] [('a', 1)] False True"},
  });
}

TEST(ChatTemplateTests, TypeTests) {
  expect_renders({
      {"{{ {} is mapping }} {{ [] is mapping }} {{ 'a' is string }} {{ 1 is string }} {{ 1 is number }} {{ 1.5 is number }} {{ true is number }} {{ 1 is integer }} {{ true is integer }} {{ 1.0 is float }} {{ true is boolean }} {{ 1 is boolean }} {{ none is none }} {{ 0 is none }}", "True False True False True True True True False True True False True False"},
      {"{{ 'a' is iterable }} {{ [] is iterable }} {{ {} is iterable }} {{ 1 is iterable }} {{ none is iterable }} {{ missing is iterable }} {{ 'a' is sequence }} {{ {} is sequence }} {{ 1 is sequence }} {{ range is callable }} {{ 'x' is callable }} {{ missing is defined }} {{ missing is undefined }} {{ none is defined }}", "True True True False False True True True False True False False True True"},
  });
}

TEST(ChatTemplateTests, ValueTests) {
  expect_renders({
      {"{{ true is true }} {{ 1 is true }} {{ false is false }} {{ 0 is false }} {{ 3 is odd }} {{ 4 is even }} {{ 9 is divisibleby 3 }} {{ 9 is divisibleby(4) }} {{ 'ab' is lower }} {{ 'Ab' is lower }} {{ 'AB' is upper }} {{ '1' is upper }} {{ 'upper' is filter }} {{ 'nope' is filter }} {{ 'odd' is test }}", "True False True False True True True False True False True False True False True"},
      {"{{ 1 is eq 1.0 }} {{ 1 is equalto 2 }} {{ 'a' is ne 'b' }} {{ 3 is gt 2 }} {{ 3 is greaterthan 3 }} {{ 2 is ge 2 }} {{ 1 is lt 2 }} {{ 1 is lessthan 1 }} {{ 2 is le 1 }} {{ 'a' is in 'abc' }} {{ 3 is in [1, 2] }} {{ none is sameas none }} {{ 1 is not none }} {{ not 1 is none }}", "True False True True False True True False False True False True True True"},
  });
}

TEST(ChatTemplateMethods, StringMethods) {
  expect_renders({
      {"[{{ '  pad  '.strip() }}|{{ '  pad  '.lstrip() }}|{{ '  pad  '.rstrip() }}|{{ 'xxpadxx'.strip('x') }}|{{ '　x　'.strip() }}] {{ 'a,b,,c'.split(',') }} {{ ' a  b '.split() }} {{ 'a b c'.split(' ', 1) }} {{ 'a b c'.rsplit(' ', 1) }} {{ '  a b c  '.split(none, 1) }} {{ '  a b c  '.rsplit(none, 1) }} {{ 'l1\\nl2\\r\\nl3\\n'.splitlines() }} {{ 'x\\ny'.splitlines(true) }}", "[pad|pad  |  pad|pad|x] ['a', 'b', '', 'c'] ['a', 'b'] ['a', 'b c'] ['a b', 'c'] ['a', 'b c  '] ['  a b', 'c'] ['l1', 'l2', 'l3'] ['x\\n', 'y']"},
      {"{{ 'prefix'.startswith('pre') }} {{ 'prefix'.startswith(('x', 'p')) }} {{ 'prefix'.endswith('fix') }} {{ 'hello world'.title() }} {{ \"they're bill's\".title() }} {{ 'MiXed'.upper() }} {{ 'MiXed'.lower() }} {{ 'mIXED case'.capitalize() }} {{ 'a-a-a'.replace('-', '+') }} {{ 'a-a-a'.replace('-', '+', 1) }} {{ 'banana'.find('an') }} {{ 'banana'.rfind('an') }} {{ 'banana'.find('x') }} {{ 'banana'.count('a') }} {{ '日本語'.find('語') }}", "True True True Hello World They'Re Bill'S MIXED mixed Mixed case a+a+a a+a-a 1 3 -1 3 2"},
      {"{{ ', '.join(['x', 'y']) }} {{ '-'.join('abc') }} {{ '123'.isdigit() }} {{ '12a'.isdigit() }} {{ 'abc'.isalpha() }} {{ 'ab1'.isalnum() }} {{ ' \\t'.isspace() }} {{ 'abc'.islower() }} {{ 'ABC'.isupper() }} {{ 'prefix-body'.removeprefix('prefix-') }} {{ 'body.txt'.removesuffix('.txt') }}", "x, y a-b-c True False True True True True True body body"},
  });
}

TEST(ChatTemplateMethods, DictAndListMethods) {
  expect_renders(kFourMessages, {
      {"{{ messages[0].keys() | list }} {{ messages[0].values() | list }} {{ messages[0].items() | list }} {{ messages[0].get('role') }} {{ messages[0].get('nope') }} {{ messages[0].get('nope', 'dflt') }} {{ messages[0].items() }} {{ {'a': 1}.keys() }} {{ [1, 2, 2].count(2) }} {{ [1, 2, 2].index(2) }}", "['role', 'content'] ['system', '  Be brief.  '] [('role', 'system'), ('content', '  Be brief.  ')] system None dflt dict_items([('role', 'system'), ('content', '  Be brief.  ')]) dict_keys(['a']) 2 1"},
  });
}

TEST(ChatTemplateMethods, Globals) {
  expect_renders({
      {"{{ range(3) | list }} {{ range(2, 8, 3) | list }} {{ range(5, 0, -2) | list }} {{ range(0) | list }} {{ range(3) }} {{ dict(b=1, a=2) }} {{ namespace(x=1).x }} {{ namespace({'y': 2}).y }}", "[0, 1, 2] [2, 5] [5, 3, 1] [] range(0, 3) {'b': 1, 'a': 2} 1 2"},
  });
}

}  // namespace
}  // namespace swallow::test
