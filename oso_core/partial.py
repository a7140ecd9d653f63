"""Helpers for partial results (data filtering): type constraints and dotted paths."""

from __future__ import annotations

from typing import Any

from .expression import Expression, Pattern
from .variable import Variable


class TypeConstraint(Expression):
    """`Expression(And, [Expression(Isa, [var, Pattern(type_name, {})])])`: seeds a typed partial."""

    def __init__(self, left: Any, type_name: str) -> None:
        super().__init__("And", [Expression("Isa", [left, Pattern(type_name, {})])])


def dot_path(expr: Any) -> tuple:
    """`(var, "f1", "f2")` for a nested `Dot` expression over a variable; `()` otherwise."""
    if isinstance(expr, Variable):
        return (expr,)
    if not (isinstance(expr, Expression) and expr.operator == "Dot" and len(expr.args) == 2):
        return ()
    base = dot_path(expr.args[0])
    if not base:
        return ()
    return base + (expr.args[1],)
