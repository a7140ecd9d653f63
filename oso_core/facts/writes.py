"""Writing facts: an ordered list of inserts and deletes applied in one transaction.

Consecutive inserts become one insert of their values and one of their fact rows (built by
`fact_rows`), both `ON CONFLICT DO NOTHING`, so inserting a fact twice is harmless: on SQLite one
`executemany` each (`sqlite_insert`), on PostgreSQL COPY for large batches (`pg_copy`) and
`executemany` for small ones. Each delete is one statement. Before values are written, the
stored `(type, id)` of every value id they hash to is compared with theirs: a mismatch is a
hash collision, and the whole transaction is refused.
"""

from __future__ import annotations

from typing import Any, Callable, Optional, Sequence

from sqlalchemy import ColumnElement, Connection, Delete, Engine, Table, and_, delete, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import SQLAlchemyError

from ..values import ValueOfType
from .errors import FactStoreError
from .pg_copy import COPY_THRESHOLD, copy_insert
from .fact_rows import FactRows, collision
from .known_values import KnownValues
from .schema import ARG_COLUMNS, arg_id, facts_table, values_table
from .sqlite_insert import sqlite_insert

INSERT, DELETE = "insert", "delete"
# One operation: (INSERT, predicate, args) with concrete args, or (DELETE, predicate, pattern).
Operation = tuple[str, str, tuple]
_LOOKUP_CHUNK = 500  # value ids per `IN (...)` (under every SQLite parameter limit)


def apply(engine: Engine, environment: str, operations: Sequence[Operation],
          known: Optional[KnownValues] = None) -> None:
    """Apply `operations` in order, all or nothing. `known`: values already stored, not sent
    again; the values written are added to it once the transaction has committed."""
    written: list[dict[int, tuple[str, str]]] = []
    try:
        with engine.begin() as conn:
            i = 0
            while i < len(operations):
                kind = operations[i][0]
                if kind == INSERT:
                    j = i
                    while j < len(operations) and operations[j][0] == INSERT:
                        j += 1
                    written.append(insert_facts(conn, environment, [(op[1], op[2]) for op in operations[i:j]], known))
                    i = j
                else:
                    conn.execute(delete_statement(environment, operations[i][1], operations[i][2]))
                    i += 1
    except SQLAlchemyError as error:
        raise FactStoreError(f"Writing facts failed (nothing was written): {error}") from error
    if known is not None:
        known.remember(written)


def _on_driver_cursor(conn: Connection, write: Callable[[Any, dict, Sequence], None],
                      values: dict[int, tuple[str, str]], rows: Sequence[tuple]) -> None:
    """`write(cursor, values, rows)` on a cursor of the driver, in `conn`'s transaction.

    The driver directly: SQLAlchemy's per-row parameter processing would cost as much as the
    database's own work (table and column names in the statements are the schema's constants).
    The raw cursor raises the driver's errors, not SQLAlchemy's: they become FactStoreError."""
    cursor = conn.connection.dbapi_connection.cursor()
    try:
        write(cursor, values, rows)
    except conn.dialect.dbapi.Error as error:
        raise FactStoreError(f"Writing facts failed (nothing was written): {error}") from error
    finally:
        cursor.close()


def insert_facts(conn: Connection, environment: str, facts: Sequence[tuple[str, tuple]],
                 known: Optional[KnownValues] = None) -> dict[int, tuple[str, str]]:
    """Insert validated `(predicate, args)` facts with their values (those `known` does not
    hold); the values it wrote or found stored, vid -> (type, id)."""
    built = FactRows(environment, facts)
    values = built.values if known is None else known.unknown(built.values)
    if not built.rows:
        return values
    if conn.dialect.name == "postgresql" and len(built.rows) >= COPY_THRESHOLD:
        _on_driver_cursor(conn, copy_insert, values, built.rows)
        return values
    if conn.dialect.name == "sqlite":
        _on_driver_cursor(conn, sqlite_insert, values, built.rows)
        return values
    new_values = _unknown_values(conn, values)
    if new_values:
        names = [c.name for c in values_table.columns]
        conn.execute(postgresql.insert(values_table).on_conflict_do_nothing(),
                     [dict(zip(names, (vid, t, i))) for vid, (t, i) in sorted(new_values.items())])
    names = [c.name for c in facts_table.columns]
    conn.execute(postgresql.insert(facts_table).on_conflict_do_nothing(), [dict(zip(names, row)) for row in built.rows])
    return values


def _unknown_values(conn: Connection, values: dict[int, tuple[str, str]]) -> dict[int, tuple[str, str]]:
    """The values not stored yet; a stored value with the same id but another (type, id) raises."""
    missing = dict(values)
    vids = list(values)
    for start in range(0, len(vids), _LOOKUP_CHUNK):
        chunk = vids[start:start + _LOOKUP_CHUNK]
        query = select(values_table.c.vid, values_table.c.type, values_table.c.id).where(values_table.c.vid.in_(chunk))
        for vid, type_name, id_text in conn.execute(query):
            if (type_name, id_text) != values[vid]:
                raise collision(vid, (type_name, id_text), values[vid])
            del missing[vid]
    return missing


def pattern_conditions(environment: str, predicate: str, pattern: Sequence[object],
                       table: Table = facts_table) -> list[ColumnElement[bool]]:
    """WHERE conditions selecting the facts matching `predicate(*pattern)` (None: any value;
    ValueOfType: any value of that type, through the values table's type index)."""
    conditions = [table.c.env == environment, table.c.predicate == predicate, table.c.arity == len(pattern)]
    for column, arg in zip(ARG_COLUMNS, pattern):
        if arg is None:
            continue
        if isinstance(arg, ValueOfType):
            of_type = select(values_table.c.vid).where(values_table.c.type == arg.type)
            conditions.append(table.c[column].in_(of_type))
        else:
            conditions.append(table.c[column] == arg_id(arg))
    return conditions


def delete_statement(environment: str, predicate: str, pattern: Sequence[object]) -> Delete:
    """DELETE of the facts matching the pattern."""
    return delete(facts_table).where(and_(*pattern_conditions(environment, predicate, pattern)))


def clear(engine: Engine, environment: str) -> None:
    """Delete every fact of `environment` (values stay: other environments may share them)."""
    try:
        with engine.begin() as conn:
            conn.execute(delete(facts_table).where(facts_table.c.env == environment))
    except SQLAlchemyError as error:
        raise FactStoreError(f"Clearing the facts of environment {environment!r} failed: {error}") from error

