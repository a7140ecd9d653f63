"""Partial evaluation for data filtering: the constraints under which a rule holds for a row.

`evaluate_rule(kb, "allow", [actor, action, ROW], "Repo")` runs `allow` with the row unbound
but typed and returns one snapshot per way the rule can hold: the row's constraints as a public
`Expression("And", [...])` over `Variable("_this")` (or the concrete value the rule bound it to).
Recursive rules are tabled (see `tabling`): their snapshots may contain `InSet(term, name)`,
and `sets` holds the definition of each named row set, in the same snapshot form.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator, Optional

import oso_core.exceptions as exc
from ..expression import Expression, Pattern
from ..variable import Variable
from .driver import public_error, to_term
from .errors import STACK_OVERFLOW, EvalError
from .operations import add_constraint
from .solver import Query, check_unhandled_partials, constraint_component, to_python_value
from .tabling import Tabling
from .terms import RestList, Var, deref

ROW = object()  # marks the argument position of the row in `evaluate_rule`'s arguments


@dataclass
class SetDefinition:
    """The rows of `type_name` for which `description` holds, as snapshots like the main results."""

    type_name: str
    description: str
    results: list
    site_span: Any = None


@dataclass
class PartialEvaluation:
    results: list                                  # snapshots (Expression And / concrete values)
    sets: dict = field(default_factory=dict)       # name -> SetDefinition, in definition order
    origins: dict = field(default_factory=dict)    # id(snapshot expression) -> source span


def evaluate_rule(kb: Any, rule_name: str, args: list, type_name: str) -> PartialEvaluation:
    """Every way `rule_name(args)` holds with the `ROW` argument an unbound row of `type_name`."""
    tabling = Tabling(kb)
    origins: dict = {}
    out = PartialEvaluation([], {}, {})
    qvars: dict = {}
    terms = [a if a is ROW else to_term(a, qvars) for a in args]
    position = terms.index(ROW)
    try:
        out.results = _solutions(kb, tabling, origins, out.origins, rule_name, terms, position, type_name)
        for entry in tabling.drain(lambda e: _solutions(kb, tabling, origins, out.origins, e.pred.name,
                                                        list(e.args), e.position, e.type_name)):
            out.sets[entry.name] = SetDefinition(
                entry.type_name, entry.describe(), entry.results,
                entry.site.span if entry.site is not None else None)
    except EvalError as e:
        raise public_error(e, None) from None
    except RecursionError:
        raise exc.StackOverflowError(STACK_OVERFLOW) from None
    return out


def row_solutions(kb: Any, tabling: Tabling, origins: dict, rule_name: str, terms: list,
                  position: int, type_name: str) -> Iterator[tuple]:
    """`(query, row)` at each way `rule_name(terms)` holds, with the term at `position` replaced
    by an unbound row of `type_name`; read the row's constraints before resuming."""
    q = Query(kb, partial=True)
    q.tabling = tabling
    q.origins = origins
    row = Var("_this")
    row.aliased = True
    add_constraint(q, Expression("Isa", [row, Pattern(type_name, {})]))
    args = list(terms)
    args[position] = row
    pred = kb.predicate(rule_name, len(args))
    for _ in pred.solve_untabled(q, [deref(a) for a in args], None):
        yield q, row


def _solutions(kb: Any, tabling: Tabling, origins: dict, snap_origins: dict, rule_name: str,
               terms: list, position: int, type_name: str) -> list:
    return [snapshot(q, row, origins, snap_origins)
            for q, row in row_solutions(kb, tabling, origins, rule_name, terms, position, type_name)]


def snapshot(q: Query, row: Var, origins: dict, snap_origins: dict) -> Any:
    """The row's current constraints (with every variable linked to them) as a public term."""
    value = deref(row)
    if type(value) is not Var:
        check_unhandled_partials(q, {"_this": row})
        return to_python_value(value, True)
    raw = constraint_component(value, q)
    _check_all_reach_the_row(q, raw, row)
    return Expression("And", [_copy(c, value, origins, snap_origins) for c in raw])


def _check_all_reach_the_row(q: Query, component: list, row: Var) -> None:
    """Constraints on variables unconnected to the row cannot be filtered: the same error as
    `check_unhandled_partials`, computed from the row's component in one pass over the trail."""
    ids = {id(c) for c in component}
    for e in q.trail:
        if type(e) is Var:
            continue
        v = deref(e[0])
        if type(v) is Var and v.cons and not any(id(c) in ids for c in v.cons):
            check_unhandled_partials(q, {"_this": row})   # raises, naming the variable
            return


def _copy(t: Any, row: Var, origins: dict, snap_origins: dict) -> Any:
    t = deref(t)
    tt = type(t)
    if t is row:
        return Variable("_this")
    if tt is Var:
        return Variable(t.name)
    if tt is Expression:
        new = Expression(t.operator, [_copy(a, row, origins, snap_origins) for a in t.args])
        origin = origins.get(id(t))
        if origin is not None and origin[0] is t:
            snap_origins[id(new)] = (new, origin[1])
        return new
    if tt is Pattern:
        return Pattern(t.tag, {k: _copy(x, row, origins, snap_origins) for k, x in t.fields.items()})
    if tt is list:
        return [_copy(x, row, origins, snap_origins) for x in t]
    if tt is RestList:
        return [_copy(x, row, origins, snap_origins) for x in t.items]
    if tt is dict:
        return {k: _copy(x, row, origins, snap_origins) for k, x in t.items()}
    return t


def first_origin(term: Any, origins: dict) -> Optional[Any]:
    """The source span of `term` or of the first sub-expression with one."""
    if isinstance(term, Expression):
        origin = origins.get(id(term))
        if origin is not None and origin[0] is term:
            return origin[1]
        for a in term.args:
            span = first_origin(a, origins)
            if span is not None:
                return span
    return None
