"""SQL expressions Django lacks, for the Django adapter (django_adapter.py).

A fixed SQL fragment that never adds joins, a boolean test of two expressions whose SQL depends
on the database vendor (null-safe inequality, JSON and array containment), and an expression
wrapped in a SQL function. Parameters stay bound; only SQL text is composed here.
"""

from __future__ import annotations

from django.db.models import BooleanField, Expression, JSONField

__all__ = ["Binary", "Sql", "Wrapped", "array_contains_postgres", "distinct_sql",
           "json_contains_postgres", "json_contains_sqlite"]


class Sql(Expression):
    """A fixed SQL fragment with its parameters (unlike RawSQL, never adds joins on resolve)."""

    def __init__(self, sql: str, params: tuple = (), output_field=None) -> None:
        super().__init__(output_field=output_field or BooleanField())
        self.sql, self.params = sql, tuple(params)

    def as_sql(self, compiler, connection):
        return f"({self.sql})", list(self.params)


class Binary(Expression):
    """A boolean test of two expressions, rendered by `render(vendor, lhs_sql, rhs_sql)`.

    `render` returns the SQL and the order in which the operands' SQL occurs in it ("l"/"r"
    per occurrence), so that their parameters are passed in the same order.
    """

    output_field = BooleanField()

    def __init__(self, lhs, rhs, render) -> None:
        super().__init__()
        self.lhs, self.rhs, self.render = lhs, rhs, render

    def get_source_expressions(self):
        return [self.lhs, self.rhs]

    def set_source_expressions(self, exprs):
        self.lhs, self.rhs = exprs

    def as_sql(self, compiler, connection):
        lhs_sql, lhs_params = compiler.compile(self.lhs)
        rhs_sql, rhs_params = compiler.compile(self.rhs)
        sql, order = self.render(connection.vendor, lhs_sql, rhs_sql)
        params: list = []
        for side in order:
            params.extend(lhs_params if side == "l" else rhs_params)
        return f"({sql})", params


class Wrapped(Expression):
    """An expression rendered through a SQL function, e.g. `jsonb_build_array(col)`."""

    def __init__(self, inner, wrap) -> None:
        super().__init__(output_field=JSONField())
        self.inner, self.wrap = inner, wrap

    def get_source_expressions(self):
        return [self.inner]

    def set_source_expressions(self, exprs):
        (self.inner,) = exprs

    def as_sql(self, compiler, connection):
        sql, params = compiler.compile(self.inner)
        return self.wrap(sql), params


def distinct_sql(vendor: str, lhs: str, rhs: str) -> tuple[str, str]:
    # Null-safe inequality: a NULL is distinct from every value but not from another NULL.
    if vendor == "postgresql":
        return f"{lhs} IS DISTINCT FROM {rhs}", "lr"
    if vendor == "sqlite":
        return f"{lhs} IS NOT {rhs}", "lr"
    if vendor == "mysql":
        return f"NOT ({lhs} <=> {rhs})", "lr"
    return (f"CASE WHEN {lhs} = {rhs} OR ({lhs} IS NULL AND {rhs} IS NULL) THEN 0 ELSE 1 END = 1",
            "lrlr")


def json_contains_sqlite(vendor: str, column: str, item: str) -> tuple[str, str]:
    # json_each also iterates objects and yields a scalar itself: require an array. `IS` makes
    # a JSON null element match a None item, like PostgreSQL's `@> '[null]'`.
    sql = (f"EXISTS (SELECT 1 FROM json_each({column}) AS oso_j "
           f"WHERE json_type({column}) = 'array' AND oso_j.value IS {item})")
    return sql, "llr"


def json_contains_postgres(vendor: str, column: str, item: str) -> tuple[str, str]:
    # COALESCE keeps the test two-valued for a NULL column (so NOT works).
    return f"COALESCE({column} @> {item}, false)", "lr"


def array_contains_postgres(vendor: str, column: str, item: str) -> tuple[str, str]:
    return f"COALESCE({item} = ANY({column}), false)", "rl"
