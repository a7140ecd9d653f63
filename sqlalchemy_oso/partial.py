"""Partial results (`Expression`s) -> SQLAlchemy filters.

`partial_to_filter(expression, session, model, get_model)` translates one partial result of
`oso.query_rule(..., accept_expression=True)` — the constraints on an unbound variable typed
with `model` — into a WHERE clause over `model`. It uses the same translation as
`authorize_model`: the expression goes through oso_core's filter-plan builder, and the plan is
compiled with ORM relationships (`compile_plan(..., relationships=True)`). So `and`, `or`, `not`, comparisons in either
operand order (legacy's `Leq` -> `Gtq` flip bug is gone), `x in _this.rel` with constraints on
`x`, `value in _this.rel`, `_this = instance` and dotted paths through relationships all work;
anything without a faithful translation raises `UnsupportedError`.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from oso_core.data.adapter.sqlalchemy_compiler import compile_plan
from oso_core.expression import Expression

from ._orm import mapper_of, orm_relations

__all__ = ["COMPARISONS", "flip_op", "partial_to_filter"]

COMPARISONS = {
    "Unify": operator.eq, "Eq": operator.eq, "Neq": operator.ne,
    "Geq": operator.ge, "Gt": operator.gt, "Leq": operator.le, "Lt": operator.lt,
}

_FLIPS = {"Eq": "Eq", "Unify": "Unify", "Neq": "Neq", "Geq": "Leq", "Gt": "Lt", "Leq": "Geq", "Lt": "Gt"}


def flip_op(operator_name: str) -> str:
    """The comparison with its operands swapped (`a <= b` is `b >= a`)."""
    return _FLIPS[operator_name]


class _ModelHost:
    """The host facts the plan builder needs, from `get_model` and the ORM mapping, for callers
    that have no `Oso` at hand."""

    def __init__(self, get_model: Callable[[str], type]) -> None:
        self.get_model = get_model
        self.types: dict = {}

    def class_name(self, cls: type) -> str:
        return cls.__name__

    def get_class(self, name: str) -> type:
        return self.get_model(name)

    def discovered_relations(self, cls: type) -> dict:
        return orm_relations(cls) if mapper_of(cls) is not None else {}


def _host_of(get_model: Callable[[str], type]) -> Any:
    owner = getattr(get_model, "__self__", None)
    host = getattr(owner, "host", None)
    if host is not None and hasattr(host, "discovered_relations"):
        from ._orm import install_orm_introspection
        install_orm_introspection(owner)
        return host
    return _ModelHost(get_model)


def partial_to_filter(expression: Any, session: Session, model: Any, get_model: Callable[[str], type]) -> Any:
    """A filter over `model` (a mapped class or alias) equivalent to `expression`, the partial
    binding of a variable of that type; `get_model(name)` returns the class registered as
    `name` (pass `oso.get_class`)."""
    from oso_core.filtering import build_plan_from_results

    mapper = mapper_of(model)
    if mapper is None:
        raise TypeError(f"Expected a model; received: {model}")
    if not isinstance(expression, Expression):
        # A concrete value: the row must be that object.
        expression = Expression("And", [Expression("Unify", [_this(), expression])])
    host = _host_of(get_model)
    plan = build_plan_from_results(host, [expression], mapper.class_)
    return compile_plan(plan, model, relationships=True, legacy_shape=True,
                        host=host if hasattr(host, "types") else None)


def _this() -> Any:
    from oso_core.variable import Variable
    return Variable("_this")
