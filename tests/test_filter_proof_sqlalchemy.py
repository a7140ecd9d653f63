"""Proof that data filtering is exact on SQLAlchemy: for random data and several policies, the
rows `authorized_resources` returns are exactly those for which `is_allowed` is true.
Runs on SQLite and on PostgreSQL, and checks that each call is one SQL statement."""

from __future__ import annotations

import pytest

sa = pytest.importorskip("sqlalchemy")

from sqlalchemy import Boolean, ForeignKey, Integer, String, create_engine, event, text  # noqa: E402
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship  # noqa: E402

from filter_scenarios import SCENARIOS, User, random_rows  # noqa: E402
from fixtures.databases import fresh_schema_name, postgres_url, require_postgres  # noqa: E402
from oso_core import Oso  # noqa: E402
from oso_core.data.adapter.sqlalchemy_adapter import SqlAlchemyAdapter  # noqa: E402


class Base(DeclarativeBase):
    pass


class Org(Base):
    __tablename__ = "orgs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(40))
    org_roles: Mapped[list["OrgRole"]] = relationship(back_populates="org")


class Repo(Base):
    __tablename__ = "repos"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(40))
    org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id"), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("repos.id"), nullable=True, index=True)
    owner_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    is_public: Mapped[bool] = mapped_column(Boolean)
    is_archived: Mapped[bool] = mapped_column(Boolean)
    org: Mapped[Org] = relationship()
    parent: Mapped["Repo | None"] = relationship(remote_side=[id])
    issues: Mapped[list["Issue"]] = relationship(back_populates="repo")
    repo_roles: Mapped[list["RepoRole"]] = relationship(back_populates="repo")


class Issue(Base):
    __tablename__ = "issues"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    repo_id: Mapped[int] = mapped_column(ForeignKey("repos.id"), index=True)
    creator_id: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(40))
    closed: Mapped[bool] = mapped_column(Boolean)
    repo: Mapped[Repo] = relationship(back_populates="issues")


class OrgRole(Base):
    __tablename__ = "org_roles"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer, index=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id"), index=True)
    name: Mapped[str] = mapped_column(String(20))
    org: Mapped[Org] = relationship(back_populates="org_roles")


class RepoRole(Base):
    __tablename__ = "repo_roles"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer, index=True)
    repo_id: Mapped[int] = mapped_column(ForeignKey("repos.id"), index=True)
    name: Mapped[str] = mapped_column(String(20))
    repo: Mapped[Repo] = relationship(back_populates="repo_roles")


MODELS = {"Org": Org, "Repo": Repo, "Issue": Issue}
TABLES = [("orgs", Org), ("repos", Repo), ("issues", Issue), ("org_roles", OrgRole), ("repo_roles", RepoRole)]


def make_engine(backend: str):
    if backend == "sqlite":
        return create_engine("sqlite://"), None
    require_postgres()
    schema = fresh_schema_name()
    admin = create_engine(postgres_url())
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    engine = create_engine(postgres_url(), connect_args={"options": f"-csearch_path={schema}"})
    return engine, schema


def drop(engine, schema):
    engine.dispose()
    if schema is not None:
        admin = create_engine(postgres_url())
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request):
    engine, schema = make_engine(request.param)
    Base.metadata.create_all(engine)
    yield engine
    drop(engine, schema)


def seed(session: Session, rows: dict) -> None:
    for table, model in TABLES:
        session.add_all(model(**r) for r in rows[table])
        session.flush()
    session.commit()


def make_oso(session: Session, policy: str) -> Oso:
    oso = Oso()
    oso.set_data_filtering_adapter(SqlAlchemyAdapter(session))
    oso.register_class(User)
    for model in (Org, Repo, Issue, OrgRole, RepoRole):
        oso.register_class(model)
    oso.load_str(policy)
    return oso


@pytest.mark.parametrize("data_seed", [1, 2])
@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_authorized_rows_equal_allowed_rows(database, scenario, data_seed):
    rows = random_rows(data_seed)
    with Session(database) as session:
        seed(session, rows)
        oso = make_oso(session, scenario.policy)
        statements = []
        event.listen(database, "before_cursor_execute", lambda *a: statements.append(a[2]))
        checked = 0
        for user_id in range(1, 7):
            user = User(user_id)
            for action, type_name in scenario.checks:
                model = MODELS[type_name]
                statements.clear()
                got = sorted(r.id for r in oso.authorized_resources(user, action, model))
                assert len(statements) == 1, statements
                expected = sorted(r.id for r in session.scalars(sa.select(model)) if oso.is_allowed(user, action, r))
                assert got == expected, (scenario.name, user_id, action, type_name)
                checked += len(expected)
        assert checked > 0   # the data must let somebody see something
