"""Reading facts by pattern: one SELECT per call over the fact table's indexes.

Every argument the pattern leaves open (None or ValueOfType) is read back through a join on
`oso_values` by primary key; concrete arguments are compared by value id and returned as given.
"""

from __future__ import annotations

from typing import Sequence

from sqlalchemy import Engine, Select, and_, bindparam, select
from sqlalchemy.exc import SQLAlchemyError

from ..values import ValueOfType
from .errors import FactStoreError
from .schema import ARG_COLUMNS, MAX_ARITY, arg_id, facts_table, from_parts, values_table


_CONCRETE, _ANY, _TYPED = "c", "*", "t"
# Statement per pattern shape (which positions are concrete, open, or open of a type); values are
# bind parameters, so building a statement happens once per shape, not per lookup.
_statements: dict[tuple[str, ...], Select] = {}


def _shape_statement(shape: tuple[str, ...]) -> Select:
    statement = _statements.get(shape)
    if statement is not None:
        return statement
    f = facts_table
    conditions = [f.c.env == bindparam("env"), f.c.predicate == bindparam("predicate"), f.c.arity == len(shape)]
    columns = []
    source = f
    for position, (column, kind) in enumerate(zip(ARG_COLUMNS, shape)):
        if kind == _CONCRETE:
            conditions.append(f.c[column] == bindparam(f"a{position}"))
            continue
        v = values_table.alias(f"v{position}")
        source = source.join(v, v.c.vid == f.c[column])
        columns += [v.c.type, v.c.id]
        if kind == _TYPED:
            conditions.append(v.c.type == bindparam(f"t{position}"))
    statement = (select(*columns) if columns else select(f.c.arity)).select_from(source).where(and_(*conditions))
    _statements[shape] = statement
    return statement


def match(engine: Engine, environment: str, predicate: str, pattern: Sequence[object]) -> list[tuple]:
    """The argument tuples of the facts `predicate(*args)` matching `pattern` (None: any value,
    ValueOfType: any value of the type), as `Value` / `str` / `int` / `bool`. One SELECT."""
    pattern = tuple(pattern)
    if len(pattern) > MAX_ARITY:
        return []
    shape = []
    params: dict[str, object] = {"env": environment, "predicate": predicate}
    open_positions = []
    for position, arg in enumerate(pattern):
        if arg is None:
            shape.append(_ANY)
            open_positions.append(position)
        elif isinstance(arg, ValueOfType):
            shape.append(_TYPED)
            params[f"t{position}"] = arg.type
            open_positions.append(position)
        else:
            shape.append(_CONCRETE)
            params[f"a{position}"] = arg_id(arg)
    try:
        with engine.connect() as conn:
            rows = conn.execute(_shape_statement(tuple(shape)), params).all()
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


