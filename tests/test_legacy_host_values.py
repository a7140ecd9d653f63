"""Host values in and out of a query as legacy oso 0.27.3 handles them: collection literals
passed to host methods, host exceptions raised by inline queries, and how messages show an
instance (`<repr> TYPE \\`Name\\``).

Every expected value was observed with legacy; the module runs against it too:

    OSO_TESTS_AGAINST_LEGACY=1 /tmp/legacy/bin/python -m pytest tests/test_legacy_host_values.py -q
"""

from __future__ import annotations

import re

import pytest
from engine_under_test import Oso, PolarRuntimeError


@pytest.fixture(autouse=True)
def _quiet(monkeypatch):
    monkeypatch.setenv("POLAR_IGNORE_NO_ALLOW_WARNING", "1")
    monkeypatch.delenv("POLAR_LOG", raising=False)


class Foo:
    def boom(self):
        raise ValueError("kaboom")

    def inner_attribute_error(self):
        raise AttributeError("inner")


class Plain:
    pass


def make_oso():
    oso = Oso()
    oso.register_class(Foo)
    oso.register_class(Plain)
    oso.register_constant(Foo(), "foo")
    return oso


def bindings(oso, query):
    return [r["bindings"] for r in oso.query(query)]


# Collection literals holding variables, as receivers or arguments of host methods ------------


@pytest.mark.parametrize("query, expected", [
    ("x = 1 and [3, 2, x].index(1) = 2", [{"x": 1}]),
    ("x = 1 and y = [3, [x]].index([1])", [{"x": 1, "y": 1}]),
    ('x = 2 and y = {a: x}.get("a")', [{"x": 2, "y": 2}]),
    ("x = 1 and y = [x, z].count(1)", [{"x": 1, "y": 1}]),
    ("y = [z].count(1)", [{"y": 0}]),
    ("x = 1 and l = [x, 2] and l.index(2) = 1", [{"x": 1, "l": [1, 2]}]),
    # the host works on a copy of a literal: appending changes nothing the policy sees
    ("x = [1] and x.append(2) = nil and x = [1]", [{"x": [1]}]),
])
def test_host_methods_see_the_values_of_bound_variables_in_literals(query, expected):
    assert bindings(make_oso(), query) == expected


def test_literal_with_a_bound_variable_in_an_inline_query_and_a_rule():
    oso = make_oso()
    oso.load_str("?= x = 1 and [3, 2, x].index(1) = 2;\nf(y) if x = 1 and y = [3, 2, x].index(1);")
    assert bindings(oso, "f(y)") == [{"y": 2}]


def test_host_method_errors_on_literals_stay_host_errors():
    with pytest.raises(ValueError, match="^5 is not in list$"):
        bindings(make_oso(), "x = 1 and [3, 2, x].index(5) = 2")


# Host exceptions while an inline query runs --------------------------------------------------


@pytest.mark.parametrize("source, error, message", [
    ("?= new Foo().boom();", ValueError, "kaboom"),
    ("?= foo.boom();", ValueError, "kaboom"),
    ("?= foo.boom() = 1;", ValueError, "kaboom"),
    ("?= new Foo().inner_attribute_error();", AttributeError, "inner"),
    ("?= foo.boom(1);", TypeError, "Foo.boom() takes 1 positional argument but 2 were given"),
    ("?= Foo.boom();", TypeError, "Foo.boom() missing 1 required positional argument: 'self'"),
])
def test_host_exception_in_an_inline_query_propagates_unchanged(source, error, message):
    # Legacy raises the host's own exception, exactly as during an ordinary query.
    with pytest.raises(error) as info:
        make_oso().load_str(source)
    assert type(info.value) is error
    assert str(info.value) == message


def test_host_exception_in_an_inline_query_is_the_one_an_ordinary_query_raises():
    oso = make_oso()
    oso.load_str("g(x) if x = foo.boom();")
    with pytest.raises(ValueError, match="^kaboom$"):
        bindings(oso, "g(x)")


def test_rules_before_a_failing_inline_query_stay_loaded():
    oso = make_oso()
    with pytest.raises(ValueError):
        oso.load_str("f(1);\n?= foo.boom();")
    assert bindings(oso, "f(1)") == [{}]
    with pytest.raises(PolarRuntimeError, match="^Cannot load additional Polar code"):
        oso.load_str("h(1);")


def test_missing_attribute_in_an_inline_query_is_an_application_error_with_its_location():
    with pytest.raises(PolarRuntimeError) as info:
        make_oso().load_str("?= foo.nope = 1;")
    text = str(info.value)
    assert "Application error: 'Foo' object has no attribute 'nope' at line 1, column 4:\n" in text
    assert "\t001: ?= foo.nope = 1;\n\t        ^\n" in text


# Instances in messages: `<repr> TYPE \`Name\`` -------------------------------------------------

ADDRESS = re.compile(r" at 0x[0-9a-f]+")


def test_error_trace_shows_rule_arguments_with_their_type():
    oso = make_oso()
    oso.load_str("allow(x, _, _) if x.nope = 1; k(x) if x.nope = 1;")
    # (legacy numbers more frames than oso_core: the frame numbers are not compared)
    with pytest.raises(PolarRuntimeError) as info:
        oso.is_allowed(Plain(), "a", 1)
    text = ADDRESS.sub("", str(info.value))
    assert re.match(r"trace \(most recent evaluation last\):\n"
                    r"  \d{3}: allow\(<test_legacy_host_values\.Plain object> TYPE `Plain`, \"a\", 1\)\n  \d{3}: ", text)
    with pytest.raises(PolarRuntimeError) as info:
        list(oso.query_rule("k", Plain()))
    text = ADDRESS.sub("", str(info.value))
    # a rule queried from Python: its frame has no location line
    assert re.match(r"trace \(most recent evaluation last\):\n"
                    r"  \d{3}: k\(<test_legacy_host_values\.Plain object> TYPE `Plain`\)\n  \d{3}: x\.nope", text)


def test_messages_and_print_show_instances_with_their_type(capsys):
    oso = make_oso()
    with pytest.raises(Exception) as info:
        bindings(oso, "x = new Plain() and x + 1 = 2")
    assert "unsupported arithmetic operands: Plain() TYPE `Plain` + 1" in str(info.value)
    bindings(oso, "print(foo, [new Plain()])")
    out = ADDRESS.sub("", capsys.readouterr().out)
    assert out == "<test_legacy_host_values.Foo object> TYPE `Foo`, [Plain() TYPE `Plain`]\n"
