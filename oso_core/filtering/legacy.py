"""Between filter plans and legacy `DataFilter`s.

An adapter written for legacy oso receives a `DataFilter`: joins, then an OR of ANDs of
comparisons. Plans that need more (`not` around a relation, `or` inside a related row, recursive
row sets) cannot be written that way; `data_filter_from_plan` then raises an error that says so,
instead of handing the adapter a weaker filter. `plan_from_data_filter` goes the other way, so
the bundled adapters accept legacy filters too.
"""

from __future__ import annotations

from typing import Any

import oso_core.exceptions as exc
from ..data.filter import Condition, DataFilter, Projection, Relation
from .plan import (FALSE, TRUE, And, Compare, Contains, Exists, Field, FilterPlan, In, Not, Or,
                   RelationInfo, Row, Value, render_condition)

_NEEDS_PLAN = ("This policy needs a filter that the legacy DataFilter cannot express ({what}). The "
               "adapter {adapter} only implements build_query(DataFilter); use an adapter with "
               "build_query_from_plan(plan) (the bundled SqlAlchemyAdapter and DjangoAdapter have it), "
               "or implement it in yours.")


def data_filter_from_plan(plan: FilterPlan, host: Any, adapter: Any = None) -> DataFilter:
    """The legacy form of `plan`, or `UnsupportedError` if it has none."""
    def refuse(what: str) -> exc.UnsupportedError:
        return exc.UnsupportedError(_NEEDS_PLAN.format(what=what, adapter=type(adapter).__name__))

    if plan.sets:
        raise refuse("a recursive rule")
    relations: list = []
    seen_types = {plan.root.cls}

    def join(c: Exists) -> None:
        if c.row.cls in seen_types and not any(r.name == c.relation.name and r.left is c.parent.cls for r in relations):
            raise refuse(f"{c.row.name} reached twice")
        seen_types.add(c.row.cls)
        if not any(r.left is c.parent.cls and r.name == c.relation.name for r in relations):
            relations.append(Relation(c.parent.cls, c.relation.name, c.row.cls))

    def side(o: Any) -> Any:
        return Projection(o.row.cls, o.name) if type(o) is Field else o.value

    def conjunction(c: Any, out: list) -> None:
        t = type(c)
        if t is And:
            for x in c.items:
                conjunction(x, out)
        elif t is Compare:
            out.append(Condition(side(c.left), c.op, side(c.right)))
        elif t is In:
            out.append(Condition(side(c.item), "In", c.values.value))
        elif t is Contains:
            out.append(Condition(side(c.item), "In", side(c.column)))
        elif t is Not and type(c.item) in (In, Contains):
            inner = c.item
            if type(inner) is In:
                out.append(Condition(side(inner.item), "Nin", inner.values.value))
            else:
                out.append(Condition(side(inner.item), "Nin", side(inner.column)))
        elif t is Exists:
            join(c)
            conjunction(c.condition, out)
        else:
            raise refuse(render_condition(c))

    top = plan.condition
    alternatives = top.items if type(top) is Or else (top,)
    conditions = []
    for alt in alternatives:
        conj: list = []
        conjunction(alt, conj)
        conditions.append(conj)
    if not conditions:
        conditions = [[Condition(True, "Eq", False)]]
    return DataFilter(plan.root.cls, relations, conditions, host.types)


def plan_from_data_filter(f: DataFilter) -> FilterPlan:
    """A plan meaning what legacy oso meant by `f`: inner joins of the relations, then the
    conditions (one row per root row: the joins become EXISTS)."""
    rows: dict = {}

    def row_for(cls: type) -> Row:
        r = rows.get(cls)
        if r is None:
            r = rows[cls] = Row(cls, cls.__name__, f"{cls.__name__.lower()}_{len(rows)}")
        return r

    root = row_for(f.model)

    def operand(x: Any) -> Any:
        return Field(row_for(x.source), x.field) if isinstance(x, Projection) else Value(x)

    def condition(c: Condition) -> Any:
        left, right = operand(c.left), operand(c.right)
        if c.cmp in ("In", "Nin"):
            if type(right) is Field:
                inner: Any = Contains(right, left)
            elif type(left) is Field:
                inner = In(left, right)
            else:
                inner = TRUE if left.value in right.value else FALSE
            return Not(inner) if c.cmp == "Nin" else inner
        return Compare(c.cmp, left, right)

    body: Any = Or(tuple(And(tuple(condition(c) for c in conj)) for conj in f.conditions))
    for rel in reversed(f.relations):
        declared = f.types[rel.left].fields[rel.name]
        info = RelationInfo(rel.name, declared.kind, rel.right, declared.other_type, declared.my_field,
                            declared.other_field)
        body = Exists(row_for(rel.left), info, row_for(rel.right), body)
    return FilterPlan(root, body, {})

