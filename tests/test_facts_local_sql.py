"""Local authorization SQL (oso_core.facts.local_sql) run on REAL PostgreSQL against the caller's
own tables, checked against the store's own decisions over the same data held as facts.

The caller's tables hold org roles and the repos' org and parent relations (bound by the data
bindings); repo roles, `is_public` and global roles are facts held centrally. The reference
store holds every fact; the local store only the central ones, so a local answer that is right
must have read the caller's tables."""

from __future__ import annotations

import itertools

import pytest
import yaml
from sqlalchemy import text

from oso_core.facts import FactStore, UnboundedResultError
from oso_core.facts.local_bindings import InvalidBindingsError, parse_bindings
from oso_core.facts.sql_literals import quote_literal
from oso_core.values import Value
from fixtures.databases import postgres_engine

POLICY = """
actor User {}
global { roles = ["admin"]; }
resource Org { roles = ["member", "owner"]; permissions = ["read", "manage"];
  "read" if "member"; "member" if "owner"; "manage" if "owner"; "owner" if global "admin"; }
resource Repo { roles = ["reader", "writer"]; permissions = ["read", "write", "delete"];
  relations = { org: Org, parent: Repo };
  "read" if "reader"; "write" if "writer"; "reader" if "writer";
  "reader" if "member" on "org";
  "read" if "read" on "parent";
  "delete" if "owner" on "org";
  "read" if is_public(resource);
}
"""

BINDINGS_YAML = """
facts:
  "has_role(User:_, String:_, Org:_)":
    query: SELECT user_id, role, org_id FROM org_roles
  "has_relation(Repo:_, String:org, Org:_)":
    query: 'SELECT id, org_id FROM repos'
  "has_relation(Repo:_, String:parent, Repo:_)":
    query: SELECT id, parent_id FROM repos WHERE parent_id IS NOT NULL
sql_types:
  User: integer
  Org: integer
  Repo: integer
"""
BINDINGS = yaml.safe_load(BINDINGS_YAML)

ORGS = [10, 11, 12]
# (id, org, parent): a chain 100 <- 101 <- 102 <- 103 for the recursion, and a cycle 107 <-> 108.
REPOS = [(100, 10, None), (101, 10, 100), (102, 10, 101), (103, 10, 102), (104, 11, None), (105, 11, 104),
         (106, 12, None), (107, 12, 108), (108, 12, 107)]
ORG_ROLES = [(1, "member", 10), (2, "owner", 11), (3, "member", 11), (6, "owner", 12)]
CENTRAL = [("has_role", Value("User", "4"), "reader", Value("Repo", "100")),
           ("has_role", Value("User", "3"), "writer", Value("Repo", "106")),
           ("has_role", Value("User", "5"), "admin"),
           ("is_public", Value("Repo", "105")),
           ("is_public", Value("Repo", "999")),     # not in the caller's table
           ("is_public", Value("Repo", "x'); DROP TABLE repos; --"))]
USERS = [Value("User", str(i)) for i in range(1, 8)]
ACTIONS = ["read", "write", "delete", "manage", "nothing"]
RESOURCES = [Value("Repo", str(r[0])) for r in REPOS] + [Value("Repo", "999"), Value("Org", "10"),
                                                         Value("Org", "11"), Value("Org", "12")]


def _bound_facts() -> list:
    facts = [("has_role", Value("User", str(u)), role, Value("Org", str(o))) for u, role, o in ORG_ROLES]
    for repo, org, parent in REPOS:
        facts.append(("has_relation", Value("Repo", str(repo)), "org", Value("Org", str(org))))
        if parent is not None:
            facts.append(("has_relation", Value("Repo", str(repo)), "parent", Value("Repo", str(parent))))
    return facts


@pytest.fixture(scope="module")
def caller_db():
    """The caller's own PostgreSQL tables (a fresh schema)."""
    engine, drop = postgres_engine()
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE orgs (id integer PRIMARY KEY)"))
        conn.execute(text("CREATE TABLE repos (id integer PRIMARY KEY, org_id integer, parent_id integer)"))
        conn.execute(text("CREATE TABLE org_roles (user_id integer, role text, org_id integer)"))
        conn.execute(text("INSERT INTO orgs VALUES (:id)"), [{"id": o} for o in ORGS])
        conn.execute(text("INSERT INTO repos VALUES (:id, :org, :parent)"),
                     [{"id": i, "org": o, "parent": p} for i, o, p in REPOS])
        conn.execute(text("INSERT INTO org_roles VALUES (:u, :r, :o)"), [{"u": u, "r": r, "o": o} for u, r, o in ORG_ROLES])
    yield engine
    drop()


@pytest.fixture(scope="module")
def stores():
    """(reference store with every fact, local store with the central facts only), in SQLite."""
    reference, local = FactStore(None), FactStore(None)
    for store in (reference, local):
        store.policy(POLICY)
        with store.batch() as tx:
            for fact in CENTRAL:
                tx.insert(fact)
    with reference.batch() as tx:
        for fact in _bound_facts():
            tx.insert(fact)
    yield reference, local
    reference.close()
    local.close()


def run(engine, sql: str) -> list:
    with engine.connect() as conn:
        # exec_driver_sql: the string goes to the driver as it is, with no parameters.
        return conn.exec_driver_sql(sql).all()


def test_authorize_local_equals_the_store_for_every_actor_action_resource(caller_db, stores):
    reference, local = stores
    checked = 0
    for actor, action, resource in itertools.product(USERS, ACTIONS, RESOURCES):
        sql = local.authorize_local(actor, action, resource, BINDINGS)
        rows = run(caller_db, sql)
        assert len(rows) == 1 and rows[0]._fields == ("allowed",)
        assert rows[0].allowed is reference.authorize(actor, action, resource), (actor, action, resource, sql)
        checked += rows[0].allowed
    assert checked > 20      # the grid has allowed cells, not only denials


def test_list_local_is_a_where_fragment_equal_to_the_store(caller_db, stores):
    reference, local = stores
    table_ids = {str(r[0]) for r in REPOS}
    for actor, action in itertools.product(USERS, ACTIONS):
        fragment = local.list_local(actor, action, "Repo", "repos.id", BINDINGS)
        ids = [str(r.id) for r in run(caller_db, f"SELECT repos.id FROM repos WHERE {fragment} ORDER BY repos.id")]
        assert set(ids) == set(reference.list(actor, action, "Repo")) & table_ids, (actor, action, fragment)
    # The recursion reaches the end of the chain and terminates on the cycle.
    fragment = local.list_local(Value("User", "6"), "read", "Repo", "repos.id", BINDINGS)
    assert [r.id for r in run(caller_db, f"SELECT id FROM repos WHERE {fragment} ORDER BY id")] == [105, 106, 107, 108]


def test_actions_local_one_row_per_action_in_column_action(caller_db, stores):
    reference, local = stores
    for actor, resource in itertools.product(USERS, RESOURCES):
        rows = run(caller_db, local.actions_local(actor, resource, BINDINGS))
        assert all(r._fields == ("action",) for r in rows)
        assert [r.action for r in rows] == reference.actions(actor, resource), (actor, resource)


def test_an_unbounded_list_is_a_condition_in_sql(caller_db, stores):
    reference, local = stores
    admin = Value("User", "5")       # global admin: owner of every Org, stored or not
    with pytest.raises(UnboundedResultError):
        reference.list(admin, "read", "Org")
    fragment = local.list_local(admin, "read", "Org", "orgs.id", BINDINGS)
    assert [r.id for r in run(caller_db, f"SELECT id FROM orgs WHERE {fragment} ORDER BY id")] == ORGS
    member = local.list_local(Value("User", "1"), "read", "Org", "orgs.id", BINDINGS)
    assert [r.id for r in run(caller_db, f"SELECT id FROM orgs WHERE {member} ORDER BY id")] == [10]


def test_context_facts_count_for_bound_and_central_predicates(caller_db, stores):
    reference, local = stores
    cases = [
        (Value("User", "7"), "read", Value("Repo", "103"),
         [("has_role", Value("User", "7"), "member", Value("Org", "10"))]),     # a bound predicate
        (Value("User", "7"), "read", Value("Repo", "106"), [("is_public", Value("Repo", "106"))]),
        (Value("User", "7"), "read", Value("Repo", "101"),
         [("has_role", Value("User", "7"), "reader", Value("Repo", "100"))]),   # through the parent chain
    ]
    for actor, action, resource, context in cases:
        assert not reference.authorize(actor, action, resource)
        assert reference.authorize(actor, action, resource, context)
        [(allowed,)] = run(caller_db, local.authorize_local(actor, action, resource, BINDINGS, context))
        assert allowed is True
        fragment = local.list_local(actor, action, "Repo", "repos.id", BINDINGS, context)
        ids = {str(r.id) for r in run(caller_db, f"SELECT id FROM repos WHERE {fragment}")}
        assert ids == set(reference.list(actor, action, "Repo", context)) & {str(r[0]) for r in REPOS}
        assert [r.action for r in run(caller_db, local.actions_local(actor, resource, BINDINGS, context))] == \
            reference.actions(actor, resource, context)


HOSTILE = ["x'); DROP TABLE repos; --", "a'b", "back\\slash", "\\'", "colon:name", ":x", "per%cent", "%(x)s",
           "tab\tnew\nline", "unicode ünï 中文", "'" * 50, "e'\\x41", "$$dollar$$", "--", "/*", "a" * 10_000]


def test_hostile_ids_are_literals_that_match_exactly(caller_db, stores):
    reference, local = stores
    for hostile in HOSTILE:
        actor, resource = Value("User", hostile), Value("Repo", hostile)
        for action in ("read", "write"):
            [(allowed,)] = run(caller_db, local.authorize_local(actor, action, resource, BINDINGS))
            assert allowed is reference.authorize(actor, action, resource)
        fragment = local.list_local(actor, "read", "Repo", "repos.id", BINDINGS)
        assert run(caller_db, f"SELECT count(*) FROM repos WHERE {fragment}") == [(1,)]   # the public 105
        assert [r.action for r in run(caller_db, local.actions_local(actor, resource, BINDINGS))] == \
            reference.actions(actor, resource)
    # A stored fact with a hostile id is found by its exact id, and by no other.
    [(allowed,)] = run(caller_db, local.authorize_local(
        Value("User", "1"), "read", Value("Repo", "x'); DROP TABLE repos; --"), BINDINGS))
    assert allowed is True
    [(allowed,)] = run(caller_db, local.authorize_local(Value("User", "1"), "read", Value("Repo", "x')"), BINDINGS))
    assert allowed is False
    assert run(caller_db, "SELECT count(*) FROM repos") == [(len(REPOS),)]


def test_integer_ids_are_normalized_as_the_database_prints_them(caller_db, stores):
    _reference, local = stores
    [(allowed,)] = run(caller_db, local.authorize_local(Value("User", "001"), "read", Value("Repo", "+0103"), BINDINGS))
    assert allowed is True


def test_only_the_stored_facts_that_can_matter_are_inlined(stores):
    _reference, local = stores
    sql = local.authorize_local(Value("User", "4"), "read", Value("Org", "10"), BINDINGS)
    # The Org decision reads has_role of user 4 only: not user 3's repo role, not is_public.
    assert "User/3" not in sql and "is_public" not in sql and "Repo/105" not in sql
    sql = local.authorize_local(Value("User", "4"), "read", Value("Repo", "100"), BINDINGS)
    assert "'User/4', 'String/reader', 'Repo/100'" in sql
    assert "'User/3'" not in sql


def test_bound_signatures_shadow_the_stored_facts(caller_db, stores):
    reference, _local = stores
    # The reference store holds the org roles as facts too: with the bindings they are read
    # from the caller's table only, never inlined.
    sql = reference.authorize_local(Value("User", "1"), "read", Value("Org", "10"), BINDINGS)
    assert "'String/member', 'Org/10'" not in sql
    assert run(caller_db, sql) == [(True,)]


def test_quote_literal_round_trips_hostile_strings_through_postgresql(caller_db):
    samples = HOSTILE + ["".join(chr(c) for c in range(1, 128)), "plain", "", "\x7f\x01"]
    with caller_db.connect() as conn:
        for sample in samples:
            literal = quote_literal(sample)
            assert conn.exec_driver_sql(f"SELECT {literal}").scalar() == sample
            # No `:name` for SQLAlchemy's text() and no `%` for a pyformat driver.
            assert not text(f"SELECT {literal}")._bindparams and "%" not in literal
            assert conn.execute(text(f"SELECT {literal}")).scalar() == sample
        conn.exec_driver_sql("SET standard_conforming_strings = off")
        for sample in samples:
            assert conn.exec_driver_sql(f"SELECT {quote_literal(sample)}").scalar() == sample
    with pytest.raises(ValueError, match="NUL"):
        quote_literal("a\x00b")
    with pytest.raises(ValueError):
        quote_literal(5)


def test_nul_in_a_request_id_is_refused(stores):
    _reference, local = stores
    with pytest.raises(Exception, match="NUL"):
        local.authorize_local(Value("User", "a\x00b"), "read", Value("Repo", "1"), BINDINGS)


@pytest.mark.parametrize("bindings, named", [
    ({"facts": {"has_role(User:_, String:_": {"query": "SELECT 1"}}}, "has_role(User:_, String:_"),
    ({"facts": {"has_role(User:_, String:_, Org:_)": "SELECT 1"}}, "has_role(User:_, String:_, Org:_)"),
    ({"facts": {"has_role(User:_, String:_, Org:_)": {"query": ""}}}, "has_role(User:_, String:_, Org:_)"),
    ({"facts": {"has_role(User:_, String:_, Org:_)": {"query": "SELECT 1", "sql": "x"}}}, "sql"),
    ({"facts": {"p(User:_, what?)": {"query": "SELECT 1"}}}, "what?"),
    ({"sql_types": {"User": "float"}}, "sql_types.User"),
    ({"sql_types": {"String": "text"}}, "sql_types.String"),
    ({"fact": {}}, "fact"),
    ({"facts": ["x"]}, "facts"),
    ("facts", "mapping"),
    ({"facts": {"p(Integer:x1)": {"query": "SELECT 1"}}}, "p(Integer:x1)"),
])
def test_malformed_bindings_name_the_key(bindings, named):
    with pytest.raises(InvalidBindingsError) as error:
        parse_bindings(bindings)
    assert named in str(error.value)


def test_signatures_parse_placeholders_literals_and_bare_owner():
    parsed = parse_bindings({"facts": {
        'has_relation(Card:_, owner, User:_)': {"query": "SELECT id, owner_id FROM cards;"},
        'is_public(Document:_, Boolean:true)': {"query": "SELECT id FROM docs WHERE public"},
        'has_status(Doc:_, String:"in review")': {"query": "SELECT id FROM docs"}},
        "sql_types": {"Card": "INTEGER", "User": "UUID", "Document": "text"}})
    card, public, status = parsed.facts
    assert (card.predicate, card.types, card.fixed, card.query) == \
        ("has_relation", ("Card", "String", "User"), (None, "owner", None), "SELECT id, owner_id FROM cards")
    assert public.fixed == (None, "true") and status.fixed == (None, "in review")
    assert parsed.sql_types == {"Card": "integer", "User": "uuid", "Document": "text"}
    assert parsed.canonical_id("User", "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11") == "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"
    assert parsed.canonical_id("Card", "007") == "7" and parsed.canonical_id("Card", "x7") == "x7"


def test_a_binding_the_policy_has_no_fact_for_is_refused_by_name(stores):
    _reference, local = stores
    for key in ("has_role(User:_, String:_, Team:_)", "has_tag(Repo:_, String:_)", "is_public(Repo:_, Boolean:_)"):
        with pytest.raises(InvalidBindingsError, match=key.replace("(", r"\(").replace(")", r"\)")):
            local.authorize_local(Value("User", "1"), "read", Value("Repo", "1"), {"facts": {key: {"query": "SELECT 1"}}})


def test_uuid_and_text_ids_and_boolean_columns(caller_db):
    policy = """
    actor User {}
    resource Doc { permissions = ["read", "edit"]; relations = { owner: User };
      "edit" if "owner"; "read" if "edit"; "read" if is_public(resource, true); }
    """
    bindings = {"facts": {
        "has_relation(Doc:_, String:owner, User:_)": {"query": "SELECT id, owner FROM docs"},
        "is_public(Doc:_, Boolean:_)": {"query": "SELECT id, public FROM docs"}},
        "sql_types": {"Doc": "uuid", "User": "text"}}
    a, b = "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "b1eebc99-9c0b-4ef8-bb6d-6bb9bd380a22"
    with caller_db.begin() as conn:
        conn.execute(text("CREATE TABLE docs (id uuid PRIMARY KEY, owner text, public boolean)"))
        conn.execute(text("INSERT INTO docs VALUES (:a, 'o''neil', false), (:b, 'zed', true)"), {"a": a, "b": b})
    store = FactStore(None)
    try:
        store.policy(policy)
        owner = Value("User", "o'neil")
        assert run(caller_db, store.authorize_local(owner, "edit", Value("Doc", a.upper()), bindings)) == [(True,)]
        assert run(caller_db, store.authorize_local(owner, "edit", Value("Doc", b), bindings)) == [(False,)]
        assert run(caller_db, store.authorize_local(Value("User", "zed"), "read", Value("Doc", a), bindings)) == [(False,)]
        fragment = store.list_local(Value("User", "nobody"), "read", "Doc", "docs.id", bindings)
        assert [str(r.id) for r in run(caller_db, f"SELECT id FROM docs WHERE {fragment}")] == [b]
        fragment = store.list_local(owner, "read", "Doc", "docs.id", bindings)
        assert {str(r.id) for r in run(caller_db, f"SELECT id FROM docs WHERE {fragment}")} == {a, b}
        assert [r.action for r in run(caller_db, store.actions_local(owner, Value("Doc", a), bindings))] == \
            ["edit", "read"]
    finally:
        store.close()


def test_evaluate_query_local_select_and_filter_equal_the_query_builder(caller_db, stores):
    from oso_core.facts import typed_var
    reference, local = stores
    for user in USERS:
        repo, action = typed_var("Repo"), typed_var("String")
        ref_query = reference.build_query(("allow", user, action, repo))
        pairs = set(ref_query.evaluate((action, repo)))
        query = local.build_query(("allow", user, action, repo))
        sql = local.evaluate_query_local(query, BINDINGS, select={action: "act", repo: "repo_id"})
        rows = run(caller_db, sql)
        assert all(r._fields == ("act", "repo_id") for r in rows)
        table_ids = {str(r[0]) for r in REPOS}
        # Every solution, centrally held ones too (Repo 999), but ids that are no integer.
        assert {(r.act, str(r.repo_id)) for r in rows} == {p for p in pairs if p[1].isdigit()}, user
        # Filter mode: the repos some action is allowed on.
        fragment = local.evaluate_query_local(query, BINDINGS, filter=("repos.id", repo))
        ids = {str(r.id) for r in run(caller_db, f"SELECT id FROM repos WHERE {fragment}")}
        assert ids == {p[1] for p in pairs} & table_ids
        # No column chosen: one row, one boolean `result`.
        one = local.build_query(("allow", user, "read", Value("Repo", "103")))
        assert run(caller_db, local.evaluate_query_local(one, BINDINGS)) == \
            [(reference.build_query(("allow", user, "read", Value("Repo", "103"))).evaluate(),)]
    # in_ limits a variable to ids, and an extra call joins a bound relation.
    repo, org = typed_var("Repo"), typed_var("Org")
    query = local.build_query(("allow", Value("User", "1"), "read", repo)).and_(("has_relation", repo, "org", org)) \
        .in_(repo, ["101", "103", "104"])
    rows = run(caller_db, local.evaluate_query_local(query, BINDINGS, select={repo: "r", org: "o"}))
    assert sorted((r.r, r.o) for r in rows) == [(101, 10), (103, 10)]
