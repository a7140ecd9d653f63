"""The data-filtering benchmark's database: models, generated rows, bulk loading, hand SQL.

Shared by the oso_core side (:mod:`benchmarks.filtering`) and the legacy side
(:mod:`benchmarks.filtering_legacy`, run in another interpreter), so this module imports
neither engine: only SQLAlchemy and the standard library.

The schema and the policy are imported from the data-filtering proof tests
(``tests/filter_scenarios.py`` -- the ``GITHUB`` policy -- and
``tests/filter_sqlalchemy_models.py``): orgs, repos (with a parent repo), issues, org roles
and repo roles, with indexes on every foreign key and on the roles' ``user_id``.
"""

from __future__ import annotations

import os
import random
import sys
from dataclasses import dataclass
from typing import Optional

from sqlalchemy import create_engine, text

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TESTS_DIR = os.path.join(REPO_ROOT, "tests")

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


# The schema, the actor and the policy are the proof tests' own (one source of truth).
if TESTS_DIR not in sys.path:
    sys.path.insert(0, TESTS_DIR)
from filter_scenarios import GITHUB, User  # noqa: E402, F401
from filter_sqlalchemy_models import Base, Issue, Org, OrgRole, Repo, RepoRole  # noqa: E402, F401


def github_policy() -> str:
    """The ``GITHUB`` policy of ``tests/filter_scenarios.py``."""
    return GITHUB


MODELS = {"Org": Org, "Repo": Repo, "Issue": Issue, "OrgRole": OrgRole, "RepoRole": RepoRole}
TABLE_ORDER = [("orgs", Org), ("repos", Repo), ("issues", Issue), ("org_roles", OrgRole),
               ("repo_roles", RepoRole)]
COLUMNS = {name: [c.name for c in model.__table__.columns] for name, model in TABLE_ORDER}


# ---------------------------------------------------------------------------------------------
# Generated rows
# ---------------------------------------------------------------------------------------------

PUBLIC_FRACTION = 0.02      # public repos: readable by anybody (the policy's extra allow rule)
BENCH_USER_ID = 1           # the measured user; other users get random roles
REPO_ROLE_NAMES = ("reader", "maintainer", "admin")
ORG_ROLE_NAMES = ("member", "owner")


@dataclass
class Sizes:
    repos: int

    @property
    def orgs(self) -> int:
        return max(2, self.repos // 20)

    @property
    def issues(self) -> int:
        return 2 * self.repos

    @property
    def users(self) -> int:
        return max(10, self.repos // 10)

    @property
    def org_roles(self) -> int:
        return 2 * self.orgs

    @property
    def repo_roles(self) -> int:
        return self.repos

    def describe(self) -> str:
        return (f"{self.repos:,} repos, {self.orgs:,} orgs, {self.issues:,} issues, "
                f"{self.org_roles + 2:,} org roles, {self.repo_roles + 3:,} repo roles, "
                f"{self.users:,} users")


def generate_rows(sizes: Sizes, seed: int = 7) -> dict:
    """Rows of every table as tuples in ``COLUMNS`` order.

    The measured user (id 1) is a member of one org and owner of another, and has one repo
    role of each name on repos of two further orgs; every other role belongs to users 2..N.
    """
    rng = random.Random(seed)
    n_orgs, n_repos = sizes.orgs, sizes.repos
    rows: dict = {name: [] for name, _ in TABLE_ORDER}
    rows["orgs"] = [(i, f"org{i}") for i in range(1, n_orgs + 1)]
    for i in range(1, n_repos + 1):
        org_id = (i - 1) % n_orgs + 1            # ~20 repos per org
        parent = rng.randint(1, i - 1) if i > 1 and rng.random() < 0.3 else None
        owner = rng.randint(1, sizes.users) if rng.random() < 0.5 else None
        rows["repos"].append((i, f"repo{i}", org_id, parent, owner,
                              rng.random() < PUBLIC_FRACTION, rng.random() < 0.1))
    for i in range(1, sizes.issues + 1):
        rows["issues"].append((i, rng.randint(1, n_repos), rng.randint(1, sizes.users),
                               rng.choice(("bug", "crash", "idea", "question")),
                               rng.random() < 0.5))
    others = range(2, sizes.users + 1)
    role_id = 0
    # The measured user: org 1 member, org 2 owner.
    for org_id, name in ((1, "member"), (2, "owner")):
        role_id += 1
        rows["org_roles"].append((role_id, BENCH_USER_ID, org_id, name))
    for _ in range(sizes.org_roles):
        role_id += 1
        rows["org_roles"].append((role_id, rng.choice(others), rng.randint(1, n_orgs),
                                  rng.choice(ORG_ROLE_NAMES)))
    # The measured user: one repo role of each name, on repos outside orgs 1 and 2.
    candidates = [i for i in range(1, n_repos + 1) if (i - 1) % n_orgs + 1 not in (1, 2)]
    for repo_id, name in zip(rng.sample(candidates, 3), REPO_ROLE_NAMES):
        role_id += 1
        rows["repo_roles"].append((role_id, BENCH_USER_ID, repo_id, name))
    for _ in range(sizes.repo_roles):
        role_id += 1
        rows["repo_roles"].append((role_id, rng.choice(others), rng.randint(1, n_repos),
                                   rng.choice(REPO_ROLE_NAMES)))
    return rows


# ---------------------------------------------------------------------------------------------
# Databases
# ---------------------------------------------------------------------------------------------

@dataclass
class Database:
    backend: str           # "sqlite" | "postgresql"
    url: str               # SQLAlchemy URL (the other interpreter may swap the driver)
    schema: Optional[str]  # PostgreSQL schema holding the tables

    def engine(self, url: Optional[str] = None):
        """A new engine on this database (``search_path`` set to the schema on PostgreSQL)."""
        url = url or self.url
        if self.schema is None:
            return create_engine(url)
        return create_engine(url, connect_args={"options": f"-csearch_path={self.schema}"})

    def to_json(self) -> dict:
        return {"backend": self.backend, "url": self.url, "schema": self.schema}


def create_database(backend: str, label: str, sqlite_dir: Optional[str] = None,
                    postgres_url: str = DEFAULT_POSTGRES_URL) -> Database:
    """An empty database: a fresh SQLite file, or a fresh schema on the PostgreSQL server."""
    if backend == "sqlite":
        directory = sqlite_dir or "/tmp"
        path = os.path.join(directory, f"oso_filter_bench_{os.getpid()}_{label}.sqlite")
        if os.path.exists(path):
            os.remove(path)
        return Database("sqlite", f"sqlite:///{path}", None)
    schema = f"oso_filter_bench_{os.getpid()}_{label}"
    admin = create_engine(postgres_url)
    try:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    finally:
        admin.dispose()
    return Database("postgresql", postgres_url, schema)


def drop_database(db: Database) -> None:
    if db.backend == "sqlite":
        path = db.url[len("sqlite:///"):]
        for suffix in ("", "-journal", "-wal", "-shm"):
            if os.path.exists(path + suffix):
                os.remove(path + suffix)
        return
    admin = create_engine(db.url)
    try:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{db.schema}" CASCADE'))
    finally:
        admin.dispose()


def load(db: Database, rows: dict) -> None:
    """Create the tables and bulk-insert the rows.

    Tables are created without their indexes, filled (PostgreSQL: ``COPY``; SQLite: one
    ``executemany`` per table in a single transaction), then indexed and analyzed.
    """
    engine = db.engine()
    try:
        tables = [model.__table__ for _, model in TABLE_ORDER]
        indexes = [index for table in tables for index in table.indexes]
        with engine.begin() as conn:
            for table in tables:
                table.create(conn)
                for index in table.indexes:
                    index.drop(conn)
        if db.backend == "postgresql":
            _copy_postgres(engine, rows)
        else:
            with engine.begin() as conn:
                raw = conn.connection.driver_connection
                for name, _ in TABLE_ORDER:
                    columns = COLUMNS[name]
                    raw.executemany(
                        f"INSERT INTO {name} ({', '.join(columns)}) "
                        f"VALUES ({', '.join('?' for _ in columns)})", rows[name])
        with engine.begin() as conn:
            for index in indexes:
                index.create(conn)
            conn.execute(text("ANALYZE"))
    finally:
        engine.dispose()


def _copy_postgres(engine, rows: dict) -> None:
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        for name, _ in TABLE_ORDER:
            columns = ", ".join(COLUMNS[name])
            with cursor.copy(f"COPY {name} ({columns}) FROM STDIN") as copy:
                for row in rows[name]:
                    copy.write_row(row)
        raw.commit()
    finally:
        raw.close()


# ---------------------------------------------------------------------------------------------
# The same filters written by hand
# ---------------------------------------------------------------------------------------------

# "read" on Repo: a public repo, a repo role (reader < maintainer < admin all grant read), or
# a role on the repo's org (member -> reader, owner -> admin).
HAND_SQL = {
    ("read", "Repo"): """
        SELECT r.id FROM repos r
        WHERE r.is_public
           OR r.id IN (SELECT rr.repo_id FROM repo_roles rr
                       WHERE rr.user_id = :user_id
                         AND rr.name IN ('reader', 'maintainer', 'admin'))
           OR r.org_id IN (SELECT o.org_id FROM org_roles o
                           WHERE o.user_id = :user_id AND o.name IN ('member', 'owner'))
    """,
    # "read" on Issue: "read" permission on its repo -- roles only; the public-repo rule is an
    # `allow` rule, not a permission, so it does not extend to issues.
    ("read", "Issue"): """
        SELECT i.id FROM issues i
        WHERE i.repo_id IN (SELECT rr.repo_id FROM repo_roles rr
                            WHERE rr.user_id = :user_id
                              AND rr.name IN ('reader', 'maintainer', 'admin'))
           OR i.repo_id IN (SELECT r.id FROM repos r JOIN org_roles o ON o.org_id = r.org_id
                            WHERE o.user_id = :user_id AND o.name IN ('member', 'owner'))
    """,
}

CASES = [("read", "Repo"), ("read", "Issue")]


def hand_query(session, action: str, type_name: str, user_id: int = BENCH_USER_ID):
    """`HAND_SQL` written by hand as an ORM `Query` (what `authorized_query` returns): the
    floor for building a filter query in Python."""
    from sqlalchemy import or_, select
    repo_grant = select(RepoRole.repo_id).where(
        RepoRole.user_id == user_id, RepoRole.name.in_(REPO_ROLE_NAMES))
    if type_name == "Repo":
        org_grant = select(OrgRole.org_id).where(
            OrgRole.user_id == user_id, OrgRole.name.in_(ORG_ROLE_NAMES))
        return session.query(Repo).filter(or_(Repo.is_public, Repo.id.in_(repo_grant),
                                              Repo.org_id.in_(org_grant)))
    org_repos = select(Repo.id).join(OrgRole, OrgRole.org_id == Repo.org_id).where(
        OrgRole.user_id == user_id, OrgRole.name.in_(ORG_ROLE_NAMES))
    return session.query(Issue).filter(or_(Issue.repo_id.in_(repo_grant),
                                           Issue.repo_id.in_(org_repos)))


def hand_ids(conn, action: str, type_name: str, user_id: int = BENCH_USER_ID) -> list:
    """The ids the hand-written SQL selects, sorted."""
    return sorted(conn.execute(text(HAND_SQL[action, type_name]), {"user_id": user_id}).scalars())


def expected_ids(rows: dict, action: str, type_name: str, user_id: int = BENCH_USER_ID) -> list:
    """The same answer computed in plain Python from the generated rows (checks the hand SQL)."""
    repo_grant = {r[2] for r in rows["repo_roles"] if r[1] == user_id and r[3] in REPO_ROLE_NAMES}
    org_grant = {r[2] for r in rows["org_roles"] if r[1] == user_id and r[3] in ORG_ROLE_NAMES}
    by_role = {r[0] for r in rows["repos"] if r[0] in repo_grant or r[2] in org_grant}
    if type_name == "Repo":
        return sorted(by_role | {r[0] for r in rows["repos"] if r[5]})
    return sorted(i[0] for i in rows["issues"] if i[1] in by_role)
