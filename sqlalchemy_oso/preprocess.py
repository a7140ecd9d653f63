"""Legacy expression preprocessing (kept for compatibility; the translation no longer needs it).

`preprocess(expr)` nests the constraints on variables introduced by `x in _this.rel` into that
`in`: `x in _this.tags and x.id = 1` becomes `(_this.id = 1) in _this.tags`, the shape legacy
sqlalchemy-oso's translator consumed. `Or` and `Not` raise `UnsupportedError`, as in legacy.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from oso_core.exceptions import UnsupportedError
from oso_core.expression import Expression
from oso_core.variable import Variable

__all__ = ["preprocess", "preprocess_expression"]

TGroupedExpressions = dict[Variable, list[Expression]]
_THIS = Variable("_this")


def preprocess(expression: Expression) -> Expression:
    """`expression` with the constraints of other variables nested into the `in` that binds them."""
    variables: TGroupedExpressions = defaultdict(list)
    rest = preprocess_expression(expression, variables)
    assert rest is not None
    grouped = {var: _substitute(Expression("And", list(items)), var, _THIS) for var, items in variables.items()}

    resolved: dict = {}

    def resolve(var: Variable, active: frozenset) -> Expression:
        if var in resolved:
            return resolved[var]
        body = grouped[var]
        for other in grouped:
            if other != var and other not in active and _mentions(body, other):
                body = _substitute(body, other, resolve(other, active | {var}))
        resolved[var] = body
        return body

    for var in grouped:
        rest = _substitute(rest, var, resolve(var, frozenset()))
    return rest


def preprocess_expression(expression: Expression, variables: TGroupedExpressions) -> Expression | None:
    """Move the constraints over variables other than `_this` into `variables` (by variable)
    and return what remains (None when nothing does)."""
    if expression.operator == "And":
        kept = [e for e in (preprocess_expression(a, variables) for a in expression.args) if e is not None]
        return Expression("And", kept)
    if expression.operator in ("Or", "Not"):
        raise UnsupportedError(expression.operator)
    if len(expression.args) != 2:
        return expression
    left, right = (_base_variable(a) for a in expression.args)
    if left == _THIS or right == _THIS:
        return expression
    # The right side first: `x in y.items` belongs to `y`.
    owner = right if right is not None else left
    if owner is None:
        return expression
    variables[owner].append(expression)
    return None


def _base_variable(term: Any) -> Variable | None:
    while isinstance(term, Expression) and term.operator == "Dot":
        term = term.args[0]
    return term if isinstance(term, Variable) else None


def _mentions(term: Any, var: Variable) -> bool:
    if isinstance(term, Expression):
        return any(_mentions(a, var) for a in term.args)
    return isinstance(term, Variable) and term == var


def _substitute(term: Any, var: Variable, value: Any) -> Any:
    if isinstance(term, Expression):
        return Expression(term.operator, [_substitute(a, var, value) for a in term.args])
    if isinstance(term, Variable) and term == var:
        return value
    return term
