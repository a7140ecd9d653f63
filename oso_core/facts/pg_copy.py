"""Large inserts on PostgreSQL through COPY: values and facts are copied into temporary tables,
checked for value-id collisions there, then moved with `INSERT ... SELECT ... ON CONFLICT DO
NOTHING`, all in the caller's transaction. (psycopg's executemany sends one statement per row.)

The COPY data is written as preformatted blocks of COPY text format (`copy_field` escapes each
string), not row by row: psycopg's `write_row` costs microseconds per row in Python."""

from __future__ import annotations

from typing import Any, Iterator, Sequence


from .errors import FactStoreError
from .fact_rows import FactRow
from .schema import ARG_COLUMNS

#: Below this many facts, plain executemany is as fast as setting up the temporary tables.
COPY_THRESHOLD = 2_000
_FACT_COLUMNS = ("env", "predicate", "arity", *ARG_COLUMNS)
_BLOCK_ROWS = 10_000  # rows per write: large enough to be cheap, small enough to bound the memory
# Both sorts of the move run in memory (the default 4 MB spills 100k facts to disk); the
# setting ends with the transaction.
_WORK_MEM = "SET LOCAL work_mem = '64MB'"


def copy_field(text: str) -> str:
    """`text` as one field of COPY text format: backslash, tab, newline and carriage return
    escaped (NUL never reaches the store: validation refuses it)."""
    if "\\" in text:
        text = text.replace("\\", "\\\\")
    if "\t" in text:
        text = text.replace("\t", "\\t")
    if "\n" in text:
        text = text.replace("\n", "\\n")
    if "\r" in text:
        text = text.replace("\r", "\\r")
    return text


def value_blocks(values: dict[int, tuple[str, str]]) -> Iterator[str]:
    """COPY text of `(vid, type, id)` rows, in blocks."""
    lines = []
    for vid, (type_name, id_text) in values.items():
        lines.append(f"{vid}\t{copy_field(type_name)}\t{copy_field(id_text)}\n")
        if len(lines) == _BLOCK_ROWS:
            yield "".join(lines)
            lines = []
    if lines:
        yield "".join(lines)


def fact_blocks(rows: Sequence[FactRow]) -> Iterator[str]:
    """COPY text of fact rows (env, predicate, arity, a0..a4), in blocks; env and predicate
    are escaped once per distinct pair."""
    prefixes: dict[tuple[str, str, int], str] = {}
    for start in range(0, len(rows), _BLOCK_ROWS):
        lines = []
        for env, predicate, arity, a0, a1, a2, a3, a4 in rows[start:start + _BLOCK_ROWS]:
            key = (env, predicate, arity)
            prefix = prefixes.get(key)
            if prefix is None:
                prefix = prefixes[key] = f"{copy_field(env)}\t{copy_field(predicate)}\t{arity}\t"
            lines.append(f"{prefix}{a0}\t{a1}\t{a2}\t{a3}\t{a4}\n")
        yield "".join(lines)


def copy_insert(cursor: Any, values: dict[int, tuple[str, str]], rows: Sequence[FactRow]) -> None:
    """Insert `values` (vid -> (type, id)) and fact `rows` (env, predicate, arity, a0..a4) on a
    psycopg cursor, through COPY into temporary tables."""
    cursor.execute(_WORK_MEM)
    if values:
        _copy_values(cursor, values)
    cursor.execute("CREATE TEMPORARY TABLE oso_new_facts (LIKE oso_facts) ON COMMIT DROP")
    columns = ", ".join(_FACT_COLUMNS)
    with cursor.copy(f"COPY oso_new_facts ({columns}) FROM STDIN") as copy:
        for block in fact_blocks(rows):
            copy.write(block)
    # In key order for the same reason; "C" collation, as any fixed order serves and it sorts
    # by bytes instead of by locale rules.
    order = ", ".join(f'{c} COLLATE "C"' if c in ("env", "predicate") else c for c in _FACT_COLUMNS)
    cursor.execute(f"INSERT INTO oso_facts ({columns}) SELECT {columns} FROM oso_new_facts "
                   f"ORDER BY {order} ON CONFLICT DO NOTHING")
    # Dropped now, not at commit: a later large insert of the same transaction creates it again.
    cursor.execute("DROP TABLE oso_new_facts")


def _copy_values(cursor: Any, values: dict[int, tuple[str, str]]) -> None:
    cursor.execute("CREATE TEMPORARY TABLE oso_new_values (vid BIGINT, type TEXT, id TEXT) ON COMMIT DROP")
    with cursor.copy("COPY oso_new_values (vid, type, id) FROM STDIN") as copy:
        for block in value_blocks(values):
            copy.write(block)
    cursor.execute("SELECT n.vid, n.type, n.id, v.type, v.id FROM oso_new_values n JOIN oso_values v "
                   "ON v.vid = n.vid WHERE v.type <> n.type OR v.id <> n.id LIMIT 1")
    clash = cursor.fetchone()
    if clash is not None:
        raise FactStoreError(f"Value id collision: {clash[1]} {clash[2][:40]!r} and {clash[3]} {clash[4][:40]!r} "
                             f"hash to the same 64-bit id {clash[0]}; nothing was written")
    # In vid order, so that concurrent batches lock new values in one order (no deadlock).
    cursor.execute("INSERT INTO oso_values (vid, type, id) SELECT vid, type, id FROM oso_new_values ORDER BY vid "
                   "ON CONFLICT DO NOTHING")
    cursor.execute("DROP TABLE oso_new_values")
