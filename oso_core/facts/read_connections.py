"""Autocommit connections kept for decisions, so a cached decision costs one round trip.

Through the engine's pool every decision pays a checkout and a `ROLLBACK` when the connection
goes back; on PostgreSQL that `ROLLBACK` also makes psycopg 3 drop the connection's prepared
statements, so each authorize was planned again (planning ~0.6 ms against ~0.15 ms to run;
docs/facts-performance.md). Decisions only read, one statement each, so they run on connections
in autocommit mode that this object keeps checked out and idle between calls (at most
`MAX_IDLE`, so the pool keeps room for writes): a statement is prepared once per PostgreSQL
session, and sqlite3 keeps it in its statement cache.

While the engine has no event listeners and does not log its statements, a statement runs below
SQLAlchemy's execution machinery, which costs about as much as the database's own work for a
small authorize: on psycopg as a prepared statement through libpq (`pg_prepared`), on sqlite3 on
the connection's cursor (held with it). An engine with listeners or echo gets the SQLAlchemy
path, so users' hooks still see every statement.

An engine whose pool shares one connection between threads (in-memory SQLite) is left to the pool,
and its decisions run one at a time (`serial`).
"""

from __future__ import annotations

import logging
import queue
import threading
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.pool import SingletonThreadPool, StaticPool

from .driver_sql import DriverStatement

# Idle connections kept beyond this are closed: it bounds what a burst of threads holds from the
# pool (5 connections by default), which the store's writes also use.
MAX_IDLE = 3
_PREPARED_KEY = "oso_core.facts.prepared_statements"


class ReadConnections:
    """A few autocommit connections to one database, for read-only statements."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.usable = (engine.dialect.name in ("sqlite", "postgresql")
                       and not isinstance(engine.pool, (StaticPool, SingletonThreadPool)))
        # One connection shared by every thread (StaticPool) must run one statement at a time:
        # sqlite3 fails ("bad parameter or other API misuse") when two threads use it at once.
        self.serial: AbstractContextManager = (threading.Lock() if isinstance(engine.pool, StaticPool)
                                               else nullcontext())
        self._idle: queue.SimpleQueue = queue.SimpleQueue()
        self._closed = False
        self._dbapi_error = engine.dialect.loaded_dbapi.Error
        # psycopg 3: statements prepared and run through libpq (pg_prepared); sqlite3 keeps
        # its own statement cache for the cursor.
        self._psycopg = engine.dialect.driver == "psycopg"

    def fetch_all(self, statement: DriverStatement, values: dict) -> list:
        """The rows of one decision statement for the inputs `values` (name -> value id). A
        connection the server dropped is replaced once; any other error propagates as
        SQLAlchemy's DBAPIError (and the connection is closed)."""
        for attempt in (0, 1):
            reader = self._take()
            try:
                rows = self._run(reader, statement, values)
            except DBAPIError as error:
                reader.close()
                if attempt == 0 and error.connection_invalidated:
                    continue
                raise
            except BaseException:
                reader.close()
                raise
            self._give_back(reader)
            return rows
        raise AssertionError("unreachable: the second attempt returns or raises")

    def _run(self, reader: "_Reader", statement: DriverStatement, values: dict) -> list:
        engine = self.engine
        if engine._has_events or engine.logger.isEnabledFor(logging.INFO):
            return reader.connection.exec_driver_sql(statement.sql, statement.arguments(values)).all()
        try:
            if self._psycopg and statement.numbered is not None:
                return reader.prepared().fetch_all(statement.numbered, [values[n] for n in statement.inputs])
            cursor = reader.cursor()
            cursor.execute(statement.sql, statement.arguments(values))
            return cursor.fetchall()
        except self._dbapi_error as error:
            dropped = self._is_disconnect(error, reader)
            if dropped:
                reader.connection.invalidate(error)
            raise DBAPIError.instance(statement.sql, values, error, self._dbapi_error,
                                      connection_invalidated=dropped, dialect=engine.dialect) from error

    def _is_disconnect(self, error: Exception, reader: "_Reader") -> bool:
        try:
            return bool(self.engine.dialect.is_disconnect(error, reader.connection.connection.dbapi_connection,
                                                          reader.held))
        except SQLAlchemyError:
            return True      # the connection is already invalid

    def close(self) -> None:
        """Close the idle connections; later calls open new ones and close them after use."""
        self._closed = True
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                return

    def _take(self) -> "_Reader":
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            return _Reader(self.engine.connect().execution_options(isolation_level="AUTOCOMMIT"))

    def _give_back(self, reader: "_Reader") -> None:
        if self._closed or self._idle.qsize() >= MAX_IDLE:
            reader.close()
        else:
            self._idle.put(reader)


class _Reader:
    """One kept autocommit connection and, once the direct path used it, its driver cursor."""

    __slots__ = ("connection", "held", "_prepared")

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.held: Any = None
        self._prepared: Any = None

    def prepared(self) -> Any:
        """The server session's `pg_prepared.PreparedStatements` (psycopg only), kept in the
        pool's `info` of the DBAPI connection: it outlives this checkout, as the statements
        prepared on the server do, and goes when the connection is closed or invalidated."""
        if self._prepared is None:
            info = self.connection.connection.info
            prepared = info.get(_PREPARED_KEY)
            if prepared is None:
                from .pg_prepared import PreparedStatements   # imports psycopg: PostgreSQL only
                prepared = info[_PREPARED_KEY] = PreparedStatements(self.connection.connection.driver_connection)
            self._prepared = prepared
        return self._prepared

    def cursor(self) -> Any:
        if self.held is None:
            self.held = self.connection.connection.dbapi_connection.cursor()
        return self.held

    def close(self) -> None:
        if self.held is not None:
            try:
                self.held.close()
            except Exception:   # noqa: BLE001 - the connection may be gone; closing it below is what matters
                pass
            self.held = None
        self.connection.close()
