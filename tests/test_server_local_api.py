"""oso_server's local authorization endpoints (`/api/authorize_query`, `/api/list_query`,
`/api/actions_query`, `/api/evaluate_query_local`): exact `{"sql"}` answers whose SQL, run on
REAL PostgreSQL against the caller's tables, agrees with `/api/authorize` etc. over the same data
held as facts; bad bindings and bodies answered 400 naming the field; and the real oso-cloud
2.6.0 client's `authorize_local` / `list_local` / `actions_local` / `evaluate_local_*` against
a server process."""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import text
from starlette.testclient import TestClient

from oso_server.app import create_app
from oso_server.config import ServerConfig
from oso_server.keys import DEV_TEST_KEY
from fixtures.databases import postgres_engine
from fixtures.server_process import server_process
from test_facts_local_sql import BINDINGS_YAML, CENTRAL, ORG_ROLES, ORGS, POLICY, REPOS, _bound_facts

AUTH = {"Authorization": f"Bearer {DEV_TEST_KEY}"}


def wire(arg: object) -> dict:
    if isinstance(arg, str):
        return {"type": "String", "id": arg}
    return {"type": arg.type, "id": arg.id}


def wire_fact(fact: tuple) -> dict:
    return {"predicate": fact[0], "args": [wire(a) for a in fact[1:]]}


@pytest.fixture(scope="module")
def caller_db():
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


def _client(tmp_path, name: str, facts: list) -> TestClient:
    client = TestClient(create_app(ServerConfig(database=str(tmp_path / f"{name}.db"), data_dir=tmp_path)))
    client.__enter__()
    assert client.post("/api/policy", json={"filename": "", "src": POLICY}, headers=AUTH).status_code == 200
    response = client.post("/api/batch", json=[{"inserts": [wire_fact(f) for f in facts]}], headers=AUTH)
    assert response.status_code == 200, response.text
    return client


@pytest.fixture(scope="module")
def clients(tmp_path_factory):
    """(reference server with every fact, local server with the central facts only)."""
    tmp = tmp_path_factory.mktemp("local-api")
    reference = _client(tmp, "reference", CENTRAL + _bound_facts())
    local = _client(tmp, "local", CENTRAL)
    yield reference, local
    reference.__exit__(None, None, None)
    local.__exit__(None, None, None)


def run(engine, sql: str) -> list:
    with engine.connect() as conn:
        return conn.exec_driver_sql(sql).all()


def sql_of(client: TestClient, path: str, body: dict) -> str:
    response = client.post(path, json=body, headers=AUTH)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert set(answer) == {"sql"} and isinstance(answer["sql"], str)
    return answer["sql"]


def decision(actor: str, action: str, type_: str, id_: str, context: list | None = None) -> dict:
    return {"actor_type": "User", "actor_id": actor, "action": action, "resource_type": type_, "resource_id": id_,
            "context_facts": context or []}


USERS = ["1", "2", "3", "4", "5", "6", "7", "o'neil"]
RESOURCES = [("Repo", str(r[0])) for r in REPOS] + [("Repo", "999"), ("Org", "10"), ("Org", "12")]


def test_authorize_query_equals_authorize(caller_db, clients):
    reference, local = clients
    for actor, action, (type_, id_) in itertools.product(USERS, ["read", "write", "delete"], RESOURCES):
        body = decision(actor, action, type_, id_)
        expected = reference.post("/api/authorize", json=body, headers=AUTH).json()["allowed"]
        sql = sql_of(local, "/api/authorize_query", {"query": body, "data_bindings": BINDINGS_YAML})
        assert run(caller_db, sql) == [(expected,)], (actor, action, type_, id_)


def test_list_query_and_actions_query_equal_list_and_actions(caller_db, clients):
    reference, local = clients
    table_ids = {str(r[0]) for r in REPOS}
    for actor, action in itertools.product(USERS, ["read", "write", "delete"]):
        body = {"actor_type": "User", "actor_id": actor, "action": action, "resource_type": "Repo",
                "context_facts": [], "page_size": None, "page_token": None}
        expected = reference.post("/api/list", json=body, headers=AUTH).json()["results"]
        fragment = sql_of(local, "/api/list_query", {"query": body, "column": "repos.id", "data_bindings": BINDINGS_YAML})
        ids = {str(r.id) for r in run(caller_db, f"SELECT id FROM repos WHERE {fragment}")}
        assert ids == set(expected) & table_ids
    for actor, (type_, id_) in itertools.product(USERS, RESOURCES):
        body = {"actor_type": "User", "actor_id": actor, "resource_type": type_, "resource_id": id_, "context_facts": []}
        expected = reference.post("/api/actions", json=body, headers=AUTH).json()["results"]
        sql = sql_of(local, "/api/actions_query", {"query": body, "data_bindings": BINDINGS_YAML})
        assert [r.action for r in run(caller_db, sql)] == expected


def test_context_facts_in_local_queries(caller_db, clients):
    _reference, local = clients
    context = [wire_fact(("has_role", _v("User", "7"), "member", _v("Org", "10")))]
    sql = sql_of(local, "/api/authorize_query",
                 {"query": decision("7", "read", "Repo", "103", context), "data_bindings": BINDINGS_YAML})
    assert run(caller_db, sql) == [(True,)]
    sql = sql_of(local, "/api/authorize_query",
                 {"query": decision("7", "read", "Repo", "103"), "data_bindings": BINDINGS_YAML})
    assert run(caller_db, sql) == [(False,)]


def _v(type_: str, id_: str):
    from oso_core.values import Value
    return Value(type_, id_)


def test_evaluate_query_local_select_and_filter(caller_db, clients):
    _reference, local = clients
    query = {"predicate": ["allow", ["var_u", "var_a", "var_r"]], "calls": [],
             "constraints": {"var_u": {"type": "User", "ids": ["4"]}, "var_a": {"type": "String", "ids": None},
                             "var_r": {"type": "Repo", "ids": None}},
             "context_facts": []}
    sql = sql_of(local, "/api/evaluate_query_local", {"query": query, "data_bindings": BINDINGS_YAML, "mode": {
        "query_vars_to_output_column_names": {"var_a": "action", "var_r": "repo"}, "mode": "select"}})
    assert sorted((r.action, r.repo) for r in run(caller_db, sql)) == \
        [("read", 100), ("read", 101), ("read", 102), ("read", 103), ("read", 105), ("read", 999)]
    fragment = sql_of(local, "/api/evaluate_query_local", {"query": query, "data_bindings": BINDINGS_YAML, "mode": {
        "output_column_name": "repos.id", "query_var": "var_r", "mode": "filter"}})
    assert [r.id for r in run(caller_db, f"SELECT id FROM repos WHERE {fragment} ORDER BY id")] == \
        [100, 101, 102, 103, 105]
    sql = sql_of(local, "/api/evaluate_query_local", {"query": query, "data_bindings": BINDINGS_YAML,
                                                      "mode": {"query_vars_to_output_column_names": {}, "mode": "select"}})
    assert run(caller_db, sql) == [(True,)]


@pytest.mark.parametrize("path, body, named", [
    ("/api/authorize_query", {"query": decision("1", "read", "Repo", "1"), "data_bindings": "facts: [unclosed"},
     "data_bindings: not valid YAML"),
    ("/api/authorize_query", {"query": decision("1", "read", "Repo", "1"),
                              "data_bindings": 'facts:\n  "has_role(User:_, String:_, Team:_)":\n    query: SELECT 1'},
     "has_role(User:_, String:_, Team:_)"),
    ("/api/authorize_query", {"query": decision("1", "read", "Repo", "1"),
                              "data_bindings": 'facts:\n  "has_role(User:_":\n    query: SELECT 1'}, "has_role(User:_"),
    ("/api/authorize_query", {"query": decision("1", "read", "Repo", "1"),
                              "data_bindings": "sql_types:\n  Repo: money"}, "sql_types.Repo"),
    ("/api/authorize_query", {"query": decision("1", "read", "Repo", "1"), "data_bindings": 7}, "data_bindings"),
    ("/api/authorize_query", {"data_bindings": BINDINGS_YAML}, "query: missing"),
    ("/api/authorize_query", {"query": {"actor_type": "User"}, "data_bindings": BINDINGS_YAML}, "query.actor_id"),
    ("/api/authorize_query", {"query": decision("a\x00b", "read", "Repo", "1"), "data_bindings": BINDINGS_YAML},
     "query.actor_id"),
    ("/api/authorize_query", {"query": decision("1", "read", "Repo", "1", [{"predicate": "nope", "args": [
        {"type": "User", "id": "1"}]}]), "data_bindings": BINDINGS_YAML}, "query.context_facts[0]"),
    ("/api/list_query", {"query": {"actor_type": "User", "actor_id": "1", "action": "read", "resource_type": "Repo",
                                   "context_facts": []}, "data_bindings": BINDINGS_YAML}, "column: missing"),
    ("/api/evaluate_query_local", {"query": {"predicate": ["allow", ["v"]], "constraints": {
        "v": {"type": "User", "ids": None}}}, "data_bindings": BINDINGS_YAML, "mode": {"mode": "both"}}, "mode.mode"),
    ("/api/evaluate_query_local", {"query": {"predicate": ["allow", ["v"]], "constraints": {
        "v": {"type": "User", "ids": None}}}, "data_bindings": BINDINGS_YAML,
        "mode": {"mode": "filter", "output_column_name": "x", "query_var": "w"}}, "mode.query_var"),
    ("/api/evaluate_query_local", {"query": {"predicate": ["allow", ["v", "w"]], "constraints": {
        "v": {"type": "User", "ids": None}}}, "data_bindings": BINDINGS_YAML,
        "mode": {"mode": "select"}}, "query.predicate[1][1]"),
    # the query-builder form is parsed as /api/evaluate_query parses it (query_wire.parse_query)
    ("/api/evaluate_query_local", {"query": {"predicate": ["allow", ["v"]], "constraints": {
        "v": {"type": "User", "ids": None}, "w": {"type": "Repo", "ids": None}}}, "data_bindings": BINDINGS_YAML,
        "mode": {"mode": "select"}}, "query.constraints.w: the variable is not used"),
    ("/api/evaluate_query_local", {"query": {"predicate": ["allow", ["v"]], "constraints": {
        "v": {"type": "Integer", "ids": ["x"]}}}, "data_bindings": BINDINGS_YAML,
        "mode": {"mode": "select"}}, "query.constraints.v.ids[0]: an Integer id"),
    ("/api/evaluate_query_local", {"query": {"predicate": ["allow", ["v"]], "constraints": {
        "v": {"type": "Actor", "ids": None}}}, "data_bindings": BINDINGS_YAML,
        "mode": {"mode": "select"}}, "query.constraints.v.type: a query variable has a concrete type"),
])
def test_bad_requests_are_400_naming_the_field(clients, path, body, named):
    _reference, local = clients
    response = local.post(path, json=body, headers=AUTH)
    assert response.status_code == 400, response.text
    assert set(response.json()) == {"message"} and named in response.json()["message"]


def test_the_oso_cloud_client_local_methods_against_a_server_process(caller_db, tmp_path):
    from oso_cloud import Oso, Value, typed_var
    bindings_path = tmp_path / "bindings.yaml"
    bindings_path.write_text(BINDINGS_YAML)
    with server_process([], tmp_path / "server") as running:
        oso = Oso(url=running.url, api_key=DEV_TEST_KEY, data_bindings=str(bindings_path))
        oso.policy(POLICY)
        for fact in CENTRAL:
            oso.insert(tuple(Value(a.type, a.id) if hasattr(a, "type") else a for a in fact))
        alice, repo_103 = Value("User", "1"), Value("Repo", "103")
        assert run(caller_db, oso.authorize_local(alice, "read", repo_103)) == [(True,)]
        assert run(caller_db, oso.authorize_local(alice, "read", Value("Repo", "104"))) == [(False,)]
        fragment = oso.list_local(alice, "read", "Repo", "repos.id")
        assert [r.id for r in run(caller_db, f"SELECT id FROM repos WHERE {fragment} ORDER BY id")] == \
            [100, 101, 102, 103, 105]
        assert [r.action for r in run(caller_db, oso.actions_local(alice, repo_103))] == ["read"]
        repo = typed_var("Repo")
        query = oso.build_query(("allow", alice, "read", repo))
        assert sorted(r.id for r in run(caller_db, query.evaluate_local_select({"id": repo}))) == \
            [100, 101, 102, 103, 105, 999]
        fragment = query.evaluate_local_filter("repos.id", repo)
        assert len(run(caller_db, f"SELECT id FROM repos WHERE {fragment}")) == 5
        assert run(caller_db, oso.build_query(("allow", alice, "read", repo_103)).evaluate_local_select()) == [(True,)]
