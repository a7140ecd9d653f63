"""The filter plan: an ORM-independent description of "which rows pass", built from partial results.

A plan is a condition over one *root row* (the resource being filtered). Other rows enter only
through `Exists` (a related row, via a declared or discovered relation) or through a named,
possibly recursive, row set (`InSet`). Adapters compile a plan to one query of their store:
`And`/`Or`/`Not` to boolean operators, `Exists` to a correlated EXISTS subquery, `InSet` to
`pk IN (SELECT ...)` over a (recursive) common table expression.

Polar has no NULL logic: `nil = 1` is simply false, so `not r.owner_id = 1` holds for a row
whose owner is NULL. Adapters therefore compile `Compare("Neq", ...)` null-safely and compile
`Not(c)` as the exact complement of `c` (e.g. `=` -> IS DISTINCT FROM, `<` -> `(...) IS NOT TRUE`),
never as a bare SQL `NOT`, which would turn NULL into "no".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional, Union

COMPARISONS = ("Eq", "Neq", "Lt", "Leq", "Gt", "Geq")


@dataclass(frozen=True, eq=False)
class Row:
    """A row variable: the root row, a row introduced by `Exists`, a set member or a join row.

    Identity matters (two rows of one class are different variables), so rows compare by `is`.
    """

    cls: type     # the host class (an ORM model for the bundled adapters)
    name: str     # its registered Polar name
    label: str    # a readable, plan-unique label ("repo", "org_1", ...) for SQL aliases and repr


@dataclass(frozen=True)
class RelationInfo:
    """How `source_row.<name>` reaches rows of `target`: `source.my_field == target.other_field`."""

    name: str          # the field name on the source class (e.g. "org")
    kind: str          # "one" or "many"
    target: type       # the related host class
    target_name: str   # its registered name
    my_field: str      # column on the source class
    other_field: str   # column on the target class


@dataclass(frozen=True)
class Field:
    """A column of a row; `name=None` is the row's identity (its primary key)."""

    row: Row
    name: Optional[str]


@dataclass(frozen=True)
class Value:
    """An immediate value: a scalar, a list of scalars, None, or a host instance (compared by
    primary key when the other side is a row identity)."""

    value: Any


Operand = Union[Field, Value]


@dataclass(frozen=True)
class Compare:
    """`left <op> right` with op in COMPARISONS (`Eq` with a None value means IS NULL)."""

    op: str
    left: Operand
    right: Operand


@dataclass(frozen=True)
class In:
    """`item` is one of `values` (a `Value` holding a list), e.g. `r.id in [1, 2]`."""

    item: Field
    values: Value


@dataclass(frozen=True)
class Contains:
    """A list-valued column holds `item`, e.g. `"x" in r.tags` for an array/JSON column."""

    column: Field
    item: Operand


@dataclass(frozen=True)
class Exists:
    """Some row `row` related to `parent` through `relation` satisfies `condition`:
    EXISTS (SELECT 1 FROM target AS row WHERE row.other_field = parent.my_field AND condition)."""

    parent: Row
    relation: RelationInfo
    row: Row
    condition: "Condition"


@dataclass(frozen=True)
class InSet:
    """`row` (its identity) belongs to the named row set of `FilterPlan.sets`."""

    row: Row
    set_name: str


@dataclass(frozen=True)
class And:
    items: tuple   # empty: true


@dataclass(frozen=True)
class Or:
    items: tuple   # empty: false


@dataclass(frozen=True)
class Not:
    item: "Condition"


Condition = Union[Compare, In, Contains, Exists, InSet, And, Or, Not]

TRUE = And(())
FALSE = Or(())


@dataclass(frozen=True)
class Hop:
    """One join of a recursive step: `row` is related to `parent` through `relation`."""

    parent: Row
    relation: RelationInfo
    row: Row


@dataclass(frozen=True)
class RecursiveStep:
    """`member_row`'s identity is in the set being defined; `hops` join it to the new row.

    Reads as: row ∈ S if ∃ hop rows . hops hold ∧ member ∈ S ∧ condition.
    `member` is the new row itself or the last hop's row (e.g. `row -parent-> p`, p ∈ S)."""

    hops: tuple    # of Hop, starting at the set's row; may be empty only if member is not the row
    member: Row
    condition: "Condition"


@dataclass
class RowSet:
    """A named set of rows of one class: the least set holding every row that satisfies `base`
    and closed under `steps`. Compiles to `WITH RECURSIVE name(pk) AS (base UNION steps)`."""

    name: str
    row: Row                      # the defined row variable (free in base and steps)
    base: "Condition"
    steps: list = field(default_factory=list)   # of RecursiveStep; empty: not recursive
    description: str = ""         # the rule call it stands for, for errors and explanations


@dataclass
class FilterPlan:
    """Rows of `root.cls` satisfying `condition`; `sets` are referenced by `InSet` (in dependency
    order: a set refers only to itself and to sets listed before it)."""

    root: Row
    condition: "Condition"
    sets: dict = field(default_factory=dict)   # name -> RowSet, ordered

    @property
    def model(self) -> type:
        return self.root.cls

    def describe(self) -> str:
        """A readable rendering for explanations and `POLAR_EXPLAIN`."""
        return render_plan(self)


# Readable text form (for `POLAR_EXPLAIN`, explanations and errors) ---------------------------

_SYMBOL = {"Eq": "=", "Neq": "!=", "Lt": "<", "Leq": "<=", "Gt": ">", "Geq": ">="}


def render_plan(plan: Any) -> str:
    """`plan` as text: the root row, each row set's base and steps, then the condition."""
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
    """A condition in Polar-like syntax (`r.owner_id = 1 and exists ...`)."""
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
