"""Fact predicates: calls answered by their rules AND by stored facts.

A predicate with fact signatures (from `declare`) compiles to a `FactPredicate`; the choice is
made once, when the knowledge base creates the predicate, so ordinary predicates pay nothing.
A call first runs the rules (if any), then asks the query's facts (`kb.fact_source`: the attached
`FactSource`, chained with the request's context facts):

* Evaluation: every argument that is a value becomes part of the pattern (`Value` entities and
  `str`/`int`/`bool` as they are; a host object of a registered class `C` with an `id` becomes
  `Value("C", obj.id)`), unbound variables are wildcards bound from each matching fact.
* Partial evaluation (`q.partial`): when some argument is a variable (the partial row, a variable
  linked to it, or a fresh one), the call adds the constraint

      Expression("Fact", [predicate_name, arg0, arg1, ...])

  to every variable it mentions and succeeds once. A fresh variable stands for an existentially
  quantified entity (the SQL compiler joins through it); when every declared signature gives it
  the same entity type it also gets `Isa(var, Pattern(Type))`, so recursive calls through it
  are tabled (`InSet`) like calls on the row. A call whose arguments are all values is looked up.
  Once every argument of a deferred `Fact` constraint has a value, `fact_holds`
  (`fact_lookup`, a leaf module so that `operations` can re-check constraints without a cycle)
  checks it.

A failure of the fact source is a `PolarRuntimeError` naming the predicate.
"""

from __future__ import annotations

from typing import Any, Iterator, Optional

from ..expression import Expression, Pattern
from .fact_lookup import NO_MATCH, fact_arg, fact_holds, match_facts
from .operations import add_constraint, undo, unify
from .predicates import CompiledPredicate
from .terms import Var, deref

__all__ = ["FactPredicate", "fact_holds", "PRIMITIVE_TYPES", "NO_MATCH"]

PRIMITIVE_TYPES = frozenset(("String", "Integer", "Boolean"))


class FactPredicate(CompiledPredicate):
    """A predicate with fact signatures: its rules, then the facts."""

    __slots__ = ("var_types",)

    def __init__(self, name: str, arity: int, rules: list, kb: Any, signatures: list) -> None:
        super().__init__(name, arity, rules, kb, False)
        # Per position: the one entity type every signature gives it, else None.
        self.var_types = tuple(_common_type(sig[i] for sig in signatures) for i in range(arity))

    def holds(self, q: Any, args: list, site: Any) -> bool:
        """Existence through `solve`: facts are answered by the generator form only."""
        for _ in self.solve(q, args, site):
            return True
        return False

    def _solve(self, q: Any, args: list, site: Any, selected: Optional[list] = None) -> Iterator[None]:
        if self.source_rules:
            yield from CompiledPredicate._solve(self, q, args, site, selected)
        yield from solve_facts(q, self, args)


def solve_facts(q: Any, pred: FactPredicate, args: list) -> Iterator[None]:
    args = [deref(a) for a in args]
    has_var = any(type(a) is Var or type(a) is Expression for a in args)
    if has_var and q.partial:
        mark = len(q.trail)
        add_constraint(q, Expression("Fact", [pred.name, *args]))
        for a, tag in zip(args, pred.var_types):
            if type(a) is Var and tag is not None and not _has_isa(a):
                add_constraint(q, Expression("Isa", [a, Pattern(tag, {})]))
        yield
        undo(q, mark)
        return
    source = q.kb.fact_source
    if source is None:
        return
    pattern = [None if type(a) is Var else fact_arg(q, a) for a in args]
    if any(p is NO_MATCH for p in pattern):
        return
    trail = q.trail
    for row in match_facts(source, pred.name, pattern):
        mark = len(trail)
        if all(p is not None or unify(q, a, x) for a, p, x in zip(args, pattern, row)):
            yield
        undo(q, mark)


def _has_isa(v: Var) -> bool:
    return any(c.operator == "Isa" and deref(c.args[0]) is v for c in (v.cons or ()))


def _common_type(types: Any) -> Optional[str]:
    found = set(types)
    if len(found) != 1:
        return None
    tag = found.pop()
    return None if tag in PRIMITIVE_TYPES else tag
