"""Configuration: defaults, and where the database is.

The database URL comes from the `DATABASE_URL` config key, else the `DATABASE_URL` environment
variable, else a SQLite file in the temporary directory. `postgres://` and `postgresql://` URLs
use the psycopg 3 driver (`postgresql+psycopg://`).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

DEFAULT_SQLITE_PATH = Path(tempfile.gettempdir()) / "oso_github_flask.sqlite3"

DEFAULTS: dict[str, Any] = {
    # A demo: sessions are signed with this key unless SECRET_KEY is set in the environment.
    "SECRET_KEY": os.environ.get("SECRET_KEY", "github-flask-demo-not-secret"),
    # Create the tables and insert the demo data when the database is empty.
    "SEED_DATABASE": True,
}


def database_url(config: Mapping[str, Any] | None = None) -> str:
    config = config or {}
    url = (config.get("DATABASE_URL") or config.get("SQLALCHEMY_DATABASE_URI")
           or os.environ.get("DATABASE_URL") or f"sqlite:///{DEFAULT_SQLITE_PATH}")
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url
