"""Decision statements as named prepared statements run through libpq on a psycopg 3 connection.

psycopg's cursor costs ~40 µs a call over libpq for a small authorize (query conversion, its
prepared-statement bookkeeping, the result's column descriptions): about a sixth of what the
whole decision may take. A decision's statement has only value-id inputs, so it is prepared once
per connection under a name of its own (`PQprepare`) and run with `PQexecPrepared`, the ids sent
as text; the rows are loaded with psycopg's own `Transformer`, so values come back as psycopg
would return them. libpq calls release the GIL while they wait for the server.

The connection is in autocommit and used by one thread at a time (read_connections); psycopg's
own prepared statements on it (`_pg3_*`) are not touched. One `PreparedStatements` belongs to one
server session for its whole life (read_connections keeps it in the pool's per-connection `info`,
which lives exactly as long as the DBAPI connection), and names are unique in the process, so a
session handed to another store keeps working with the statements it has. Something else may
deallocate them (psycopg sends `DEALLOCATE ALL` after a ROLLBACK when it had prepared statements
of its own): a statement found missing (SQLSTATE 26000) is prepared again, once. At most
`MAX_PREPARED` statements are kept per connection; the oldest is deallocated beyond that (plans
of replaced policies).
"""

from __future__ import annotations

import itertools
from collections import OrderedDict
from typing import Any, Sequence

from psycopg import OperationalError, errors
from psycopg.adapt import Transformer
from psycopg.pq import ConnStatus, DiagnosticField, ExecStatus

MAX_PREPARED = 64
_MISSING = b"26000"      # invalid_sql_statement_name: no prepared statement of that name
_numbers = itertools.count()


class PreparedStatements:
    """The statements prepared on one psycopg connection, by their SQL text."""

    def __init__(self, connection: Any) -> None:
        self._connection = connection
        self._pgconn = connection.pgconn
        self._transformer = Transformer(connection)
        self._names: OrderedDict = OrderedDict()

    def fetch_all(self, sql: str, values: Sequence[int]) -> list:
        """The rows (tuples) of the statement `sql` (`$n` markers) with integer inputs `values`."""
        name = self._names.get(sql)
        if name is None:
            name = self._prepare(sql)
        else:
            self._names.move_to_end(sql)
        params = [b"%d" % v for v in values]
        result = self._pgconn.exec_prepared(name, params)
        if result.status == ExecStatus.FATAL_ERROR and result.error_field(DiagnosticField.SQLSTATE) == _MISSING:
            del self._names[sql]
            result = self._pgconn.exec_prepared(self._prepare(sql), params)
        if result.status != ExecStatus.TUPLES_OK:
            raise self._error(result)
        transformer = self._transformer
        transformer.set_pgresult(result)
        return transformer.load_rows(0, result.ntuples, tuple)

    def _prepare(self, sql: str) -> bytes:
        name = b"oso_decision_%d" % next(_numbers)
        result = self._pgconn.prepare(name, sql.encode(self._connection.info.encoding), None)
        if result.status != ExecStatus.COMMAND_OK:
            raise self._error(result)
        self._names[sql] = name
        while len(self._names) > MAX_PREPARED:
            _, old = self._names.popitem(last=False)
            self._pgconn.exec_(b"DEALLOCATE " + old)
        return name

    def _error(self, result: Any) -> Exception:
        if self._pgconn.status != ConnStatus.OK:
            message = (self._pgconn.error_message or b"the connection is closed").decode("utf-8", "replace")
            return OperationalError(f"consuming input failed: {message.strip()}")
        return errors.error_from_result(result, encoding=self._connection.info.encoding)
