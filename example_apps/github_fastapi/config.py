"""Where the database is: the `database_url` argument, else `$DATABASE_URL`, else a SQLite file in
the temporary directory. URLs are turned into their asyncio drivers: `sqlite://` ->
`sqlite+aiosqlite://`, `postgres://` and `postgresql://` -> `postgresql+psycopg://` (psycopg 3,
async). A URL naming its driver (`postgresql+asyncpg://...`) is kept as it is.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

DEFAULT_SQLITE_PATH = Path(tempfile.gettempdir()) / "oso_github_fastapi.sqlite3"

# Sessions (cookies) are signed with this key unless SECRET_KEY is set in the environment.
DEFAULT_SECRET_KEY = "github-fastapi-demo-not-secret"

_ASYNC_DRIVERS = {
    "sqlite://": "sqlite+aiosqlite://",
    "postgres://": "postgresql+psycopg://",
    "postgresql://": "postgresql+psycopg://",
}


def database_url(url: str | None = None) -> str:
    url = url or os.environ.get("DATABASE_URL") or f"sqlite:///{DEFAULT_SQLITE_PATH}"
    for prefix, replacement in _ASYNC_DRIVERS.items():
        if url.startswith(prefix):
            return replacement + url[len(prefix):]
    return url


def secret_key(key: str | None = None) -> str:
    return key or os.environ.get("SECRET_KEY") or DEFAULT_SECRET_KEY
