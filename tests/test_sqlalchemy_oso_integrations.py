"""sqlalchemy_oso with relationship loader defaults, asyncio sessions and Flask-SQLAlchemy 3."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Session,
    mapped_column,
    relationship,
    selectinload,
)
from sqlalchemy_oso_models import Base, Issue, Repo, Tag, User, populate

from oso_core import Oso
from oso_core.exceptions import OsoError
from sqlalchemy_oso import register_models
from sqlalchemy_oso.async_session import (
    async_authorized_sessionmaker,
    async_scoped_session,
    authorized_async_sessionmaker,
)
from sqlalchemy_oso.session import AuthorizedSession

POLICY = """
    allow(_, "read", r: Repo) if r.is_public;
    allow(u: User, "read", r: Repo) if r.org_id = u.org_id;
    allow(_, "read", t: Tag) if t.is_public;
    allow(u: User, "read", i: Issue) if i.author = u;
"""


@pytest.fixture
def oso():
    o = Oso()
    register_models(o, Base)
    o.load_str(POLICY)
    return o


def _user(id: int, org_id) -> User:
    return User(id=id, name=f"user{id}", org_id=org_id)


# ---------------------------------------------------------------------------------------------
# Relationship loader strategies declared on the mapping

@pytest.mark.parametrize("strategy", ["select", "joined", "subquery", "selectin", "immediate"])
def test_default_loader_strategies(strategy):
    class B2(DeclarativeBase):
        pass

    class Parent(B2):
        __tablename__ = "parents"
        id: Mapped[int] = mapped_column(primary_key=True)
        children: Mapped[list[Child]] = relationship(lazy=strategy, back_populates="parent")

    class Child(B2):
        __tablename__ = "children"
        id: Mapped[int] = mapped_column(primary_key=True)
        parent_id: Mapped[int] = mapped_column(sa.ForeignKey("parents.id"))
        parent: Mapped[Parent] = relationship(back_populates="children", lazy=strategy)

    engine = sa.create_engine("sqlite://")
    B2.metadata.create_all(engine)
    with Session(engine) as s:
        p0, p1 = Parent(id=0), Parent(id=1)
        s.add_all([p0, p1, Child(id=0, parent=p0), Child(id=1, parent=p0), Child(id=2, parent=p1)])
        s.commit()
    o = Oso()
    o.register_class(Parent)
    o.register_class(Child)
    o.load_str("allow(_, _, p: Parent) if p.id = 0; allow(_, _, c: Child) if c.id = 0 or c.id = 2;")
    with AuthorizedSession(o, "u", {Parent: "read", Child: "read"}, bind=engine) as s:
        parent = s.scalars(sa.select(Parent)).unique().one()
        assert [c.id for c in parent.children] == [0]
        orphan = s.get(Child, 2)
        assert orphan.parent is None          # parent 1 is not readable
    with AuthorizedSession(o, "u", {Parent: "read"}, bind=engine) as s:
        assert s.scalars(sa.select(Parent)).unique().one().children == []   # Child: no action


# ---------------------------------------------------------------------------------------------
# asyncio

async def _async_db():
    engine = create_async_engine("sqlite+aiosqlite://")
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    async with AsyncSession(engine) as s:
        await s.run_sync(populate)
    return engine


def test_async_sessionmaker(oso):
    async def main():
        engine = await _async_db()
        alice = _user(1, 1)
        Maker = authorized_async_sessionmaker(lambda: oso, lambda: alice, lambda: {Repo: "read", Tag: "read"},
                                              bind=engine, expire_on_commit=False)
        assert async_authorized_sessionmaker is authorized_async_sessionmaker
        async with Maker() as s:
            repos = (await s.scalars(sa.select(Repo).options(selectinload(Repo.tags)).order_by(Repo.id))).all()
            assert [r.id for r in repos] == [1, 2, 4]
            assert {r.id: [t.name for t in r.tags] for r in repos} == {1: ["python"], 2: [], 4: ["python"]}
            assert await s.get(Repo, 3) is None
            assert (await s.get(Repo, 1)).name == "anvil"
            assert await s.scalar(sa.select(sa.func.count()).select_from(Repo)) == 3
            assert (await s.scalars(sa.select(Issue))).all() == []        # Issue: no action
            with pytest.raises(OsoError):
                await s.execute(sa.select(Repo.__table__))
            s.add(Repo(id=20, name="secret", is_public=False))
            await s.flush()
            assert await s.get(Repo, 20) is None
        await engine.dispose()
    asyncio.run(main())


def test_async_session_with_sync_session_class(oso):
    async def main():
        engine = await _async_db()
        bob = _user(2, 2)
        async with AsyncSession(engine, sync_session_class=AuthorizedSession, oso=oso, user=bob,
                                checked_permissions={Repo: "read"}) as s:
            assert sorted(await s.scalars(sa.select(Repo.id))) == [1, 3, 4]
        factory = async_sessionmaker(engine, sync_session_class=AuthorizedSession)
        async with factory(oso=oso, user=bob, checked_permissions={}) as s:
            assert (await s.scalars(sa.select(Repo))).all() == []
        await engine.dispose()
    asyncio.run(main())


def test_async_scoped_session(oso):
    async def main():
        engine = await _async_db()
        state = {"user": _user(1, 1)}
        scoped = async_scoped_session(lambda: oso, lambda: state["user"], lambda: {Repo: "read"},
                                      scopefunc=asyncio.current_task, bind=engine)
        first = scoped()
        assert sorted(await scoped.scalars(sa.select(Repo.id))) == [1, 2, 4]
        state["user"] = _user(2, 2)
        assert scoped() is not first
        assert sorted(await scoped.scalars(sa.select(Repo.id))) == [1, 3, 4]
        await scoped.remove()
        assert scoped.registry.all_in_scope() == []
        await engine.dispose()
    asyncio.run(main())


# ---------------------------------------------------------------------------------------------
# Flask-SQLAlchemy 3

flask = pytest.importorskip("flask")
pytest.importorskip("flask_sqlalchemy")


@pytest.fixture
def flask_db(oso):
    from sqlalchemy_oso.flask import AuthorizedSQLAlchemy

    app = flask.Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite://"
    perms: dict = {}
    db = AuthorizedSQLAlchemy(get_oso=lambda: oso, get_user=lambda: flask.g.user,
                              get_checked_permissions=lambda: perms)

    class Note(db.Model):
        id: Mapped[int] = mapped_column(primary_key=True)
        owner: Mapped[str]
        public: Mapped[bool] = mapped_column(default=False)

    db.init_app(app)
    oso.register_class(Note)
    oso.clear_rules()
    oso.load_str('allow(u, "read", n: Note) if n.owner = u; allow(_, "read", n: Note) if n.public;')
    perms[Note] = "read"
    with app.app_context():
        db.create_all()
        with Session(db.engine) as s:
            s.add_all([Note(id=1, owner="ann", public=False), Note(id=2, owner="ben", public=False),
                       Note(id=3, owner="ben", public=True), Note(id=4, owner="ann", public=False)])
            s.commit()
    return app, db, Note, perms


def test_flask_sqlalchemy_reads_are_filtered(flask_db):
    from werkzeug.exceptions import NotFound
    app, db, Note, _ = flask_db
    with app.app_context():
        flask.g.user = "ann"
        assert sorted(db.session.execute(db.select(Note.id)).scalars()) == [1, 3, 4]
        assert sorted(n.id for n in Note.query.all()) == [1, 3, 4]
        assert Note.query.filter_by(owner="ben").count() == 1
        assert db.get_or_404(Note, 1).owner == "ann"
        with pytest.raises(NotFound):
            db.get_or_404(Note, 2)
        with pytest.raises(NotFound):
            db.first_or_404(db.select(Note).where(Note.id == 2))
        page = db.paginate(db.select(Note).order_by(Note.id), page=1, per_page=2)
        assert page.total == 3 and [n.id for n in page.items] == [1, 3]
        with pytest.raises(OsoError):
            db.session.execute(sa.text("SELECT * FROM note"))


def test_flask_session_follows_the_user_and_is_closed(flask_db):
    app, db, Note, _ = flask_db
    with app.app_context():
        flask.g.user = "ann"
        first = db.session()
        assert sorted(n.id for n in Note.query) == [1, 3, 4]
        flask.g.user = "ben"           # e.g. a login during the request
        assert db.session() is not first
        assert sorted(n.id for n in Note.query) == [2, 3]
        assert len(db.session.registry.all_in_scope()) == 2
    assert db.session.registry.registry == {}     # both closed at teardown


def test_flask_requests(flask_db):
    app, db, Note, _ = flask_db

    @app.get("/notes/<user>")
    def notes(user):
        flask.g.user = user
        return {"ids": sorted(n.id for n in db.session.scalars(db.select(Note)))}

    client = app.test_client()
    assert client.get("/notes/ann").json == {"ids": [1, 3, 4]}
    assert client.get("/notes/ben").json == {"ids": [2, 3]}
    assert client.get("/notes/zed").json == {"ids": [3]}


def test_flask_legacy_session_factories(flask_db):
    app, db, Note, perms = flask_db
    with app.app_context():
        flask.g.user = "ben"
        maker = db.create_session({})
        assert sorted(n.id for n in maker().query(Note)) == [2, 3]
        scoped = db.create_scoped_session()
        assert sorted(n.id for n in scoped.query(Note)) == [2, 3]
        scoped.remove()
        perms.clear()                   # Note absent from the permissions: nothing
        assert db.create_session({})().query(Note).count() == 0
