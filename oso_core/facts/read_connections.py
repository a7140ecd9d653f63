"""Autocommit connections kept for decisions, so a cached decision costs one round trip.

Through the engine's pool every decision pays a checkout and a `ROLLBACK` when the connection
goes back; on PostgreSQL that `ROLLBACK` also makes psycopg 3 drop the connection's prepared
statements, so each authorize was planned again (planning ~0.6 ms against ~0.15 ms to run;
docs/facts-performance.md). Decisions only read, one statement each, so they run on connections
in autocommit mode that this object keeps checked out and idle between calls (at most
`MAX_IDLE`, so the pool keeps room for writes): psycopg prepares a repeated statement once per
connection and sqlite3 keeps it in its statement cache. They stay SQLAlchemy connections, so
engine events and echo see every statement.

An engine whose pool shares one connection between threads (in-memory SQLite) is left to the pool,
and its decisions run one at a time (`serial`).
"""

from __future__ import annotations

import queue
import threading
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import SingletonThreadPool, StaticPool

# Idle connections kept beyond this are closed: it bounds what a burst of threads holds from the
# pool (5 connections by default), which the store's writes also use.
MAX_IDLE = 3


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

    def fetch_all(self, sql: str, arguments: Any) -> list:
        """The rows of one statement in the driver's parameter style. A connection the server
        dropped is replaced once; any other error propagates (and the connection is closed)."""
        for attempt in (0, 1):
            connection = self._take()
            try:
                rows = connection.exec_driver_sql(sql, arguments).all()
            except DBAPIError as error:
                connection.close()
                if attempt == 0 and error.connection_invalidated:
                    continue
                raise
            except BaseException:
                connection.close()
                raise
            self._give_back(connection)
            return rows
        raise AssertionError("unreachable: the second attempt returns or raises")

    def close(self) -> None:
        """Close the idle connections; later calls open new ones and close them after use."""
        self._closed = True
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                return

    def _take(self) -> Connection:
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            return self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")

    def _give_back(self, connection: Connection) -> None:
        if self._closed or self._idle.qsize() >= MAX_IDLE:
            connection.close()
        else:
            self._idle.put(connection)
