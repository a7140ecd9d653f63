"""The AuthZEN Authorization API 1.0 routes of oso_server: every endpoint and semantic, the
errors, and answers equal to the fact store's own `authorize` / `list` / `actions`."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest

pytest.importorskip("starlette")
pytest.importorskip("httpx")

from starlette.testclient import TestClient

from fixtures.databases import postgres_schema, require_postgres
from fixtures.server_process import postgres_server_url
from oso_core.values import Value
from oso_server import create_app
from oso_server.authzen_wire import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from oso_server.config import ServerConfig
from oso_server.keys import DEV_TEST_KEY, ApiKey, KeyRing, dev_key

POLICY = """
actor User {}
resource Org {
    roles = ["member", "admin"];
    permissions = ["read", "write"];
    "read" if "member";
    "write" if "admin";
    "member" if "admin";
}
resource Repo {
    roles = ["viewer"];
    permissions = ["read", "write", "delete"];
    relations = { parent: Org };
    "read" if "viewer";
    "read" if "read" on "parent";
    "write" if "write" on "parent";
}
has_permission(_: User, "read", repo: Repo) if is_public(repo, true);
has_permission(_: User, "delete", repo: Repo) if stars(repo, 0);
allow(actor, action, resource) if has_permission(actor, action, resource);
"""

ALICE, BOB, CARL = Value("User", "alice"), Value("User", "bob"), Value("User", "carl")
ACME = Value("Org", "acme")
ANVIL, ROCKET, SLED = Value("Repo", "anvil"), Value("Repo", "rocket"), Value("Repo", "sled")
FACTS = [
    ("has_role", ALICE, "admin", ACME),
    ("has_relation", ANVIL, "parent", ACME),
    ("has_relation", ROCKET, "parent", ACME),
    ("has_role", BOB, "viewer", ANVIL),
    ("is_public", SLED, True),
]
AUTH = {"Authorization": f"Bearer {DEV_TEST_KEY}"}
READER_SECRET = "reader-secret-0123456789"
OTHER_SECRET = "other-env-secret-0123456789"


@pytest.fixture
def server(tmp_path):
    keys = KeyRing([dev_key(), ApiKey("reader", "default", True, READER_SECRET),
                    ApiKey("other", "other", False, OTHER_SECRET)])
    app = create_app(ServerConfig(database=str(tmp_path / "f.db"), keys=keys))
    store = app.state.server.environments.get("default")
    store.policy(POLICY)
    for fact in FACTS:
        store.insert(fact)
    with TestClient(app) as client:
        yield client, store


def wire(value: Value) -> dict:
    return {"type": value.type, "id": value.id}


def question(subject: Value, action: str, resource: Value, **extra) -> dict:
    return {"subject": wire(subject), "action": {"name": action}, "resource": wire(resource), **extra}


def post(client, path: str, body, headers=AUTH):
    return client.post(path, json=body, headers=headers)


def is_public(repo: Value) -> dict:
    return {"predicate": "is_public", "args": [wire(repo), {"type": "Boolean", "id": "true"}]}


# Access evaluation ----------------------------------------------------------------------------


def test_evaluation_answers_as_the_store_authorizes(server):
    client, store = server
    seen = set()
    for subject, action, resource in itertools.product((ALICE, BOB, CARL), ("read", "write", "delete"),
                                                        (ANVIL, ROCKET, SLED)):
        response = post(client, "/access/v1/evaluation", question(subject, action, resource))
        assert response.status_code == 200
        expected = store.authorize(subject, action, resource)
        assert response.json() == {"decision": expected}
        seen.add(expected)
    assert seen == {True, False}


def test_a_denial_is_a_200_with_decision_false(server):
    client, _ = server
    response = post(client, "/access/v1/evaluation", question(CARL, "write", ANVIL))
    assert (response.status_code, response.json()) == (200, {"decision": False})


def test_properties_are_accepted_and_request_ids_echoed(server):
    client, _ = server
    body = {"subject": {"type": "User", "id": "bob", "properties": {"department": "Sales"}},
            "action": {"name": "read", "properties": {"method": "GET"}},
            "resource": {"type": "Repo", "id": "anvil", "properties": {"library_record": {"title": "x"}}},
            "context": {"time": "1985-10-26T01:22-07:00"}}
    response = client.post("/access/v1/evaluation", json=body, headers={**AUTH, "X-Request-ID": "req-42"})
    assert response.json() == {"decision": True}
    assert response.headers["X-Request-ID"] == "req-42"


def test_context_facts_hold_for_one_decision_only(server):
    client, store = server
    crate = Value("Repo", "crate")
    with_fact = question(CARL, "read", crate, context={"facts": [is_public(crate)]})
    assert post(client, "/access/v1/evaluation", with_fact).json() == {"decision": True}
    assert store.authorize(CARL, "read", crate, [("is_public", crate, True)]) is True
    assert post(client, "/access/v1/evaluation", question(CARL, "read", crate)).json() == {"decision": False}
    assert store.get(("is_public", crate, None)) == []


def test_context_facts_carry_strings_and_integers(server):
    client, store = server
    crate = Value("Repo", "crate")
    role = {"predicate": "has_role", "args": [wire(CARL), {"type": "String", "id": "viewer"}, wire(crate)]}
    stars = {"predicate": "stars", "args": [wire(crate), {"type": "Integer", "id": "0"}]}
    assert post(client, "/access/v1/evaluation",
                question(CARL, "read", crate, context={"facts": [role]})).json() == {"decision": True}
    assert post(client, "/access/v1/evaluation",
                question(CARL, "delete", crate, context={"facts": [stars]})).json() == {"decision": True}
    assert store.authorize(CARL, "delete", crate, [("stars", crate, 0)]) is True


@pytest.mark.parametrize("body, field", [
    ({"action": {"name": "read"}, "resource": {"type": "Repo", "id": "1"}}, "subject is required"),
    ({"subject": "User:alice", "action": {"name": "read"}, "resource": {"type": "Repo", "id": "1"}}, "subject must"),
    ({"subject": {"id": "alice"}, "action": {"name": "read"}, "resource": {"type": "Repo", "id": "1"}},
     "subject.type"),
    ({"subject": {"type": "User", "id": 7}, "action": {"name": "read"}, "resource": {"type": "Repo", "id": "1"}},
     "subject.id must be a string"),
    ({"subject": {"type": "User", "id": "a"}, "resource": {"type": "Repo", "id": "1"}}, "action is required"),
    ({"subject": {"type": "User", "id": "a"}, "action": {}, "resource": {"type": "Repo", "id": "1"}},
     "action.name"),
    ({"subject": {"type": "User", "id": "a"}, "action": {"name": "read"}, "resource": {"type": "", "id": "1"}},
     "resource.type"),
    ({"subject": {"type": "User", "id": "a", "properties": [1]}, "action": {"name": "read"},
      "resource": {"type": "Repo", "id": "1"}}, "subject.properties must be an object"),
    ({"subject": {"type": "User", "id": "a"}, "action": {"name": "read"}, "resource": {"type": "Repo", "id": "1"},
      "context": [1]}, "context must be an object"),
    ({"subject": {"type": "User", "id": "a"}, "action": {"name": "read"}, "resource": {"type": "Repo", "id": "1"},
      "context": {"facts": {"predicate": "x"}}}, "context.facts must be a list"),
    ({"subject": {"type": "User", "id": "a"}, "action": {"name": "read"}, "resource": {"type": "Repo", "id": "1"},
      "context": {"facts": [{"predicate": "is_public", "args": [{"type": "Repo"}]}]}},
     "context.facts[0].args[0].id must be a string"),
    ({"subject": {"type": "User", "id": "a"}, "action": {"name": "read"}, "resource": {"type": "Repo", "id": "1"},
      "context": {"facts": [{"predicate": "is_public", "args": [{"type": "Repo", "id": "1"},
                                                                {"type": "Boolean", "id": "yes"}]}]}},
     "context.facts[0].args[1].id of a Boolean"),
    ({"subject": {"type": "User", "id": "a"}, "action": {"name": "read"}, "resource": {"type": "Repo", "id": "1"},
      "context": {"facts": [{"predicate": "stars", "args": [{"type": "Repo", "id": "1"},
                                                            {"type": "Integer", "id": "many"}]}]}},
     "context.facts[0].args[1].id of an Integer"),
    ({"subject": {"type": "User", "id": "a"}, "action": {"name": "read"}, "resource": {"type": "Repo", "id": "1"},
      "context": {"facts": [{"predicate": "no_such_predicate", "args": [{"type": "Repo", "id": "1"}]}]}},
     "no_such_predicate"),
])
def test_malformed_evaluations_are_400_naming_the_field(server, body, field):
    client, _ = server
    response = post(client, "/access/v1/evaluation", body)
    assert response.status_code == 400
    assert field in response.json()["message"]


def test_a_body_that_is_not_an_object_is_400(server):
    client, _ = server
    assert post(client, "/access/v1/evaluation", [1, 2]).status_code == 400
    response = client.post("/access/v1/evaluation", content=b"", headers=AUTH)
    assert (response.status_code, response.json()) == (400, {"message": "The request body must be a JSON object; "
                                                                        "it is empty"})
    response = client.post("/access/v1/evaluation", content=b"{nope", headers=AUTH)
    assert response.status_code == 400 and "Malformed JSON" in response.json()["message"]


def test_keys_authenticate_and_pick_the_environment(server):
    client, _ = server
    body = question(BOB, "read", ANVIL)
    assert post(client, "/access/v1/evaluation", body, headers={}).status_code == 401
    assert post(client, "/access/v1/evaluation", body, headers={"Authorization": "Bearer wrong"}).status_code == 401
    reader = {"Authorization": f"Bearer {READER_SECRET}"}
    assert post(client, "/access/v1/evaluation", body, headers=reader).json() == {"decision": True}
    for path in ("/access/v1/evaluations", "/access/v1/search/resource"):  # reads: a read-only key may
        assert post(client, path, {**body, "resource": {"type": "Repo", "id": "anvil"}},
                    headers=reader).status_code == 200
    other = post(client, "/access/v1/evaluation", body, headers={"Authorization": f"Bearer {OTHER_SECRET}"})
    assert other.status_code == 400 and "No policy" in other.json()["message"]


# Access evaluations ---------------------------------------------------------------------------

DOCS = [ANVIL, ROCKET, SLED, Value("Repo", "crate")]


def batch(semantic=None, subject=BOB, action="read", resources=DOCS) -> dict:
    body = {"subject": wire(subject), "action": {"name": action},
            "evaluations": [{"resource": wire(r)} for r in resources]}
    if semantic is not None:
        body["options"] = {"evaluations_semantic": semantic}
    return body


def test_evaluations_execute_all_in_order_by_default(server):
    client, store = server
    expected = [store.authorize(BOB, "read", r) for r in DOCS]
    assert expected == [True, False, True, False]
    for semantic in (None, "execute_all"):
        response = post(client, "/access/v1/evaluations", batch(semantic))
        assert response.json() == {"evaluations": [{"decision": d} for d in expected]}


def test_deny_on_first_deny_stops_at_the_first_denial(server):
    client, _ = server
    response = post(client, "/access/v1/evaluations", batch("deny_on_first_deny"))
    assert response.json() == {"evaluations": [
        {"decision": True}, {"decision": False, "context": {"reason": "deny_on_first_deny"}}]}
    all_allowed = post(client, "/access/v1/evaluations", batch("deny_on_first_deny", resources=[ANVIL, SLED]))
    assert all_allowed.json() == {"evaluations": [{"decision": True}, {"decision": True}]}


def test_permit_on_first_permit_stops_at_the_first_permit(server):
    client, _ = server
    response = post(client, "/access/v1/evaluations", batch("permit_on_first_permit", resources=[ROCKET, SLED, ANVIL]))
    assert response.json() == {"evaluations": [{"decision": False}, {"decision": True}]}
    none = post(client, "/access/v1/evaluations", batch("permit_on_first_permit", subject=CARL, resources=[ANVIL]))
    assert none.json() == {"evaluations": [{"decision": False}]}


def test_item_keys_override_the_defaults(server):
    client, store = server
    body = {"subject": wire(ALICE), "action": {"name": "read"}, "context": {"facts": [is_public(Value("Repo", "x"))]},
            "evaluations": [
                {"resource": wire(ANVIL)},
                {"action": {"name": "delete"}, "resource": wire(ANVIL)},
                {"subject": wire(CARL), "resource": {"type": "Repo", "id": "x"}},
                {"subject": wire(CARL), "resource": {"type": "Repo", "id": "x"}, "context": {}},
            ]}
    response = post(client, "/access/v1/evaluations", body)
    assert response.json() == {"evaluations": [{"decision": d} for d in (
        store.authorize(ALICE, "read", ANVIL), store.authorize(ALICE, "delete", ANVIL), True, False)]}


def test_without_an_evaluations_array_it_is_one_evaluation(server):
    client, _ = server
    assert post(client, "/access/v1/evaluations", question(BOB, "read", ANVIL)).json() == {"decision": True}
    assert post(client, "/access/v1/evaluations", {**question(BOB, "read", ANVIL), "evaluations": []}).json() == {
        "evaluations": []}


def test_an_item_whose_own_input_fails_is_denied_with_the_error(server):
    client, _ = server
    bad = {"predicate": "no_such_predicate", "args": [wire(ANVIL)]}
    body = {"subject": wire(BOB), "action": {"name": "read"},
            "evaluations": [{"resource": wire(ANVIL), "context": {"facts": [bad]}}, {"resource": wire(ANVIL)}]}
    first, second = post(client, "/access/v1/evaluations", body).json()["evaluations"]
    assert first["decision"] is False
    assert first["context"]["error"]["status"] == 400 and "no_such_predicate" in first["context"]["error"]["message"]
    assert second == {"decision": True}


@pytest.mark.parametrize("body, message", [
    ({"evaluations": {"resource": {"type": "Repo", "id": "1"}}}, "evaluations must be a list"),
    ({"evaluations": ["x"]}, "evaluations[0] must be an object"),
    ({"subject": {"type": "User", "id": "a"}, "action": {"name": "read"},
      "evaluations": [{"resource": {"type": "Repo", "id": "1"}}, {"action": {"name": "read"}}]},
     "evaluations[1].resource is required"),
    ({**batch(), "options": "fast"}, "options must be an object"),
    ({**batch(), "options": {"evaluations_semantic": "first_wins"}}, "options.evaluations_semantic must be one of"),
])
def test_malformed_batches_are_400_before_any_decision(server, body, message):
    client, _ = server
    response = post(client, "/access/v1/evaluations", body)
    assert response.status_code == 400
    assert message in response.json()["message"]


# Searches -------------------------------------------------------------------------------------


def search(client, path: str, body: dict) -> dict:
    response = post(client, path, body)
    assert response.status_code == 200, response.text
    return response.json()


def test_resource_search_answers_as_the_store_lists(server):
    client, store = server
    for subject, action in itertools.product((ALICE, BOB, CARL), ("read", "write")):
        body = {"subject": wire(subject), "action": {"name": action}, "resource": {"type": "Repo"}}
        expected = store.list(subject, action, "Repo")
        assert search(client, "/access/v1/search/resource", body) == {
            "results": [{"type": "Repo", "id": i} for i in expected],
            "page": {"next_token": "", "count": len(expected), "total": len(expected)}}
    assert store.list(ALICE, "read", "Repo") == ["anvil", "rocket", "sled"]


def test_resource_search_ignores_a_resource_id_and_takes_context_facts(server):
    client, store = server
    crate = Value("Repo", "crate")
    body = {"subject": wire(CARL), "action": {"name": "read"}, "resource": {"type": "Repo", "id": "ignored"},
            "context": {"facts": [is_public(crate)]}}
    ids = [r["id"] for r in search(client, "/access/v1/search/resource", body)["results"]]
    assert ids == store.list(CARL, "read", "Repo", [("is_public", crate, True)]) == ["crate", "sled"]


def test_search_pages_walk_every_result_once(server):
    client, store = server
    for i in range(7):
        store.insert(("has_role", CARL, "viewer", Value("Repo", f"r{i}")))
    expected = store.list(CARL, "read", "Repo")
    assert len(expected) == 8
    body = {"subject": wire(CARL), "action": {"name": "read"}, "resource": {"type": "Repo"}, "page": {"limit": 3}}
    gathered, counts = [], []
    while True:
        answer = search(client, "/access/v1/search/resource", body)
        gathered += [r["id"] for r in answer["results"]]
        counts.append(answer["page"]["count"])
        assert answer["page"]["total"] == 8
        if not answer["page"]["next_token"]:
            break
        body = {**body, "page": {"limit": 3, "token": answer["page"]["next_token"]}}
    assert gathered == expected and counts == [3, 3, 2]


def test_a_page_token_keeps_its_place_across_writes_and_draft_spelling(server):
    client, store = server
    body = {"subject": wire(ALICE), "action": {"name": "read"}, "resource": {"type": "Repo"}, "page": {"limit": 1}}
    first = search(client, "/access/v1/search/resource", body)
    assert [r["id"] for r in first["results"]] == ["anvil"]
    store.insert(("has_relation", Value("Repo", "aardvark"), "parent", ACME))  # sorts before the page's end
    token = first["page"]["next_token"]
    second = search(client, "/access/v1/search/resource", {**body, "page": {"limit": 1, "next_token": token}})
    assert [r["id"] for r in second["results"]] == ["rocket"]


@pytest.mark.parametrize("page, message", [
    ("next", "page must be an object"),
    ({"limit": 0}, f"page.limit must be an integer from 1 to {MAX_PAGE_SIZE}"),
    ({"limit": True}, "page.limit"),
    ({"token": 12}, "page.token must be a string"),
    ({"token": "not-a-token!"}, "page.token is not a token this server gave out"),
])
def test_bad_pages_are_400(server, page, message):
    client, _ = server
    body = {"subject": wire(ALICE), "action": {"name": "read"}, "resource": {"type": "Repo"}, "page": page}
    response = post(client, "/access/v1/search/resource", body)
    assert response.status_code == 400 and message in response.json()["message"]


def test_a_token_of_another_search_is_refused(server):
    client, _ = server
    body = {"subject": wire(ALICE), "action": {"name": "read"}, "resource": {"type": "Repo"}, "page": {"limit": 1}}
    token = search(client, "/access/v1/search/resource", body)["page"]["next_token"]
    other = {**body, "subject": wire(BOB), "page": {"token": token}}
    response = post(client, "/access/v1/search/resource", other)
    assert response.status_code == 400 and "another search" in response.json()["message"]


def test_default_page_size_bounds_a_page(server):
    client, store = server
    with store.batch() as tx:
        for i in range(DEFAULT_PAGE_SIZE + 5):
            tx.insert(("has_role", CARL, "viewer", Value("Repo", f"bulk{i:05d}")))
    body = {"subject": wire(CARL), "action": {"name": "read"}, "resource": {"type": "Repo"}}
    answer = search(client, "/access/v1/search/resource", body)
    assert answer["page"]["count"] == DEFAULT_PAGE_SIZE and answer["page"]["next_token"]
    assert answer["page"]["total"] == DEFAULT_PAGE_SIZE + 6  # and the public sled


def test_subject_search_finds_every_allowed_subject(server):
    client, store = server
    for resource, action in itertools.product((ANVIL, ROCKET), ("read", "write")):
        body = {"subject": {"type": "User"}, "action": {"name": action}, "resource": wire(resource)}
        found = [r["id"] for r in search(client, "/access/v1/search/subject", body)["results"]]
        assert found == sorted(u.id for u in (ALICE, BOB, CARL) if store.authorize(u, action, resource))
    anvil_readers = {"subject": {"type": "User", "id": "ignored"}, "action": {"name": "read"}, "resource": wire(ANVIL)}
    assert search(client, "/access/v1/search/subject", anvil_readers) == {
        "results": [{"type": "User", "id": "alice"}, {"type": "User", "id": "bob"}],
        "page": {"next_token": "", "count": 2, "total": 2}}


def test_subject_search_with_context_facts(server):
    client, _ = server
    crate = Value("Repo", "crate")
    role = {"predicate": "has_role", "args": [wire(CARL), {"type": "String", "id": "viewer"}, wire(crate)]}
    body = {"subject": {"type": "User"}, "action": {"name": "read"}, "resource": wire(crate), "context": {"facts": [role]}}
    assert search(client, "/access/v1/search/subject", body)["results"] == [{"type": "User", "id": "carl"}]


def test_subject_search_needs_a_concrete_type_and_a_resource_id(server):
    client, _ = server
    abstract = post(client, "/access/v1/search/subject",
                    {"subject": {"type": "Actor"}, "action": {"name": "read"}, "resource": wire(ANVIL)})
    assert abstract.status_code == 400 and abstract.json()["message"].startswith("subject.type:")
    no_id = post(client, "/access/v1/search/subject",
                 {"subject": {"type": "User"}, "action": {"name": "read"}, "resource": {"type": "Repo"}})
    assert no_id.status_code == 400 and "resource.id" in no_id.json()["message"]


def test_action_search_answers_as_the_store_lists_actions(server):
    client, store = server
    for subject, resource in itertools.product((ALICE, BOB, CARL), (ANVIL, ROCKET, SLED)):
        body = {"subject": wire(subject), "resource": wire(resource)}
        expected = store.actions(subject, resource)
        assert search(client, "/access/v1/search/action", body) == {
            "results": [{"name": a} for a in expected],
            "page": {"next_token": "", "count": len(expected), "total": len(expected)}}
    assert store.actions(ALICE, ANVIL) == ["read", "write"]


def test_action_search_errors(server):
    client, _ = server
    response = post(client, "/access/v1/search/action", {"subject": wire(ALICE)})
    assert response.status_code == 400 and response.json()["message"] == "resource is required"


# Metadata -------------------------------------------------------------------------------------


def test_well_known_configuration_lists_every_endpoint_without_a_key(server):
    client, _ = server
    response = client.get("/.well-known/authzen-configuration")
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "max-age=300"
    base = "http://testserver"
    assert response.json() == {
        "policy_decision_point": base,
        "access_evaluation_endpoint": base + "/access/v1/evaluation",
        "access_evaluations_endpoint": base + "/access/v1/evaluations",
        "search_subject_endpoint": base + "/access/v1/search/subject",
        "search_resource_endpoint": base + "/access/v1/search/resource",
        "search_action_endpoint": base + "/access/v1/search/action",
    }


def test_access_routes_take_post_only(server):
    client, _ = server
    response = client.get("/access/v1/evaluation", headers=AUTH)
    assert response.status_code == 405 and "not allowed" in response.json()["message"]


def test_a_rule_for_every_subject_answers_the_wildcard_id(server):
    client, store = server
    body = {"subject": {"type": "User"}, "action": {"name": "read"}, "resource": wire(SLED)}
    assert search(client, "/access/v1/search/subject", body)["results"] == [{"type": "User", "id": "*"}]
    assert store.authorize(Value("User", "anyone at all"), "read", SLED) is True


# The examples of docs/server-authzen.md ---------------------------------------------------------

DOC = Path(__file__).resolve().parent.parent / "docs" / "server-authzen.md"
_EXAMPLE = re.compile(r"curl -s \$OSO_URL(\S+)(?: -H [^\n]*)?(?:\\\n)?(?:  -d '(.*?)')?\n# (.*?)\n(?=\n|```|curl)", re.S)


def test_the_doc_examples_answer_as_shown(tmp_path):
    text = DOC.read_text()
    policy = re.search(r"```polar\n(.*?)```", text, re.S).group(1)
    app = create_app(ServerConfig(database=str(tmp_path / "f.db")))
    store = app.state.server.environments.get("default")
    store.policy(policy)
    for fact in re.findall(r'oso\.insert\(\("(\w+)", Value\("(\w+)", "(\w+)"\), "(\w+)", Value\("(\w+)", "(\w+)"\)\)\)',
                           text):
        store.insert((fact[0], Value(fact[1], fact[2]), fact[3], Value(fact[4], fact[5])))
    examples = _EXAMPLE.findall(text)
    assert len(examples) == 7
    with TestClient(app, base_url="http://127.0.0.1:8080") as client:
        for path, body, shown in examples:
            if body:
                response = client.post(path, content=body.encode(), headers=AUTH)
            else:
                response = client.get(path)
            assert response.text == "".join(line.lstrip("# ").strip() for line in shown.split("\n")), path


def test_the_routes_answer_alike_on_postgresql():
    require_postgres()
    with postgres_schema() as schema:
        app = create_app(ServerConfig(database=postgres_server_url(schema)))
        store = app.state.server.environments.get("default")
        store.policy(POLICY)
        for fact in FACTS:
            store.insert(fact)
        with TestClient(app) as client:
            assert post(client, "/access/v1/evaluation", question(ALICE, "write", ANVIL)).json() == {"decision": True}
            assert post(client, "/access/v1/evaluations", batch()).json() == {"evaluations": [
                {"decision": d} for d in (True, False, True, False)]}
            resources = {"subject": wire(ALICE), "action": {"name": "read"}, "resource": {"type": "Repo"}}
            assert [r["id"] for r in search(client, "/access/v1/search/resource", resources)["results"]] == [
                "anvil", "rocket", "sled"]
            subjects = {"subject": {"type": "User"}, "action": {"name": "read"}, "resource": wire(ANVIL)}
            assert [r["id"] for r in search(client, "/access/v1/search/subject", subjects)["results"]] == [
                "alice", "bob"]
            actions = {"subject": wire(ALICE), "resource": wire(ANVIL)}
            assert search(client, "/access/v1/search/action", actions)["results"] == [{"name": "read"},
                                                                                       {"name": "write"}]
