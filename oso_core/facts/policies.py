"""The policy versions of an environment (`oso_policies`), and loading one into an `Oso`.

A policy loads in the Oso Cloud dialect when the front end has one (`Oso.load_str(src,
dialect=...)`); before that, the only dialect is legacy Polar with `declare`.
"""

from __future__ import annotations

import inspect
import time
from pathlib import Path
from typing import Iterable, Optional, Union

from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from ..oso import Oso
from .errors import FactStoreError
from .schema import meta_table, policies_table

#: The PostgreSQL channel told (NOTIFY, payload: the environment) of every new policy version, in
#: the transaction that stores it: listeners (oso_server replicas) learn of it once it is committed.
POLICY_CHANNEL = "oso_policy_versions"
#: PostgreSQL refuses NOTIFY payloads of 8000 bytes or more; a longer environment name is sent empty
#: ("some environment changed").
_MAX_PAYLOAD = 7000

#: Whether this front end knows dialects (checked once: the signature does not change at runtime).
HAS_DIALECTS = "dialect" in inspect.signature(Oso.load_str).parameters


def _dialect_kwargs(dialect: Optional[str]) -> dict:
    return {"dialect": dialect} if HAS_DIALECTS else {}


def effective_dialect(dialect: Optional[str]) -> Optional[str]:
    """The dialect a load with `dialect` really uses (without dialects: legacy)."""
    return dialect if HAS_DIALECTS else "legacy"


def load_source(src: str, dialect: Optional[str]) -> Oso:
    """A fresh Oso with `src` loaded; the Polar error of a bad policy propagates unchanged."""
    oso = Oso()
    oso.load_str(src, **_dialect_kwargs(dialect))
    return oso


def load_paths(paths: Iterable[Union[str, Path]], dialect: Optional[str]) -> tuple[Oso, str, str]:
    """A fresh Oso with the files loaded (errors name the file), their texts joined, their names."""
    paths = [Path(p) for p in paths]
    if not paths:
        raise FactStoreError("load_files needs at least one policy file")
    oso = Oso()
    oso.load_files(paths, **_dialect_kwargs(dialect))
    src = "\n".join(p.read_text(encoding="utf-8") for p in paths)
    return oso, src, ", ".join(str(p) for p in paths)


def _dialect_key(environment: str, version: int) -> str:
    # The dialect a version was loaded in, so reopening the store loads it the same way.
    return f"policy_dialect/{version}/{environment}"


def latest(engine: Engine, environment: str) -> Optional[tuple[int, str, Optional[str], Optional[str]]]:
    """(version, src, dialect, filename) of the environment's newest policy, if any (dialect
    None: detected by the front end; filename None: none was given)."""
    p = policies_table
    query = (select(p.c.version, p.c.src, p.c.filename).where(p.c.env == environment)
             .order_by(p.c.version.desc()).limit(1))
    try:
        with engine.connect() as conn:
            row = conn.execute(query).first()
            if row is None:
                return None
            dialect = conn.execute(select(meta_table.c.value)
                                   .where(meta_table.c.key == _dialect_key(environment, row[0]))).scalar()
    except SQLAlchemyError as error:
        raise FactStoreError(f"Reading the policy of environment {environment!r} failed: {error}") from error
    return row[0], row[1], dialect or None, row[2]


def newest_version(engine: Engine, environment: str) -> int:
    """The newest stored policy version of the environment (0: none): one `SELECT max(version)`
    over the primary key, cheap enough to poll."""
    p = policies_table
    try:
        with engine.connect() as conn:
            newest = conn.execute(select(func.max(p.c.version)).where(p.c.env == environment)).scalar()
    except SQLAlchemyError as error:
        raise FactStoreError(f"Reading the policy version of environment {environment!r} failed: {error}") from error
    return int(newest or 0)


def record(engine: Engine, environment: str, src: str, filename: Optional[str], dialect: Optional[str]) -> int:
    """Store a new policy version of the environment (one above the newest) and the dialect it
    was loaded in; return the version."""
    p = policies_table
    for _ in range(3):  # another writer may take the same version number: take the next one
        try:
            with engine.begin() as conn:
                newest = conn.execute(select(func.max(p.c.version)).where(p.c.env == environment)).scalar()
                version = (newest or 0) + 1
                conn.execute(p.insert().values(env=environment, version=version, filename=filename, src=src,
                                               created_at=time.time()))
                conn.execute(meta_table.insert().values(key=_dialect_key(environment, version), value=effective_dialect(dialect) or ""))
                if conn.dialect.name == "postgresql":
                    payload = environment if len(environment.encode("utf-8")) < _MAX_PAYLOAD else ""
                    conn.execute(text("SELECT pg_notify(:channel, :payload)"),
                                 {"channel": POLICY_CHANNEL, "payload": payload})
            return version
        except IntegrityError:
            continue
        except SQLAlchemyError as error:
            raise FactStoreError(f"Storing the policy of environment {environment!r} failed: {error}") from error
    raise FactStoreError(f"Storing the policy of environment {environment!r} failed: concurrent policy writes")
