"""Fewer, wider solutions for the SQL compiler: duplicates dropped, and solutions that differ in
one constant argument of one fact merged into one solution with `arg in [c1, c2, ...]`.

Role implications make one permission hold in several ways that differ only in a constant:
"read" if `has_role(u, "reader" | "maintainer" | "admin", r)` is three solutions, so three
`EXISTS` (authorize) or three UNION arms (list) where the database needs one `a1 IN (...)` and one
index scan; and two rules reaching the same facts (`"member" if "admin"` and `"admin" if "admin"
on "parent"`) give the same solution twice. Solutions are compared with their variables renamed
in order of first occurrence, so two solutions from one rule compare equal whatever names the
evaluation gave its rule-local variables.

Only a constant in a top-level `Fact` is merged: there it means "the column equals the value",
so the OR of the solutions is the column being IN the values. Inside `not`, or in a comparison,
it would not be (`not f("a") or not f("b")` is not `not f(x), x in ["a", "b"]`).
"""

from __future__ import annotations

from typing import Any, Iterator, Optional

from ..expression import Expression, Pattern
from ..variable import Variable
from .symbolic import Evaluation, Solution

_HOLE = ("hole",)


def merge_evaluation(evaluation: Evaluation) -> Evaluation:
    """The evaluation with its top-level solutions merged (`merge_solutions`); row sets as given."""
    return Evaluation(merge_solutions(evaluation.solutions), evaluation.sets)


def merge_solutions(solutions: list) -> list:
    """Equivalent solutions (their OR holds exactly when the given ones' does), fewer where
    some are duplicates or differ in one constant argument of one fact. Order is kept: a
    merged solution stands where the first of its members stood."""
    merged = _without_duplicates(solutions)
    while True:
        group = _largest_group(merged)
        if group is None:
            return merged
        position, members = group
        first = members[0][0]
        combined = _combined(merged[first], position, [constant for _, constant in members])
        gone = {index for index, _ in members}
        merged = [combined if i == first else s for i, s in enumerate(merged) if i == first or i not in gone]


def _without_duplicates(solutions: list) -> list:
    seen, kept = set(), []
    for solution in solutions:
        key = _solution_key(solution, None)
        if key not in seen:
            seen.add(key)
            kept.append(solution)
    return kept


def _largest_group(solutions: list) -> Optional[tuple]:
    """((constraint index, argument index), [(solution index, constant)]) for the largest set
    of at least two solutions equal but for one fact's constant at that position; None if none."""
    groups: dict = {}
    for index, solution in enumerate(solutions):
        for position, constant in _holes(solution):
            template = (position, _solution_key(solution, position))
            members = groups.setdefault(template, [])
            if not members or members[-1][0] != index:
                members.append((index, constant))
    best = None
    for (position, _), members in groups.items():
        if len(members) > 1 and (best is None or len(members) > len(best[1])):
            best = (position, members)
    return best


def _holes(solution: Solution) -> Iterator[tuple]:
    """((constraint index, argument index), constant) of each constant argument of a top-level
    fact (not the predicate name)."""
    for i, constraint in enumerate(_flat(solution.constraints)):
        if constraint.operator != "Fact":
            continue
        for j, arg in enumerate(constraint.args[1:], start=1):
            if _is_constant(arg):
                yield (i, j), arg


def _combined(solution: Solution, position: tuple, constants: list) -> Solution:
    """`solution` with the constant at `position` replaced by a fresh variable that must be one
    of `constants`."""
    i, j = position
    constraints = _flat(solution.constraints)
    fresh = _fresh_variable(solution)
    fact = constraints[i]
    args = list(fact.args)
    args[j] = fresh
    constraints[i] = Expression("Fact", args)
    constraints.append(Expression("In", [fresh, list(constants)]))
    return Solution(dict(solution.bindings), constraints)


def _fresh_variable(solution: Solution) -> Variable:
    used: set = set()
    for term in [*solution.bindings.values(), *solution.constraints]:
        _collect_variables(term, used)
    n = 0
    while f"_merged_{n}" in used:
        n += 1
    return Variable(f"_merged_{n}")


def _collect_variables(term: Any, out: set) -> None:
    if isinstance(term, Variable):
        out.add(_name(term))
    elif isinstance(term, Expression):
        for arg in term.args:
            _collect_variables(arg, out)
    elif isinstance(term, Pattern):
        for value in term.fields.values():
            _collect_variables(value, out)
    elif isinstance(term, (list, tuple)):
        for item in term:
            _collect_variables(item, out)
    elif isinstance(term, dict):
        for value in term.values():
            _collect_variables(value, out)


def _name(variable: Variable) -> str:
    return str.__str__(variable)    # Variable's own __str__ is its repr


def _flat(constraints: list) -> list:
    out = []
    for c in constraints:
        if isinstance(c, Expression) and c.operator == "And":
            out.extend(_flat(list(c.args)))
        else:
            out.append(c)
    return out


def _is_constant(term: Any) -> bool:
    return not isinstance(term, (Variable, Expression, Pattern, list, tuple, dict))


def _solution_key(solution: Solution, hole: Optional[tuple]) -> tuple:
    """A hashable form of the solution, variables numbered by first occurrence (bindings in
    symbol order, then the constraints), the argument at `hole` (if any) left out."""
    names: dict = {}
    bindings = tuple((symbol, _key(solution.bindings[symbol], names)) for symbol in sorted(solution.bindings))
    constraints = []
    for i, c in enumerate(_flat(solution.constraints)):
        if hole is not None and i == hole[0]:
            args = [_HOLE if j == hole[1] else _key(a, names) for j, a in enumerate(c.args)]
            constraints.append(("e", c.operator, tuple(args)))
        else:
            constraints.append(_key(c, names))
    return bindings, tuple(constraints)


def _key(term: Any, names: dict) -> Any:
    # Tagged by kind and type: a Variable is a str, and True == 1, but neither may match.
    if isinstance(term, Variable):
        return ("v", names.setdefault(_name(term), len(names)))
    if isinstance(term, Expression):
        return ("e", term.operator, tuple(_key(a, names) for a in term.args))
    if isinstance(term, Pattern):
        return ("p", term.tag, tuple((k, _key(term.fields[k], names)) for k in sorted(term.fields)))
    if isinstance(term, (list, tuple)):
        return ("l", type(term).__name__, tuple(_key(item, names) for item in term))
    if isinstance(term, dict):
        return ("d", tuple((k, _key(term[k], names)) for k in sorted(term, key=repr)))
    try:
        hash(term)
    except TypeError:
        return ("c", type(term).__name__, repr(term))
    return ("c", type(term).__name__, term)
