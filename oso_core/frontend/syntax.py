"""The abstract syntax tree the parser produces and the checks and the compiler consume.

Every node carries an optional `span` (where it came from). `str(node)` renders it in Polar
syntax the way legacy oso prints terms in messages.

Operator names are legacy oso's `Expression` operator names, so one renderer serves the AST and
the runtime constraint expressions.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Optional, Union

from ..values import Value as Entity
from .source import Span


class Node:
    __slots__ = ("span",)

    def __init__(self) -> None:
        self.span: Optional[Span] = None

    def __str__(self) -> str:  # pragma: no cover - every subclass overrides
        raise AssertionError(type(self).__name__)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self}>"


class Value(Node):
    """A literal: int, float, str or bool (a Python value of exactly that type), or in the Oso
    Cloud dialect an entity literal (`oso_core.values.Value`)."""

    __slots__ = ("value",)

    def __init__(self, value: Union[int, float, str, bool, Entity], span: Optional[Span] = None) -> None:
        self.value = value
        self.span = span

    def __str__(self) -> str:
        return render_value(self.value)


class Sym(Node):
    """A name in term position: a variable, or a registered constant/class (resolved later).

    `_` is the anonymous variable: every occurrence is a distinct variable.
    """

    __slots__ = ("name",)

    def __init__(self, name: str, span: Optional[Span] = None) -> None:
        self.name = name
        self.span = span

    def __str__(self) -> str:
        return self.name


class ListTerm(Node):
    """`[a, b]` or `[a, *rest]`. In pattern position the items are patterns."""

    __slots__ = ("items", "rest")

    def __init__(self, items: list[Node], rest: Optional[Sym] = None, span: Optional[Span] = None) -> None:
        self.items = items
        self.rest = rest
        self.span = span

    def __str__(self) -> str:
        parts = [_wrap(i, _PRECEDENCE["And"]) for i in self.items]
        if self.rest is not None:
            parts.append(f"*{self.rest}")
        return "[" + ", ".join(parts) + "]"


class DictTerm(Node):
    """`{k: v, ...}` (a dictionary literal). Keys are plain strings, in source order."""

    __slots__ = ("fields",)

    def __init__(self, fields: dict[str, Node], span: Optional[Span] = None) -> None:
        self.fields = fields
        self.span = span

    def __str__(self) -> str:
        return render_fields(self.fields)


class CallTerm(Node):
    """`name(args, key: value)`: a rule call, or after `.` a method call, or after `new` a constructor."""

    __slots__ = ("name", "args", "kwargs")

    def __init__(self, name: str, args: list[Node], kwargs: Optional[dict[str, Node]] = None,
                 span: Optional[Span] = None) -> None:
        self.name = name
        self.args = args
        self.kwargs = kwargs
        self.span = span

    def __str__(self) -> str:
        parts = [_wrap(a, _PRECEDENCE["And"]) for a in self.args]
        if self.kwargs:
            # Legacy keeps keyword arguments in a sorted map, so it prints them sorted.
            parts.extend(f"{k}: {self.kwargs[k]}" for k in sorted(self.kwargs))
        return f"{self.name}(" + ", ".join(parts) + ")"


class PatternTerm(Node):
    """`Tag{field: pattern}` (instance pattern, `tag` set) or `{field: pattern}` (dict pattern, tag None).

    A bare class name in specializer/`matches` position is `PatternTerm(name, {})`.
    """

    __slots__ = ("tag", "fields")

    def __init__(self, tag: Optional[str], fields: dict[str, Node], span: Optional[Span] = None) -> None:
        self.tag = tag
        self.fields = fields
        self.span = span

    def __str__(self) -> str:
        return (self.tag or "") + render_fields(self.fields)


class Op(Node):
    """An operator applied to operands.

    op is one of: And Or Not Unify Eq Neq Lt Leq Gt Geq In Isa Dot Add Sub Mul Div Mod Rem
    New Cut Debug Print ForAll Assign.
    * And/Or are n-ary and flattened; `Op("And", [])` is true.
    * Dot: [base, field] where field is Value(str) for `a.b` and `a.("key")`, Sym for `a.(var)`,
      CallTerm for `a.m(...)`; a third operand (operator-call form `.(a, b, c)`) is the result.
    * New: [CallTerm] (optionally a second operand: the result).
    * Isa: [term, pattern]; the pattern is a PatternTerm, Value, Sym or ListTerm of patterns.
    * Print/Debug: their arguments; Cut: no operands; ForAll: [condition, action].
    """

    __slots__ = ("op", "args")

    def __init__(self, op: str, args: list[Node], span: Optional[Span] = None) -> None:
        self.op = op
        self.args = args
        self.span = span

    def __str__(self) -> str:
        return render_op(self.op, self.args)


class Param:
    """One rule/rule-type parameter: a term and an optional specializer pattern.

    `x: Foo` is Param(Sym("x"), PatternTerm("Foo", {})); `x: {a: 1}` a dict pattern; `x: 1` a Value.
    A head value expression (`f(x.y)`, `f(a + b)`) is kept as the term; the loader hoists it.
    """

    __slots__ = ("term", "specializer")

    def __init__(self, term: Node, specializer: Optional[Node] = None) -> None:
        self.term = term
        self.specializer = specializer

    def __str__(self) -> str:
        if self.specializer is None:
            return str(self.term)
        spec = self.specializer
        # Legacy prints class specializers with braces: `x: Foo{}`.
        return f"{self.term}: {spec}"


class Rule:
    """`name(params) if body;` — body is always an `Op("And", goals)`."""

    __slots__ = ("name", "params", "body", "span", "generated")

    def __init__(self, name: str, params: list[Param], body: Op, span: Optional[Span] = None,
                 generated: bool = False) -> None:
        self.name = name
        self.params = params
        self.body = body
        self.span = span
        self.generated = generated  # desugared from a resource block shorthand rule

    def head_str(self) -> str:
        return f"{self.name}(" + ", ".join(str(p) for p in self.params) + ")"

    def __str__(self) -> str:
        if not self.body.args:
            return self.head_str() + ";"
        return f"{self.head_str()} if {render_body(self.body)};"

    def __repr__(self) -> str:
        return f"<Rule {self}>"


class RuleType:
    """`type name(params);`"""

    __slots__ = ("name", "params", "span")

    def __init__(self, name: str, params: list[Param], span: Optional[Span] = None) -> None:
        self.name = name
        self.params = params
        self.span = span

    def __str__(self) -> str:
        return f"{self.name}(" + ", ".join(str(p) for p in self.params) + ");"

    def __repr__(self) -> str:
        return f"<RuleType {self}>"


class FactDeclaration:
    """`declare name(Type, ...);`: a fact predicate's signature (`keyword` is the leading name,
    which the loader requires to be `declare`)."""

    __slots__ = ("keyword", "name", "params", "span")

    def __init__(self, keyword: str, name: str, params: list[Param], span: Optional[Span] = None) -> None:
        self.keyword = keyword
        self.name = name
        self.params = params
        self.span = span

    def __str__(self) -> str:
        return f"{self.keyword} {self.name}(" + ", ".join(str(p) for p in self.params) + ");"

    def __repr__(self) -> str:
        return f"<FactDeclaration {self}>"


class InlineQuery:
    """`?= term;`"""

    __slots__ = ("term", "span")

    def __init__(self, term: Node, span: Optional[Span] = None) -> None:
        self.term = term
        self.span = span


class Name:
    """An identifier or string with its span (resource-block keywords, types and strings)."""

    __slots__ = ("value", "span")

    def __init__(self, value: str, span: Optional[Span] = None) -> None:
        self.value = value
        self.span = span

    def __str__(self) -> str:
        return self.value

    def __repr__(self) -> str:
        return f"Name({self.value!r})"


class Declaration:
    """`roles = ["a"];`, `permissions = [...]`, `relations = {parent: Org}` (or any other name).

    `value` is a list of Name (strings) or a dict {Name(relation) -> Name(type)}.
    """

    __slots__ = ("name", "value", "span")

    def __init__(self, name: Name, value: Union[list[Name], dict], span: Optional[Span] = None) -> None:
        self.name = name
        self.value = value
        self.span = span


class ShorthandRule:
    """`"head" if "implier";` or `"head" if "implier" on "relation";`.

    `on` is the keyword actually written (to report `Unexpected relation keyword 'onn'`).
    """

    __slots__ = ("head", "implier", "on", "relation", "span")

    def __init__(self, head: Name, implier: Name, on: Optional[Name] = None, relation: Optional[Name] = None,
                 span: Optional[Span] = None) -> None:
        self.head = head
        self.implier = implier
        self.on = on
        self.relation = relation
        self.span = span


class ResourceBlock:
    """`actor User { ... }` / `resource Repo { ... }`; `keyword` is None when it was left out."""

    __slots__ = ("keyword", "resource", "productions", "span")

    def __init__(self, keyword: Optional[Name], resource: Name,
                 productions: list[Union[Declaration, ShorthandRule]], span: Optional[Span] = None) -> None:
        self.keyword = keyword
        self.resource = resource
        self.productions = productions
        self.span = span


Item = Union[Rule, RuleType, FactDeclaration, InlineQuery, ResourceBlock]


# Rendering ----------------------------------------------------------------------------------

def render_value(v: object) -> str:
    """A Python primitive in Polar syntax: `true`, `1`, `0.5`, `inf`, `"text"` (no escaping)."""
    t = type(v)
    if t is bool:
        return "true" if v else "false"
    if t is int:
        return str(v)
    if t is float:
        return render_float(v)  # type: ignore[arg-type]
    if t is str:
        return f'"{v}"'
    if t is Entity:  # an Oso Cloud entity literal
        return f'{v.type}{{"{v.id}"}}'  # type: ignore[attr-defined]
    return str(v)


def render_float(f: float) -> str:
    """A float the way legacy prints it (Rust `Display`): positional, no exponent, no `.0`."""
    if math.isnan(f):
        return "NaN"
    if math.isinf(f):
        return "inf" if f > 0 else "-inf"
    if f == 0:
        return "-0" if math.copysign(1.0, f) < 0 else "0"
    # repr() gives the shortest round-trip digits; Decimal lays them out without an exponent.
    text = format(Decimal(repr(f)), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def render_fields(fields: dict) -> str:
    if not fields:
        return "{}"
    return "{" + ", ".join(f"{k}: {fields[k]}" for k in sorted(fields)) + "}"


# Operator precedence of legacy's formatter (higher binds tighter). An operand is parenthesized
# only when it is an expression whose precedence is strictly lower than its parent's, so legacy
# prints `1 - (2 - 3)` as `1 - 2 - 3` and `print(a.b)` as `print((a.b))`; messages must match.
_PRECEDENCE = {
    "Print": 11, "Debug": 11, "New": 10, "Cut": 10, "ForAll": 10,
    "Dot": 9, "In": 8, "Isa": 8,
    "Mul": 7, "Div": 7, "Mod": 7, "Rem": 7,
    "Add": 6, "Sub": 6,
    "Eq": 5, "Neq": 5, "Lt": 5, "Leq": 5, "Gt": 5, "Geq": 5,
    "Unify": 4, "Assign": 4,
    "Not": 3, "And": 2, "Or": 1,
}
_INFIX = {
    "In": " in ", "Isa": " matches ", "Mul": " * ", "Div": " / ", "Mod": " mod ", "Rem": " rem ",
    "Add": " + ", "Sub": " - ", "Eq": " == ", "Neq": " != ", "Lt": " < ", "Leq": " <= ", "Gt": " > ",
    "Geq": " >= ", "Unify": " = ", "Assign": " := ",
}


def _operator_of(term: object) -> Optional[str]:
    """The operator name of an expression (AST `Op` or runtime Expression), else None."""
    if isinstance(term, Op):
        return term.op
    op = getattr(term, "operator", None)  # runtime Expression
    if isinstance(op, str) and hasattr(term, "args"):
        return op
    return None


def precedence(term: object) -> int:
    op = _operator_of(term)
    return 10 if op is None else _PRECEDENCE.get(op, 10)


def _wrap(term: object, parent: int) -> str:
    text = str(term)
    op = _operator_of(term)
    if op is not None and _PRECEDENCE.get(op, 10) < parent:
        return f"({text})"
    return text


def render_op(op: str, args: list) -> str:
    """Infix rendering of an operator as legacy's formatter does it (AST nodes or runtime terms)."""
    prec = _PRECEDENCE.get(op, 10)
    if op == "Dot":
        # Legacy never parenthesizes the receiver of a lookup.
        text = f"{args[0]}." + render_dot_field(args[1])
        if len(args) == 3:
            text += f" = {args[2]}"
        return text
    if op in ("And", "Or"):
        if not args:
            return "(true)" if op == "And" else "(false)"
        sep = " and " if op == "And" else " or "
        return sep.join(_wrap(a, prec) for a in args)
    if op == "Not":
        return "not " + _wrap(args[0], prec)
    if op == "Cut":
        return "cut"
    if op == "Debug":
        return "debug()"  # legacy drops debug's arguments when printing it
    if op == "Print":
        return "print(" + ", ".join(_wrap(a, prec) for a in args) + ")"
    if op == "ForAll":
        return f"forall({args[0]}, {args[1]})"
    if op == "New":
        if len(args) == 1:
            return "new " + _wrap(args[0], prec)
        return f"new ({_wrap(args[0], prec)}, {args[1]})"
    infix = _INFIX.get(op)
    if infix is None:
        return f"{op}(" + ", ".join(str(a) for a in args) + ")"
    if len(args) == 2:
        return _wrap(args[0], prec) + infix + _wrap(args[1], prec)
    if len(args) == 3:  # internal 3-operand form: `a + b = _op_1`
        return _wrap(args[0], prec) + infix + _wrap(args[1], prec) + " = " + _wrap(args[2], prec)
    return infix.strip() + "(" + ", ".join(_wrap(a, prec) for a in args) + ")"


def render_dot_field(field: object) -> str:
    """The part after `.`: legacy prints a string field raw (`a.b c`) and anything else as is."""
    if isinstance(field, Value) and isinstance(field.value, str):
        return field.value
    if isinstance(field, str):  # runtime form: plain attribute name
        return field
    return str(field)


def render_body(body: Op) -> str:
    """A rule body as legacy prints it: the conjuncts joined by ` and ` (a lone `or` in parens)."""
    return " and ".join(_wrap(goal, _PRECEDENCE["And"]) for goal in body.args)
