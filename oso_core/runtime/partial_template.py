"""Partial evaluation with the actor left symbolic: one evaluation for every actor of a class.

`evaluate_rule_for_class(kb, "allow", [actor, action, ROW], "Repo", 0)` runs the rule like
`partial_eval.evaluate_rule`, but the actor argument is an unbound variable (`ACTOR`) rather
than the actor's value. Each snapshot may then mention `ACTOR.field`, to be replaced by the
actor's value of that field when the snapshot is used; the concrete actor only decides, by its
class, which type checks on it hold. Recursive rules are tabled as usual, the actor standing for
one value in the tabling keys.

That is sound only when the answer depends on the actor's values through field reads placed
into row constraints. Everything else makes the evaluation raise `ValueDependent`: a constraint
on the actor alone (`actor.is_admin = true`, `r in actor.roles`, a type check with fields), the
actor itself (not a field of it) in a constraint, a method call on it, or the actor variable
bound or aliased. The caller then evaluates with the concrete actor, as before.
"""

from __future__ import annotations

from typing import Any

from ..expression import Expression, Pattern
from .driver import to_term
from .partial_eval import ROW, PartialEvaluation, SetDefinition, _copy, row_solutions
from .solver import Query, check_unhandled_partials, constraint_component
from .tabling import Tabling
from .terms import Var, deref

ACTOR = "_actor"   # the name of the symbolic actor's variable in the snapshots


class ValueDependent(Exception):
    """The rule's partial evaluation depends on the actor's values, not only on its class."""


def evaluate_rule_for_class(kb: Any, rule_name: str, args: list, type_name: str,
                            actor_position: int) -> PartialEvaluation:
    """`evaluate_rule` with `args[actor_position]` (the concrete actor) replaced by `ACTOR`."""
    actor = args[actor_position]
    qvars: dict = {}
    actor_var = Var(ACTOR)
    terms = [a if a is ROW else to_term(a, qvars) for a in args]
    terms[actor_position] = actor_var
    tabling = Tabling(kb)
    tabling.symbol = actor_var
    out = PartialEvaluation([], {}, {})
    try:
        out.results = _solutions(kb, tabling, rule_name, terms, terms.index(ROW), type_name,
                                 actor_var, actor)
        for entry in tabling.drain(lambda e: _solutions(kb, tabling, e.pred.name, list(e.args), e.position,
                                                        e.type_name, actor_var, actor)):
            out.sets[entry.name] = SetDefinition(entry.type_name, entry.describe(), entry.results,
                                                 entry.site.span if entry.site is not None else None)
    except ValueDependent:
        raise
    except Exception as e:   # noqa: BLE001 - the symbolic actor failed where a concrete one may not
        raise ValueDependent(str(e)) from None
    return out


def _solutions(kb: Any, tabling: Tabling, rule_name: str, terms: list, position: int,
               type_name: str, actor_var: Var, actor: Any) -> list:
    found = []
    for q, row in row_solutions(kb, tabling, {}, rule_name, terms, position, type_name):
        snap = _snapshot(q, row, actor_var, actor)
        if snap is not None:
            found.append(snap)
    return found


def _snapshot(q: Query, row: Var, actor_var: Var, actor: Any) -> Any:
    """The row's constraints with `ACTOR.field` references, or None if the actor's class fails
    a type check of this solution."""
    if deref(actor_var) is not actor_var:
        raise ValueDependent("the actor is bound or aliased")
    value = deref(row)
    if type(value) is not Var:
        raise ValueDependent("the row is bound to a value")
    component = constraint_component(value, q)
    ids = {id(c) for c in component}
    for c in actor_var.cons or ():
        if _is_actor_type_check(c, actor_var):
            if not q.isa_class(actor, deref(c.args[1]).tag):
                return None   # this way does not hold for actors of this class
        elif id(c) not in ids:
            raise ValueDependent("a constraint on the actor alone")
    kept = []
    for c in component:
        if _is_actor_type_check(c, actor_var):
            continue
        if not _actor_only_in_field_reads(c, actor_var):
            raise ValueDependent("the actor is used other than by reading a field")
        kept.append(c)
    for e in q.trail:
        if type(e) is Var:
            continue
        v = deref(e[0])
        if type(v) is Var and v is not actor_var and v.cons and not any(id(c) in ids for c in v.cons):
            check_unhandled_partials(q, {"_this": row})   # raises, naming the variable
    return Expression("And", [_copy(c, value, {}, {}) for c in kept])


def _is_actor_type_check(c: Any, actor_var: Var) -> bool:
    if type(c) is not Expression or c.operator != "Isa" or len(c.args) != 2:
        return False
    pattern = deref(c.args[1])
    return (deref(c.args[0]) is actor_var and type(pattern) is Pattern and not pattern.fields
            and pattern.tag is not None)


def _actor_only_in_field_reads(t: Any, actor_var: Var) -> bool:
    """Every occurrence of the actor in `t` is `Dot(actor, "name")`."""
    t = deref(t)
    if t is actor_var:
        return False
    tt = type(t)
    if tt is Expression:
        if t.operator == "Dot" and len(t.args) == 2 and deref(t.args[0]) is actor_var:
            return type(deref(t.args[1])) is str
        return all(_actor_only_in_field_reads(a, actor_var) for a in t.args)
    if tt is Pattern:
        return all(_actor_only_in_field_reads(a, actor_var) for a in t.fields.values())
    if tt is list or tt is tuple:
        return all(_actor_only_in_field_reads(a, actor_var) for a in t)
    if tt is dict:
        return all(_actor_only_in_field_reads(a, actor_var) for a in t.values())
    return True
