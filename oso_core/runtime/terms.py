"""Runtime terms.

A Python value *is* its Polar term, classified by exact type (so no conversion is needed on
the hot path): `bool` Boolean, `int` Integer, `float` Float, `str` String, `list` List,
`dict` Dictionary (string keys), and anything else a host instance. On top of that:

* `Var`: a logic variable, bound by setting `ref`; every binding is recorded on the query's
  trail so backtracking can undo it.
* `RestList`: a list pattern with a `*rest` tail.
* `Expression`/`Pattern` (public classes): constraints and class patterns.
* `Call`: a predicate as a value.
"""

from __future__ import annotations

import itertools
from typing import Any, Optional

from ..expression import Expression, Pattern
from ..frontend.syntax import render_fields, render_op, render_value
from ..predicate import Predicate
from ..values import Value as Entity


class _Unbound:
    __slots__ = ()

    def __repr__(self) -> str:
        return "UNBOUND"


UNBOUND: Any = _Unbound()


class Var:
    """A logic variable. `ref` is UNBOUND or the bound term; `cons` the constraints on it."""

    __slots__ = ("name", "ref", "cons", "aliased", "serial")

    def __init__(self, name: str) -> None:
        self.name = name
        self.ref: Any = UNBOUND
        self.cons: Optional[tuple] = None   # constraints (Expressions) while unbound
        self.aliased = False                # unified with another variable or passed to a rule
        self.serial = next(SERIALS)          # creation order (to tell older variables apart)

    def __repr__(self) -> str:
        return self.name


# A shared counter: next() is atomic under the GIL, so serials only grow, across threads too.
SERIALS = itertools.count(1)


class RestList:
    """`[items..., *rest]`: a list whose tail is a variable."""

    __slots__ = ("items", "rest")

    def __init__(self, items: list, rest: Any) -> None:
        self.items = items
        self.rest = rest

    def __repr__(self) -> str:
        return render_term(self)



# Exact types Polar treats as primitives; everything else is a host instance.
PRIMITIVES = frozenset((bool, int, float, str, list, dict))
SPECIAL = frozenset((Var, RestList, Expression, Pattern, Predicate))


def deref(t: Any) -> Any:
    while type(t) is Var:
        r = t.ref
        if r is UNBOUND:
            return t
        t = r
    return t


def render_term(t: Any, names: Optional[dict] = None) -> str:
    """Polar syntax for a runtime term, as legacy oso prints it in messages and `print`."""
    t = deref(t)
    tt = type(t)
    if tt is bool or tt is int or tt is float or tt is str:
        return render_value(t)
    if tt is list:
        return "[" + ", ".join(render_term(x, names) for x in t) + "]"
    if tt is dict:
        return "{" + ", ".join(f"{k}: {render_term(t[k], names)}" for k in sorted(t)) + "}"
    if tt is Var:
        return t.name
    if tt is Entity:   # a fact entity, as Oso Cloud writes it
        return f'{t.type}{{"{t.id}"}}'
    if tt is RestList:
        return "[" + ", ".join([render_term(x, names) for x in t.items] + [f"*{render_term(t.rest, names)}"]) + "]"
    if tt is Expression:
        if t.operator == "Dot" and len(t.args) >= 2 and type(deref(t.args[1])) is str:
            # A field name prints bare (`x.y`), not as a string literal.
            rest = [_Rendered(render_term(a, names), a) for a in t.args[2:]]
            return render_op("Dot", [_Rendered(render_term(t.args[0], names), t.args[0]), deref(t.args[1])] + rest)
        return render_op(t.operator, [_Rendered(render_term(a, names), a) for a in t.args])
    if tt is Pattern:
        fields = {k: _Rendered(render_term(v, names)) for k, v in t.fields.items()}
        return (t.tag or "") + render_fields(fields)
    if tt is Predicate:
        return f"{t.name}(" + ", ".join(render_term(a, names) for a in t.args) + ")"
    from ..variable import Variable
    if isinstance(t, Variable):
        return str.__str__(t)
    class_name = names.get(t.__class__) if names else None
    text = names.constructor_text(t) if names is not None and hasattr(names, "constructor_text") else None
    return f"{text if text is not None else repr(t)} TYPE `{class_name or 'UNKNOWN'}`"


class _Rendered:
    """Pre-rendered operand that still reports its operator precedence to render_op."""

    __slots__ = ("text", "operator", "args")

    def __init__(self, text: str, term: Any = None) -> None:
        self.text = text
        term = deref(term)
        if type(term) is Expression:
            self.operator = term.operator
            self.args = term.args
        else:
            self.operator = None
            self.args = None

    def __str__(self) -> str:
        return self.text


def rust_debug(t: Any) -> str:
    """The Rust Debug rendering legacy oso uses in a few type errors (`Number(Integer(2))`)."""
    tt = type(t)
    if tt is bool:
        return f"Boolean({'true' if t else 'false'})"
    if tt is int:
        return f"Number(Integer({t}))"
    if tt is float:
        return f"Number(Float({t!r}))"
    if tt is str:
        return f'String("{t}")'
    return render_term(t)
