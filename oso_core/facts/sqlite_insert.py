"""Inserting facts into SQLite: one `executemany` per table on the driver's cursor, inside the
caller's transaction.

The new values go through a temporary table first, so that the check for value-id collisions
against the stored values is one join run by SQLite instead of a lookup per value in Python.
"""

from __future__ import annotations

from typing import Any, Sequence


from .errors import FactStoreError
from .fact_rows import FactRow
from .schema import ARG_COLUMNS

_FACT_COLUMNS = ", ".join(("env", "predicate", "arity", *ARG_COLUMNS))
_FACT_MARKS = ", ".join("?" for _ in range(3 + len(ARG_COLUMNS)))


def sqlite_insert(cursor: Any, values: dict[int, tuple[str, str]], rows: Sequence[FactRow]) -> None:
    """Insert `values` (vid -> (type, id)) and the fact `rows`, `ON CONFLICT DO NOTHING`, on a
    sqlite3 cursor; FactStoreError if a value id is stored with another (type, id)."""
    if values:
        _insert_values(cursor, values)
    cursor.executemany(f"INSERT INTO main.oso_facts ({_FACT_COLUMNS}) VALUES ({_FACT_MARKS}) ON CONFLICT DO NOTHING",
                       rows)


def _insert_values(cursor, values: dict[int, tuple[str, str]]) -> None:
    # The driver runs DDL outside the transaction it opens for DML, so a rollback may leave the
    # table behind (or bring a dropped one back): it is kept per connection, emptied before use.
    cursor.execute("CREATE TEMPORARY TABLE IF NOT EXISTS oso_new_values (vid INTEGER NOT NULL, type TEXT NOT NULL, "
                   "id TEXT NOT NULL)")
    cursor.execute("DELETE FROM temp.oso_new_values")
    cursor.executemany("INSERT INTO temp.oso_new_values (vid, type, id) VALUES (?, ?, ?)",
                       [(vid, t, i) for vid, (t, i) in values.items()])
    clash = cursor.execute("SELECT n.vid, n.type, n.id, v.type, v.id FROM temp.oso_new_values n "
                           "JOIN main.oso_values v ON v.vid = n.vid WHERE v.type <> n.type OR v.id <> n.id "
                           "LIMIT 1").fetchone()
    if clash is not None:
        raise FactStoreError(f"Value id collision: {clash[1]} {clash[2][:40]!r} and {clash[3]} "
                             f"{clash[4][:40]!r} hash to the same 64-bit id {clash[0]}; nothing was written")
    # `WHERE true`: without it SQLite would read ON CONFLICT as a join constraint.
    cursor.execute("INSERT INTO main.oso_values (vid, type, id) SELECT vid, type, id FROM temp.oso_new_values "
                   "WHERE true ORDER BY vid ON CONFLICT DO NOTHING")
    cursor.execute("DELETE FROM temp.oso_new_values")  # the ids' memory, until the next batch
