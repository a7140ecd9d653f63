"""Local authorization of query-builder queries (`evaluate_local_select` / `evaluate_local_filter`).

The query is partially evaluated as for `evaluate` (`QueryBuilder.prepared`), and each solution
becomes one SELECT over the caller's tables and the inlined facts (`local_sql.LocalContext`):
select mode names one output column per chosen variable (its id, cast per `sql_types`; NULL
where a solution leaves it unconstrained) or, with none chosen, answers one row with one boolean
column `result`; filter mode is a WHERE fragment `column IN (...)` over one variable's ids.
"""

from __future__ import annotations

from typing import Any, Optional

from sqlalchemy import Text, exists, false, literal, null, or_, select, union

from ..variable import Variable
from .local_bindings import LocalBindings
from .local_sql import FactFetcher, LocalContext, key_id, key_type, text_literal, typed_id
from .query_builder import PreparedQuery, QueryVariable
from .schema import typed_parts


def query_sql(kb: Any, fetch: FactFetcher, prepared: PreparedQuery, bindings: LocalBindings,
              select_columns: Optional[dict] = None, filter_on: Optional[tuple] = None) -> str:
    """Select mode (`select_columns`: QueryVariable -> output column name) or filter mode
    (`filter_on`: (the caller's column, QueryVariable))."""
    ctx = LocalContext(kb, prepared.evaluation, bindings, fetch, {}, prepared.context_facts)
    ctx.params = {}
    if filter_on is not None:
        column_sql, variable = filter_on
        return _filter(ctx, prepared, column_sql, _name(prepared, variable))
    chosen = [(_name(prepared, v), column) for v, column in (select_columns or {}).items()]
    return _select(ctx, prepared, chosen)


def _name(prepared: PreparedQuery, variable: Any) -> str:
    name = variable.id if isinstance(variable, QueryVariable) else variable
    if name not in prepared.constraints:
        raise ValueError(f"{variable!r} is not a variable of the query")
    return name


def _value(ctx: LocalContext, prepared: PreparedQuery, scope: Any, solution: Any, name: str) -> tuple:
    """(key expression or None for any value, still possible) of a variable in one solution."""
    type_name, ids = prepared.constraints[name]
    if name in prepared.ground:
        return ctx.constant_sql(prepared.ground[name]), True
    bound = solution.bindings[name]
    if not isinstance(bound, Variable):
        parts = typed_parts(bound)
        return ctx.constant_sql(bound), parts[0] == type_name and (ids is None or parts[1] in ids)
    wanted = None if ids is None else [text_literal(ctx.key(type_name, i)) for i in ids]
    expr = scope.lookup(bound)
    if expr is None:
        if wanted is None:
            return None, True
        if not wanted:
            return None, False
        keys = union(*(select(w.label("vid")) for w in wanted)) if len(wanted) > 1 else select(wanted[0].label("vid"))
        table = keys.subquery()
        scope.froms.append(table)    # joined on TRUE: every id with every row of the solution
        scope.exprs[bound] = table.c.vid
        return table.c.vid, True
    if wanted is not None:
        scope.where.append(expr.in_(wanted) if wanted else false())
    return expr, True


def _select(ctx: LocalContext, prepared: PreparedQuery, chosen: list) -> str:
    parts = []
    for solution in prepared.evaluation.solutions:
        scope = ctx.solution_scope(solution)
        if scope is None:
            continue
        columns, ok = [], True
        for i, (name, _column) in enumerate(chosen):
            expr, ok = _value(ctx, prepared, scope, solution, name)
            if not ok:
                break
            type_name = prepared.constraints[name][0]
            value = null().cast(Text) if expr is None else typed_id(ctx, key_id(expr, type_name), type_name)
            if expr is not None and ctx.bindings.sql_types.get(type_name, "text") != "text":
                # An id that is not of the type's SQL type (a stored `Repo:abc` for integer
                # Repo ids) names no row of the caller's: dropped, not shown as NULL (any value).
                scope.where.append(value.is_not(None))
            columns.append(value.label(f"c{i}"))
        if ok:
            parts.append(scope.select(*columns) if columns else scope.select(literal(1).label("c")))
    if not chosen:
        if not parts:
            return ctx.sql(select(false().label("result")))
        return ctx.sql(select(or_(*(exists(p) for p in parts)).label("result")))
    if not parts:
        return ctx.sql(select(*(null().cast(Text).label(column) for _n, column in chosen)).where(false()))
    rows = (union(*parts) if len(parts) > 1 else parts[0]).subquery("oso_rows")
    return ctx.sql(select(*(rows.c[f"c{i}"].label(column) for i, (_n, column) in enumerate(chosen))))


def _filter(ctx: LocalContext, prepared: PreparedQuery, column_sql: str, name: str) -> str:
    type_name = prepared.constraints[name][0]
    keys, unbounded = [], []
    for solution in prepared.evaluation.solutions:
        scope = ctx.solution_scope(solution)
        if scope is None:
            continue
        expr, ok = _value(ctx, prepared, scope, solution, name)
        if not ok:
            continue
        if expr is None:
            unbounded.append(scope.condition())
        else:
            keys.append(scope.select(expr.label("vid")))
    conditions = []
    if keys:
        rows = (union(*keys) if len(keys) > 1 else keys[0]).subquery("oso_rows")
        ids = select(typed_id(ctx, key_id(rows.c.vid, type_name), type_name).label("id")) \
            .where(key_type(rows.c.vid) == text_literal(type_name))
        conditions.append(f"{column_sql} IN ({ctx.sql(ids)})")
    if unbounded:
        conditions.append(f"EXISTS ({ctx.sql(select(literal(1)).where(or_(*unbounded)))})")
    if not conditions:
        return "false"
    return conditions[0] if len(conditions) == 1 else "(" + " OR ".join(conditions) + ")"
