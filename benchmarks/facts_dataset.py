"""The fact-store benchmark's data: a seeded GitHub-like set of facts, bulk-loaded into the
fact store's own tables (oso_core/facts/schema.py).

At scale 1.0: 10,000 orgs, 100,000 repos (each `has_relation(Repo, "parent", Org)`), 100,000
users and 1,000,000 role facts `has_role(User, role, Org)` (member/admin) and
`has_role(User, role, Repo)` (reader/maintainer/admin). `--scale 0.001` gives the same shape
a thousand times smaller.

Users differ on purpose, so that `list` is measured for both kinds:

* "heavy" users (1 in 10,000, at least one) are members of many orgs (up to 50, so ~500
  readable repos at scale 1);
* "light" users have exactly one repo role;
* every other role fact goes to a random user (~10 each).

The rows are written straight into the schema, without the store's insert path (that is
measured separately, by the 100k batch): PostgreSQL through `COPY` (psycopg's
`cursor.copy`), SQLite with one `executemany` per table in one transaction; then `ANALYZE`.
"""

from __future__ import annotations

import os
import random
import secrets
import shutil
import tempfile
from dataclasses import dataclass, field
from time import perf_counter
from typing import Optional

from sqlalchemy import Engine, create_engine, text

from oso_core.facts import schema
from oso_core.values import Value

DEFAULT_POSTGRES_URL = os.environ.get("OSO_TEST_POSTGRES_URL",
                                      "postgresql+psycopg://postgres@127.0.0.1:5432/test")
ENVIRONMENT = "default"
ORG_ROLES = ("member", "admin")
REPO_ROLES = ("reader", "maintainer", "admin")
ORG_ROLE_SHARE = 0.3          # of the role facts, this share are org roles
HEAVY_ORGS = 50               # orgs a heavy user is a member of (fewer at tiny scales)


@dataclass(frozen=True)
class Sizes:
    """Entity and fact counts at a scale (1.0 = the issue's 1M role facts)."""

    scale: float

    @property
    def orgs(self) -> int:
        return max(4, round(10_000 * self.scale))

    @property
    def repos(self) -> int:
        return 10 * self.orgs

    @property
    def users(self) -> int:
        return max(20, round(100_000 * self.scale))

    @property
    def role_facts(self) -> int:
        return max(40, round(1_000_000 * self.scale))

    @property
    def heavy_users(self) -> int:
        return max(1, self.users // 10_000)

    @property
    def light_users(self) -> int:
        return max(1, self.users // 100)

    def describe(self) -> str:
        return (f"{self.orgs:,} orgs, {self.repos:,} repos, {self.users:,} users, "
                f"{self.role_facts:,} role facts + {self.repos:,} parent relations")


def user(n: int) -> Value:
    return Value("User", f"user-{n}")


def org(n: int) -> Value:
    return Value("Org", f"org-{n}")


def repo(n: int) -> Value:
    return Value("Repo", f"repo-{n}")


@dataclass
class Dataset:
    """The generated facts, as entity numbers (compact), with the indexes the checks need."""

    sizes: Sizes
    parent: list                                  # repo number -> org number
    org_roles: dict = field(default_factory=dict)  # user number -> {org number: set of roles}
    repo_roles: dict = field(default_factory=dict)  # user number -> {repo number: set of roles}
    heavy: list = field(default_factory=list)     # user numbers
    light: list = field(default_factory=list)
    repos_of_org: list = field(default_factory=list)

    @property
    def fact_count(self) -> int:
        roles = sum(len(r) for by in (self.org_roles, self.repo_roles) for rs in by.values()
                    for r in rs.values())
        return roles + len(self.parent)

    def can_read(self, u: int, r: int) -> bool:
        """"read" on repo `r` for user `u`, straight from the policy's meaning (checks the SQL)."""
        if self.repo_roles.get(u, {}).get(r):
            return True     # reader, maintainer and admin all grant read
        return bool(self.org_roles.get(u, {}).get(self.parent[r]))   # member or admin of the org

    def readable(self, u: int) -> set:
        """The repo numbers user `u` may read."""
        found = {r for r, roles in self.repo_roles.get(u, {}).items() if roles}
        for o, roles in self.org_roles.get(u, {}).items():
            if roles:
                found.update(self.repos_of_org[o])
        return found

    def facts(self):
        """Every fact as `(predicate, *args)` with `Value` arguments."""
        for r, o in enumerate(self.parent):
            yield ("has_relation", repo(r), "parent", org(o))
        for kind, by_user, make in (("org", self.org_roles, org), ("repo", self.repo_roles, repo)):
            for u, targets in by_user.items():
                for target, roles in targets.items():
                    for role in sorted(roles):
                        yield ("has_role", user(u), role, make(target))


def generate(sizes: Sizes, seed: int = 13) -> Dataset:
    """The seeded dataset: the same facts for the same sizes and seed."""
    rng = random.Random(seed)
    parent = [rng.randrange(sizes.orgs) for _ in range(sizes.repos)]
    data = Dataset(sizes, parent)
    data.repos_of_org = [[] for _ in range(sizes.orgs)]
    for r, o in enumerate(parent):
        data.repos_of_org[o].append(r)
    data.heavy = list(range(sizes.heavy_users))
    data.light = list(range(sizes.heavy_users, sizes.heavy_users + sizes.light_users))
    count = 0

    def add(by_user: dict, u: int, target: int, role: str) -> int:
        roles = by_user.setdefault(u, {}).setdefault(target, set())
        if role in roles:
            return 0
        roles.add(role)
        return 1

    per_heavy = min(HEAVY_ORGS, sizes.orgs // 2)
    for u in data.heavy:
        for o in rng.sample(range(sizes.orgs), per_heavy):
            count += add(data.org_roles, u, o, "member")
    for u in data.light:
        count += add(data.repo_roles, u, rng.randrange(sizes.repos), rng.choice(REPO_ROLES))
    first_random = sizes.heavy_users + sizes.light_users
    while count < sizes.role_facts:
        u = rng.randrange(first_random, sizes.users)
        if rng.random() < ORG_ROLE_SHARE:
            count += add(data.org_roles, u, rng.randrange(sizes.orgs), rng.choice(ORG_ROLES))
        else:
            count += add(data.repo_roles, u, rng.randrange(sizes.repos), rng.choice(REPO_ROLES))
    return data


def rows(data: Dataset, environment: str = ENVIRONMENT) -> tuple[list, list]:
    """(`oso_values` rows, `oso_facts` rows) for the dataset, each value row once."""
    values: dict = {}

    def vid(arg) -> int:
        parts = schema.typed_parts(arg)
        found = values.get(parts)
        if found is None:
            found = values[parts] = schema.value_id(*parts)
        return found

    facts = []
    for predicate, *args in data.facts():
        ids = [vid(a) for a in args]
        facts.append((environment, predicate, len(ids), *ids, *([0] * (schema.MAX_ARITY - len(ids)))))
    seen: dict = {}
    for (type_name, id_text), v in values.items():
        if seen.setdefault(v, (type_name, id_text)) != (type_name, id_text):
            raise RuntimeError(f"value id collision: {seen[v]} and {(type_name, id_text)}")
    value_rows = [(v, t, i) for (t, i), v in values.items()]
    facts.sort(key=lambda row: row[1:])    # primary-key order: cheaper index building
    return value_rows, facts


# ---------------------------------------------------------------------------------------------
# Databases
# ---------------------------------------------------------------------------------------------

@dataclass
class Database:
    """An empty database of one backend: a SQLite file in a temp dir, or a fresh PostgreSQL
    schema (`oso_bench_<random>`, the engine's `search_path`). `drop()` removes it."""

    backend: str
    engine: Engine
    schema_name: Optional[str] = None
    directory: Optional[str] = None
    admin_url: Optional[str] = None

    def drop(self) -> None:
        self.engine.dispose()
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)
        if self.schema_name is not None:
            admin = create_engine(self.admin_url)
            try:
                with admin.begin() as conn:
                    conn.execute(text(f'DROP SCHEMA IF EXISTS "{self.schema_name}" CASCADE'))
            finally:
                admin.dispose()


def create_database(backend: str, postgres_url: str = DEFAULT_POSTGRES_URL) -> Database:
    """A fresh, empty database (no tables yet)."""
    if backend == "sqlite":
        directory = tempfile.mkdtemp(prefix="oso_bench_")
        engine = create_engine(f"sqlite:///{os.path.join(directory, 'facts.sqlite')}")
        return Database("sqlite", engine, directory=directory)
    if backend != "postgresql":
        raise ValueError(f"backend is sqlite or postgresql, got {backend!r}")
    # OSO_BENCH_SCHEMA_PREFIX: runs sharing one server keep apart by prefix (default oso_bench_).
    name = f"{os.environ.get('OSO_BENCH_SCHEMA_PREFIX', 'oso_bench_')}{secrets.token_hex(4)}"
    admin = create_engine(postgres_url)
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{name}"'))
    finally:
        admin.dispose()
    engine = create_engine(postgres_url, connect_args={"options": f"-csearch_path={name}"})
    return Database("postgresql", engine, schema_name=name, admin_url=postgres_url)


def postgres_available(postgres_url: str = DEFAULT_POSTGRES_URL) -> Optional[str]:
    """None if the PostgreSQL server answers, else why not."""
    try:
        engine = create_engine(postgres_url, connect_args={"connect_timeout": 3})
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        finally:
            engine.dispose()
    except Exception as error:  # noqa: BLE001 -- any failure means "not available"
        return f"{type(error).__name__}: {str(error).strip().splitlines()[0]}"
    return None


def load(db: Database, value_rows: list, fact_rows: list) -> float:
    """Bulk-load the rows into the (existing) schema tables and ANALYZE; the seconds it took."""
    start = perf_counter()
    schema.metadata.create_all(db.engine)    # a no-op where the store already created them
    raw = db.engine.raw_connection()
    try:
        if db.backend == "postgresql":
            cursor = raw.cursor()
            with cursor.copy("COPY oso_values (vid, type, id) FROM STDIN") as copy:
                for row in value_rows:
                    copy.write_row(row)
            columns = ", ".join(("env", "predicate", "arity", *schema.ARG_COLUMNS))
            with cursor.copy(f"COPY oso_facts ({columns}) FROM STDIN") as copy:
                for row in fact_rows:
                    copy.write_row(row)
            raw.commit()
            for table in ("oso_values", "oso_facts"):
                _analyze_postgres(raw, table)
        else:
            cursor = raw.cursor()
            cursor.executemany("INSERT INTO oso_values (vid, type, id) VALUES (?, ?, ?)", value_rows)
            cursor.executemany("INSERT INTO oso_facts (env, predicate, arity, a0, a1, a2, a3, a4) "
                               "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", fact_rows)
            raw.commit()
            cursor.execute("ANALYZE")
            raw.commit()
    finally:
        raw.close()
    return perf_counter() - start


def _analyze_postgres(raw, table: str, attempts: int = 5) -> None:
    """ANALYZE one table in its own transaction; autovacuum analyzing the freshly loaded tables
    at the same time can deadlock with it (the server then cancels one of the two): retry."""
    import psycopg

    for attempt in range(attempts):
        try:
            raw.cursor().execute(f"ANALYZE {table}")
            raw.commit()
            return
        except psycopg.errors.DeadlockDetected:
            raw.rollback()
            if attempt == attempts - 1:
                raise
