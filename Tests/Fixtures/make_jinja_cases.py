#!/usr/bin/env python3
"""Writes Tests/TokenizersTests/JinjaBehaviourCases.swift: small templates covering the Jinja interpreter's pieces
(whitespace control, loops, scoping, macros, expressions, filters, tests, Python methods, errors), each with the
output Python's jinja2 gives in transformers' chat-template environment, or the error it raises.

Run by hand after changing the cases (python3 Tests/Fixtures/make_jinja_cases.py); the Swift file is committed.
"""
import json
import os

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

HERE = os.path.dirname(os.path.abspath(__file__))
TARGET = os.path.join(os.path.dirname(HERE), "TokenizersTests", "JinjaBehaviourCases.swift")

env=ImmutableSandboxedEnvironment(trim_blocks=True,lstrip_blocks=True,extensions=['jinja2.ext.loopcontrols'])
env.filters["tojson"]=lambda x, ensure_ascii=False, indent=None, separators=None, sort_keys=False: json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)
def rx(m): raise jinja2.exceptions.TemplateError(m)
env.globals["raise_exception"]=rx
CTX={"messages":[{"role":"system","content":"S"},{"role":"user","content":" Hi there "},{"role":"assistant","content":None}],"n":3,"x":2.5,"d":{"b":1,"a":[1,2],"c":None},"s":"Hello, World"}
cases = [
 # whitespace control
 "{% if true %}\nA\n{% endif %}\nB",
 "  {% if true %}\n  A\n  {% endif %}\n  B",
 "x  {%- if true -%}  y  {%- endif -%}  z",
 "a\n  {%+ if true %}b{% endif %}\n",
 "a {# comment #}\nb\n  {#- c -#}  \nc",
 "{{ 'a' }}\n{{ 'b' }}\n",
 "line1\r\nline2\r\n{% if true %}\r\nx\r\n{% endif %}\r\n",
 "{%- for m in messages -%}\n  [{{ m.role }}]\n{%- endfor %}\nend",
 # loops
 "{% for m in messages %}{{ loop.index }}{{ loop.index0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }}{{ loop.revindex }}{{ loop.revindex0 }};{% endfor %}",
 "{% for m in messages %}{{ loop.previtem.role if loop.previtem is defined else '-' }}>{{ loop.nextitem.role if loop.nextitem is defined else '-' }} {% endfor %}",
 "{% for m in messages if m.role != 'system' %}{{ loop.index }}/{{ loop.length }}:{{ m.role }} {% endfor %}",
 "{% for i in range(n) %}{% if i == 1 %}{% continue %}{% endif %}{% if i == 2 %}{% break %}{% endif %}{{ i }}{% endfor %}",
 "{% for x in [] %}no{% else %}empty{% endfor %}",
 "{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}{% for k, v in d | dictsort %}{{ k }}{% endfor %}",
 "{% set y = 1 %}{% for i in range(3) %}{% set y = y + i %}{{ y }}{% endfor %}|{{ y }}",
 "{% set ns = namespace(total=0, seen=[]) %}{% for i in range(4) %}{% set ns.total = ns.total + i %}{% endfor %}{{ ns.total }}",
 "{% for a, b in [(1, 2), [3, 4]] %}{{ a + b }}{% endfor %}",
 "{% for c in 'héllo' %}{{ c }}.{% endfor %}",
 # set
 "{% set a, b = 1, 'two' %}{{ a }}{{ b }}",
 "{% set block %}  Block {{ n }}  {% endset %}[{{ block }}]",
 "{% set block | trim | upper %}  Block {{ n }}  {% endset %}[{{ block }}]",
 "{% filter upper %}abc{{ s }}{% endfilter %}",
 # macros
 "{% macro greet(name, punct='!') %}Hi {{ name }}{{ punct }}{% endmacro %}{{ greet('Ann') }} {{ greet('Bob', punct='?') }} {{ greet(name='Cy') }}",
 "{% macro f(x) %}{% if x > 0 %}{{ x }}{{ f(x - 1) }}{% endif %}{% endmacro %}{{ f(3) }}",
 "{% macro show() %}{{ later }}{% endmacro %}{% set later = 'L' %}{{ show() }}",
 # expressions
 "{{ 1 + 2 * 3 }} {{ (1 + 2) * 3 }} {{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 2 ** 10 }} {{ 7 / 2 }} {{ 6 / 3 }}",
 "{{ x * 2 }} {{ x + 1 }} {{ 1e3 }} {{ 0.1 + 0.2 }} {{ 1e-7 }} {{ 1.5e20 }} {{ 100000000000000000.0 }} {{ -0.0 }}",
 "{{ 'a' ~ 1 ~ none ~ true ~ [1, 'b'] ~ {'k': 'v'} }}",
 "{{ [1, 'a', none, true, 1.0, {'k': [2.5, 'it\\'s']}] }}",
 "{{ 'abc'[1] }}{{ 'abc'[-1] }}{{ 'abcdef'[1:4] }}{{ 'abcdef'[::2] }}{{ 'abc'[::-1] }}{{ [1,2,3,4][1:] }}{{ [1,2,3][:-1] }}",
 "{{ 1 < 2 < 3 }} {{ 3 > 2 > 2 }} {{ 'a' in 'cat' }} {{ 'z' not in 'cat' }} {{ 2 in [1, 2] }} {{ 'b' in d }} {{ 1 == 1.0 }} {{ true == 1 }}",
 "{{ none is none }} {{ x is number }} {{ n is integer }} {{ x is float }} {{ s is string }} {{ d is mapping }} {{ d is iterable }} {{ n is iterable }} {{ messages is sequence }} {{ true is boolean }} {{ 0 is false }} {{ false is false }}",
 "{{ undefined_thing is defined }} {{ undefined_thing is undefined }} {{ n is defined }} {{ n is divisibleby 3 }} {{ n is odd }} {{ n is even }} {{ 'ab' is equalto 'ab' }} {{ 'ab' is eq('ab') }} {{ 3 is ge 2 }}",
 "{{ 'yes' if n > 2 else 'no' }} {{ 'yes' if n > 5 }}|{{ n > 2 and 'A' or 'B' }} {{ none or 'fallback' }} {{ 0 and 'x' }} {{ not n }}",
 "{{ missing }}|{{ missing | default('dflt') }}|{{ none | default('dflt') }}|{{ '' | default('dflt', true) }}|{{ missing | length }}",
 "{% if messages[0]['role'] == 'system' %}{{ messages[0]['content'] }}{% endif %}{{ messages[5] }}|{{ d.nokey }}|{{ d['nokey'] }}",
 "{{ messages[2].content }}|{{ messages[2].content is none }}|{{ messages[1].content | trim }}|{{ messages[2].content | trim }}",
 # filters
 "{{ s | upper }} {{ s | lower }} {{ s | length }} {{ s | title }} {{ 'hELLO wORLD' | capitalize }} {{ 'a-b c(d' | title }}",
 "{{ s | replace('l', 'L') }} {{ s | replace('l', 'L', 2) }} {{ [1, 2, 3] | join(', ') }} {{ ['a', 'b'] | join }} {{ messages | map(attribute='role') | join('/') }}",
 "{{ [3, 1, 2] | first }} {{ [3, 1, 2] | last }} {{ 'abc' | first }} {{ [3, 1, 2] | sort | list }} {{ ['b', 'A', 'c'] | sort }} {{ [3, 1, 2] | sort(reverse=true) }} {{ [] | first }}",
 "{{ '42' | int }} {{ '4.7' | int }} {{ 'x' | int }} {{ 'x' | int(7) }} {{ 4.9 | int }} {{ '3.5' | float }} {{ 2 | float }} {{ -3 | abs }} {{ 2.567 | round(2) }} {{ 2.5 | round }}",
 "{{ 'abc' | list }} {{ d | list }} {{ d | items | list }} {{ d | length }} {{ messages | length }} {{ [1, 2, 1, 'a', 'A'] | unique | list }} {{ [3, 1, 2] | min }} {{ [3, 1, 2] | max }}",
 "{{ messages | selectattr('role', 'equalto', 'user') | list | length }} {{ messages | rejectattr('role', 'equalto', 'user') | map(attribute='role') | list }} {{ messages | selectattr('content') | list | length }}",
 "{{ [1, 2, 3, 4] | select('odd') | list }} {{ [1, 2, 3, 4] | reject('odd') | list }} {{ ['a', 'b'] | map('upper') | list }} {{ [1, none, 2] | select('none') | list }}",
 "{{ d | tojson }} {{ messages | tojson }} {{ 'é\"\\n<>&' | tojson }} {{ 'é' | tojson(ensure_ascii=true) }} {{ [1, [2, {}], []] | tojson(indent=2) }} {{ {'b': 1, 'a': 2} | tojson(sort_keys=true) }}",
 "{{ {'a': 1, 'b': [1, 2]} | tojson(indent=4) }}|{{ [] | tojson(indent=2) }}|{{ {'k': 1.0} | tojson(separators=(',', ':')) }}",
 "{{ 'line1\\nline2\\n\\nline4' | indent(2) }}|{{ 'a\\nb' | indent(4, first=true) }}|{{ 'a\\nb' | indent('> ') }}|{{ 'a\\n\\nb' | indent(2, blank=true) }}",
 "{{ '  x  ' | trim }}|{{ 'xxaxx' | trim('x') }}|{{ 5 | string }}|{{ none | string }}|{{ [1] | string }}|{{ true | string }}",
 "{{ 'a<b' | safe }} {{ 'a<b' | escape }} {{ '<p>' | e }} {{ 'x'|safe + '<y>' }} {{ '<y>' + 'x'|safe }} {{ ('a'|safe ~ '<b>') }}",
 "{{ d | dictsort }} {{ {'B': 1, 'a': 2} | dictsort }} {{ {'B': 1, 'a': 2} | dictsort(true) }} {{ {'a': 2, 'b': 1} | dictsort(by='value') }}",
 "{{ [{'n': 'b'}, {'n': 'A'}] | sort(attribute='n') | map(attribute='n') | join }} {{ ['x', 'y'] | reverse | list }} {{ 'abc' | reverse }} {{ [1, 2, 3] | sum }} {{ 'one two  three' | wordcount }}",
 # methods
 "{{ ' a b '.strip() }}|{{ 'xxa'.lstrip('x') }}|{{ 'axx'.rstrip('x') }}|{{ 'a,b,,c'.split(',') }}|{{ ' a  b '.split() }}|{{ 'a b c'.split(' ', 1) }}|{{ 'a,b,c'.rsplit(',', 1) }}",
 "{{ s.startswith('Hell') }} {{ s.endswith(('x', 'ld')) }} {{ s.upper() }} {{ s.lower() }} {{ s.replace('o', '0') }} {{ 'hello world'.title() }} {{ 'hello'.capitalize() }}",
 "{{ '{} and {}'.format('a', 1) }} {{ '{1}{0}'.format('a', 'b') }} {{ '{name}!'.format(name='N') }} {{ '{{literal}}'.format() }} {{ ', '.join(['a', 'b']) }} {{ s.find('o') }} {{ s.count('l') }}",
 "{{ d.get('b') }} {{ d.get('zz') }} {{ d.get('zz', 'dflt') }} {{ d.keys() | list }} {{ d.values() | list }} {{ d.items() | list }} {{ d.items() | length }}",
 "{{ 'a\\nb\\r\\nc'.splitlines() }} {{ '123'.isdigit() }} {{ 'abc'.isalpha() }} {{ ' '.isspace() }}",
 # strings & escapes
 "{{ 'tab\\there' }} {{ \"dq 'sq'\" }} {{ 'sq \"dq\"' }} {{ 'a' 'b' }} {{ '\\u00e9\\x41\\101' }} {{ 'back\\\\slash' }} {{ '\\q' }}",
 "{{ {1: 'one', 'k': 2}[1] }} {{ {1: 'one'} }} {{ {'a': 1}.get(1) }} {{ {none: 1, true: 2} }} {{ (1, 'a') }} {{ (1,) }} {{ () }}",
 "{{ 'a' * 3 }} {{ [1, 2] * 2 }} {{ [1] + [2] }} {{ (1,) + (2,) }} {{ -x }} {{ +n }} {{ 10 - 3 - 2 }} {{ 2 ** 3 ** 2 }}",
 "{{ range(5) | list }} {{ range(1, 10, 3) | list }} {{ range(5, 0, -2) | list }} {{ range(3) | length }} {{ range(0) | list }}",
 "{{ messages | items | list if false else 'ok' }} {% if messages | selectattr('role', 'equalto', 'nobody') %}generator-is-true{% endif %}",
 "{{ ns is defined }}{% set ns = namespace(a=1) %}{{ ns.a }}{{ ns.b }}{{ ns.b is defined }}",
 "{{ dict(a=1, b='x') }} {{ namespace(a=1).a }} {% if false %}{{ x | nofilter }}{% endif %}deferred",
]
errors = [
 "{{ 'a' + 1 }}", "{{ missing.attr }}", "{{ none + 1 }}", "{{ [1].append(2) }}", "{{ {'a': 1}.pop('a') }}",
 "{{ raise_exception('custom message') }}", "{{ range(100001) | length }}", "{{ 1 / 0 }}", "{{ 5 // 0 }}",
 "{{ missing() }}", "{{ d | tojson if false else missing | tojson }}", "{% for a, b in [[1, 2, 3]] %}{% endfor %}",
 "{{ 'a' < 1 }}", "{{ 1 in 5 }}", "{{ n | length }}", "{% if false %}{{ x | nofilter }}{% else %}{{ x | nofilter }}{% endif %}",
 "{% macro m(a) %}{% endmacro %}{{ m(1, 2) }}",
]
out = []
for c in cases:
    try: out.append((c, env.from_string(c).render(**CTX), None))
    except Exception as e: out.append((c, None, f"{type(e).__name__}: {e}"))
for c in errors:
    try: r = env.from_string(c).render(**CTX); out.append((c, r, "NO ERROR"))
    except Exception as e: out.append((c, None, f"{type(e).__name__}: {e}"))
document = json.dumps({"context": CTX, "cases": [{"template": c, "output": o, "error": e} for c, o, e in out]},
                      ensure_ascii=False, indent=1)
assert '"""#' not in document
with open(TARGET, "w", encoding="utf-8") as f:
    f.write("// Generated by Tests/Fixtures/make_jinja_cases.py from Python's jinja2 " + jinja2.__version__ + "; do not edit.\n")
    f.write("/// Templates with the output (or error) of jinja2 in transformers' environment, for JinjaBehaviourTests.\n")
    f.write("enum JinjaBehaviourCases {\n    static let json = #\"\"\"\n" + document + "\n\"\"\"#\n}\n")
print(f"{len(out)} cases written to {TARGET}")
