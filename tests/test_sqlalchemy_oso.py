"""sqlalchemy_oso: registration, `authorize_model`, `partial_to_filter` and helper modules.

The translation tests run on SQLite and on PostgreSQL (a fresh schema; skipped without a server
unless CI=true). Session, loader, fail-closed, asyncio and Flask tests are in
test_sqlalchemy_oso_session.py and test_sqlalchemy_oso_integrations.py.
"""

from __future__ import annotations

from collections import defaultdict

import pytest
import sqlalchemy as sa
from fixtures.databases import postgres_engine
from sqlalchemy.orm import (
    Session,
    aliased,
    declarative_base,
    joinedload,
    registry,
    selectinload,
)
from sqlalchemy_oso_models import Base, Folder, Issue, Org, Repo, Tag, User, populate

import sqlalchemy_oso
from oso_core import Oso, Variable
from oso_core.exceptions import (
    DuplicateClassAliasError,
    OsoError,
    PolarRuntimeError,
    UnsupportedError,
)
from oso_core.expression import Expression, Pattern
from sqlalchemy_oso import SQLAlchemyOso, authorized_sessionmaker, register_models
from sqlalchemy_oso.auth import authorize_model, default_polar_model_name, null_query
from sqlalchemy_oso.partial import flip_op, partial_to_filter
from sqlalchemy_oso.preprocess import preprocess, preprocess_expression
from sqlalchemy_oso.sqlalchemy_utils import (
    all_entities_in_statement,
    get_column_entities,
    get_joinedload_entities,
    to_class,
)

# ---------------------------------------------------------------------------------------------
# Fixtures

def _sqlite_engine():
    engine = sa.create_engine("sqlite://")
    Base.metadata.create_all(engine)
    return engine, lambda: engine.dispose()


def _postgres_engine():
    return postgres_engine(Base.metadata)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def db(request):
    engine, drop = (_sqlite_engine if request.param == "sqlite" else _postgres_engine)()
    with Session(engine) as s:
        populate(s)
    yield engine
    drop()


@pytest.fixture
def session(db):
    with Session(db) as s:
        yield s


@pytest.fixture
def oso():
    o = Oso()
    register_models(o, Base)
    return o


def ids(session, model, clause):
    return sorted(x.id for x in session.scalars(sa.select(model).where(clause)))


def allowed(oso, session, policy, actor="u", action="read", model=Repo):
    oso.clear_rules()
    oso.load_str(policy)
    return ids(session, model, authorize_model(oso, actor, action, session, model))


# ---------------------------------------------------------------------------------------------
# Public surface and registration

def test_public_surface():
    assert sqlalchemy_oso.__all__ == ["SQLAlchemyOso", "authorized_sessionmaker", "register_models"]
    assert default_polar_model_name(Repo) == "Repo"
    from sqlalchemy_oso import auth, flask, partial, session  # noqa: F401
    from sqlalchemy_oso.session import (  # noqa: F401
        AuthorizedSession,
        AuthorizedSessionBase,
        Permissions,
        scoped_session,
        set_get_session,
    )
    assert flask.AuthorizedSQLAlchemy


def test_register_models_declarative_base_and_skip_registered():
    o = Oso()
    o.register_class(Folder, name="files::Folder")
    register_models(o, Base)
    for m in (Org, User, Tag, Repo, Issue):
        with pytest.raises(DuplicateClassAliasError):
            o.register_class(m)
    assert o.host.class_name(Folder) == "files::Folder"   # left as the application named it
    assert o.get_class("Repo") is Repo


def test_register_models_registry():
    reg = registry()
    t = sa.Table("things", reg.metadata, sa.Column("id", sa.Integer, primary_key=True))

    class Thing:
        pass
    reg.map_imperatively(Thing, t)
    o = Oso()
    register_models(o, reg)
    assert o.get_class("Thing") is Thing


@pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")
def test_register_models_duplicate_names():
    B = declarative_base(name="B")

    def make():
        class Post(B):
            __tablename__ = f"posts_{len(B.registry.mappers)}"
            id = sa.Column(sa.Integer, primary_key=True)
        return Post
    models = [make(), make()]   # keep them alive: a registry holds its classes weakly
    with pytest.raises(OsoError) as e:
        register_models(Oso(), B)
    assert e.value.message == (
        "Attempted to register two classes with the same name when automatically registering "
        "SQLAlchemy models\nTo fix this, try manually registering the new class. E.g.\n"
        '  oso.register_class(MyModel, name="models::MyModel")\n  register_models(oso, Base)\n')
    assert isinstance(e.value.__cause__, DuplicateClassAliasError)
    assert len(models) == 2


def test_sqlalchemy_oso_class():
    o = SQLAlchemyOso(Base)
    assert o.base is Base and o.get_class("Issue") is Issue


def test_null_query(session):
    assert null_query(session, Repo).count() == 0


# ---------------------------------------------------------------------------------------------
# authorize_model: fields, or, nil, comparisons

def test_fields_and_alternatives(oso, session):
    assert allowed(oso, session, 'allow("u", "read", r: Repo) if r.is_public;') == [1, 4]
    assert allowed(oso, session, 'allow("u", "read", r: Repo) if r.is_public = false or r.id = 4;') == [2, 3, 4]
    assert allowed(oso, session, 'allow("u", "read", r: Repo) if r.name in ["anvil", "widget"];') == [1, 3]
    assert allowed(oso, session, 'allow("nobody", "read", _: Repo);') == []
    oso.clear_rules()
    oso.load_str("allow(_, _, _);")
    clause = authorize_model(oso, "u", "read", session, Repo)
    assert isinstance(clause, sa.sql.elements.True_)


def test_no_rule_is_false(oso, session):
    oso.load_str('allow(_, "read", _: User);')
    clause = authorize_model(oso, "u", "read", session, Repo)
    assert isinstance(clause, sa.sql.elements.False_)


def test_comparisons_in_both_orders(oso, session):
    # Legacy flipped `Leq` to the non-existent `Gtq` (KeyError); every flip works here.
    assert allowed(oso, session, 'allow(_, _, r: Repo) if 7 <= r.stars;') == [1, 4]
    assert allowed(oso, session, 'allow(_, _, r: Repo) if 7 < r.stars;') == [1]
    assert allowed(oso, session, 'allow(_, _, r: Repo) if 7 >= r.stars;') == [2, 4]
    assert allowed(oso, session, 'allow(_, _, r: Repo) if 3 > r.stars;') == []
    assert flip_op("Leq") == "Geq" and flip_op("Lt") == "Gt"


def test_nil_semantics(oso, session):
    # Polar has no NULL logic: a NULL column is simply "not equal", also under negation.
    assert allowed(oso, session, 'allow(_, _, r: Repo) if r.stars = nil;') == [3]
    assert allowed(oso, session, 'allow(_, _, r: Repo) if r.stars != 10;') == [2, 3, 4]
    assert allowed(oso, session, 'allow(_, _, r: Repo) if not r.stars > 5;') == [2]   # nil > 5: no
    assert allowed(oso, session, 'allow(_, _, r: Repo) if not r.description = "fast";') == [1, 3, 4]
    assert allowed(oso, session, 'allow(_, _, r: Repo) if r.stars in [3, nil];') == [2, 3]
    assert allowed(oso, session, 'allow(_, _, r: Repo) if not r.stars in [3, 10];') == [3, 4]
    assert allowed(oso, session, 'allow(_, _, i: Issue) if i.closed != true;', model=Issue) == [1, 3, 4]


def test_field_to_field(oso, session):
    assert allowed(oso, session, 'allow(_, _, r: Repo) if r.org_id = r.id;') == [1]
    assert allowed(oso, session, 'allow(_, _, r: Repo) if r.org_id != r.id;') == [2, 3, 4]


def test_actor_fields(oso, session):
    alice = session.get(User, 1)
    assert allowed(oso, session, 'allow(u: User, _, r: Repo) if r.org_id = u.org_id;', actor=alice) == [1, 2]


def test_resource_is_an_instance(oso, session):
    anvil = session.get(Repo, 1)
    oso.register_constant(anvil, "ANVIL")
    assert allowed(oso, session, 'allow(_, _, r: Repo) if r = ANVIL;') == [1]
    assert allowed(oso, session, 'allow(_, _, r: Repo) if r != ANVIL;') == [2, 3, 4]
    assert allowed(oso, session, 'allow(_, _, r) if r = ANVIL;') == [1]


# ---------------------------------------------------------------------------------------------
# Relationships

def test_to_one(oso, session):
    alice = session.get(User, 1)
    assert allowed(oso, session, 'allow(_, _, r: Repo) if r.org.name = "acme";') == [1, 2]
    assert allowed(oso, session, 'allow(u: User, _, r: Repo) if r.org = u.org;', actor=alice) == [1, 2]
    assert allowed(oso, session, 'allow(u: User, _, i: Issue) if i.author = u;', actor=alice, model=Issue) == [1]
    assert allowed(oso, session, 'allow(_, _, i: Issue) if i.repo.org.name = "globex";', model=Issue) == [3]
    # `i.author.name` needs an author: issue 4 has none
    assert allowed(oso, session, 'allow(_, _, i: Issue) if not i.author.name = "bob";', model=Issue) == [1]


def test_to_many(oso, session):
    bob = session.get(User, 2)
    assert allowed(oso, session, 'allow(_, _, r: Repo) if i in r.issues and i.closed = true;') == [2]
    assert allowed(oso, session, 'allow(u: User, _, r: Repo) if i in r.issues and i.author = u;', actor=bob) == [2, 3]
    assert allowed(oso, session, 'allow(_, _, r: Repo) if _ in r.issues;') == [1, 2, 3, 4]
    assert allowed(oso, session, 'allow(u: User, _, o: Org) if u in o.users;', actor=bob, model=Org) == [2]


def test_many_to_many(oso, session):
    alice = session.get(User, 1)
    assert allowed(oso, session, 'allow(_, _, r: Repo) if t in r.tags and t.is_public;') == [1, 4]
    assert allowed(oso, session, 'allow(_, _, r: Repo) if t in r.tags and t.name = "rust";') == [2, 4]
    # nested many-to-many: a tag of the repo that the actor follows
    assert allowed(oso, session, 'allow(u: User, _, r: Repo) if t in r.tags and u in t.users;', actor=alice) == [1, 2, 4]
    python = session.get(Tag, 1)
    oso.register_constant(python, "PYTHON")
    assert allowed(oso, session, 'allow(_, _, r: Repo) if PYTHON in r.tags;') == [1, 4]
    assert allowed(oso, session, 'allow(_, _, r: Repo) if not PYTHON in r.tags;') == [2, 3]
    assert allowed(oso, session, 'allow(_, _, r: Repo) if forall(t in r.tags, t.is_public);') == [1, 3]
    assert allowed(oso, session, 'allow(_, _, r: Repo) if not (t in r.tags and t.name = "secret");') == [1, 3, 4]


def test_instance_in_actor_collection(oso, session):
    bob = session.get(User, 2)
    assert allowed(oso, session, 'allow(u: User, _, i: Issue) if i in u.issues;', actor=bob, model=Issue) == [2, 3]


def test_legacy_sql_shape(oso, session):
    """Relationships compile to the EXISTS subqueries legacy sqlalchemy-oso produced."""
    oso.load_str('allow(_, _, r: Repo) if _t in r.tags;')
    query = session.query(Repo.id).filter(authorize_model(oso, "u", "read", session, Repo))
    sql = str(query.statement.compile(dialect=sa.dialects.sqlite.dialect()))
    assert sql.endswith(
        "WHERE EXISTS (SELECT 1 \nFROM repo_tags, tags \n"
        "WHERE repos.id = repo_tags.repo_id AND tags.id = repo_tags.tag_id AND 1 = 1)")


def test_self_referential_and_repeated_classes(oso, session):
    # Folder.parent is self-referential: related rows get their own aliases.
    assert allowed(oso, session, 'allow(_, _, f: Folder) if f.parent.name = "root";', model=Folder) == [2]
    assert allowed(oso, session, 'allow(_, _, f: Folder) if f.parent.parent.owner_id = 1;', model=Folder) == [3]
    # The same class twice in a chain: repo -> issue -> author -> issues
    assert allowed(oso, session, 'allow(_, _, r: Repo) if i in r.issues and j in i.author.issues and j.title = "question";') == [2, 3]


def test_recursive_rule(oso, session):
    policy = """
        allow(u: User, "read", f: Folder) if owns(u, f);
        owns(u: User, f: Folder) if f.owner_id = u.id;
        owns(u: User, f: Folder) if owns(u, f.parent);
    """
    alice, bob = session.get(User, 1), session.get(User, 2)
    assert allowed(oso, session, policy, actor=alice, model=Folder) == [1, 2, 3]
    assert allowed(oso, session, policy, actor=bob, model=Folder) == [4]


def test_resource_blocks(oso, session):
    policy = """
        actor User {}
        resource Org { roles = ["member"]; }
        resource Repo {
            permissions = ["read", "push"];
            roles = ["reader", "writer"];
            relations = { org: Org };
            "read" if "reader";
            "push" if "writer";
            "reader" if "writer";
            "reader" if "member" on "org";
        }
        has_relation(org: Org, "org", repo: Repo) if repo.org = org;
        has_role(u: User, "member", org: Org) if u.org_id = org.id;
        has_role(u: User, role: String, repo: Repo) if
            m in repo.memberships and m.user_id = u.id and m.role = role;
        allow(actor, action, resource) if has_permission(actor, action, resource);
        allow(_: User, "read", r: Repo) if r.is_public;
    """
    alice, bob, carol = (session.get(User, i) for i in (1, 2, 3))
    assert allowed(oso, session, policy, actor=alice, action="read") == [1, 2, 4]
    assert allowed(oso, session, policy, actor=bob, action="read") == [1, 2, 3, 4]
    assert allowed(oso, session, policy, actor=bob, action="push") == [2]
    assert allowed(oso, session, policy, actor=carol, action="read") == [1, 3, 4]
    assert allowed(oso, session, policy, actor=carol, action="push") == []


def test_alias_model(oso, session):
    oso.load_str('allow(_, _, r: Repo) if t in r.tags and t.name = "rust" and r.org.name = "acme";')
    alias = aliased(Repo)
    clause = authorize_model(oso, "u", "read", session, alias)
    assert sorted(r.id for r in session.scalars(sa.select(alias).where(clause))) == [2]


def test_errors(oso, session):
    with pytest.raises(TypeError, match="Expected a model"):
        authorize_model(oso, "u", "read", session, object)
    oso.load_str("allow(_, _, r: Repo) if r.stars * 2 = 20;")
    with pytest.raises(UnsupportedError):
        authorize_model(oso, "u", "read", session, Repo)
    oso.clear_rules()
    oso.load_str("allow(_, _, r: Repo) if r.nonexistent = 1;")
    with pytest.raises(UnsupportedError, match="not a mapped column"):
        authorize_model(oso, "u", "read", session, Repo)
    oso.clear_rules()
    oso.load_str("allow(_, _, r: Repo) if r.tags = 1;")   # a many-to-many relationship as a value
    with pytest.raises(OsoError):
        authorize_model(oso, "u", "read", session, Repo)


def test_typed_paths_use_the_mapping(oso, session):
    policy = """
        allow(u: User, _, i: Issue) if check(u, i.author);
        check(u: User, author: User) if author = u;
        check(_: User, _: Repo) if true;
    """
    bob = session.get(User, 2)
    assert allowed(oso, session, policy, actor=bob, model=Issue) == [2, 3]
    with pytest.raises(PolarRuntimeError, match="Cannot get property nope on Issue"):
        allowed(oso, session, "allow(_, _, i: Issue) if check(i.nope); check(_: User);", model=Issue)


# ---------------------------------------------------------------------------------------------
# partial_to_filter and preprocess

def test_partial_to_filter(oso, session):
    oso.load_str('ok(_: User{name: "bob"}); ok(u: User) if u.org.name = "acme";')
    results = list(oso.query_rule("ok", Variable("actor"), accept_expression=True))
    clauses = [partial_to_filter(r["bindings"]["actor"], session, User, oso.get_class) for r in results]
    assert [ids(session, User, c) for c in clauses] == [[2], [1]]
    # legacy's flip bug: `Leq` with the value on the left
    expr = Expression("And", [Expression("Isa", [Variable("_this"), Pattern("Repo", {})]),
                              Expression("Leq", [7, Expression("Dot", [Variable("_this"), "stars"])])])
    assert ids(session, Repo, partial_to_filter(expr, session, Repo, oso.get_class)) == [1, 4]


def test_preprocess():
    this, tag, user = Variable("_this"), Variable("_tag"), Variable("_user")
    expression = Expression("And", [
        Expression("Isa", [this, Pattern("Repo", {})]),
        Expression("In", [tag, Expression("Dot", [this, "tags"])]),
        Expression("In", [user, Expression("Dot", [tag, "users"])]),
        Expression("Unify", ["alice", Expression("Dot", [user, "name"])]),
    ])
    variables: dict = defaultdict(list)
    rest = preprocess_expression(expression, variables)
    assert rest == Expression("And", expression.args[:2])
    assert set(variables) == {tag, user}
    users = Expression("And", [Expression("Unify", ["alice", Expression("Dot", [this, "name"])])])
    tags = Expression("And", [Expression("In", [users, Expression("Dot", [this, "users"])])])
    assert preprocess(expression) == Expression("And", [
        expression.args[0], Expression("In", [tags, Expression("Dot", [this, "tags"])])])
    with pytest.raises(UnsupportedError):
        preprocess(Expression("Or", [expression]))


# ---------------------------------------------------------------------------------------------
# sqlalchemy_utils

def test_entity_detection():
    assert get_column_entities(sa.select(Repo)) == {Repo}
    assert get_column_entities(sa.select(Repo.name, Tag.name)) == {Repo, Tag}
    assert get_column_entities(sa.select(sa.select(Issue).subquery())) == {Issue}
    stmt = sa.select(Repo).options(joinedload(Repo.issues).joinedload(Issue.author))
    assert set(map(to_class, get_joinedload_entities(stmt))) == {Issue, User}
    assert get_joinedload_entities(sa.select(Repo).options(selectinload(Repo.issues))) == set()
    assert all_entities_in_statement(sa.select(aliased(Repo))) == {Repo}

    B2 = declarative_base()

    class D(B2):
        __tablename__ = "d"
        id = sa.Column(sa.Integer, primary_key=True)
        es = sa.orm.relationship("E", lazy="joined")

    class E(B2):
        __tablename__ = "e"
        id = sa.Column(sa.Integer, primary_key=True)
        d_id = sa.Column(sa.ForeignKey("d.id"))
        fs = sa.orm.relationship("F", lazy="joined")

    class F(B2):
        __tablename__ = "f"
        id = sa.Column(sa.Integer, primary_key=True)
        e_id = sa.Column(sa.ForeignKey("e.id"))

    assert all_entities_in_statement(sa.select(D)) == {D, E, F}
    assert all_entities_in_statement(sa.select(E)) == {E, F}


def test_authorized_sessionmaker_exported():
    assert callable(authorized_sessionmaker)


def test_specializer_on_to_many_element(oso, session):
    policy = """
        allow(u: User, _, r: Repo) if i in r.issues and check(u, i);
        check(u: User, i: Issue) if i.author = u;
        check(_: User, t: Tag) if t.is_public;
    """
    assert allowed(oso, session, policy, actor=session.get(User, 2)) == [2, 3]
