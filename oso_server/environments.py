"""The environments of one database: a `FactStore` per environment, opened on first use and
sharing one SQLAlchemy engine (so one connection pool), and the background tasks that keep
them current (the policy refresher of `oso_server.replicas`, the `--watch` of `oso_server.watch`)."""

from __future__ import annotations

import threading
from typing import Optional, Protocol

from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from oso_core.facts import FactStore, FactStoreError, open_engine


class BackgroundTask(Protocol):
    """A thread-backed task stopped before the stores close."""

    def start(self) -> None: ...

    def stop(self) -> None: ...


class Environments:
    """Environment name -> its `FactStore`."""

    def __init__(self, database: str) -> None:
        self.engine: Engine = open_engine(database)
        self._stores: dict[str, FactStore] = {}
        self._lock = threading.Lock()
        self._tasks: list[BackgroundTask] = []

    def get(self, name: str) -> FactStore:
        """The store of environment `name` (opened, and its newest policy loaded, on first use)."""
        store = self._stores.get(name)
        if store is None:
            with self._lock:
                store = self._stores.get(name)
                if store is None:
                    store = self._stores[name] = FactStore(self.engine, environment=name)
        return store

    def ping(self) -> None:
        """Run `SELECT 1`; FactStoreError if the database does not answer."""
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except SQLAlchemyError as error:
            raise FactStoreError(f"The database does not answer: {error}") from error

    def opened(self) -> list[FactStore]:
        """The stores opened so far."""
        return list(self._stores.values())

    def opened_store(self, name: str) -> Optional[FactStore]:
        """The store of environment `name` if it is open (without opening it)."""
        return self._stores.get(name)

    def start(self, task: BackgroundTask) -> None:
        """Start `task`; `close()` stops it before closing the stores."""
        task.start()
        self._tasks.append(task)

    def close(self) -> None:
        """Stop the background tasks, then close every store and the engine."""
        for task in reversed(self._tasks):
            task.stop()
        self._tasks.clear()
        for store in self.opened():
            store.close()
        self.engine.dispose()
