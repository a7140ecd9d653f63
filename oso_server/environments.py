"""The environments of one database: a `FactStore` per environment, opened on first use and
sharing one SQLAlchemy engine (so one connection pool)."""

from __future__ import annotations

import threading

from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from oso_core.facts import FactStore, FactStoreError, open_engine


class Environments:
    """Environment name -> its `FactStore`."""

    def __init__(self, database: str) -> None:
        self.engine: Engine = open_engine(database)
        self._stores: dict[str, FactStore] = {}
        self._lock = threading.Lock()

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

    def close(self) -> None:
        """Close every store and the engine."""
        for store in self.opened():
            store.close()
        self.engine.dispose()
