"""Reading facts by pattern: one SELECT per call over the fact table's indexes.

Every argument the pattern leaves open (None or ValueOfType) is read back through a join on
`oso_values` by primary key; concrete arguments are compared by value id and returned as given.
"""

from __future__ import annotations

from typing import Sequence

from sqlalchemy import Engine, and_, select
from sqlalchemy.exc import SQLAlchemyError

from ..values import ValueOfType
from .errors import FactStoreError
from .schema import ARG_COLUMNS, MAX_ARITY, arg_id, facts_table, from_parts, values_table


def match(engine: Engine, environment: str, predicate: str, pattern: Sequence[object]) -> list[tuple]:
    """The argument tuples of the facts `predicate(*args)` matching `pattern` (None: any value,
    ValueOfType: any value of the type), as `Value` / `str` / `int` / `bool`."""
    pattern = tuple(pattern)
    if len(pattern) > MAX_ARITY:
        return []
    f = facts_table
    conditions = [f.c.env == environment, f.c.predicate == predicate, f.c.arity == len(pattern)]
    columns = []
    source = f
    open_positions = []
    for position, (column, arg) in enumerate(zip(ARG_COLUMNS, pattern)):
        if arg is None or isinstance(arg, ValueOfType):
            v = values_table.alias(f"v{position}")
            source = source.join(v, v.c.vid == f.c[column])
            columns += [v.c.type, v.c.id]
            open_positions.append(position)
            if arg is not None:
                conditions.append(v.c.type == arg.type)
        else:
            conditions.append(f.c[column] == arg_id(arg))
    query = select(*columns) if columns else select(f.c.arity)
    query = query.select_from(source).where(and_(*conditions))
    try:
        with engine.connect() as conn:
            rows = conn.execute(query).all()
    except SQLAlchemyError as error:
        raise FactStoreError(f"Reading {predicate} facts failed: {error}") from error
    if not open_positions:
        return [pattern] if rows else []
    results = []
    for row in rows:
        args = list(pattern)
        for k, position in enumerate(open_positions):
            args[position] = from_parts(row[2 * k], row[2 * k + 1])
        results.append(tuple(args))
    return results


def get(engine: Engine, environment: str, predicate: str, pattern: Sequence[object]) -> list[tuple]:
    """The facts `(predicate, *args)` matching the pattern."""
    return [(predicate, *args) for args in match(engine, environment, predicate, pattern)]


