"""Partial evaluation of a conjunction of calls with every input symbolic, for the SQL compiler.

`evaluate(kb, [("allow", [Symbol("actor"), "read", Symbol("resource")])], {"actor": "User",
"resource": "Repo"})` runs the calls with each `Symbol` an unbound variable of its type and
returns one `Solution` per way they hold: what each symbol ended up as (a value, or a variable
name) and ALL constraints left (not only those reachable from one row, as `evaluate_rule` keeps):
a constraint on a rule-local variable no symbol reaches is an existential condition, which SQL
expresses as well as any other (`actions` needs that: the action is an output, the resource an
input, and an intermediate organisation is linked to neither).

Every input is symbolic (also the actor, unlike a sentinel value) so that no fact call is
ground only because an input is known: all fact calls become `Fact` constraints, and the
compiled statement depends only on the types. A call that is ground anyway (all its arguments
are policy constants) is assumed to hold and recorded as `Assumed(holder, Fact(...))` on a
private variable, so it becomes a SQL condition too (and its negation `Not(Assumed(...))`).
Recursive calls are tabled (`InSet`, `sets`) as in `partial_eval`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator, Optional, Sequence

import oso_core.exceptions as exc
from ..expression import Expression, Pattern
from ..runtime.driver import public_error, to_term
from ..runtime.errors import STACK_OVERFLOW, EvalError
from ..runtime.operations import add_var_constraints, undo
from ..runtime.solver import Query
from ..runtime.tabling import Tabling
from ..runtime.terms import RestList, Var, deref
from ..variable import Variable

ASSUMED = "Assumed"       # Assumed(holder, Fact(...)): a ground fact call, checked in SQL
SET_ROW = "row"           # the name of a set definition's row variable


@dataclass(frozen=True)
class Symbol:
    """A symbolic argument: an unbound variable named `name`."""

    name: str


@dataclass
class Solution:
    """One way the calls hold: symbol name -> value or `Variable`, and the constraints (public terms)."""

    bindings: dict
    constraints: list


@dataclass
class RowSet:
    """The rows of `type_name` for which a tabled call holds; `Solution`s over `SET_ROW`."""

    type_name: str
    description: str
    solutions: list = field(default_factory=list)


@dataclass
class Evaluation:
    solutions: list
    sets: dict     # name -> RowSet, in definition order


def evaluate(kb: Any, calls: Sequence[tuple], types: dict, symbolic_actor: str | None = None) -> Evaluation:
    """Every way the conjunction `calls` ((predicate, args) pairs) holds with each `Symbol` an
    unbound variable typed by `types[name]` (None: untyped); `symbolic_actor` names the symbol
    the tabling treats as one value (the actor)."""
    holder = Var("_assumed")
    holder.aliased = True   # negation must see a ground call recorded on it as a partial change
    source = _AssumingSource(holder)
    kb = kb.with_facts(source)
    # The symbols' types are entity types even if no declaration names them, as for a concrete
    # `Value` (whose type checks compare names): a type check of a symbol against another
    # type then fails instead of asking for a registered class.
    kb.entity_types = kb.entity_types | {t for t in types.values() if t is not None and t not in kb.host.types}
    tabling = Tabling(kb)
    symbols: dict = {}
    for name, type_name in types.items():
        v = symbols[name] = Var(name)
        v.aliased = True
        if type_name is not None:
            v.cons = (Expression("Isa", [v, Pattern(type_name, {})]),)
    if symbolic_actor is not None:
        tabling.symbol = symbols[symbolic_actor]
    qvars: dict = {}
    goals = [(kb.predicate(name, len(args)), [symbols[a.name] if isinstance(a, Symbol) else to_term(a, qvars)
                                             for a in args]) for name, args in calls]
    out = Evaluation([], {})
    try:
        out.solutions = _solutions(kb, tabling, source, goals, symbols)
        def solve_set(entry: Any) -> list:
            row = Var(SET_ROW)
            row.aliased = True
            row.cons = (Expression("Isa", [row, Pattern(entry.type_name, {})]),)
            args = list(entry.args)
            args[entry.position] = row
            return _solutions(kb, tabling, source, [(entry.pred, args)], {**symbols, SET_ROW: row}, typed=[row])

        for entry in tabling.drain(solve_set):
            out.sets[entry.name] = RowSet(entry.type_name, entry.describe(), entry.results)
    except EvalError as e:
        raise public_error(e, None) from None
    except RecursionError:
        raise exc.StackOverflowError(STACK_OVERFLOW) from None
    return out


class _AssumingSource:
    """A fact source for ground calls during symbolic evaluation: each holds once, recorded on
    the holder variable (undone with the trail when the solver backtracks)."""

    def __init__(self, holder: Var) -> None:
        self.holder = holder
        self.q: Any = None

    def match(self, predicate: str, pattern: Sequence[Any]) -> Iterator[tuple]:
        q = self.q
        mark = len(q.trail)
        fact = Expression("Fact", [predicate, *pattern])
        add_var_constraints(q, self.holder, (Expression(ASSUMED, [self.holder, fact]),))
        yield tuple(pattern)
        undo(q, mark)


def _solutions(kb: Any, tabling: Tabling, source: _AssumingSource, goals: list, symbols: dict,
               typed: Optional[list] = None) -> list:
    """The solutions of `goals`, with the initial type constraints of `typed` (default: every
    symbol; a set definition types only its row)."""
    q = Query(kb, partial=True)
    q.tabling = tabling
    q.origins = {}
    source.q = q
    found = []
    initial = list(symbols.values()) if typed is None else typed
    for _ in _run(q, goals, 0, False):
        found.append(_snapshot(q, symbols, initial, source.holder))
    source.q = None
    return found


def _run(q: Query, goals: list, i: int, tabled: bool) -> Iterator[None]:
    if i == len(goals):
        yield
        return
    pred, args = goals[i]
    args = [deref(a) for a in args]
    # The first call unfolds before it is tabled (as `evaluate_rule` does); later ones are tabled.
    solve = pred.solve if (tabled or i > 0) else pred.solve_untabled
    for _ in solve(q, args, None):
        yield from _run(q, goals, i + 1, tabled)


def _snapshot(q: Query, symbols: dict, initial: list, holder: Var) -> Solution:
    seen: set = set()
    constraints: list = []
    sources = [e[0] for e in q.trail if type(e) is not Var] + initial + [holder]
    for v in sources:
        for c in v.cons or ():
            if id(c) in seen:
                continue
            seen.add(id(c))
            public = _public(c)
            if _mentions_variable(public):   # a ground constraint was checked when it became ground
                constraints.append(public)
    bindings = {name: _public(v) for name, v in symbols.items()}
    return Solution(bindings, constraints)


def _public(t: Any) -> Any:
    t = deref(t)
    tt = type(t)
    if tt is Var:
        return Variable(t.name)
    if tt is Expression:
        return Expression(t.operator, [_public(a) for a in t.args])
    if tt is Pattern:
        return Pattern(t.tag, {k: _public(x) for k, x in t.fields.items()})
    if tt is list:
        return [_public(x) for x in t]
    if tt is RestList:
        return [_public(x) for x in t.items]
    if tt is dict:
        return {k: _public(x) for k, x in t.items()}
    return t


def _mentions_variable(t: Any) -> bool:
    if isinstance(t, Variable):
        return True
    if isinstance(t, Expression):
        return any(_mentions_variable(a) for a in t.args)
    if isinstance(t, Pattern):
        return any(_mentions_variable(a) for a in t.fields.values())
    if isinstance(t, (list, tuple)):
        return any(_mentions_variable(a) for a in t)
    if isinstance(t, dict):
        return any(_mentions_variable(a) for a in t.values())
    return False

