"""Batch insert into the fact store: N facts in one `FactStore.batch()`, on a SQLite file and on
PostgreSQL, timed once each (wall seconds, including validation, value-id hashing and the commit).

    python -m benchmarks.facts_load                 # 100k facts on SQLite and PostgreSQL
    python -m benchmarks.facts_load --facts 1000 --backends sqlite
    python -m benchmarks.facts_load --preload 1.0   # the batch on the 1.1M facts of facts_decisions

With `--preload SCALE` the database first holds the dataset of benchmarks/facts_dataset.py at that
scale (bulk-loaded as benchmarks.facts_decisions loads it, not timed) under its GitHub-like
policy, and the batch is the one facts_decisions times: `has_role(User "batch-user-<i>",
"reader", <existing repo>)`. That is the issue's figure: inserts into indexes of 1.1M rows.

PostgreSQL is `OSO_TEST_POSTGRES_URL` (default: the local test server); the run works in a fresh
schema it drops afterwards. Target (issue 13): 100k facts in at most 5 s on PostgreSQL.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import uuid
from contextlib import contextmanager
from time import perf_counter
from typing import Iterator, Optional

from sqlalchemy import Engine, create_engine, func, select, text

from oso_core.facts import FactStore
from oso_core.facts.schema import facts_table
from oso_core.values import Value

from . import facts_dataset as fd
from . import facts_policy as fp

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
POLICY = """
declare has_role(User, String, Org);
declare has_role(User, String, Repo);
declare has_relation(Repo, String, Org);
allow(u, "read", r: Repo) if has_role(u, "member", r);
"""
ROLES = ("member", "admin", "owner")
MAX_FACTS = 2_000_000  # one batch is held in memory: keep a run bounded


def make_facts(count: int) -> list[tuple]:
    """`count` distinct facts shaped like a GitHub model: one repo per 10 role facts, one org per
    10 repos (each repo's parent relation), the rest role assignments."""
    facts: list[tuple] = []
    repos = max(1, count // 10)
    for r in range(repos):
        if len(facts) >= count:
            break
        facts.append(("has_relation", Value("Repo", f"repo-{r}"), "parent", Value("Org", f"org-{r // 10}")))
    i = 0
    while len(facts) < count:
        facts.append(("has_role", Value("User", f"user-{i // len(ROLES)}"), ROLES[i % len(ROLES)],
                      Value("Repo", f"repo-{i % repos}")))
        i += 1
    return facts


def preloaded_facts(count: int, sizes: fd.Sizes) -> list[tuple]:
    """`count` new role facts on the dataset's repos (the batch of benchmarks.facts_decisions)."""
    return [("has_role", Value("User", f"batch-user-{i}"), "reader", fd.repo(i % sizes.repos)) for i in range(count)]


def stored_count(store: FactStore) -> int:
    with store.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(facts_table)
                            .where(facts_table.c.env == store.environment)).scalar()


def time_load(store: FactStore, facts: list[tuple]) -> float:
    """Seconds to insert `facts` (all new) in one batch; checks that they all arrived."""
    before = stored_count(store)
    start = perf_counter()
    with store.batch() as tx:
        for fact in facts:
            tx.insert(fact)
    seconds = perf_counter() - start
    stored = stored_count(store) - before
    if stored != len(facts):
        raise AssertionError(f"{stored} facts stored, {len(facts)} inserted")
    return seconds


@contextmanager
def sqlite_store(directory: Optional[str]) -> Iterator[FactStore]:
    with tempfile.TemporaryDirectory(dir=directory) as tmp:
        store = FactStore(os.path.join(tmp, "facts.db"))
        try:
            yield store
        finally:
            store.close()


@contextmanager
def postgres_store() -> Iterator[FactStore]:
    url = os.environ.get("OSO_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)
    schema = f"oso_bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine: Engine = create_engine(url, connect_args={"options": f"-csearch_path={schema}"})
    try:
        yield FactStore(engine)
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def run(count: int, backends: list[str], sqlite_dir: Optional[str] = None,
        preload: Optional[float] = None) -> dict[str, float]:
    """Seconds per backend for one batch of `count` new facts (after bulk-loading the dataset at
    scale `preload`, if given)."""
    sizes = None if preload is None else fd.Sizes(preload)
    facts = make_facts(count) if sizes is None else preloaded_facts(count, sizes)
    rows = None if sizes is None else fd.rows(fd.generate(sizes))
    results: dict[str, float] = {}
    for backend in backends:
        opener = sqlite_store(sqlite_dir) if backend == "sqlite" else postgres_store()
        with opener as store:
            if rows is None:
                store.policy(POLICY, dialect="legacy")
            else:
                store.policy(fp.POLICY, "github.polar", dialect="legacy")
                fd.load(fd.Database(backend, store.engine), *rows)
            results[backend] = time_load(store, facts)
    return results


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--facts", type=int, default=100_000)
    parser.add_argument("--backends", default="sqlite,postgresql", help="comma-separated: sqlite, postgresql")
    parser.add_argument("--preload", type=float, default=None, metavar="SCALE",
                        help="first bulk-load the facts_decisions dataset at this scale (1.0: 1.1M facts)")
    args = parser.parse_args(argv)
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    unknown = set(backends) - {"sqlite", "postgresql"}
    if unknown:
        parser.error(f"unknown backends: {', '.join(sorted(unknown))}")
    if not 1 <= args.facts <= MAX_FACTS:
        parser.error(f"--facts must be between 1 and {MAX_FACTS:,}")
    if args.preload is not None and not 0 < args.preload <= 1.0:
        parser.error("--preload must be in (0, 1]")
    where = "" if args.preload is None else f" on the dataset at scale {args.preload}"
    for backend, seconds in run(args.facts, backends, preload=args.preload).items():
        print(f"{backend:<11} {args.facts:>9,} facts in one batch{where}: {seconds:6.2f} s "
              f"({args.facts / seconds:,.0f} facts/s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
