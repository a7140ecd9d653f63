"""Opening the store's database and creating (or checking) its schema.

`open_engine` turns the `FactStore` database argument into an Engine; `ensure_schema` creates the
tables if missing (idempotent) and records the schema version in `oso_meta`.
"""

from __future__ import annotations

import os
from typing import Any, Union

from sqlalchemy import Engine, create_engine, event, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.pool import StaticPool

from .errors import FactStoreError, SchemaVersionError
from .schema import SCHEMA_VERSION, meta_table, metadata

Database = Union[None, str, "os.PathLike[str]", Engine]
SCHEMA_VERSION_KEY = "schema_version"


def open_engine(database: Database) -> Engine:
    """None: a private in-memory SQLite database; a path: a SQLite file; a string with `://`: a
    SQLAlchemy URL (`postgresql://` means the psycopg 3 driver); an Engine: itself."""
    if isinstance(database, Engine):
        return database
    if database is None:
        # One connection shared by every checkout, or each would see its own empty database.
        return create_engine("sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False})
    if isinstance(database, str) and "://" in database:
        url = database
        if url.startswith("postgresql://") or url.startswith("postgres://"):
            url = "postgresql+psycopg://" + url.split("://", 1)[1]
        try:
            return create_engine(url)
        except (SQLAlchemyError, ImportError) as error:
            raise FactStoreError(f"Cannot open the fact store database {database!r}: {error}") from error
    if isinstance(database, (str, os.PathLike)):
        engine = create_engine(f"sqlite:///{os.fspath(database)}")
        event.listen(engine, "connect", _sqlite_file_pragmas)
        return engine
    raise TypeError(f"FactStore database is None, a path, a URL or an Engine, got {database!r}")


def _sqlite_file_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers run while a batch writes; NORMAL sync is durable at every checkpoint.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def ensure_schema(engine: Engine) -> None:
    """Create the store's tables unless they exist, and check the stored schema version."""
    try:
        metadata.create_all(engine, checkfirst=True)
        with engine.begin() as conn:
            stored = conn.execute(select(meta_table.c.value).where(meta_table.c.key == SCHEMA_VERSION_KEY)).scalar()
            if stored is None:
                conn.execute(meta_table.insert().values(key=SCHEMA_VERSION_KEY, value=str(SCHEMA_VERSION)))
                return
    except IntegrityError:
        # Another process created the schema at the same time: read what it wrote.
        with engine.connect() as conn:
            stored = conn.execute(select(meta_table.c.value).where(meta_table.c.key == SCHEMA_VERSION_KEY)).scalar()
    except SQLAlchemyError as error:
        raise FactStoreError(f"Cannot create the fact store schema: {error}") from error
    check_version(stored)


def check_version(stored: object) -> None:
    """Accept the stored schema version only if it is the one this code writes (version 1 is the
    first, so no older version exists to migrate from)."""
    try:
        version = int(str(stored))
    except ValueError:
        raise FactStoreError(f"oso_meta schema_version is not a number: {stored!r}") from None
    if version > SCHEMA_VERSION:
        raise SchemaVersionError(
            f"The fact store schema in this database is version {version}; this oso-core knows versions up to "
            f"{SCHEMA_VERSION}. Upgrade oso-core to use it.")
    if version < SCHEMA_VERSION:
        raise SchemaVersionError(f"Unknown fact store schema version {version} (the first version is 1)")
