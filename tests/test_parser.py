"""Parser tests: tokens, grammar, the AST shape, spans and legacy oso's parse errors.

Every expected error message below was produced by legacy oso 0.27.3 (`Oso().load_str` for
policies, `Oso().query` for query strings).
"""

from __future__ import annotations

import math

import pytest

from oso_core import exceptions
from oso_core.frontend import item_shapes, lalr_driver, tokenizer
from oso_core.frontend import parser as parser_module
from oso_core.frontend.parser import parse_program, parse_query
from oso_core.frontend.source import Source
from oso_core.frontend.syntax import (CallTerm, Declaration, DictTerm, InlineQuery, ListTerm, Name,
                                      Op, Param, PatternTerm, ResourceBlock, Rule, RuleType,
                                      ShorthandRule, Sym, Value)


# Helpers ----------------------------------------------------------------------------------------

def dump(node):
    """A comparable structure for an AST (spans as (start, end))."""
    def span(n):
        return (n.span.start, n.span.end) if getattr(n, "span", None) is not None else None
    if isinstance(node, list):
        return [dump(n) for n in node]
    if isinstance(node, dict):
        return {dump(k) if isinstance(k, Name) else k: dump(v) for k, v in node.items()}
    if isinstance(node, Value):
        v = node.value
        return ("Value", "nan" if isinstance(v, float) and math.isnan(v) else v, type(v).__name__, span(node))
    if isinstance(node, Sym):
        return ("Sym", node.name, span(node))
    if isinstance(node, ListTerm):
        return ("List", dump(node.items), dump(node.rest) if node.rest else None, span(node))
    if isinstance(node, DictTerm):
        return ("Dict", dump(node.fields), span(node))
    if isinstance(node, CallTerm):
        return ("Call", node.name, dump(node.args), dump(node.kwargs) if node.kwargs is not None else None, span(node))
    if isinstance(node, PatternTerm):
        return ("Pattern", node.tag, dump(node.fields), span(node))
    if isinstance(node, Op):
        return ("Op", node.op, dump(node.args), span(node))
    if isinstance(node, Param):
        return ("Param", dump(node.term), dump(node.specializer) if node.specializer else None)
    if isinstance(node, Rule):
        return ("Rule", node.name, dump(node.params), dump(node.body), span(node))
    if isinstance(node, RuleType):
        return ("RuleType", node.name, dump(node.params), span(node))
    if isinstance(node, InlineQuery):
        return ("InlineQuery", dump(node.term), span(node))
    if isinstance(node, Name):
        return ("Name", node.value, span(node))
    if isinstance(node, Declaration):
        return ("Declaration", dump(node.name), dump(node.value), span(node))
    if isinstance(node, ShorthandRule):
        return ("Shorthand", dump(node.head), dump(node.implier), dump(node.on) if node.on else None,
                dump(node.relation) if node.relation else None, span(node))
    if isinstance(node, ResourceBlock):
        return ("Block", dump(node.keyword) if node.keyword else None, dump(node.resource),
                dump(node.productions), span(node))
    raise AssertionError(f"unexpected node {node!r}")


def program(text, filename=None):
    parser_module._program_cache.clear()
    return parse_program(Source(text, filename))


def query(text):
    parser_module._query_cache.clear()
    return parse_query(text)


def body(text):
    """The goals of the body of the only rule in `f(x) if <text>;`."""
    [rule] = program(f"f(x) if {text};")
    assert rule.body.op == "And"
    return rule.body.args


def only_goal(text):
    [goal] = body(text)
    return goal


def s(node):
    return str(node)


def parse_error(text, mode="program", filename=None):
    with pytest.raises(exceptions.ParserError) as info:
        if mode == "program":
            program(text, filename)
        else:
            query(text)
    return info.value


# Lexical syntax ---------------------------------------------------------------------------------

class TestTokens:
    def test_symbols(self):
        for name in ["x", "_", "_x", "x1", "Foo", "é", "💯", "a::b::C", "x?", "snake_case", "trace", "on", "actor"]:
            assert dump(query(name)) == ("Sym", name, (0, len(name)))

    def test_symbol_with_question_mark_ends_it(self):
        goal = query("x?=y")  # `x?` then `=`
        assert goal.op == "Unify" and goal.args[0].name == "x?"

    def test_keywords_are_not_variables(self):
        assert query("true").value is True and query("false").value is False
        assert query("inf").value == math.inf and math.isnan(query("nan").value)
        assert query("-inf").value == -math.inf

    def test_integers(self):
        for text, value in [("0", 0), ("123", 123), ("0123", 123), ("+5", 5), ("-5", -5),
                            ("9223372036854775807", 2 ** 63 - 1), ("-9223372036854775807", 1 - 2 ** 63)]:
            node = query(text)
            assert type(node.value) is int and node.value == value
            assert (node.span.start, node.span.end) == (0, len(text))

    def test_floats(self):
        for text, value in [("1.5", 1.5), ("1.", 1.0), ("1e5", 1e5), ("1.e-5", 1e-5), ("1.0E+15", 1e15),
                            ("-1.5", -1.5), ("+2.5", 2.5), ("1e400", math.inf)]:
            node = query(text)
            assert type(node.value) is float and node.value == value

    def test_sign_with_space_still_folds(self):
        assert dump(query("- 1")) == ("Value", -1, "int", (0, 3))

    def test_strings_and_escapes(self):
        assert query(r'"a\nb\rc\td\0e\"f\\g\qh"').value == 'a\nb\rc\td\0e"f\\gqh'
        assert query('"a\\\nb"').value == "a\nb"  # an escaped raw newline is allowed
        assert query('""').value == ""
        assert query('"#not a comment"').value == "#not a comment"

    def test_comments_and_whitespace(self):
        [rule] = program("# leading\r\nf(x) # trailing\r\n  if\tx; # end")
        assert rule.name == "f" and len(rule.body.args) == 1
        assert program("# only a comment") == []
        assert program("") == [] and program(" \n\t\r ") == []

    def test_form_feed_starts_a_symbol(self):
        # Legacy skips only space, tab, CR and LF; anything else non-punctuation is a symbol.
        assert query("\x0c").name == "\x0c"


# Grammar and AST ---------------------------------------------------------------------------------

class TestItems:
    def test_items_in_source_order(self):
        items = program('f(1);\n?= f(1);\ntype f(x);\nactor User {}\ng(x) if f(x);')
        assert [type(i) for i in items] == [Rule, InlineQuery, RuleType, ResourceBlock, Rule]

    def test_bodiless_rule_has_empty_and(self):
        [rule] = program("f(x);")
        assert rule.body.op == "And" and rule.body.args == []
        assert (rule.span.start, rule.span.end) == (0, 4)  # the head, as in legacy

    def test_body_is_always_and(self):
        [goal] = body("g(x)")
        assert isinstance(goal, CallTerm)
        goals = body("a and b and c")
        assert [s(g) for g in goals] == ["a", "b", "c"]

    def test_or_body_is_wrapped(self):
        [goal] = body("a or b or c")
        assert goal.op == "Or" and [s(a) for a in goal.args] == ["a", "b", "c"]

    def test_and_flattens_only_to_the_right(self):
        # Legacy flattens the right operand only: `(a and b) and c` keeps its nesting.
        goals = body("(a and b) and c")
        assert goals[0].op == "And" and len(goals) == 2
        assert [s(g) for g in body("a and (b and c)")] == ["a", "b", "c"]

    def test_rule_type(self):
        [rule_type] = program("type f(x: Foo, _y: String, 1);")
        assert isinstance(rule_type, RuleType) and rule_type.name == "f"
        assert dump(rule_type.params[0]) == ("Param", ("Sym", "x", (7, 8)), ("Pattern", "Foo", {}, (10, 13)))
        assert (rule_type.span.start, rule_type.span.end) == (5, 29)

    def test_inline_query(self):
        _, q = program("f(1); ?= f(2);")
        assert isinstance(q, InlineQuery) and s(q.term) == "f(2)"
        assert (q.span.start, q.span.end) == (9, 13)

    def test_params(self):
        text = 'f(x: Foo, y: {a: 1}, z: [1, *r], _, 1, "s", [a], {b: c}, x.y, a + b, new C(), w: 1, v: "s", u: Bar{q: 2});'
        [rule] = program(text)
        p = rule.params
        assert dump(p[0].specializer) == ("Pattern", "Foo", {}, (5, 8))
        assert isinstance(p[1].specializer, PatternTerm) and p[1].specializer.tag is None
        assert isinstance(p[2].specializer, ListTerm) and p[2].specializer.rest.name == "r"
        assert dump(p[3]) == ("Param", ("Sym", "_", (33, 34)), None)
        assert [type(x.term).__name__ for x in p[4:11]] == ["Value", "Value", "ListTerm", "DictTerm", "Op", "Op", "Op"]
        assert all(x.specializer is None for x in p[3:11])
        assert [s(x.term) for x in p[8:11]] == ["x.y", "a + b", "new C()"]
        at = text.index("w: 1") + 3
        assert dump(p[11].specializer) == ("Value", 1, "int", (at, at + 1))
        assert s(p[13].specializer) == "Bar{q: 2}"

    def test_empty_head(self):
        [rule] = program("f() if true;")
        assert rule.params == [] and rule.body.args[0].value is True


class TestTerms:
    def test_dot_forms(self):
        assert dump(query("a.b")) == ("Op", "Dot", [("Sym", "a", (0, 1)), ("Value", "b", "str", (2, 3))], (0, 3))
        assert dump(query('a.("k")').args[1]) == ("Value", "k", "str", (2, 7))
        assert dump(query("a.(v)").args[1]) == ("Sym", "v", (3, 4))
        assert dump(query("a.m(1, k: 2)").args[1]) == (
            "Call", "m", [("Value", 1, "int", (4, 5))], {"k": ("Value", 2, "int", (10, 11))}, (2, 12))
        assert query("a.m()").args[1].kwargs is None

    def test_reserved_words_after_dot(self):
        for word in ["type", "cut", "debug", "print", "in", "forall", "if", "and", "or", "not", "new", "matches"]:
            node = query(f"x.{word}")
            assert node.op == "Dot" and node.args[1].value == word
            call = query(f"x.{word}(1)").args[1]
            assert isinstance(call, CallTerm) and call.name == word

    def test_dot_chains_left(self):
        node = query("a.b.c(1).d")
        assert s(node.args[0].args[0].args[0]) == "a"
        assert node.args[1].value == "d"

    def test_new(self):
        node = query("new Foo(1, a: 2)")
        assert node.op == "New" and dump(node.args[0]) == (
            "Call", "Foo", [("Value", 1, "int", (8, 9))], {"a": ("Value", 2, "int", (14, 15))}, (4, 16))
        assert (node.span.start, node.span.end) == (0, 16)
        assert query("new Foo().bar").op == "Dot"

    def test_operator_call_forms(self):
        dot = query('.(d, "k", v)')
        assert dot.op == "Dot" and [s(a) for a in dot.args] == ["d", '"k"', "v"]
        assert query("in(1, x)").op == "In"
        new = query("new(C(), x,)")
        assert new.op == "New" and len(new.args) == 2
        assert query(".()").args == []

    def test_builtins(self):
        assert dump(query("print(1, x,)")) == ("Op", "Print", [("Value", 1, "int", (6, 7)), ("Sym", "x", (9, 10))], (0, 12))
        assert query("debug()").op == "Debug" and query("debug()").args == []
        assert dump(query("cut")) == ("Op", "Cut", [], (0, 3))
        forall = query("forall(x in y, x > 1)")
        assert forall.op == "ForAll" and [a.op for a in forall.args] == ["In", "Gt"]

    def test_calls(self):
        assert dump(query("f()")) == ("Call", "f", [], None, (0, 3))
        call = query("f(1, x, b: 2, a: 3,)")
        assert [s(a) for a in call.args] == ["1", "x"] and list(call.kwargs) == ["b", "a"]
        assert list(query("f(a: 1,, b: 2)").kwargs) == ["a", "b"]
        assert list(query("f(type: 1, in: 2)").kwargs) == ["type", "in"]

    def test_lists(self):
        assert dump(query("[]")) == ("List", [], None, (0, 2))
        assert dump(query("[*r]")) == ("List", [], ("Sym", "r", (1, 3)), (0, 4))
        lst = query("[1, , 2,]")
        assert [s(i) for i in lst.items] == ["1", "2"] and lst.rest is None
        lst = query("[1,, *rest]")
        assert [s(i) for i in lst.items] == ["1"] and lst.rest.name == "rest"

    def test_dicts(self):
        d = query("{b: 1, a: x, if: 2, c}")
        assert isinstance(d, DictTerm) and list(d.fields) == ["b", "a", "if", "c"]
        assert dump(d.fields["c"]) == ("Sym", "c", (20, 21))
        assert query("{}").fields == {} and list(query("{a: 1,, b: 2,}").fields) == ["a", "b"]

    def test_assign(self):
        node = query("x := 1 + 2")
        assert node.op == "Assign" and s(node.args[1]) == "1 + 2"

    def test_underscore_stays_a_symbol(self):
        node = query("[_, _] = [1, 2]")
        assert [a.name for a in node.args[0].items] == ["_", "_"]

    def test_parenthesized_span_excludes_parens_but_operator_span_includes_them(self):
        node = query("(a) + b")
        assert (node.span.start, node.span.end) == (0, 7)
        assert (node.args[0].span.start, node.args[0].span.end) == (1, 2)
        assert dump(query("((x))")) == ("Sym", "x", (2, 3))


class TestPatterns:
    def test_matches_bare_name_is_a_class(self):
        node = query("x matches Foo")
        assert dump(node) == ("Op", "Isa", [("Sym", "x", (0, 1)), ("Pattern", "Foo", {}, (10, 13))], (0, 13))
        assert dump(query("x matches y").args[1]) == ("Pattern", "y", {}, (10, 11))

    def test_instance_and_dict_patterns(self):
        node = query("x matches Foo{a: 1, b: {c: Bar}, d}")
        pattern = node.args[1]
        assert pattern.tag == "Foo" and list(pattern.fields) == ["a", "b", "d"]
        assert dump(pattern.fields["a"]) == ("Value", 1, "int", (17, 18))
        inner = pattern.fields["b"]
        assert isinstance(inner, PatternTerm) and inner.tag is None
        assert dump(inner.fields["c"]) == ("Sym", "Bar", (27, 30))  # nested names stay variables
        assert dump(pattern.fields["d"]) == ("Sym", "d", (33, 34))

    def test_literal_and_list_patterns(self):
        assert query("x matches -1").args[1].value == -1
        assert query('x matches "s"').args[1].value == "s"
        lst = query("x matches [1, y, *r]").args[1]
        assert isinstance(lst, ListTerm) and lst.rest.name == "r" and s(lst.items[1]) == "y"

    def test_pattern_values_allow_lookups_and_parenthesized_expressions(self):
        pattern = query("x matches {a: y.b.c(1), b: (1 + 2), c: [y + 1]}").args[1]
        assert s(pattern.fields["a"]) == "y.b.c(1)"
        assert pattern.fields["b"].op == "Add"
        assert pattern.fields["c"].items[0].op == "Add"

    def test_matches_binds_tighter_than_and(self):
        goals = body("x matches Foo{a: 1} and x = 1")
        assert [g.op for g in goals] == ["Isa", "Unify"]


# Precedence (spec 3.1) ---------------------------------------------------------------------------

class TestPrecedence:
    @pytest.mark.parametrize("text, rendered", [
        ("not x = 1 and y", "And(Not(Unify(x, 1)), y)"),
        ("a and b or c", "Or(And(a, b), c)"),
        ("a or b and c", "Or(a, And(b, c))"),
        ("x = 1 + 2 * 3 - 4 / 2", "Unify(x, Sub(Add(1, Mul(2, 3)), Div(4, 2)))"),
        ("x = 7 mod 3 * 2", "Unify(x, Mul(Mod(7, 3), 2))"),
        ("x = -1 rem 5", "Unify(x, Rem(-1, 5))"),
        ("a + b == c * d", "Eq(Add(a, b), Mul(c, d))"),
        ("x in y", "In(x, y)"),
        ("x.a in y.b", "In(Dot(x, a), Dot(y, b))"),
        ("1 - -1", "Sub(1, -1)"),
        ("1-1", "Sub(1, 1)"),
        ("x = 5 and not x == 5 or x = 5", "Or(And(Unify(x, 5), Not(Eq(x, 5))), Unify(x, 5))"),
        ("a.b.c = d", "Unify(Dot(Dot(a, b), c), d)"),
    ])
    def test_shapes(self, text, rendered):
        def show(n):
            if isinstance(n, Op):
                return f"{n.op}(" + ", ".join(show(a) for a in n.args) + ")"
            if isinstance(n, Value) and isinstance(n.value, str):
                return n.value
            return str(n)
        assert show(query(text)) == rendered

    @pytest.mark.parametrize("text, message", [
        ("not not p", "did not expect to find the token 'not'"),
        ("x in y * 2", "Wrong value type: x in y. Expected a value"),
        ("a + b in c", "Wrong value type: b in c. Expected a value"),
        ("x = y = z", "Wrong value type: x = y. Expected a value"),
        ("x == y == z", "Wrong value type: x == y. Expected a value"),
        ("x in y in z", "Wrong value type: x in y. Expected a value"),
        ("x matches A matches B", "Wrong value type: x matches A{}. Expected a value"),
    ])
    def test_consequences_that_fail(self, text, message):
        error = parse_error(text, mode="query")
        assert error.message.startswith(message + " at line 1, column ")


# Value / logical check (spec 3.2) ----------------------------------------------------------------

@pytest.mark.parametrize("text, term, expected, column", [
    ("f(x=1)", "x = 1", "a value", 3),
    ("x in [1,2] < 2", "x in [1, 2]", "a value", 1),
    ("{x: 1 < 2}", "1 < 2", "a value", 5),
    ("not 1", "1", "a logical expression", 5),
    ("1 and 2", "1", "a logical expression", 1),
    ("x = (1 or 2)", "1", "a logical expression", 6),
    ("x = y = z", "x = y", "a value", 1),
    ("g(g(1))", "g(1)", "a value", 3),
    ("x = (1 < 2)", "1 < 2", "a value", 6),
    ("forall(x, 1)", "1", "a logical expression", 11),
    ("print(x = 1)", "x = 1", "a value", 7),
    ("[f(1)]", "f(1)", "a value", 2),
    ("x = .(a, b)", ".(a, b)", None, 5),
    ("f(x).y", "f(x)", "a value", 1),
])
def test_wrong_value_type(text, term, expected, column):
    error = parse_error(text, mode="query")
    assert type(error) is exceptions.ParserError
    if expected is not None:
        assert error.message.startswith(f"Wrong value type: {term}. Expected {expected} at line 1, column {column}:")
    assert error.details["column"] == column


def test_patterns_treat_variables_as_values():
    # In a term `x and y` is fine; inside a pattern even variables are plain values.
    error = parse_error("f(x) if x matches {a: (y and z)};")
    assert error.message.startswith("Wrong value type: y. Expected a logical expression at line 1, column 24:")
    assert [g.op if isinstance(g, Op) else s(g) for g in body("x and y")] == ["x", "y"]


def test_operator_call_forms_are_logical():
    error = parse_error("f(x) if x = new(1);")
    assert error.message == ("Wrong value type: new 1. Expected a value at line 1, column 13:\n"
                             "\t001: f(x) if x = new(1);\n\t                 ^\n")
    assert only_goal("x = new C()").op == "Unify"  # while `new C()` is a value


# Resource blocks ---------------------------------------------------------------------------------

class TestResourceBlocks:
    TEXT = '''resource Repo {
  roles = ["reader", "writer",];
  permissions = [];
  relations = { parent: Org, owner };
  "read" if "reader";
  "push" if "admin" onn "parent";
}'''

    def test_structure(self):
        [block] = program(self.TEXT)
        assert dump(block.keyword) == ("Name", "resource", (0, 8))
        assert dump(block.resource) == ("Name", "Repo", (9, 13))
        assert (block.span.start, block.span.end) == (0, len(self.TEXT))
        roles, permissions, relations, local, remote = block.productions
        assert dump(roles) == ("Declaration", ("Name", "roles", (18, 23)),
                               [("Name", "reader", (27, 35)), ("Name", "writer", (37, 45))], (18, 48))
        assert permissions.value == []
        assert [(k.value, v.value) for k, v in relations.value.items()] == [("parent", "Org"), ("owner", "owner")]
        at = self.TEXT.index('"read" if')
        assert dump(local) == ("Shorthand", ("Name", "read", (at, at + 6)), ("Name", "reader", (at + 10, at + 18)),
                               None, None, (at, at + 19))
        assert (remote.head.value, remote.implier.value, remote.on.value, remote.relation.value) == ("push", "admin", "onn", "parent")

    def test_keyword_missing_or_wrong_still_parses(self):
        [block] = program("User {}")
        assert block.keyword is None and block.resource.value == "User" and block.productions == []
        [block] = program("foo User { }")
        assert block.keyword.value == "foo"

    def test_any_declaration_name_and_kind(self):
        [block] = program('resource R { foo = {a: B}; roles = {x: Y}; permissions = ["p"]; }')
        assert [d.name.value for d in block.productions] == ["foo", "roles", "permissions"]
        assert isinstance(block.productions[1].value, dict)

    def test_blocks_mix_with_rules(self):
        items = program("actor User {}\nresource Repo { roles = [\"a\"]; }\nf(x) if x;")
        assert [type(i) for i in items] == [ResourceBlock, ResourceBlock, Rule]


# Errors ------------------------------------------------------------------------------------------

# (mode, text, class name, message) -- messages verbatim from legacy oso 0.27.3.
LEGACY_ERRORS = [
    ('program', 'f(x) if x = 18446744073709551616;', 'IntegerOverflow', "'18446744073709551616' caused an integer overflow at line 1, column 13:\n\t001: f(x) if x = 18446744073709551616;\n\t                 ^\n"),
    ('program', '\nf(a) if a = 18446744073709551616;', 'IntegerOverflow', "'18446744073709551616' caused an integer overflow at line 2, column 13:\n\t002: f(a) if a = 18446744073709551616;\n\t                 ^\n"),
    ('program', 'f(x) if x = -9223372036854775808;', 'IntegerOverflow', "'9223372036854775808' caused an integer overflow at line 1, column 14:\n\t001: f(x) if x = -9223372036854775808;\n\t                  ^\n"),
    ('program', 'missingSemicolon()', 'UnrecognizedEOF', 'hit the end of the file unexpectedly. Did you forget a semi-colon at line 1, column 19:\n\t001: missingSemicolon()\n\t                       ^\n'),
    ('program', 'f(a)   # comment\n', 'UnrecognizedEOF', 'hit the end of the file unexpectedly. Did you forget a semi-colon at line 1, column 5:\n\t001: f(a)   # comment\n\t         ^\n'),
    ('query', '', 'UnrecognizedEOF', 'hit the end of the file unexpectedly. Did you forget a semi-colon at line 1, column 1:\n\t\n'),
    ('query', 'x = ', 'UnrecognizedEOF', 'hit the end of the file unexpectedly. Did you forget a semi-colon at line 1, column 4:\n\t001: x = \n\t        ^\n'),
    ('program', 'f(x) if x = y = z;', 'ParserError', 'Wrong value type: x = y. Expected a value at line 1, column 9:\n\t001: f(x) if x = y = z;\n\t             ^\n'),
    ('program', 'f(x) if x = ((1 < 2));', 'ParserError', 'Wrong value type: 1 < 2. Expected a value at line 1, column 15:\n\t001: f(x) if x = ((1 < 2));\n\t                   ^\n'),
    ('program', 'f(x) if x = (1 or 2);', 'ParserError', 'Wrong value type: 1. Expected a logical expression at line 1, column 14:\n\t001: f(x) if x = (1 or 2);\n\t                  ^\n'),
    ('program', 'f(x) if not 1;', 'ParserError', 'Wrong value type: 1. Expected a logical expression at line 1, column 13:\n\t001: f(x) if not 1;\n\t                 ^\n'),
    ('program', 'f(x) if 1 and 2;', 'ParserError', 'Wrong value type: 1. Expected a logical expression at line 1, column 9:\n\t001: f(x) if 1 and 2;\n\t             ^\n'),
    ('program', 'f(x) if x in [1,2] < 2;', 'ParserError', 'Wrong value type: x in [1, 2]. Expected a value at line 1, column 9:\n\t001: f(x) if x in [1,2] < 2;\n\t             ^\n'),
    ('program', 'f(x) if x = {a: 1 < 2};', 'ParserError', 'Wrong value type: 1 < 2. Expected a value at line 1, column 17:\n\t001: f(x) if x = {a: 1 < 2};\n\t                     ^\n'),
    ('program', 'f(x) if g(g(1));', 'ParserError', 'Wrong value type: g(1). Expected a value at line 1, column 11:\n\t001: f(x) if g(g(1));\n\t               ^\n'),
    ('program', 'f(x=1);', 'UnrecognizedToken', "did not expect to find the token '=' at line 1, column 4:\n\t001: f(x=1);\n\t        ^\n"),
    ('program', 'f(x) if x = (1 < 2);', 'ParserError', 'Wrong value type: 1 < 2. Expected a value at line 1, column 14:\n\t001: f(x) if x = (1 < 2);\n\t                  ^\n'),
    ('program', 'f(x) if forall(1, x);', 'ParserError', 'Wrong value type: 1. Expected a logical expression at line 1, column 16:\n\t001: f(x) if forall(1, x);\n\t                    ^\n'),
    ('program', 'f(x) if x matches {a: (y and z)};', 'ParserError', 'Wrong value type: y. Expected a logical expression at line 1, column 24:\n\t001: f(x) if x matches {a: (y and z)};\n\t                            ^\n'),
    ('program', 'f(x) if f(x).y;', 'ParserError', 'Wrong value type: f(x). Expected a value at line 1, column 9:\n\t001: f(x) if f(x).y;\n\t             ^\n'),
    ('program', 'f(x) if x = new(1);', 'ParserError', 'Wrong value type: new 1. Expected a value at line 1, column 13:\n\t001: f(x) if x = new(1);\n\t                 ^\n'),
    ('program', 'f(x) if x := 1 = 2;', 'ParserError', 'Wrong value type: x := 1. Expected a value at line 1, column 9:\n\t001: f(x) if x := 1 = 2;\n\t             ^\n'),
    ('program', 'f(x) if x = {a: 1, b: 2, a: 3};', 'ParserError', 'Duplicate key: a at line 1, column 14:\n\t001: f(x) if x = {a: 1, b: 2, a: 3};\n\t                  ^\n'),
    ('query', 'x.y(a: 1, b: 2, a: 3)', 'ParserError', 'Duplicate key: a at line 1, column 5:\n\t001: x.y(a: 1, b: 2, a: 3)\n\t         ^\n'),
    ('program', 'resource Repo { relations = {a: B, a: C}; }', 'ParserError', 'Duplicate key: a at line 1, column 30:\n\t001: resource Repo { relations = {a: B, a: C}; }\n\t                                  ^\n'),
    ('program', 'f(x) if x = 1.ee1;', 'ParserError', '1.e was parsed as a float, but is invalid at line 1, column 13:\n\t001: f(x) if x = 1.ee1;\n\t                 ^\n'),
    ('program', 'f(x) if x = 1e5-3;', 'ParserError', '1e5-3 was parsed as a float, but is invalid at line 1, column 13:\n\t001: f(x) if x = 1e5-3;\n\t                 ^\n'),
    ('program', 'foo:::bar', 'InvalidTokenCharacter', "':' is not a valid character. Found in foo:: at line 1, column 5:\n\t001: foo:::bar\n\t         ^\n"),
    ('program', 'f(x) if x = a::;', 'InvalidTokenCharacter', "':' is not a valid character. Found in a:: at line 1, column 15:\n\t001: f(x) if x = a::;\n\t                   ^\n"),
    ('program', 'f(x) if x = "abc', 'InvalidTokenCharacter', '\'\\0\' is not a valid character. Found in abc at line 1, column 13:\n\t001: f(x) if x = "abc\n\t                 ^\n'),
    ('program', 'f(x) if x = "ab\nc";', 'InvalidTokenCharacter', '\'\\n\' is not a valid character. Found in ab at line 1, column 16:\n\t001: f(x) if x = "ab\n\t                    ^\n'),
    ('program', 'f(x) if x = "ab\\', 'InvalidTokenCharacter', '\'\\0\' is not a valid character. Found in ab at line 1, column 16:\n\t001: f(x) if x = "ab\\\n\t                    ^\n'),
    ('program', '?', 'InvalidTokenCharacter', "'\\0' is not a valid character. Found in ?= at line 1, column 2:\n\t001: ?\n\t      ^\n"),
    ('program', 'f(x) if x ?x;', 'InvalidTokenCharacter', "'x' is not a valid character. Found in ?= at line 1, column 12:\n\t001: f(x) if x ?x;\n\t                ^\n"),
    ('program', 'f(x) if x = @;', 'InvalidTokenCharacter', "'@' is not a valid character. Found in  at line 1, column 13:\n\t001: f(x) if x = @;\n\t                 ^\n"),
    ('program', "f(x) if x = 'a';", 'InvalidTokenCharacter', "'\\'' is not a valid character. Found in  at line 1, column 13:\n\t001: f(x) if x = 'a';\n\t                 ^\n"),
    ('program', 'cut(a) if a;', 'ParserError', 'cut is a reserved Polar word and cannot be used here at line 1, column 1:\n\t001: cut(a) if a;\n\t     ^\n'),
    ('program', 'f(x) if x = new;', 'UnrecognizedToken', "did not expect to find the token ';' at line 1, column 16:\n\t001: f(x) if x = new;\n\t                    ^\n"),
    ('program', 'f(x) if debug = 1;', 'UnrecognizedToken', "did not expect to find the token '=' at line 1, column 15:\n\t001: f(x) if debug = 1;\n\t                   ^\n"),
    ('program', 'new(x);', 'ParserError', 'new is a reserved Polar word and cannot be used here at line 1, column 1:\n\t001: new(x);\n\t     ^\n'),
    ('program', 'in(x);', 'ParserError', 'in is a reserved Polar word and cannot be used here at line 1, column 1:\n\t001: in(x);\n\t     ^\n'),
    ('program', 'f(x) if x matches {a: new Foo()};', 'ParserError', 'new is a reserved Polar word and cannot be used here at line 1, column 23:\n\t001: f(x) if x matches {a: new Foo()};\n\t                           ^\n'),
    ('program', 'f(x) if x = isa;', 'UnrecognizedToken', "did not expect to find the token 'isa' at line 1, column 13:\n\t001: f(x) if x = isa;\n\t                 ^\n"),
    ('program', 'f(x) if x ! y;', 'UnrecognizedToken', "did not expect to find the token '!' at line 1, column 11:\n\t001: f(x) if x ! y;\n\t               ^\n"),
    ('program', 'f(x) if x = 1 | 2;', 'UnrecognizedToken', "did not expect to find the token '|' at line 1, column 15:\n\t001: f(x) if x = 1 | 2;\n\t                   ^\n"),
    ('program', 'f(x) if x = {"a": 1};', 'UnrecognizedToken', 'did not expect to find the token \'a\' at line 1, column 14:\n\t001: f(x) if x = {"a": 1};\n\t                  ^\n'),
    ('program', 'f(x) if not not x;', 'UnrecognizedToken', "did not expect to find the token 'not' at line 1, column 13:\n\t001: f(x) if not not x;\n\t                 ^\n"),
    ('program', 'f(x) if -x = 1;', 'UnrecognizedToken', "did not expect to find the token 'x' at line 1, column 10:\n\t001: f(x) if -x = 1;\n\t              ^\n"),
    ('program', 'f(x) if x = new Foo;', 'UnrecognizedToken', "did not expect to find the token ';' at line 1, column 20:\n\t001: f(x) if x = new Foo;\n\t                        ^\n"),
    ('program', 'type f(x) if x;', 'UnrecognizedToken', "did not expect to find the token 'if' at line 1, column 11:\n\t001: type f(x) if x;\n\t               ^\n"),
    ('program', 'f(x, ) if x;', 'UnrecognizedToken', "did not expect to find the token ')' at line 1, column 6:\n\t001: f(x, ) if x;\n\t          ^\n"),
    ('program', 'f(x) if g(x,);', 'UnrecognizedToken', "did not expect to find the token ')' at line 1, column 13:\n\t001: f(x) if g(x,);\n\t                 ^\n"),
    ('program', 'f(x) if x = [*x, 1];', 'UnrecognizedToken', "did not expect to find the token ',' at line 1, column 16:\n\t001: f(x) if x = [*x, 1];\n\t                    ^\n"),
    ('program', 'f(x: x.y);', 'UnrecognizedToken', "did not expect to find the token '.' at line 1, column 7:\n\t001: f(x: x.y);\n\t           ^\n"),
    ('program', 'f(x: 1 + 2);', 'UnrecognizedToken', "did not expect to find the token '+' at line 1, column 8:\n\t001: f(x: 1 + 2);\n\t            ^\n"),
    ('program', 'f(x) if x = Foo{a: 1};', 'UnrecognizedToken', "did not expect to find the token '{' at line 1, column 16:\n\t001: f(x) if x = Foo{a: 1};\n\t                    ^\n"),
    ('program', 'f(x) if x matches (Foo);', 'UnrecognizedToken', "did not expect to find the token '(' at line 1, column 19:\n\t001: f(x) if x matches (Foo);\n\t                       ^\n"),
    ('program', 'f(x) if x = 1 2.5;', 'UnrecognizedToken', "did not expect to find the token '2.5' at line 1, column 15:\n\t001: f(x) if x = 1 2.5;\n\t                   ^\n"),
    ('program', 'f(x) if x = 1 1e300;', 'UnrecognizedToken', "did not expect to find the token '1000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000' at line 1, column 15:\n\t001: f(x) if x = 1 1e300;\n\t                   ^\n"),
    ('program', 'f(x) if x = 1 true;', 'UnrecognizedToken', "did not expect to find the token 'true' at line 1, column 15:\n\t001: f(x) if x = 1 true;\n\t                   ^\n"),
    ('program', 'f(x) if x = 1 "s\\"q";', 'UnrecognizedToken', 'did not expect to find the token \'s\\"q\' at line 1, column 15:\n\t001: f(x) if x = 1 "s\\"q";\n\t                   ^\n'),
    ('program', 'f(x) if x = 1 nan;', 'UnrecognizedToken', "did not expect to find the token 'NaN' at line 1, column 15:\n\t001: f(x) if x = 1 nan;\n\t                   ^\n"),
    ('program', 'f(x) if x.mod;', 'UnrecognizedToken', "did not expect to find the token 'mod' at line 1, column 11:\n\t001: f(x) if x.mod;\n\t               ^\n"),
    ('program', 'resource Repo { roles = [1]; }', 'UnrecognizedToken', "did not expect to find the token '1' at line 1, column 26:\n\t001: resource Repo { roles = [1]; }\n\t                              ^\n"),
    ('program', 'resource Repo { "a" if "b" on c; }', 'UnrecognizedToken', 'did not expect to find the token \'c\' at line 1, column 31:\n\t001: resource Repo { "a" if "b" on c; }\n\t                                   ^\n'),
    ('program', 'foo User {};', 'UnrecognizedToken', "did not expect to find the token ';' at line 1, column 12:\n\t001: foo User {};\n\t                ^\n"),
    ('program', 'a b c {}', 'UnrecognizedToken', "did not expect to find the token 'c' at line 1, column 5:\n\t001: a b c {}\n\t         ^\n"),
    ('query', 'x = 1;', 'UnrecognizedToken', "did not expect to find the token ';' at line 1, column 6:\n\t001: x = 1;\n\t          ^\n"),
    ('query', '?= x', 'UnrecognizedToken', "did not expect to find the token '?=' at line 1, column 1:\n\t001: ?= x\n\t     ^\n"),
    ('program', 'f(x) if x;\ng(y) if y\n  and\n  z(1) 2;', 'UnrecognizedToken', "did not expect to find the token '2' at line 4, column 8:\n\t004:   z(1) 2;\n\t            ^\n"),
    ('program', 'f(x) if x = 1 and\r\n y = 2 z;', 'UnrecognizedToken', "did not expect to find the token 'z' at line 2, column 8:\n\t002:  y = 2 z;\n\t            ^\n"),
]


@pytest.mark.parametrize("mode, text, cls, message", LEGACY_ERRORS)
def test_legacy_error_messages(mode, text, cls, message):
    error = parse_error(text, mode)
    assert type(error).__name__ == cls
    assert error.message == message


def test_error_details_and_file_name():
    error = parse_error("f(x) if\n  x = @;", filename="policy.polar")
    assert type(error) is exceptions.InvalidTokenCharacter
    assert error.message == ("'@' is not a valid character. Found in  at line 2, column 7 of file policy.polar:\n"
                             "\t002:   x = @;\n\t           ^\n")
    assert error.details["line"] == 2 and error.details["column"] == 7
    assert error.details["loc"] == 14 and error.details["file"] == "policy.polar"
    assert str(error).endswith("Get help with Oso from our engineers: https://help.osohq.com/error/InvalidTokenCharacter")


def test_error_classes():
    assert isinstance(parse_error("f(x) if x = 99999999999999999999;"), exceptions.IntegerOverflow)
    assert isinstance(parse_error("f(x) if x = `;"), exceptions.InvalidTokenCharacter)
    assert isinstance(parse_error("f(x)"), exceptions.UnrecognizedEOF)
    assert isinstance(parse_error("f(x) if x x;"), exceptions.UnrecognizedToken)
    for text in ["f(x) if x = {a: 1, a: 2};", "f(x) if x = 1.e;", "f(x) if cut = 1;", "f(x) if x = y = 1;"]:
        assert type(parse_error(text)) is exceptions.ParserError


def test_reserved_words():
    # Only these four unexpected words are reported as reserved; the rest as unexpected tokens.
    for word in ["cut", "debug", "in", "new"]:
        error = parse_error(f"type {word}(x);")
        assert type(error) is exceptions.ParserError
        assert error.message.startswith(f"{word} is a reserved Polar word and cannot be used here at line 1, column 6:")
    for word in ["print", "forall", "if", "and", "or", "not", "matches", "type", "isa", "mod", "rem"]:
        error = parse_error(f"type {word}(x);")
        assert type(error) is exceptions.UnrecognizedToken
        assert error.message.startswith(f"did not expect to find the token '{word}' at line 1, column 6:")


def test_first_error_wins():
    # A syntax error before a lexical error is reported; the lexer runs lazily in legacy.
    error = parse_error("f(x) if x x = @;")
    assert error.message.startswith("did not expect to find the token 'x' at line 1, column 11")
    # A value/logical error is found as soon as the operator after the operand is seen.
    error = parse_error("f(x) if x = y = @;")
    assert error.message.startswith("Wrong value type: x = y.")


def test_spec_examples():
    assert parse_error("f(x) if x = y = z;").message == (
        "Wrong value type: x = y. Expected a value at line 1, column 9:\n\t001: f(x) if x = y = z;\n\t             ^\n")
    error = parse_error("\n        f(a) if a = 18446744073709551616;")
    assert type(error) is exceptions.IntegerOverflow
    assert error.message.startswith("'18446744073709551616' caused an integer overflow at line 2, column 21:")
    error = parse_error("missingSemicolon()")
    assert error.message.startswith("hit the end of the file unexpectedly. Did you forget a semi-colon at line 1, column 19")


def test_unterminated_string_is_fast():
    # A regex with nested repetition would backtrack exponentially here.
    error = parse_error('f(x) if x = "' + "a" * 50000)
    assert type(error) is exceptions.InvalidTokenCharacter


# Caching and item shapes ---------------------------------------------------------------------------

def test_program_cache_returns_the_same_items():
    parser_module._program_cache.clear()
    text = "f(x) if x = 1;"
    first = parse_program(Source(text, "a.polar"))
    assert parse_program(Source(text, "a.polar")) is first
    assert parse_program(Source(text, "b.polar")) is not first
    assert parse_query("x = 1") is parse_query("x = 1")


def test_errors_are_not_cached():
    for _ in range(2):
        with pytest.raises(exceptions.UnrecognizedEOF):
            parse_program(Source("f(x)", "same.polar"))


POLICY_WITH_REPEATED_SHAPES = "\n".join(
    [f'allow(u: User{i}, "act{i}", r: Res{i}) if r.owner{i} = u.name and u.level > {i} and x{i} in [1, {i}];'
     for i in range(item_shapes.COMPILE_AFTER + 10)]
    + [f'?= f({i}, {{a: {i}, b: [{i}, *r]}}, new C(k: {i}));' for i in range(5)]
    + ["type t(x: Foo);", "type t(y: Bar);", 'resource R { roles = ["a"]; }', "g(x) if x;"])


def test_replayed_and_compiled_items_match_the_driver():
    item_shapes.item_shapes.clear()
    parser_module._program_cache.clear()
    reference = [dump(item) for item in lalr_driver.Parse(Source(POLICY_WITH_REPEATED_SHAPES)).run("program")]
    # The first parse recorded, replayed and (for the rules) compiled the shapes.
    assert any(shape.fn is not None for shape in item_shapes.item_shapes.values())
    assert any(shape.fn is None and shape.uses for shape in item_shapes.item_shapes.values())
    again = [dump(item) for item in lalr_driver.Parse(Source(POLICY_WITH_REPEATED_SHAPES)).run("program")]
    assert again == reference
    # Without any shapes (everything through the LALR driver) the result is the same.
    item_shapes.item_shapes.clear()
    original = item_shapes.MAX_SHAPES
    item_shapes.MAX_SHAPES = 0  # every new shape clears the cache, so nothing is ever replayed
    try:
        fresh = [dump(item) for item in lalr_driver.Parse(Source(POLICY_WITH_REPEATED_SHAPES)).run("program")]
    finally:
        item_shapes.MAX_SHAPES = original
        item_shapes.item_shapes.clear()
    assert fresh == reference


def test_replayed_items_still_report_duplicate_keys():
    item_shapes.item_shapes.clear()
    program("f(x) if x = {a: 1, b: 2};\nf(x) if x = {a: 1, b: 2};")
    error = parse_error("f(x) if x = {a: 1, b: 2};\nf(x) if x = {c: 1, c: 2};")
    assert error.message.startswith("Duplicate key: c at line 2, column 14:")


def test_replay_does_not_skip_the_following_syntax_error():
    item_shapes.item_shapes.clear()
    program("f(1);\nf(2);")
    error = parse_error("f(1);\nf(2); )")
    assert error.message.startswith("did not expect to find the token ')' at line 2, column 7")


@pytest.mark.legacy_differs(reason="legacy counts bytes as characters before an error position")
def test_positions_count_characters_not_bytes():
    # Legacy reports `é::` at column 4 (the byte offset of the last `:`); we report column 3.
    error = parse_error("é::")
    assert error.message.startswith("':' is not a valid character. Found in é:: at line 1, column 3:")
    error = parse_error('f(x) if x = "é" 1;')
    assert error.message.startswith("did not expect to find the token '1' at line 1, column 17:")


def test_packaged_lalr_table_matches_the_grammar():
    """The table shipped in the package must be the one built from grammar.lark (regenerate with
    oso_core.frontend.parser.write_packaged_table() after changing the grammar)."""
    import hashlib
    import json

    from oso_core.frontend import ast_builders, parse_errors, tokenizer
    from oso_core.frontend import parse_table as p

    with open(p.GRAMMAR_PATH, encoding="utf-8") as f:
        grammar = f.read()
    recipe = [p.TABLE_FORMAT, grammar, sorted(ast_builders.BUILDER_NAMES),
              sorted(parse_errors.CHECK_RULES), list(tokenizer.TERMINALS)]
    key = hashlib.sha256(json.dumps(recipe).encode()).hexdigest()[:24]
    from oso_core.frontend.lalr_table import DATA as shipped

    # Built from this exact grammar; every parser test runs on it (Lark's state numbering varies
    # between builds, so a rebuild is not compared for equality).
    assert shipped["key"] == key
    assert json.loads(json.dumps(shipped["recipe"])) == recipe
    assert p.table_key(grammar) == key
    assert p._load_table_data()["key"] == key
    assert p._load_table_data() is shipped  # the packaged table is used, not a rebuild


def test_packed_rows_decode_to_the_same_numbers_on_either_byte_order():
    """The packaged rows are little-endian int16; this machine's decoder and the byte-by-byte one
    (used on big-endian machines, correct on any) give back what was encoded."""
    from oso_core.frontend import parse_table as p

    rows = [(0, -3, 8, 431, 143, -270), (), (7, 32767, 9, -32768)]
    for packed, row in zip(p.encode_rows(rows), rows):
        assert list(p.decode_row(packed)) == list(row)
        assert list(p.decode_row(packed, "big")) == list(row)


def test_a_modified_grammar_gets_a_table_built_and_cached(tmp_path, monkeypatch):
    """A grammar that is not the packaged one (here: a comment added) is not served the packaged
    table: a table is built, written to the user cache, and read back from there next time."""
    from oso_core.frontend import parse_table as p

    with open(p.GRAMMAR_PATH, encoding="utf-8") as f:
        grammar = f.read() + "\n// locally modified\n"
    modified = tmp_path / "grammar.lark"
    modified.write_text(grammar, encoding="utf-8")
    monkeypatch.setattr(p, "GRAMMAR_PATH", str(modified))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    built = p._load_table_data()
    assert built["key"] == p.table_key(grammar) != p.table_key(grammar[:-len("\n// locally modified\n")])
    cached = tmp_path / "cache" / "oso_core" / f"polar-lalr-{built['key']}.json"
    assert cached.exists()
    again = p._load_table_data()
    assert again["key"] == built["key"] and again is not built
    # The JSON copy loads into the same table as the one just built.
    fresh, reread = p.Tables(built), p.Tables(again)
    assert (fresh.rule_len, fresh.rule_lhs, fresh.rule_arg) == (reread.rule_len, reread.rule_lhs, reread.rule_arg)
    assert [fresh.actions[s] for s in range(fresh.unit_base)] == [reread.actions[s] for s in range(reread.unit_base)]


def test_write_packaged_table_rebuilds_an_equivalent_table(tmp_path, monkeypatch):
    """The generator still works: a rebuilt table has the shipped key, the same rules, and
    parses (and rejects) policies exactly like the shipped one."""
    import runpy

    from oso_core.frontend import parse_table
    from oso_core.frontend.lalr_table import DATA as shipped

    monkeypatch.setattr(parse_table, "PACKAGED_TABLE_PATH", str(tmp_path / "lalr_table.py"))
    path = parser_module.write_packaged_table()
    assert path == str(tmp_path / "lalr_table.py")
    rebuilt = runpy.run_path(path)["DATA"]
    assert rebuilt["key"] == shipped["key"]

    def rules(data):
        names = list(tokenizer.TERMINALS) + list(data["nonterminals"])
        lhs = [names[i] for i in data["rule_lhs"]]
        return sorted(map(repr, zip(data["rule_kind"], data["rule_arg"], data["rule_len"], lhs)))
    assert rules(rebuilt) == rules(shipped)

    def parse_both(text):
        return [dump(item) for item in lalr_driver.Parse(Source(text)).run("program")]
    reference = parse_both(POLICY_WITH_REPEATED_SHAPES)
    broken = "f(x) if x = {a: 1, a: 2};"
    with pytest.raises(exceptions.ParserError) as expected:
        lalr_driver.Parse(Source(broken)).run("program")
    # Item shapes record table states, so they must not outlive a table swap.
    item_shapes.item_shapes.clear()
    monkeypatch.setattr(parse_table, "_tables", parse_table.Tables(rebuilt))
    try:
        assert parse_both(POLICY_WITH_REPEATED_SHAPES) == reference
        with pytest.raises(exceptions.ParserError) as error:
            lalr_driver.Parse(Source(broken)).run("program")
        assert str(error.value) == str(expected.value)
    finally:
        item_shapes.item_shapes.clear()
