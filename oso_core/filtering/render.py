"""A readable text form of filter plans (for `POLAR_EXPLAIN`, explanations and errors)."""

from __future__ import annotations

from typing import Any

from .plan import And, Compare, Contains, Exists, Field, In, InSet, Not, Or, Value

_SYMBOL = {"Eq": "=", "Neq": "!=", "Lt": "<", "Leq": "<=", "Gt": ">", "Geq": ">="}


def render_plan(plan: Any) -> str:
    lines = [f"query {plan.root.name} as {plan.root.label}"]
    for s in plan.sets.values():
        lines.append(f"set {s.name} of {s.row.name} as {s.row.label} ({s.description}):")
        lines.append(f"  base: {render_condition(s.base)}")
        for step in s.steps:
            joins = " ".join(f"join {h.row.label} = {h.parent.label}.{h.relation.name}" for h in step.hops)
            lines.append(f"  step: {joins} where {step.member.label} in {s.name} and "
                         f"{render_condition(step.condition)}")
    lines.append(f"where {render_condition(plan.condition)}")
    return "\n".join(lines)


def render_condition(c: Any) -> str:
    t = type(c)
    if t is And:
        return "true" if not c.items else "(" + " and ".join(render_condition(x) for x in c.items) + ")"
    if t is Or:
        return "false" if not c.items else "(" + " or ".join(render_condition(x) for x in c.items) + ")"
    if t is Not:
        return f"not {render_condition(c.item)}"
    if t is Compare:
        return f"{_operand(c.left)} {_SYMBOL[c.op]} {_operand(c.right)}"
    if t is In:
        return f"{_operand(c.item)} in {_operand(c.values)}"
    if t is Contains:
        return f"{_operand(c.item)} in {_operand(c.column)}"
    if t is Exists:
        return (f"exists {c.row.label} in {c.parent.label}.{c.relation.name} "
                f"where {render_condition(c.condition)}")
    if t is InSet:
        return f"{c.row.label} in {c.set_name}"
    return repr(c)


def _operand(o: Any) -> str:
    if type(o) is Field:
        return f"{o.row.label}.{o.name}" if o.name is not None else o.row.label
    if type(o) is Value:
        return repr(o.value)
    return repr(o)
