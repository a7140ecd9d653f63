"""Async decisions over SQLAlchemy's asyncio extension (AsyncSession + aiosqlite):

* objects loaded with an `AsyncSession` and NO eager loading: the policy's reads of lazy
  relationships (`org.org_roles`, `repo.org`, `issue.repo`...) load in the event loop during
  `is_allowed_async` (engine greenlets speak SQLAlchemy's greenlet protocol), and every decision
  equals the sync engine's on a sync `Session` over the same database;
* `SqlAlchemyAdapter(async_session)`: `authorized_resources_async` returns the same rows as the
  sync `authorized_resources` (one SQL statement), `authorized_query_async` builds a `Select`;
* `Relation` fields read through an AsyncSession adapter in async decisions;
* the clear errors when an AsyncSession adapter is used from synchronous code.
"""

from __future__ import annotations

import pytest

pytest.importorskip("greenlet")
pytest_asyncio = pytest.importorskip("pytest_asyncio")
pytest.importorskip("aiosqlite")
sa = pytest.importorskip("sqlalchemy")

from sqlalchemy import create_engine, event, select  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from engine_under_test import LEGACY  # noqa: E402
from filter_scenarios import GITHUB, SCENARIOS, User, random_rows  # noqa: E402
from filter_sqlalchemy_models import MODELS, TABLES, Base, Issue, Org, OrgRole, Repo, RepoRole  # noqa: E402
from oso_core import Oso  # noqa: E402
from oso_core.data.adapter.sqlalchemy_adapter import SqlAlchemyAdapter  # noqa: E402
from oso_core.data_filtering import Relation  # noqa: E402
from oso_core.exceptions import UnsupportedError  # noqa: E402

pytestmark = pytest.mark.skipif(LEGACY, reason="async decisions are an oso_core API")


LAZY = {"Org": "org_roles", "Repo": "org", "Issue": "repo"}   # a lazy relationship of each model


@pytest_asyncio.fixture
async def database(tmp_path):
    """A seeded SQLite file: (sync engine, async engine)."""
    path = tmp_path / "github.db"
    engine = create_engine(f"sqlite:///{path}")
    Base.metadata.create_all(engine)
    rows = random_rows(5)
    with Session(engine) as session:
        for table, model in TABLES:
            session.add_all(model(**r) for r in rows[table])
            session.flush()
        session.commit()
    async_engine = create_async_engine(f"sqlite+aiosqlite:///{path}")
    yield engine, async_engine
    await async_engine.dispose()   # closes aiosqlite's connection threads before the loop ends
    engine.dispose()


def make_oso(session, policy, **register) -> Oso:
    oso = Oso()
    oso.set_data_filtering_adapter(SqlAlchemyAdapter(session))
    oso.register_class(User)
    for model in (Org, Repo, Issue, OrgRole, RepoRole):
        oso.register_class(model, **register.get(model.__name__, {}))
    oso.load_str(policy)
    return oso


@pytest.mark.asyncio
@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
async def test_lazy_relationships_load_during_async_decisions(database, scenario):
    engine, async_engine = database
    statements: list = []
    event.listen(async_engine.sync_engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    with Session(engine) as session:
        sync_oso = make_oso(session, scenario.policy)
        async with async_sessionmaker(async_engine, expire_on_commit=False)() as async_session:
            async_oso = make_oso(async_session, scenario.policy)
            checked = allowed = 0
            for type_name in sorted({t for _, t in scenario.checks}):
                model = MODELS[type_name]
                sync_rows = {r.id: r for r in session.scalars(select(model))}
                async_rows = {r.id: r for r in (await async_session.scalars(select(model))).all()}
                if checked == 0:
                    # Not loaded: reading one here (sync code) would need I/O. (Later models'
                    # rows may be in the identity map already, loaded by earlier decisions.)
                    assert all(LAZY[type_name] in sa.inspect(r).unloaded for r in async_rows.values())
                for user_id in range(1, 7):
                    for action in [a for a, t in scenario.checks if t == type_name]:
                        for key in sorted(sync_rows):
                            expected = sync_oso.is_allowed(User(user_id), action, sync_rows[key])
                            got = await async_oso.is_allowed_async(User(user_id), action, async_rows[key])
                            assert got is expected, (scenario.name, user_id, action, type_name, key)
                            checked += 1
                            allowed += expected
            assert checked and 0 < allowed < checked
            loads = [s for s in statements if "WHERE" in s]
            if scenario.policy is GITHUB:
                assert len(loads) > 10, "the policy's relationship reads loaded rows lazily"


@pytest.mark.asyncio
@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
async def test_authorized_resources_async_on_an_async_session(database, scenario):
    engine, async_engine = database
    statements: list = []
    event.listen(async_engine.sync_engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    with Session(engine) as session:
        sync_oso = make_oso(session, scenario.policy)
        async with AsyncSession(async_engine) as async_session:
            async_oso = make_oso(async_session, scenario.policy)
            for user_id in range(1, 7):
                for action, type_name in scenario.checks:
                    model = MODELS[type_name]
                    expected = sorted(r.id for r in sync_oso.authorized_resources(User(user_id), action, model))
                    statements.clear()
                    rows = await async_oso.authorized_resources_async(User(user_id), action, model)
                    assert len(statements) == 1, statements
                    assert all(isinstance(r, model) for r in rows)
                    assert sorted(r.id for r in rows) == expected, (scenario.name, user_id, action)
                    query = await async_oso.authorized_query_async(User(user_id), action, model)
                    assert isinstance(query, sa.Select)
                    adapter = async_oso.host.adapter
                    assert sorted(r.id for r in await adapter.execute_query_async(query)) == expected


@pytest.mark.asyncio
async def test_relation_fields_read_through_an_async_adapter(database):
    engine, async_engine = database
    policy = """
        allow(user: User, "read", issue: Issue) if issue.repo.owner_id = user.id;
        allow(user: User, "triage", issue: Issue) if role in issue.repo.repo_roles and role.user_id = user.id;
    """
    fields = {
        "Issue": {"fields": {"repo": Relation("one", "Repo", "repo_id", "id")}},
        "Repo": {"fields": {"repo_roles": Relation("many", "RepoRole", "id", "repo_id")}},
    }
    with Session(engine) as session:
        sync_oso = make_oso(session, policy, **fields)
        issues = session.scalars(select(Issue)).all()
        expected = [sync_oso.is_allowed(User(u), a, i) for u in range(1, 7) for a in ("read", "triage") for i in issues]
        async with AsyncSession(async_engine) as async_session:
            async_oso = make_oso(async_session, policy, **fields)
            async_issues = (await async_session.scalars(select(Issue).order_by(Issue.id))).all()
            assert [i.id for i in async_issues] == [i.id for i in issues]
            got = [await async_oso.is_allowed_async(User(u), a, i)
                   for u in range(1, 7) for a in ("read", "triage") for i in async_issues]
            assert got == expected and any(got)
            # The sync API cannot await the AsyncSession: a clear error, not a hang or a coroutine.
            with pytest.raises(UnsupportedError, match="AsyncSession"):
                async_oso.is_allowed(User(1), "read", async_issues[0])


@pytest.mark.asyncio
async def test_async_session_adapter_from_sync_code_is_a_clear_error(database):
    _, async_engine = database
    async with AsyncSession(async_engine) as async_session:
        oso = make_oso(async_session, GITHUB)
        adapter = oso.host.adapter
        assert adapter.is_async and adapter.statement
        with pytest.raises(UnsupportedError, match=r"authorized_resources_async"):
            oso.authorized_resources(User(1), "read", Repo)
        query = oso.authorized_query(User(1), "read", Repo)   # building needs no I/O
        assert isinstance(query, sa.Select)
        with pytest.raises(TypeError, match="synchronous Session"):
            await SqlAlchemyAdapter(Session()).execute_query_async(query)
