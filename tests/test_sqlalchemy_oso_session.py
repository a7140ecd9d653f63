"""Authorized sessions: what is filtered, loader strategies, identity-map safety, fail-closed
statements, scoped sessions. Core cases also run on PostgreSQL."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa
from fixtures.databases import postgres_engine
from sqlalchemy.orm import (
    Session,
    aliased,
    contains_eager,
    joinedload,
    lazyload,
    selectinload,
    subqueryload,
)
from sqlalchemy_oso_models import (
    Base,
    Folder,
    Issue,
    Org,
    Repo,
    Tag,
    User,
    populate,
    repo_tags,
)

from oso_core import Oso
from oso_core.exceptions import OsoError
from sqlalchemy_oso import authorized_sessionmaker, register_models
from sqlalchemy_oso.session import AuthorizedSession, scoped_session, set_get_session

POLICY = """
    allow(_: User, "read", r: Repo) if r.is_public;
    allow(u: User, "read", r: Repo) if r.org_id = u.org_id;
    allow(u: User, "read", i: Issue) if i.author = u;
    allow(_: User, "read", i: Issue) if i.repo.is_public;
    allow(_: User, "read", t: Tag) if t.is_public;
    allow(_: User, "read", o: Org) if o.name = "acme";
    allow(u: User, "read", other: User) if other.org_id = u.org_id;
"""
PERMS = {Repo: "read", Issue: "read", Tag: "read", Org: "read", User: "read"}


def _sqlite():
    engine = sa.create_engine("sqlite://", poolclass=sa.pool.StaticPool,
                              connect_args={"check_same_thread": False})
    Base.metadata.create_all(engine)
    return engine, engine.dispose


def _postgres():
    return postgres_engine(Base.metadata)


@pytest.fixture
def engine():
    engine, drop = _sqlite()
    with Session(engine) as s:
        populate(s)
    yield engine
    drop()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def any_engine(request):
    """Read-only data on both databases."""
    engine, drop = (_sqlite if request.param == "sqlite" else _postgres)()
    with Session(engine) as s:
        populate(s)
    yield engine
    drop()


@pytest.fixture
def oso():
    o = Oso()
    register_models(o, Base)
    o.load_str(POLICY)
    return o


def alice(engine):
    with Session(engine) as s:
        user = s.get(User, 1)
        s.expunge_all()
    return user


def make(engine, oso, user=None, perms=PERMS, **kw):
    return AuthorizedSession(oso, user if user is not None else alice(engine), perms, bind=engine, **kw)


def ids(objects):
    return sorted(o.id for o in objects)


class StatementCounter:
    def __init__(self, engine):
        self.engine, self.count = engine, 0

    def __enter__(self):
        sa.event.listen(self.engine, "before_cursor_execute", self._count)
        return self

    def __exit__(self, *exc):
        sa.event.remove(self.engine, "before_cursor_execute", self._count)

    def _count(self, *args):
        self.count += 1


# ---------------------------------------------------------------------------------------------
# What is filtered

def test_select_query_and_columns(any_engine, oso):
    s = make(any_engine, oso)
    assert ids(s.scalars(sa.select(Repo))) == [1, 2, 4]
    assert ids(s.query(Repo)) == [1, 2, 4]
    assert s.query(Repo).count() == 3
    assert sorted(s.scalars(sa.select(Repo.name))) == ["anvil", "orphan", "rocket"]
    assert s.scalar(sa.select(sa.func.count()).select_from(Repo)) == 3
    assert s.scalar(sa.select(sa.func.count()).select_from(sa.select(Repo).subquery())) == 3
    assert sorted(s.execute(sa.select(Repo.id, Tag.id).join(Repo.tags)).all()) == [(1, 1), (4, 1)]
    # the subquery's Issue rows are filtered too: issue 2 (bob's, private repo) is not visible
    assert ids(s.scalars(sa.select(Repo).where(Repo.id.in_(sa.select(Issue.repo_id))))) == [1, 4]
    s.close()


def test_aliases_and_subqueries(any_engine, oso):
    s = make(any_engine, oso)
    a = aliased(Repo)
    assert ids(s.scalars(sa.select(a))) == [1, 2, 4]
    sub = sa.select(Repo).subquery()
    assert sorted(s.scalars(sa.select(sub.c.id))) == [1, 2, 4]
    other = aliased(Repo)
    pairs = s.execute(sa.select(a.id, other.id).where(a.id < other.id)).all()
    assert sorted(pairs) == [(1, 2), (1, 4), (2, 4)]
    s.close()


def test_get(any_engine, oso):
    s = make(any_engine, oso)
    assert s.get(Repo, 1).name == "anvil"
    assert s.get(Repo, 3) is None
    with pytest.warns(sa.exc.LegacyAPIWarning):
        assert s.query(Repo).get(3) is None
    s.close()


@pytest.mark.parametrize("option", [None, lazyload, joinedload, selectinload, subqueryload])
def test_to_many_loader_strategies(any_engine, oso, option):
    s = make(any_engine, oso)
    stmt = sa.select(Repo).where(Repo.id == 2)
    if option is not None:
        stmt = stmt.options(option(Repo.issues))
    rocket = s.scalars(stmt).unique().one()
    assert [i.id for i in rocket.issues] == []    # issue 2 is bob's, in a private repo
    orphan = s.get(Repo, 4)
    assert [i.id for i in orphan.issues] == [4]
    s.close()


@pytest.mark.parametrize("option", [None, joinedload, selectinload, subqueryload])
def test_many_to_many_loader_strategies(any_engine, oso, option):
    s = make(any_engine, oso)
    stmt = sa.select(Repo).where(Repo.id == 4)
    if option is not None:
        stmt = stmt.options(option(Repo.tags))
    orphan = s.scalars(stmt).unique().one()
    assert [t.name for t in orphan.tags] == ["python"]   # rust is not public
    s.close()


def test_many_to_one_lazy_and_joined(any_engine, oso):
    s = make(any_engine, oso)
    anvil = s.get(Repo, 1)
    assert anvil.org.name == "acme"
    issue = s.scalars(sa.select(Issue).where(Issue.id == 4).options(joinedload(Issue.repo))).one()
    assert issue.repo.name == "orphan"
    s.close()
    bob = alice(any_engine)
    bob.id, bob.org_id = 2, 2
    s = make(any_engine, oso, user=bob)
    widget_issue = s.get(Issue, 3)      # bob's issue in his org's private repo
    assert widget_issue.repo.name == "widget"
    assert widget_issue.author.name == "bob"
    s.close()


def test_contains_eager(any_engine, oso):
    s = make(any_engine, oso)
    # contains_eager over an explicit join: the joined rows are filtered too
    rows = s.scalars(sa.select(Repo).outerjoin(Repo.tags).options(contains_eager(Repo.tags))
                     .order_by(Repo.id)).unique().all()
    assert {r.id: [t.name for t in r.tags] for r in rows} == {1: ["python"], 2: [], 4: ["python"]}
    s.close()


def test_checked_permissions(engine, oso):
    user = alice(engine)
    assert AuthorizedSession(oso, user, None, bind=engine).query(Repo).count() == 4
    assert AuthorizedSession(oso, user, {}, bind=engine).query(Repo).count() == 0
    assert AuthorizedSession(oso, user, {Repo: None}, bind=engine).query(Repo).count() == 0
    s = AuthorizedSession(oso, user, {Repo: "read"}, bind=engine)
    assert s.query(Repo).count() == 3
    assert s.get(Repo, 1).org is None            # Org is not in the permissions
    assert s.query(Org).count() == 0
    # legacy behaviour: a class used only in a join (not loaded) and absent from the
    # permissions is not filtered
    assert s.query(Repo).join(Repo.org).filter(Org.name == "acme").count() == 2


def test_unconditional_policy_adds_no_filter(engine):
    o = Oso()
    register_models(o, Base)
    o.load_str("allow(_, _, _);")
    s = AuthorizedSession(o, "u", {Repo: "read"}, bind=engine)
    seen = []
    sa.event.listen(engine, "before_cursor_execute", lambda c, cur, stmt, *a: seen.append(stmt))
    assert s.query(Repo).count() == 4
    assert "WHERE" not in seen[-1]


def test_policy_subqueries_are_not_refiltered(engine):
    """The session's criteria for Tag must not leak into Repo's policy subqueries: here a
    hidden secret tag must still hide the repo."""
    o = Oso()
    register_models(o, Base)
    o.load_str('allow(_, "read", r: Repo) if not (t in r.tags and t.name = "secret");')
    s = AuthorizedSession(o, "u", {Repo: "read", Tag: "read"}, bind=engine)   # no Tag is readable
    assert ids(s.scalars(sa.select(Repo))) == [1, 3, 4]
    assert s.query(Tag).count() == 0


def test_sessionmaker_snapshots_context(engine, oso):
    state = {"user": alice(engine)}
    Maker = authorized_sessionmaker(lambda: oso, lambda: state["user"], lambda: PERMS, bind=engine)
    s = Maker()
    state["user"] = None          # later changes do not affect an existing session
    assert ids(s.scalars(sa.select(Repo))) == [1, 2, 4]
    assert s.oso_context["user"].id == 1


def test_set_get_session(engine, oso):
    s = make(engine, oso)
    set_get_session(oso, lambda: s)
    o = Oso()
    register_models(o, Base)
    set_get_session(o, lambda: s)
    o.load_str('allow(_, "count", _: Org) if OsoSession.get().query(Repo).count() = 4;')
    assert o.is_allowed("u", "count", Org(id=9, name="x"))   # an unauthorized session


# ---------------------------------------------------------------------------------------------
# Identity map

def test_identity_map_objects_added_by_the_app(engine, oso):
    s = make(engine, oso)
    s.add(Repo(id=10, name="private", is_public=False, org_id=2))
    s.add(Repo(id=11, name="public", is_public=True))
    s.flush()
    assert s.get(Repo, 10) is None          # in the identity map, but not authorized
    assert s.get(Repo, 11).name == "public"
    assert ids(s.scalars(sa.select(Repo))) == [1, 2, 4, 11]
    issue = Issue(id=10, title="x", repo_id=10, author_id=1)
    s.add(issue)
    s.flush()
    s.expire(issue, ["repo"])
    assert issue.repo is None               # many-to-one lazy load: not from the identity map


def test_identity_map_after_modification(engine, oso):
    s = make(engine, oso)
    anvil = s.get(Repo, 1)
    with StatementCounter(engine) as counter:
        assert s.get(Repo, 1) is anvil      # loaded through the filter: served from the map
    assert counter.count == 0
    anvil.is_public = False
    anvil.org_id = 2
    assert s.get(Repo, 1) is None           # re-checked (after autoflush) and now refused
    s.rollback()
    assert s.get(Repo, 1).name == "anvil"


def test_identity_map_populate_existing_and_merge(engine, oso):
    s = make(engine, oso)
    s.add(Repo(id=12, name="hidden", is_public=False))
    s.flush()
    assert s.get(Repo, 12, populate_existing=True) is None
    assert s.scalars(sa.select(Repo).where(Repo.id == 12)
                     .execution_options(populate_existing=True)).first() is None
    with Session(engine) as plain:
        widget = plain.get(Repo, 3)             # unauthorized for alice, loaded elsewhere
        plain.expunge(widget)
    s2 = make(engine, oso)
    s2.add(widget)                              # the application moves it in
    assert s2.get(Repo, 3) is None


def test_refresh_of_objects_already_in_the_session(engine, oso):
    """SQLAlchemy never applies loader criteria to refreshes (expired attributes, refresh()):
    an object the application put in the session keeps its columns, but reads do not find it."""
    s = make(engine, oso)
    hidden = Repo(id=13, name="hidden", is_public=False)
    s.add(hidden)
    s.commit()
    assert hidden.name == "hidden"          # expired on commit, reloaded by primary key
    s.refresh(hidden)
    assert s.get(Repo, 13) is None
    assert s.scalars(sa.select(Repo).where(Repo.id == 13)).first() is None


# ---------------------------------------------------------------------------------------------
# Fail closed

@pytest.mark.parametrize("statement", [
    lambda: sa.text("SELECT * FROM repos"),
    lambda: sa.text("select name from Repos where id = 1"),
    lambda: sa.select(Repo.__table__),
    lambda: sa.select(Repo).from_statement(sa.text("SELECT * FROM repos")),
    lambda: sa.select(sa.table("repos", sa.column("id"))),
    lambda: sa.select(sa.literal_column("(SELECT count(*) FROM repos)")),
    lambda: sa.select(sa.exists().where(Repo.id == 3)),
    lambda: sa.select(Repo.__table__.c.id).where(Repo.__table__.c.is_public),
    lambda: sa.select(Org).where(Org.id.in_(sa.select(Repo.__table__.c.org_id))),
    lambda: sa.update(Repo).values(name="x"),
    lambda: sa.delete(Repo).where(Repo.id == 1),
    lambda: sa.update(Repo.__table__).values(name="x"),
    lambda: sa.insert(Tag).from_select(["id", "name", "is_public"],
                                       sa.select(Repo.id + 100, Repo.name, Repo.is_public)),
], ids=["text", "text-case", "core-table", "from-statement", "lightweight-table", "literal-column", "core-exists", "core-columns", "core-subquery", "orm-update",
        "orm-delete", "core-update", "insert-from-select"])
def test_unfilterable_statements_fail_closed(engine, oso, statement):
    s = make(engine, oso)
    with pytest.raises(OsoError, match="cannot filter this statement"):
        s.execute(statement())


def test_legacy_bulk_operations_fail_closed(engine, oso):
    s = make(engine, oso)
    with pytest.raises(OsoError):
        s.query(Repo).filter(Repo.id == 3).update({"name": "x"})
    with pytest.raises(OsoError):
        s.query(Repo).delete()


def test_harmless_statements_run(engine, oso):
    s = make(engine, oso)
    assert s.execute(sa.text("SELECT 1")).scalar() == 1
    assert ids(s.scalars(sa.select(Repo).where(sa.text("stars > 5")))) == [1, 4]
    assert s.execute(sa.select(sa.literal(2))).scalar() == 2
    assert s.execute(sa.select(repo_tags.c.repo_id).limit(1)).all()   # association table
    assert s.execute(sa.select(Repo.id).where(Repo.id == 3).exists().select()).scalar() is False
    assert sorted(s.execute(sa.union(sa.select(Repo.id), sa.select(Tag.id + 10))).scalars()) == [1, 2, 4, 11]
    s.execute(sa.insert(Tag).values(id=50, name="new"))
    s.add(Tag(id=51, name="added", is_public=True))
    s.commit()
    assert [t.id for t in s.scalars(sa.select(Tag).where(Tag.id > 49))] == [51]
    # the unit of work writes as usual
    anvil = s.get(Repo, 1)
    anvil.stars = 11
    s.commit()
    assert s.get(Repo, 1).stars == 11


def test_unauthorized_session_is_plain(engine, oso):
    s = AuthorizedSession(oso, "u", None, bind=engine)
    assert s.execute(sa.select(Repo.__table__)).all()
    assert s.execute(sa.text("SELECT * FROM repos")).all()


# ---------------------------------------------------------------------------------------------
# scoped_session

def test_scoped_session_keys(engine, oso):
    users = {1: alice(engine)}
    bob = alice(engine)
    bob.id, bob.org_id = 2, 2
    users[2] = bob
    state = {"user": 1, "perms": {Repo: "read"}}
    scoped = scoped_session(lambda: oso, lambda: users[state["user"]], lambda: state["perms"], bind=engine)
    first = scoped()
    assert ids(scoped.query(Repo)) == [1, 2, 4]
    state["user"] = 2
    assert scoped() is not first and ids(scoped.query(Repo)) == [1, 3, 4]
    state["user"] = 1
    assert scoped() is first
    state["perms"] = None
    unfiltered = scoped()
    assert unfiltered.query(Repo).count() == 4
    state["perms"] = {}
    assert scoped() is not unfiltered and scoped.query(Repo).count() == 0   # None != {}
    sessions = scoped.registry.all_in_scope()
    assert len(sessions) == 4
    scoped.remove()
    assert scoped.registry.all_in_scope() == []


def test_scoped_session_per_thread(engine, oso):
    scoped = scoped_session(lambda: oso, lambda: alice(engine), lambda: {Repo: "read"}, bind=engine)
    here = scoped()
    there = []
    t = threading.Thread(target=lambda: there.append(scoped()))
    t.start()
    t.join()
    assert there[0] is not here


def test_scoped_session_unhashable_user(engine, oso):
    oso.clear_rules()
    oso.load_str('allow(u: Dictionary, "read", r: Repo) if r.id = u.id;')
    user = {"id": 2}
    scoped = scoped_session(lambda: oso, lambda: user, lambda: {Repo: "read"}, bind=engine)
    assert ids(scoped.query(Repo)) == [2]
    assert scoped() is scoped()


def test_recursive_policy_in_a_session(any_engine):
    """A recursive rule becomes a WITH RECURSIVE inside the loader criteria."""
    o = Oso()
    register_models(o, Base)
    o.load_str("""
        allow(u: User, "read", f: Folder) if owns(u, f);
        owns(u: User, f: Folder) if f.owner_id = u.id;
        owns(u: User, f: Folder) if owns(u, f.parent);
    """)
    s = AuthorizedSession(o, alice(any_engine), {Folder: "read"}, bind=any_engine)
    assert ids(s.scalars(sa.select(Folder))) == [1, 2, 3]
    deep = s.get(Folder, 3)
    assert deep.parent.parent.name == "root"
    assert [c.id for c in s.get(Folder, 1).children] == [2]
    assert s.get(Folder, 4) is None
    assert s.query(Folder).count() == 3
    s.close()
