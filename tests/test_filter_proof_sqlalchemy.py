"""Proof that data filtering is exact on SQLAlchemy: for random data and several policies, the
rows `authorized_resources` returns are exactly those for which `is_allowed` is true.
Runs on SQLite and on PostgreSQL, and checks that each call is one SQL statement."""

from __future__ import annotations

import pytest

sa = pytest.importorskip("sqlalchemy")

from sqlalchemy import create_engine, event  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from filter_scenarios import SCENARIOS, User, random_rows  # noqa: E402
from filter_sqlalchemy_models import MODELS, TABLES, Base, Issue, Org, OrgRole, Repo, RepoRole  # noqa: E402
from fixtures.databases import postgres_engine  # noqa: E402
from oso_core import Oso  # noqa: E402
from oso_core.data.adapter.sqlalchemy_adapter import SqlAlchemyAdapter  # noqa: E402


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request):
    if request.param == "sqlite":
        engine = create_engine("sqlite://")
        Base.metadata.create_all(engine)
        yield engine
        engine.dispose()
        return
    engine, drop = postgres_engine(Base.metadata)
    yield engine
    drop()


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
