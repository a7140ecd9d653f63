"""Large inserts on PostgreSQL through COPY: values and facts are copied into temporary tables,
checked for value-id collisions there, then moved with `INSERT ... SELECT ... ON CONFLICT DO
NOTHING`, all in the caller's transaction. (psycopg's executemany sends one statement per row.)"""

from __future__ import annotations

from typing import Any, Sequence

from sqlalchemy import Connection

from .errors import FactStoreError
from .schema import ARG_COLUMNS

#: Below this many facts, plain executemany is as fast as setting up the temporary tables.
COPY_THRESHOLD = 2_000
_FACT_COLUMNS = ("env", "predicate", "arity", *ARG_COLUMNS)


def copy_insert(conn: Connection, values: dict[int, tuple[str, str]], rows: Sequence[tuple]) -> None:
    """Insert `values` (vid -> (type, id)) and fact `rows` (env, predicate, arity, a0..a4)."""
    cursor = conn.connection.dbapi_connection.cursor()
    try:
        _copy(cursor, values, rows)
    except conn.dialect.dbapi.Error as error:  # the raw cursor raises the driver's errors, not SQLAlchemy's
        raise FactStoreError(f"Writing facts failed (nothing was written): {error}") from error
    finally:
        cursor.close()


def _copy(cursor: Any, values: dict[int, tuple[str, str]], rows: Sequence[tuple]) -> None:
    cursor.execute("CREATE TEMPORARY TABLE oso_new_values (vid BIGINT, type TEXT, id TEXT) ON COMMIT DROP")
    cursor.execute("CREATE TEMPORARY TABLE oso_new_facts (LIKE oso_facts) ON COMMIT DROP")
    with cursor.copy("COPY oso_new_values (vid, type, id) FROM STDIN") as copy:
        for vid, (type_name, id_text) in values.items():
            copy.write_row((vid, type_name, id_text))
    cursor.execute("SELECT n.vid, n.type, n.id, v.type, v.id FROM oso_new_values n JOIN oso_values v "
                   "ON v.vid = n.vid WHERE v.type <> n.type OR v.id <> n.id LIMIT 1")
    clash = cursor.fetchone()
    if clash is not None:
        raise FactStoreError(f"Value id collision: {clash[1]} {clash[2][:40]!r} and {clash[3]} {clash[4][:40]!r} "
                             f"hash to the same 64-bit id {clash[0]}; nothing was written")
    cursor.execute("INSERT INTO oso_values (vid, type, id) SELECT vid, type, id FROM oso_new_values ORDER BY vid "
                   "ON CONFLICT DO NOTHING")
    columns = ", ".join(_FACT_COLUMNS)
    with cursor.copy(f"COPY oso_new_facts ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
    cursor.execute(f"INSERT INTO oso_facts ({columns}) SELECT {columns} FROM oso_new_facts "
                   f"ORDER BY {columns} ON CONFLICT DO NOTHING")
    # Dropped now, not at commit: a later large insert of the same transaction creates them again.
    cursor.execute("DROP TABLE oso_new_values, oso_new_facts")
