"""The AST builders of the Oso Cloud dialect (grammar_cloud.lark): the legacy builders
(ast_builders.py) plus the cloud constructs, with legacy-only syntax refused where it is read.

Words the cloud grammar takes as plain names (`test`, `fixture`, `setup`, `assert`, `iff`,
`global`, `on`, `extends`, `actor`, `resource`) are checked here, with file:line:column.
"""

from __future__ import annotations

from typing import Any, Callable, NoReturn

from ..exceptions import ParserError
from ..values import Value as Entity
from .ast_builders import make_builders
from .cloud_syntax import CloudBlock, CloudShorthand, CurrentUnixTime, ShorthandLeaf
from .parse_errors import ParseErrors
from .policy_test_ast import Assertion, FactLine, Fixture, PolicyTest, SourceSpot
from .source import Source, Span
from .syntax import CallTerm, Name, Node, Op, PatternTerm, Sym, Value, render_value
from .tokenizer import Tokens

__all__ = ["CLOUD_BUILDER_NAMES", "NOT_SUPPORTED", "make_cloud_builders"]

NOT_SUPPORTED = "not supported in the Oso Cloud dialect"
PRIMITIVE_LITERALS: dict[str, type] = {"String": str, "Integer": int, "Boolean": bool}

# Legacy builders whose syntax the cloud dialect does not have: alias -> what to call it.
_LEGACY_ONLY = {
    "dot_exp": "`.` lookup", "dot_name": "`.` lookup", "new": "`new`", "builtin_empty": "`print`/`debug`",
    "builtin": "`print`/`debug`", "builtin_trailing": "`print`/`debug`", "cut": "`cut`",
    "forall": "`forall`", "opcall_empty": "operator-call syntax", "opcall": "operator-call syntax",
    "opcall_trailing": "operator-call syntax", "list_rest_only": "a rest variable `*x`",
    "list_items_rest": "a rest variable `*x`", "dict_pattern_empty": "a dictionary pattern",
    "dict_pattern": "a dictionary pattern", "instance_pattern": "a pattern with fields",
    "op_eq": "`==` (use `=`)", "op_add": "arithmetic", "op_sub": "arithmetic", "op_mul": "arithmetic",
    "op_div": "arithmetic", "op_mod": "arithmetic", "op_rem": "arithmetic", "assign_exp": "`:=`",
}


class _TypedArg:
    """`x: T` as a call argument, until the call's builder turns it into `x` and `x matches T`."""

    __slots__ = ("var", "type", "span")

    def __init__(self, var: Sym, type_: Name, span: Span) -> None:
        self.var = var
        self.type = type_
        self.span = span


def make_cloud_builders(tokens: Tokens, opcalls: set, errors: ParseErrors) -> dict[str, Callable]:
    """The builders for one cloud-dialect parse, by grammar alias (see ast_builders.make_builders)."""
    h = make_builders(tokens, opcalls, errors.duplicate_key)
    source = tokens.source
    tv = tokens.values
    tstarts = tokens.starts
    tends = tokens.ends

    def fail(message: str, offset: int) -> NoReturn:
        errors.fail(ParserError, message, offset)

    def name(i: int) -> Name:
        return Name(tv[i], Span(source, tstarts[i], tends[i]))

    def spot(offset: int) -> SourceSpot:
        line, column = source.line_col(offset)
        return SourceSpot(source.filename, line, column)

    def expect_word(i: int, *words: str) -> str:
        word = tv[i]
        if word not in words:
            wanted = " or ".join(f"'{w}'" for w in words)
            fail(f"Expected {wanted} but found '{word}'.", tstarts[i])
        return word

    def builder(fn: Callable) -> Callable:
        h[fn.__name__] = fn
        return fn

    for alias, what in _LEGACY_ONLY.items():
        h[alias] = _refuser(what, fail)

    # Terms --------------------------------------------------------------------------------------

    @builder
    def entity(a: list, b: int, e: int) -> Value:
        type_name = tv[a[0]]
        literal: Any = tv[a[2]]
        primitive = PRIMITIVE_LITERALS.get(type_name)
        if primitive is not None:
            if type(literal) is not primitive:
                fail(f"{type_name}{{...}} needs a {type_name} literal, got {render_value(literal)}", tstarts[a[2]])
            return Value(tv[a[2]], Span(source, b, e))  # `String{"a"}` is just "a"
        if type(literal) is bool:
            fail(f"The id of an entity literal is a string or an integer, got {render_value(literal)}", tstarts[a[2]])
        return Value(Entity(type_name, literal), Span(source, b, e))

    @builder
    def constant(a: int, b: int, e: int) -> Node:
        if tv[a] != "current_unix_time":
            fail(f"Unknown constant @{tv[a]} (the Oso Cloud dialect has @current_unix_time)", b)
        return CurrentUnixTime(Span(source, b, e))

    @builder
    def typed_arg(a: list, b: int, e: int) -> _TypedArg:
        return _TypedArg(a[0], name(a[2]), Span(source, b, e))

    legacy_call_args = h["call_args"]

    @builder
    def call_args(a: list, b: int, e: int) -> Node:
        typed = [x for x in a[2] if type(x) is _TypedArg]
        if not typed:
            return legacy_call_args(a, b, e)
        call = CallTerm(tv[a[0]], [x.var if type(x) is _TypedArg else x for x in a[2]], None, Span(source, b, e))
        # The variable is fresh: the call binds it, then `matches` checks (or, left unbound,
        # constrains) its type.
        checks: list[Node] = [Op("Isa", [x.var, PatternTerm(x.type.value, {}, x.type.span)], x.span) for x in typed]
        return Op("And", [call, *checks], Span(source, b, e))

    h["rescall_args"] = call_args

    legacy_not = h["not_exp"]

    @builder
    def not_exp(a: list, b: int, e: int) -> Op:
        # Oso Cloud's `not` negates a fact or rule call (in shorthand bodies also a role,
        # permission or relation term), not an arbitrary condition.
        operand = a[1]
        if type(operand) is Op and operand.op == "And" and operand.args and type(operand.args[0]) is CallTerm \
                and all(type(x) is Op and x.op == "Isa" for x in operand.args[1:]):
            pass  # a call with typed variables
        elif type(operand) not in (CallTerm, ShorthandLeaf):
            fail(f"`not` negates a fact or rule call in the Oso Cloud dialect, got {operand}",
                 operand.span.start if operand.span is not None else b)
        return legacy_not(a, b, e)

    # Blocks -------------------------------------------------------------------------------------

    def block_of(kw: int, resource: int, extends: list, productions: list, b: int, e: int) -> CloudBlock:
        expect_word(kw, "actor", "resource")
        return CloudBlock(name(kw), name(resource), extends, productions, Span(source, b, e))

    @builder
    def block_kw(a: list, b: int, e: int) -> CloudBlock:
        return block_of(a[0], a[1], [], a[3], b, e)

    @builder
    def block_kw_empty(a: list, b: int, e: int) -> CloudBlock:
        return block_of(a[0], a[1], [], [], b, e)

    @builder
    def block_extends(a: list, b: int, e: int) -> CloudBlock:
        expect_word(a[2], "extends")
        return block_of(a[0], a[1], a[3], a[5], b, e)

    @builder
    def block_extends_empty(a: list, b: int, e: int) -> CloudBlock:
        expect_word(a[2], "extends")
        return block_of(a[0], a[1], a[3], [], b, e)

    @builder
    def block(a: list, b: int, e: int) -> CloudBlock:
        expect_word(a[0], "global")
        return CloudBlock(None, None, [], a[2], Span(source, b, e))

    @builder
    def block_empty(a: list, b: int, e: int) -> CloudBlock:
        expect_word(a[0], "global")
        return CloudBlock(None, None, [], [], Span(source, b, e))

    @builder
    def names_first(a: int, b: int, e: int) -> list:
        return [name(a)]

    @builder
    def names_more(a: list, b: int, e: int) -> list:
        a[0].append(name(a[2]))
        return a[0]

    @builder
    def cloud_shorthand(a: list, b: int, e: int) -> CloudShorthand:
        return CloudShorthand(name(a[0]), a[2], Span(source, b, e))

    @builder
    def cloud_var_shorthand(a: list, b: int, e: int) -> CloudShorthand:
        expect_word(a[0], "role")
        body = a[2]
        if type(body) is not ShorthandLeaf or not body.is_variable or body.term.value != tv[a[0]]:
            fail(f"The body of `{tv[a[0]]} if ...;` is `{tv[a[0]]} on \"relation\"`", body.span.start if body.span else b)
        return CloudShorthand(name(a[0]), body, Span(source, b, e), True)

    @builder
    def sh_var_on(a: list, b: int, e: int) -> ShorthandLeaf:
        expect_word(a[0], "role")
        if tv[a[1]] != "on":
            fail(f"Unexpected relation keyword '{tv[a[1]]}'. Did you mean 'on'?", tstarts[a[1]])
        return ShorthandLeaf(name(a[0]), name(a[2]), False, Span(source, b, e), True)

    @builder
    def sh_term(a: int, b: int, e: int) -> ShorthandLeaf:
        return ShorthandLeaf(name(a), None, False, Span(source, b, e))

    @builder
    def sh_on(a: list, b: int, e: int) -> ShorthandLeaf:
        if tv[a[1]] != "on":
            fail(f"Unexpected relation keyword '{tv[a[1]]}'. Did you mean 'on'?", tstarts[a[1]])
        return ShorthandLeaf(name(a[0]), name(a[2]), False, Span(source, b, e))

    @builder
    def sh_global(a: list, b: int, e: int) -> ShorthandLeaf:
        expect_word(a[0], "global")
        return ShorthandLeaf(name(a[1]), None, True, Span(source, b, e))

    # Tests --------------------------------------------------------------------------------------

    def text_between(first: int, last: int) -> str:
        """The source text strictly between tokens `first` and `last`, trimmed."""
        return source.text[tends[first]:tstarts[last]].strip()

    def test_of(a: list, entries: list, b: int) -> PolicyTest:
        expect_word(a[0], "test")
        test = PolicyTest(tv[a[1]], spot=spot(b))
        for entry in entries:
            if type(entry) is Assertion:
                test.assertions.append(entry)
            else:  # a setup block's facts and fixture references
                _add_facts(entry, test.facts, test.fixtures)
        return test

    @builder
    def test_block(a: list, b: int, e: int) -> PolicyTest:
        return test_of(a, a[3], b)

    @builder
    def test_block_empty(a: list, b: int, e: int) -> PolicyTest:
        return test_of(a, [], b)

    def fixture_of(a: list, entries: list, b: int) -> Fixture:
        expect_word(a[0], "test")
        expect_word(a[1], "fixture")
        fixture = Fixture(tv[a[2]], spot=spot(b))
        _add_facts(entries, fixture.facts, fixture.fixtures)
        return fixture

    @builder
    def fixture_block(a: list, b: int, e: int) -> Fixture:
        return fixture_of(a, a[4], b)

    @builder
    def fixture_block_empty(a: list, b: int, e: int) -> Fixture:
        return fixture_of(a, [], b)

    @builder
    def test_setup(a: list, b: int, e: int) -> list:
        expect_word(a[0], "setup")
        return a[2]

    @builder
    def test_setup_empty(a: list, b: int, e: int) -> list:
        expect_word(a[0], "setup")
        return []

    @builder
    def test_assert(a: list, b: int, e: int) -> Assertion:
        kind = expect_word(a[0], "assert", "assert_not")
        return Assertion(kind, text_between(a[0], a[2]), None, spot(b))  # type: ignore[arg-type]

    @builder
    def test_assert_iff(a: list, b: int, e: int) -> Assertion:
        expect_word(a[0], "assert")
        expect_word(a[2], "iff")
        return Assertion("assert", text_between(a[0], a[2]), text_between(a[2], a[4]), spot(b))

    @builder
    def fact_line(a: list, b: int, e: int) -> FactLine:
        call = a[0]
        if type(call) is not CallTerm:
            fail("A test fact is a predicate applied to values, without typed variables", b)
        args: list = []
        for arg in call.args:
            value = arg.value if type(arg) is Value else None
            if type(value) not in (Entity, str, int, bool):
                fail(f"A test fact's arguments are values (an entity literal `Type{{\"id\"}}`, a string, "
                     f"an integer or a boolean), got {arg}", arg.span.start if arg.span else b)
            args.append(value)
        return FactLine(call.name, tuple(args), spot(b))

    @builder
    def fixture_ref(a: list, b: int, e: int) -> tuple:
        expect_word(a[0], "fixture")
        return ("fixture", tv[a[1]])

    return h


def _add_facts(entries: list, facts: list, fixtures: list) -> None:
    for entry in entries:
        if type(entry) is FactLine:
            facts.append(entry)
        else:
            fixtures.append(entry[1])


def _refuser(what: str, fail: Callable[[str, int], NoReturn]) -> Callable:
    def refuse(a: Any, b: int, e: int) -> NoReturn:
        fail(f"{what} is {NOT_SUPPORTED}", b)
    return refuse


def _no_errors() -> ParseErrors:
    return ParseErrors(Tokens(Source("")), set())


# Every builder name of the cloud grammar, for its parse table (parse_table.py).
CLOUD_BUILDER_NAMES = frozenset(make_cloud_builders(Tokens(Source("")), set(), _no_errors()))
