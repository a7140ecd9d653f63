"""Writing facts: an ordered list of inserts and deletes applied in one transaction.

Consecutive inserts go out as two `executemany` statements (values, then facts), both
`ON CONFLICT DO NOTHING`, so inserting a fact twice is harmless; each delete is one statement.
Before values are written, the stored `(type, id)` of every value id they hash to is compared
with theirs: a mismatch is a hash collision, and the whole transaction is refused.
"""

from __future__ import annotations

from typing import Callable, Sequence

from sqlalchemy import ColumnElement, Connection, Delete, Engine, Insert, Table, and_, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from ..values import ValueOfType
from .errors import FactStoreError
from .pg_copy import COPY_THRESHOLD, copy_insert
from .schema import ARG_COLUMNS, arg_id, facts_table, typed_parts, value_id, values_table

INSERT, DELETE = "insert", "delete"
# One operation: (INSERT, predicate, args) with concrete args, or (DELETE, predicate, pattern).
Operation = tuple[str, str, tuple]
_LOOKUP_CHUNK = 500  # value ids per `IN (...)` (under every SQLite parameter limit)


def apply(engine: Engine, environment: str, operations: Sequence[Operation]) -> None:
    """Apply `operations` in order, all or nothing."""
    try:
        with engine.begin() as conn:
            i = 0
            while i < len(operations):
                kind = operations[i][0]
                if kind == INSERT:
                    j = i
                    while j < len(operations) and operations[j][0] == INSERT:
                        j += 1
                    insert_facts(conn, environment, [(op[1], op[2]) for op in operations[i:j]])
                    i = j
                else:
                    conn.execute(delete_statement(environment, operations[i][1], operations[i][2]))
                    i += 1
    except SQLAlchemyError as error:
        raise FactStoreError(f"Writing facts failed (nothing was written): {error}") from error


def insert_facts(conn: Connection, environment: str, facts: Sequence[tuple[str, tuple]]) -> None:
    """Insert validated `(predicate, args)` facts with their values."""
    values: dict[int, tuple[str, str]] = {}
    # Arguments repeat across a batch (roles, orgs): hash each distinct one once. The key holds
    # the class so that True and 1 (equal in Python) stay apart.
    vid_of: dict[tuple[type, object], int] = {}
    rows = []
    padding = (0,) * len(ARG_COLUMNS)
    for predicate, args in facts:
        vids = []
        for arg in args:
            key = (arg.__class__, arg)
            vid = vid_of.get(key)
            if vid is None:
                parts = typed_parts(arg)
                vid = value_id(*parts)
                known = values.setdefault(vid, parts)
                if known != parts:
                    raise _collision(vid, known, parts)
                vid_of[key] = vid
            vids.append(vid)
        rows.append((environment, predicate, len(args), *vids, *padding[len(vids):]))
    if not rows:
        return
    # In key order, index pages are filled one after another instead of at random.
    rows.sort()
    if conn.dialect.name == "postgresql" and len(rows) >= COPY_THRESHOLD:
        copy_insert(conn, values, rows)
        return
    new_values = _unknown_values(conn, values)
    if new_values:
        _insert_many(conn, values_table, [(vid, t, i) for vid, (t, i) in sorted(new_values.items())])
    _insert_many(conn, facts_table, rows)


def _insert_many(conn: Connection, table: Table, rows: list[tuple]) -> None:
    """INSERT ... ON CONFLICT DO NOTHING of `rows` (tuples in the table's column order), one executemany."""
    if conn.dialect.name == "sqlite":
        # The DBAPI's executemany directly: SQLAlchemy's per-row parameter processing would
        # cost as much as SQLite's own work. Table and column names are the schema's constants.
        columns = ", ".join(c.name for c in table.columns)
        marks = ", ".join("?" for _ in table.columns)
        conn.exec_driver_sql(f"INSERT INTO {table.name} ({columns}) VALUES ({marks}) ON CONFLICT DO NOTHING", rows)
        return
    names = [c.name for c in table.columns]
    conn.execute(_insert_for(conn)(table).on_conflict_do_nothing(), [dict(zip(names, row)) for row in rows])


def _unknown_values(conn: Connection, values: dict[int, tuple[str, str]]) -> dict[int, tuple[str, str]]:
    """The values not stored yet; a stored value with the same id but another (type, id) raises."""
    missing = dict(values)
    vids = list(values)
    for start in range(0, len(vids), _LOOKUP_CHUNK):
        chunk = vids[start:start + _LOOKUP_CHUNK]
        query = select(values_table.c.vid, values_table.c.type, values_table.c.id).where(values_table.c.vid.in_(chunk))
        for vid, type_name, id_text in conn.execute(query):
            if (type_name, id_text) != values[vid]:
                raise _collision(vid, (type_name, id_text), values[vid])
            del missing[vid]
    return missing


def _collision(vid: int, stored: tuple[str, str], new: tuple[str, str]) -> FactStoreError:
    return FactStoreError(f"Value id collision: {new[0]} {new[1][:40]!r} and {stored[0]} {stored[1][:40]!r} hash to "
                          f"the same 64-bit id {vid}; nothing was written")


def _insert_for(conn: Connection) -> Callable[[Table], Insert]:
    name = conn.dialect.name
    if name == "postgresql":
        return postgresql.insert
    if name == "sqlite":
        return sqlite.insert
    raise FactStoreError(f"The fact store supports SQLite and PostgreSQL, not {name}")


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

