"""The AST builders: one function per grammar rule alias, called when the parser reduces that rule.

Each builder turns the values of a rule's symbols into an AST node (syntax.py) or into the
intermediate data a later rule consumes (lists, fields, rule heads). The grammar (grammar.lark)
names the builder with its `-> alias`; a rule of one symbol without a builder passes its value up.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

from .source import Source, Span
from .syntax import (CallTerm, Declaration, DictTerm, FactDeclaration, InlineQuery, ListTerm, Name, Node, Op, Param,
                     PatternTerm, ResourceBlock, Rule, RuleType, ShorthandRule, Sym, Value)
from .tokenizer import TID, Tokens

__all__ = ["BUILDER_NAMES", "make_builders"]

_BINARY_OPS = {
    "op_eq": "Eq", "op_neq": "Neq", "op_leq": "Leq", "op_geq": "Geq", "op_lt": "Lt", "op_gt": "Gt",
    "op_add": "Add", "op_sub": "Sub", "op_mul": "Mul", "op_div": "Div", "op_mod": "Mod",
    "op_rem": "Rem", "unify_exp": "Unify", "assign_exp": "Assign", "in_exp": "In",
}
_OPCALL_OPS = {TID["DOT"]: "Dot", TID["NEW"]: "New", TID["IN"]: "In"}
_BUILTIN_OPS = {TID["PRINT"]: "Print", TID["DEBUG"]: "Debug"}


def make_builders(tokens: Tokens, opcalls: set, duplicate_key: Callable[[str, int], Any]
                  ) -> dict[str, Callable]:
    """The builders for one parse, by grammar alias (or rule name).

    A builder gets the popped stack values `a` (a token appears as its index into the token
    lists), the offset where the reduced text begins `b` and where it ends `e`. Builders of
    single-symbol rules get that one value itself as `a` (the parser skips the list). They are
    closures over the parse's token lists and source because they run once per reduction.
    Operations written in operator-call form go into `opcalls` (see parse_errors.ParseErrors);
    `duplicate_key(key, offset)` raises the error for a key given twice.
    """
    source = tokens.source
    tv = tokens.values
    ttypes = tokens.types
    tstarts = tokens.starts
    tends = tokens.ends

    def tspan(i: int) -> Span:
        return Span(source, tstarts[i], tends[i])

    def as_class(pattern: Node) -> Node:
        # A bare name in specializer / `matches` position names a class: `Foo` is `Foo{}`.
        if type(pattern) is Sym:
            return PatternTerm(pattern.name, {}, pattern.span)
        return pattern

    h: dict[str, Callable] = {}

    def builder(fn: Callable) -> Callable:
        h[fn.__name__] = fn
        return fn

    # Items ---------------------------------------------------------------------------------

    @builder
    def empty_program(a: list, b: int, e: int) -> list:
        return []

    @builder
    def bodiless_rule(a: list, b: int, e: int) -> Rule:
        name, params, span = a[0]
        # Legacy gives an empty body the empty position right after the head.
        return Rule(name, params, Op("And", [], Span(source, span.end, span.end)), span)

    @builder
    def rule(a: list, b: int, e: int) -> Rule:
        name, params, span = a[0]
        body = a[2]
        if type(body) is not Op or body.op != "And":
            body = Op("And", [body], body.span)
        return Rule(name, params, body, span)

    @builder
    def rule_type(a: list, b: int, e: int) -> RuleType:
        name, params, span = a[1]
        return RuleType(name, params, span)

    @builder
    def fact_declaration(a: list, b: int, e: int) -> FactDeclaration:
        name, params, _ = a[1]
        return FactDeclaration(tv[a[0]], name, params, Span(source, b, e))

    @builder
    def inline_query(a: list, b: int, e: int) -> InlineQuery:
        return InlineQuery(a[1], a[1].span)

    def make_block(keyword: Optional[int], resource: int, productions: list, b: int, e: int
                   ) -> ResourceBlock:
        kw = Name(tv[keyword], tspan(keyword)) if keyword is not None else None
        return ResourceBlock(kw, Name(tv[resource], tspan(resource)), productions, Span(source, b, e))

    @builder
    def block_kw(a: list, b: int, e: int) -> ResourceBlock:
        return make_block(a[0], a[1], a[3], b, e)

    @builder
    def block_kw_empty(a: list, b: int, e: int) -> ResourceBlock:
        return make_block(a[0], a[1], [], b, e)

    @builder
    def block(a: list, b: int, e: int) -> ResourceBlock:
        return make_block(None, a[0], a[2], b, e)

    @builder
    def block_empty(a: list, b: int, e: int) -> ResourceBlock:
        return make_block(None, a[0], [], b, e)

    @builder
    def head_empty(a: list, b: int, e: int) -> tuple:
        return tv[a[0]], [], Span(source, b, e)

    @builder
    def head(a: list, b: int, e: int) -> tuple:
        return tv[a[0]], a[2], Span(source, b, e)

    @builder
    def param_plain(a: Any, b: int, e: int) -> Param:
        return Param(a)

    @builder
    def param_spec(a: list, b: int, e: int) -> Param:
        return Param(a[0], as_class(a[2]))

    # Lists -----------------------------------------------------------------------------------

    @builder
    def list_first(a: Any, b: int, e: int) -> list:
        return [a]

    @builder
    def list_more(a: list, b: int, e: int) -> list:
        a[0].append(a[2])
        return a[0]

    @builder
    def list_append(a: list, b: int, e: int) -> list:
        a[0].append(a[1])
        return a[0]

    @builder
    def list_skip(a: list, b: int, e: int) -> Any:
        return a[0]

    # A program's items are a list like any other.
    h["lines_first"] = list_first
    h["lines_more"] = list_append

    # Resource block productions ------------------------------------------------------------

    def name(i: int) -> Name:
        return Name(tv[i], tspan(i))

    @builder
    def decl_list_empty(a: list, b: int, e: int) -> Declaration:
        return Declaration(name(a[0]), [], Span(source, b, e))

    @builder
    def decl_list(a: list, b: int, e: int) -> Declaration:
        return Declaration(name(a[0]), a[3], Span(source, b, e))

    @builder
    def decl_dict_empty(a: list, b: int, e: int) -> Declaration:
        return Declaration(name(a[0]), {}, Span(source, b, e))

    @builder
    def decl_dict(a: list, b: int, e: int) -> Declaration:
        return Declaration(name(a[0]), a[3][0], Span(source, b, e))

    @builder
    def shorthand(a: list, b: int, e: int) -> ShorthandRule:
        return ShorthandRule(name(a[0]), name(a[2]), None, None, Span(source, b, e))

    @builder
    def shorthand_on(a: list, b: int, e: int) -> ShorthandRule:
        return ShorthandRule(name(a[0]), name(a[2]), name(a[3]), name(a[4]), Span(source, b, e))

    @builder
    def strings_first(a: int, b: int, e: int) -> list:
        return [name(a)]

    @builder
    def strings_more(a: list, b: int, e: int) -> list:
        a[0].append(name(a[2]))
        return a[0]

    @builder
    def rel_field(a: list, b: int, e: int) -> tuple:
        return name(a[0]), name(a[2])

    @builder
    def rel_field_short(a: int, b: int, e: int) -> tuple:
        return name(a), name(a)

    @builder
    def rel_fields_more(a: list, b: int, e: int) -> tuple:
        fields, first = a[0]
        key, value = a[2]
        # Keys are Name objects (they carry spans), so compare their text.
        if any(k.value == key.value for k in fields):
            duplicate_key(key.value, first)
        fields[key] = value
        return a[0]

    # Fields of dicts, patterns and keyword arguments: a field is (key, value); a field list is
    # (dict, offset of its first field), which is where legacy reports a duplicate key.

    @builder
    def fields_first(a: tuple, b: int, e: int) -> tuple:
        return {a[0]: a[1]}, b

    h["rel_fields_first"] = fields_first

    @builder
    def fields_more(a: list, b: int, e: int) -> tuple:
        fields, first = a[0]
        key, value = a[2]
        if key in fields:
            duplicate_key(key, first)
        fields[key] = value
        return a[0]

    @builder
    def field(a: list, b: int, e: int) -> tuple:
        return tv[a[0]], a[2]

    @builder
    def field_short(a: Sym, b: int, e: int) -> tuple:
        return a.name, a

    # Terms -----------------------------------------------------------------------------------

    @builder
    def var(a: int, b: int, e: int) -> Sym:
        return Sym(tv[a], Span(source, b, e))

    @builder
    def literal(a: int, b: int, e: int) -> Value:
        return Value(tv[a], Span(source, b, e))

    h["boolean"] = h["string"] = h["number"] = literal

    def second_token_value(a: list, b: int, e: int) -> Value:
        # `+1`, and a field written as a string after `.`: `x.("name")`.
        return Value(tv[a[1]], Span(source, b, e))

    h["number_plus"] = h["field_string"] = second_token_value

    @builder
    def number_minus(a: list, b: int, e: int) -> Value:
        return Value(-tv[a[1]], Span(source, b, e))

    @builder
    def rest_var(a: list, b: int, e: int) -> Sym:
        return Sym(tv[a[1]], Span(source, b, e))

    @builder
    def paren(a: list, b: int, e: int) -> Node:
        return a[1]

    for alias, op in _BINARY_OPS.items():
        h[alias] = _binary_builder(op, source)
    h["or_exp"] = _chain_builder("Or", source)
    h["and_exp"] = _chain_builder("And", source)

    @builder
    def not_exp(a: list, b: int, e: int) -> Op:
        return Op("Not", [a[1]], Span(source, b, e))

    @builder
    def match_exp(a: list, b: int, e: int) -> Op:
        return Op("Isa", [a[0], as_class(a[2])], Span(source, b, e))

    @builder
    def dot_exp(a: list, b: int, e: int) -> Op:
        return Op("Dot", [a[0], a[2]], Span(source, b, e))

    @builder
    def dot_name(a: list, b: int, e: int) -> Op:
        field = Value(tv[a[2]], Span(source, tstarts[a[2]], e))
        return Op("Dot", [a[0], field], Span(source, b, e))

    @builder
    def new(a: list, b: int, e: int) -> Op:
        return Op("New", [a[1]], Span(source, b, e))

    @builder
    def builtin_empty(a: list, b: int, e: int) -> Op:
        return Op(_BUILTIN_OPS[ttypes[a[0]]], [], Span(source, b, e))

    @builder
    def builtin(a: list, b: int, e: int) -> Op:
        return Op(_BUILTIN_OPS[ttypes[a[0]]], a[2], Span(source, b, e))

    h["builtin_trailing"] = builtin

    @builder
    def cut(a: int, b: int, e: int) -> Op:
        return Op("Cut", [], Span(source, b, e))

    @builder
    def forall(a: list, b: int, e: int) -> Op:
        return Op("ForAll", [a[2], a[4]], Span(source, b, e))

    def opcall_node(i: int, args: list, b: int, e: int) -> Op:
        node = Op(_OPCALL_OPS[ttypes[i]], args, Span(source, b, e))
        opcalls.add(id(node))
        return node

    @builder
    def opcall_empty(a: list, b: int, e: int) -> Op:
        return opcall_node(a[0], [], b, e)

    @builder
    def opcall(a: list, b: int, e: int) -> Op:
        return opcall_node(a[0], a[2], b, e)

    h["opcall_trailing"] = opcall

    # Calls (`f(...)`; after `.` the name may also be a reserved word) ----------------------

    @builder
    def call_empty(a: list, b: int, e: int) -> CallTerm:
        return CallTerm(tv[a[0]], [], None, Span(source, b, e))

    @builder
    def call_args(a: list, b: int, e: int) -> CallTerm:
        return CallTerm(tv[a[0]], a[2], None, Span(source, b, e))

    @builder
    def call_kwargs(a: list, b: int, e: int) -> CallTerm:
        return CallTerm(tv[a[0]], [], a[2][0], Span(source, b, e))

    @builder
    def call_args_kwargs(a: list, b: int, e: int) -> CallTerm:
        return CallTerm(tv[a[0]], a[2], a[4][0], Span(source, b, e))

    h["rescall_empty"] = call_empty
    h["rescall_args"] = call_args
    h["rescall_kwargs"] = call_kwargs
    h["rescall_args_kwargs"] = call_args_kwargs

    # A field after `.`: a name is the field's name (like a literal), `(x)` is x.
    h["field_name"] = literal
    h["field_var"] = paren

    # Collections and patterns ----------------------------------------------------------------

    @builder
    def list_empty(a: list, b: int, e: int) -> ListTerm:
        return ListTerm([], None, Span(source, b, e))

    @builder
    def list_rest_only(a: list, b: int, e: int) -> ListTerm:
        return ListTerm([], a[1], Span(source, b, e))

    @builder
    def list_items(a: list, b: int, e: int) -> ListTerm:
        return ListTerm(a[1], None, Span(source, b, e))

    @builder
    def list_items_rest(a: list, b: int, e: int) -> ListTerm:
        return ListTerm(a[1], a[3], Span(source, b, e))

    @builder
    def dict_empty(a: list, b: int, e: int) -> DictTerm:
        return DictTerm({}, Span(source, b, e))

    @builder
    def dict(a: list, b: int, e: int) -> DictTerm:  # noqa: A001 - the grammar alias
        return DictTerm(a[1][0], Span(source, b, e))

    @builder
    def dict_pattern_empty(a: list, b: int, e: int) -> PatternTerm:
        return PatternTerm(None, {}, Span(source, b, e))

    @builder
    def dict_pattern(a: list, b: int, e: int) -> PatternTerm:
        return PatternTerm(None, a[1][0], Span(source, b, e))

    @builder
    def instance_pattern(a: list, b: int, e: int) -> PatternTerm:
        return PatternTerm(tv[a[0]], a[1].fields, Span(source, b, e))

    return h


def _binary_builder(op: str, source: Source) -> Callable:
    def binary(a: list, b: int, e: int) -> Op:
        return Op(op, [a[0], a[2]], Span(source, b, e))
    return binary


def _chain_builder(op: str, source: Source) -> Callable:
    """`a or b` / `a and b`, where a right operand of the same operation is flattened into it."""
    def chain(a: list, b: int, e: int) -> Op:
        # Only the right operand is flattened, as in legacy: `(a and b) and c` keeps its nesting.
        tail = a[2]
        if type(tail) is Op and tail.op == op:
            return Op(op, [a[0], *tail.args], Span(source, b, e))
        return Op(op, [a[0], tail], Span(source, b, e))
    return chain


def _no_duplicates(key: str, offset: int) -> None:
    raise AssertionError("BUILDER_NAMES is computed from an empty parse")


# Every builder name, for the parse table (parse_table.py), which is built without a parse.
BUILDER_NAMES = frozenset(make_builders(Tokens(Source("")), set(), _no_duplicates))
