"""What a server process is told at start-up: where its database is, which keys it accepts,
which policy files it loads, and where it listens."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from .keys import DEFAULT_ENVIRONMENT, KeyRing, dev_key

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080
#: The oso-cloud client refuses to send more than this; the server refuses to read more.
MAX_BODY_BYTES = 10 * 1024 * 1024
SQLITE_FILE = "facts.sqlite3"
#: Handler threads per process by default. A handler holds a database connection while it
#: runs, so threads beyond what the database can run at once only queue for the connection
#: pool; on a small machine a few threads overlap one request's database wait with the next
#: request's Python work, and more add GIL hand-overs (docs/server-performance.md).
DEFAULT_HANDLER_THREADS = 4
#: The most handler threads a process may have: the engine's pool holds 15 connections
#: (SQLAlchemy's 5 + 10 overflow), which writes and the policy refresher also use. Past it a
#: handler waited up to 30 s for a connection and the request failed with 503.
MAX_HANDLER_THREADS = 12


def default_data_dir() -> Path:
    """`$OSO_DIRECTORY` (the Dev Server's variable), else `./oso-data`."""
    return Path(os.environ.get("OSO_DIRECTORY") or "oso-data")


def default_port() -> int:
    """`$OSO_PORT` (the Dev Server's variable), else 8080."""
    given = os.environ.get("OSO_PORT", "").strip()
    if not given:
        return DEFAULT_PORT
    try:
        port = int(given)
    except ValueError:
        raise ValueError(f"$OSO_PORT is not a port number: {given!r:.40}") from None
    if not 0 < port < 65536:
        raise ValueError(f"$OSO_PORT is out of range 1-65535: {port}")
    return port


@dataclass
class ServerConfig:
    """A server's settings. `database` is a SQLAlchemy URL or a SQLite file path; None means the
    SQLite file `facts.sqlite3` in `data_dir`."""

    database: Optional[str] = None
    data_dir: Path = field(default_factory=default_data_dir)
    keys: KeyRing = field(default_factory=lambda: KeyRing([dev_key()]))
    policy_files: list[Path] = field(default_factory=list)
    #: The environment `policy_files` load into.
    environment: str = DEFAULT_ENVIRONMENT
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    watch: bool = False
    max_body_bytes: int = MAX_BODY_BYTES
    #: Where to write one JSON line per decision request: a file path, "-" for standard output,
    #: None for no decision log (docs/server-observability.md).
    decision_log: Optional[str] = None
    #: Whether `GET /metrics` needs an API key like the API routes (default: open, for scrapers).
    metrics_key_required: bool = False
    #: Threads running the handlers (at most `MAX_HANDLER_THREADS`; 0: none, every handler
    #: runs on the event loop, one request at a time per process).
    handler_threads: int = DEFAULT_HANDLER_THREADS

    def __post_init__(self) -> None:
        if not 0 <= self.handler_threads <= MAX_HANDLER_THREADS:
            raise ValueError(f"handler_threads (--threads) must be 0 to {MAX_HANDLER_THREADS}: each handler thread "
                             f"may hold one of the 15 database connections, which writes also need; got "
                             f"{self.handler_threads}")

    def database_url(self) -> str:
        """The database to open: `database` as given, or the SQLite file in `data_dir` (created)."""
        if self.database:
            return self.database
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return str(self.data_dir / SQLITE_FILE)
