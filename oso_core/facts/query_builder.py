"""`QueryBuilder` and `typed_var`: the oso-cloud client's query API over the SQL fact store.

`store.build_query(("allow", actor, "read", repo)).and_(("has_relation", repo, "parent", org))
.in_(repo, ["1", "2"]).with_context_facts([...]).evaluate(repo)` evaluates the conjunction of the
calls with each query variable typed (and limited to its ids, if given) in ONE SQL statement:
the calls are partially evaluated with the variables symbolic, and every solution selects one
column per variable (NULL when the solution leaves it unconstrained: the client's `"*"`).
A variable with exactly one id (every concrete argument is one) is evaluated as that value.

Limit: a recursive rule whose tabled call mentions a query variable that is not a single
value (`allow(u, "read", f)` recursing with `u` a variable) is refused (UnsupportedPolicyError):
a recursive common table expression cannot depend on a row of the enclosing query.
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

from sqlalchemy import BigInteger, Text, column, func, literal, null, select, union, values
from sqlalchemy.exc import SQLAlchemyError

from ..expression import Expression
from ..values import Value
from ..variable import Variable
from .errors import FactStoreError, UnsupportedPolicyError
from .schema import arg_id, from_parts, typed_parts
from .sql_compiler import Context
from .symbolic import Symbol, evaluate

_ID_CHARS = string.ascii_lowercase + string.digits


@dataclass(frozen=True)
class QueryVariable:
    """A typed query variable (`typed_var("Repo")`); its id names it in results."""

    type: str
    id: str = field(default_factory=lambda: "var_" + "".join(random.choices(_ID_CHARS, k=7)))


def typed_var(type: str) -> QueryVariable:
    """A new query variable of a concrete type (not the abstract `Actor` / `Resource`)."""
    if not isinstance(type, str) or not type:
        raise TypeError(f"typed_var needs a type name, got {type!r}")
    if type in ("Actor", "Resource"):
        raise FactStoreError(f"`type` must be a concrete type, not abstract type `{type}`")
    return QueryVariable(type)


class QueryBuilder:
    """A conjunction of calls over typed variables; each method returns a changed copy."""

    def __init__(self, decisions: Any, call: tuple) -> None:
        self._decisions = decisions
        self._constraints: dict = {}     # variable id -> [type, ids or None]
        self._calls: list = [self._call(call)]
        self._context: list = []

    def _copy(self) -> "QueryBuilder":
        other = QueryBuilder.__new__(QueryBuilder)
        other._decisions = self._decisions
        other._constraints = {k: [t, None if ids is None else list(ids)] for k, (t, ids) in self._constraints.items()}
        other._calls = list(self._calls)
        other._context = list(self._context)
        return other

    def _call(self, call: tuple) -> tuple:
        if not isinstance(call, (tuple, list)) or not call or not isinstance(call[0], str):
            raise TypeError(f"A query call is (predicate, *args), got {call!r}")
        return call[0], [self._argument(a) for a in call[1:]]

    def _argument(self, arg: Any) -> str:
        if isinstance(arg, QueryVariable):
            self._constraints.setdefault(arg.id, [arg.type, None])
            return arg.id
        type_name, id_text = _typed(arg)
        fresh = QueryVariable(type_name)
        self._constraints[fresh.id] = [type_name, [id_text]]
        return fresh.id

    def and_(self, call: tuple) -> "QueryBuilder":
        """Also require `call` (a predicate and its arguments: variables or values)."""
        clone = self._copy()
        clone._calls.append(clone._call(call))
        return clone

    def in_(self, var: QueryVariable, ids: Sequence[Any]) -> "QueryBuilder":
        """Limit a variable of the query to these ids (once per variable)."""
        clone = self._copy()
        entry = clone._constraints.get(getattr(var, "id", None))
        if entry is None:
            raise FactStoreError("can only constrain variables that are used in the query")
        if entry[1] is not None:
            raise FactStoreError("can only set values on each variable once")
        entry[1] = [str(i) for i in ids]
        return clone

    def with_context_facts(self, facts: Sequence[tuple]) -> "QueryBuilder":
        """Facts that hold for this query only."""
        clone = self._copy()
        clone._context.extend(tuple(f) for f in facts)
        return clone

    # Evaluation ------------------------------------------------------------------------------------

    def evaluate(self, arg: Any = None) -> Any:
        """None: does the query hold; a variable: its distinct values; a tuple/list of
        variables: distinct tuples; {K: sub}: sub's result per value of K ("*": any value)."""
        rows = self._rows()
        return _shape(arg, rows)

    def rows(self) -> list[dict]:
        """Every distinct solution as `{variable id: id string, or None for any value}`, with
        every variable of the query in every row (the oso-cloud `evaluate_query` wire form)."""
        return self._rows()

    def _rows(self) -> list:
        d = self._decisions
        names = list(self._constraints)
        ground = {n: from_parts(t, ids[0]) for n, (t, ids) in self._constraints.items() if ids is not None and len(ids) == 1}
        symbols = {n: t for n, (t, _ids) in self._constraints.items() if n not in ground}
        calls = [(p, [ground[a] if a in ground else Symbol(a) for a in args]) for p, args in self._calls]
        # The first symbolic argument of the first call (the actor of `allow`) counts as one
        # value for tabling, so a recursive rule over it is refused below instead of unfolding.
        first = next((a.name for a in calls[0][1] if isinstance(a, Symbol)), None)
        evaluation = evaluate(d.kb, calls, symbols, symbolic_actor=first)
        for row_set in evaluation.sets.values():
            for solution in row_set.solutions:
                if any(_mentions(c, symbols) for c in solution.constraints):
                    raise UnsupportedPolicyError(
                        f"The SQL compiler cannot translate {row_set.description} over a query variable that "
                        "is not one value: give the variable one id, or query without the recursive rule")
        ctx = Context(d.kb, d.environment, evaluation, self._context)
        parts = []
        for solution in evaluation.solutions:
            scope = ctx.solution_scope(solution)
            if scope is None:
                continue
            cols = []
            ok = True
            for n in names:
                if n in ground:
                    cols += [null().cast(BigInteger), literal(typed_parts(ground[n])[1], Text)]
                    continue
                expr, lit, ok = _column(scope, solution.bindings[n], self._constraints[n])
                if not ok:
                    break
                cols += [expr, lit]
            if ok:
                parts.append(scope.select(*(c.label(f"c{i}") for i, c in enumerate(cols))))
        if not parts:
            return []
        rows = (union(*parts) if len(parts) > 1 else parts[0]).subquery()
        source, out = rows, []
        for i in range(len(names)):
            v = ctx.values_source().alias()
            source = source.outerjoin(v, v.c.vid == rows.c[f"c{2 * i}"])
            out.append(func.coalesce(rows.c[f"c{2 * i + 1}"], v.c.id).label(f"v{i}"))
        statement = select(*out).select_from(source) if out else select(literal(1)).select_from(rows)
        try:
            with d.readers.serial, d.engine.connect() as conn:
                result = conn.execute(statement).all()
        except SQLAlchemyError as error:
            raise FactStoreError(f"The query failed: {error}") from error
        found = sorted({tuple(r) for r in result}, key=lambda t: tuple((x is None, x or "") for x in t))
        return [dict(zip(names, t)) for t in found] if names else [{} for _ in found]


def _column(scope: Any, bound: Any, constraint: list) -> tuple:
    """(vid expression, literal id expression, still possible) for one variable of a solution."""
    type_name, ids = constraint
    if not isinstance(bound, Variable):
        parts = typed_parts(bound)
        ok = parts[0] == type_name and (ids is None or parts[1] in ids)
        return null().cast(BigInteger), literal(parts[1], Text), ok
    expr = scope.lookup(bound)
    wanted = None if ids is None else [arg_id(from_parts(type_name, i)) for i in ids]
    if expr is None:
        if wanted is None:
            return null().cast(BigInteger), null().cast(Text), True   # any value: the client's "*"
        if not wanted:
            return None, None, False
        rows = [(arg_id(from_parts(type_name, i)), i) for i in ids]
        table = values(column("vid", BigInteger), column("id", Text), name="ids").data(rows).cte().alias()
        scope.froms.append(table)   # joined on TRUE: every id with every row of the solution
        scope.exprs[bound] = table.c.vid
        return table.c.vid, table.c.id, True
    if wanted is not None:
        scope.where.append(expr.in_([literal(w, BigInteger) for w in wanted]) if wanted else literal(False))
    return expr, null().cast(Text), True


def _mentions(t: Any, names: dict) -> bool:
    if isinstance(t, Variable):
        return t in names
    if isinstance(t, Expression):
        return any(_mentions(a, names) for a in t.args)
    return False


def _typed(arg: Any) -> tuple:
    if arg is None:
        raise TypeError("Oso: Expected a concrete value with type and ID. Got None.")
    if isinstance(arg, (Value, str, int, bool)):
        if isinstance(arg, str) and not arg:
            raise TypeError("A query argument must not be the empty string")
        return typed_parts(arg)
    if hasattr(arg, "type") and hasattr(arg, "id"):
        return str(arg.type), str(arg.id)
    raise TypeError(f"A query argument is a QueryVariable, Value, str, int or bool, got {arg!r}")


def _shape(arg: Any, rows: list) -> Any:
    if arg is None:
        return bool(rows)
    if isinstance(arg, (QueryVariable, tuple, list)):
        return list(dict.fromkeys(_item(arg, r) for r in rows))
    if isinstance(arg, dict):
        if len(arg) != 1:
            raise ValueError("`evaluate` cannot accept dicts with >1 elements")
        ((key, sub),) = arg.items()
        groups: dict = {}
        for r in rows:
            groups.setdefault(_wild(_get(r, key)), []).append(r)
        return {k: _shape(sub, group) for k, group in groups.items()}
    raise TypeError(f"evaluate takes None, a variable, a tuple of variables or a one-key dict, got {arg!r}")


def _item(arg: Any, row: dict) -> Any:
    if isinstance(arg, QueryVariable):
        return _wild(_get(row, arg))
    return tuple(_item(a, row) for a in arg)


def _get(row: dict, var: Any) -> Optional[str]:
    if not isinstance(var, QueryVariable):
        raise TypeError(f"evaluate takes query variables, got {var!r}")
    return row[var.id]


def _wild(v: Optional[str]) -> str:
    return "*" if v is None else v
