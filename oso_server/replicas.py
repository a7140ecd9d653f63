"""Replicas: server processes sharing one database serve the newest stored policy.

Each process keeps its opened environments on their newest policy version: on PostgreSQL a
listener thread waits on `LISTEN` for the NOTIFY that `oso_core.facts.policies.record` sends
in the transaction storing a version, and refreshes that environment at once; a poll of every
opened environment's version (`FactStore.refresh`, one indexed `SELECT max(version)` each,
every `interval` seconds) covers a lost listener connection, and SQLite files shared by
processes. Facts need nothing: every decision reads them from the database.
"""

from __future__ import annotations

import logging
import threading
from oso_core.facts import FactStore
from oso_core.facts.policies import POLICY_CHANNEL

from .environments import Environments

log = logging.getLogger("oso_server.replicas")
POLL_SECONDS = 0.5
#: How long the listener waits before reconnecting after its connection failed.
RECONNECT_SECONDS = 2.0


class PolicyRefresher:
    """Keeps every environment `environments` opened on its newest stored policy."""

    def __init__(self, environments: Environments, interval: float = POLL_SECONDS, listen: bool = True) -> None:
        self.environments = environments
        self.interval = interval
        self.listen = listen and environments.engine.dialect.name == "postgresql"
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._failed: dict[str, int] = {}  # environment -> a stored version that did not load here

    def refresh(self, store: FactStore) -> bool:
        """Refresh one store; whether it loaded a newer version (errors are logged, not raised)."""
        try:
            return store.refresh()
        except Exception as error:  # a store that cannot refresh keeps serving what it has
            if self._failed.get(store.environment) != store.policy_version:
                self._failed[store.environment] = store.policy_version  # log once per loaded version
                log.error("environment %r: loading the newest stored policy failed, version %d keeps serving: %s",
                          store.environment, store.policy_version, error)
            return False

    def refresh_all(self) -> list[str]:
        """Refresh every opened environment; the names of those that loaded a newer version."""
        return [store.environment for store in self.environments.opened() if self.refresh(store)]

    def _poll(self) -> None:
        while not self._stop.wait(self.interval):
            self.refresh_all()

    def _on_notify(self, payload: str) -> None:
        if not payload:
            self.refresh_all()
            return
        store = self.environments.opened_store(payload)
        if store is not None:  # an environment this process never served loads its newest on first use
            self.refresh(store)

    def _listen_once(self) -> None:
        import psycopg

        url = self.environments.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"LISTEN {POLICY_CHANNEL}")
            # Versions stored before LISTEN took effect sent their NOTIFY to nobody.
            self.refresh_all()
            while not self._stop.is_set():
                for notify in conn.notifies(timeout=1.0):
                    self._on_notify(notify.payload)

    def _listen(self) -> None:
        while not self._stop.is_set():
            try:
                self._listen_once()
            except Exception as error:  # the poll keeps replicas in step meanwhile
                if self._stop.is_set():
                    return
                log.warning("policy listener (LISTEN %s) failed, reconnecting in %.0f s: %s", POLICY_CHANNEL,
                            RECONNECT_SECONDS, error)
                self._stop.wait(RECONNECT_SECONDS)

    def start(self) -> None:
        """Start the poll (and, on PostgreSQL, the listener) in daemon threads."""
        targets = [(self._poll, "oso-policy-poll")] + ([(self._listen, "oso-policy-listen")] if self.listen else [])
        for target, name in targets:
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        """Stop the threads (the listener within its 1 s wait)."""
        self._stop.set()
        for thread in self._threads:
            thread.join(5)
