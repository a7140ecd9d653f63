"""oso_server's Oso Cloud HTTP API, request by request through Starlette's test client: the exact
response keys of every endpoint (the oso-cloud client unpacks them into fixed fields), the wire
format of values and patterns, atomic ordered batches, list paging tokens, policy uploads that
fail and leave the previous policy serving, and bad input answered 4xx `{"message"}` with
nothing written."""

from __future__ import annotations

import base64
import json

import pytest
from starlette.testclient import TestClient

from oso_server.app import create_app
from oso_server.config import ServerConfig
from oso_server.keys import DEV_TEST_KEY, ApiKey, KeyRing, dev_key

AUTH = {"Authorization": f"Bearer {DEV_TEST_KEY}"}
POLICY = """
actor User {}
global { roles = ["admin"]; }
resource Org { roles = ["member", "owner"]; permissions = ["read", "delete"];
   "read" if "member"; "member" if "owner"; "delete" if "owner"; "owner" if global "admin"; }
resource Repo { permissions = ["read", "write"]; relations = { parent: Org };
   "read" if "read" on "parent"; "read" if is_public(resource, true); "write" if has_quota(resource, 3); }
declare has_quota(Repo, Integer);
declare is_public(Repo, Boolean);
"""
OTHER_POLICY = POLICY.replace('"read" if "member";', '"read" if "owner";')
ENDPOINTS = [("POST", "/api/policy"), ("POST", "/api/batch"), ("POST", "/api/authorize"), ("POST", "/api/list"),
             ("POST", "/api/actions"), ("POST", "/api/evaluate_query"), ("POST", "/api/expect"),
             ("POST", "/api/agents/event/tool_call_request")]


def val(type_: str, id_: object) -> dict:
    return {"type": type_, "id": id_}


def fact(predicate: str, *args: dict) -> dict:
    return {"predicate": predicate, "args": list(args)}


def user(name: str) -> dict:
    return val("User", name)


def role(user_id: str, name: str, org: str) -> dict:
    return fact("has_role", user(user_id), val("String", name), val("Org", org))


def parent(repo: str, org: str) -> dict:
    return fact("has_relation", val("Repo", repo), val("String", "parent"), val("Org", org))


def authorize_body(actor: str, action: str, type_: str, id_: str, context: list | None = None) -> dict:
    return {"actor_type": "User", "actor_id": actor, "action": action, "resource_type": type_, "resource_id": id_,
            "context_facts": context or []}


@pytest.fixture
def api(tmp_path):
    with TestClient(create_app(ServerConfig(database=str(tmp_path / "f.db"), data_dir=tmp_path))) as client:
        answer = client.post("/api/policy", json={"filename": "", "src": POLICY}, headers=AUTH)
        assert answer.status_code == 200, answer.text
        yield client


def post(api: TestClient, path: str, body: object) -> object:
    # ASCII JSON, as the oso-cloud clients send it: "\\ud800" escapes reach the server as such.
    return api.post(path, content=json.dumps(body).encode("ascii"),
                    headers={**AUTH, "Content-Type": "application/json"})


def ok(answer) -> object:
    assert answer.status_code == 200, answer.text
    return answer.json()


def insert(api: TestClient, *facts: dict) -> dict:
    return ok(post(api, "/api/batch", [{"inserts": list(facts)}]))


def all_facts(api: TestClient) -> list[dict]:
    found = []
    for predicate in ("has_role", "has_relation", "has_quota", "is_public"):
        found += ok(api.get("/api/facts", params={"predicate": predicate}, headers=AUTH))
    return sorted(found, key=json.dumps)


def refused(answer, status: int = 400, says: str = "") -> str:
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert set(body) == {"message"}, body
    assert says in body["message"]
    return body["message"]


# Response keys ---------------------------------------------------------------------------------

def test_every_endpoint_answers_exactly_the_keys_the_client_unpacks(api):
    write = insert(api, role("alice", "member", "acme"), parent("anvil", "acme"))
    assert set(write) == {"message"}
    assert ok(post(api, "/api/authorize", authorize_body("alice", "read", "Repo", "anvil"))) == {"allowed": True}
    assert ok(post(api, "/api/authorize", authorize_body("alice", "delete", "Org", "acme"))) == {"allowed": False}
    listing = {"actor_type": "User", "actor_id": "alice", "action": "read", "resource_type": "Repo", "context_facts": []}
    assert ok(post(api, "/api/list", listing)) == {"results": ["anvil"]}        # no page_size: no token key
    assert ok(post(api, "/api/list", {**listing, "page_size": 10000, "page_token": None})) == {
        "results": ["anvil"], "next_page_token": None}
    actions = {"actor_type": "User", "actor_id": "alice", "resource_type": "Org", "resource_id": "acme", "context_facts": []}
    assert ok(post(api, "/api/actions", actions)) == {"results": ["read"]}
    assert ok(api.get("/api/facts", params={"predicate": "has_role"}, headers=AUTH)) == [role("alice", "member", "acme")]
    assert ok(api.get("/api/policy", headers=AUTH)) == {"policy": {"filename": None, "src": POLICY}}
    metadata = ok(api.get("/api/policy_metadata", headers=AUTH))
    assert metadata == {"metadata": {"resources": {
        "User": {"roles": [], "permissions": [], "relations": {}},
        "Org": {"roles": ["member", "owner"], "permissions": ["delete", "read"], "relations": {}},
        "Repo": {"roles": [], "permissions": ["read", "write"], "relations": {"parent": "Org"}},
        "global": {"roles": ["admin"], "permissions": [], "relations": {}}}}}
    assert set(ok(post(api, "/api/expect", {"request_id": "r-1", "expected": True}))) == {"message"}
    for kind in ("tool_call_request", "tool_call_response", "tool_call_error", "message_from_user", "message_to_user"):
        assert ok(post(api, f"/api/agents/event/{kind}", {"agent_id": "a", "session_id": "s", "users": []})) == {}
    cleared = api.post("/api/clear_data", headers=AUTH)
    assert set(ok(cleared)) == {"message"}
    assert all_facts(api) == []
    assert ok(api.get("/api/policy", headers=AUTH))["policy"]["src"] == POLICY   # the policy stays


def test_writes_carry_an_increasing_oso_offset_and_every_answer_the_request_id(api):
    offsets = []
    for _ in range(3):
        answer = post(api, "/api/batch", [{"inserts": [role("alice", "member", "acme")]}])
        offsets.append(int(answer.headers["OsoOffset"]))
    offsets.append(int(api.post("/api/clear_data", headers=AUTH).headers["OsoOffset"]))
    offsets.append(int(post(api, "/api/policy", {"filename": "", "src": OTHER_POLICY}).headers["OsoOffset"]))
    assert offsets == sorted(set(offsets))
    answer = api.post("/api/authorize", json=authorize_body("a", "read", "Org", "o"),
                      headers={**AUTH, "X-Request-ID": "req-42"})
    assert answer.headers["X-Request-ID"] == "req-42"
    assert "OsoOffset" not in answer.headers


def test_policy_upload_answers_202_for_the_same_source(api):
    same = post(api, "/api/policy", {"filename": "", "src": POLICY})
    assert same.status_code == 202 and set(same.json()) == {"message"}
    changed = post(api, "/api/policy", {"filename": "main.polar", "src": OTHER_POLICY})
    assert changed.status_code == 200 and set(changed.json()) == {"message"}
    assert ok(api.get("/api/policy", headers=AUTH))["policy"]["src"] == OTHER_POLICY


def test_get_policy_returns_the_filename_the_upload_sent(tmp_path):
    config = ServerConfig(database=str(tmp_path / "f.db"), data_dir=tmp_path)
    with TestClient(create_app(config)) as client:
        ok(client.post("/api/policy", json={"filename": "main.polar", "src": POLICY}, headers=AUTH))
        assert ok(client.get("/api/policy", headers=AUTH)) == {"policy": {"filename": "main.polar", "src": POLICY}}
        # the oso-cloud 2.6.0 client always sends "": no file name, so null
        ok(client.post("/api/policy", json={"filename": "", "src": OTHER_POLICY}, headers=AUTH))
        assert ok(client.get("/api/policy", headers=AUTH))["policy"]["filename"] is None
        ok(client.post("/api/policy", json={"src": POLICY, "filename": "again.polar"}, headers=AUTH))
    with TestClient(create_app(config)) as restarted:    # the name is stored with the version
        assert ok(restarted.get("/api/policy", headers=AUTH))["policy"] == {"filename": "again.polar", "src": POLICY}


def test_get_policy_of_serve_policy_files_names_them(tmp_path):
    policy = tmp_path / "main.polar"
    policy.write_text(POLICY)
    config = ServerConfig(database=str(tmp_path / "f.db"), data_dir=tmp_path, policy_files=[policy])
    with TestClient(create_app(config)) as client:
        assert ok(client.get("/api/policy", headers=AUTH))["policy"] == {"filename": str(policy), "src": POLICY}


def test_get_policy_is_null_before_any_upload(tmp_path):
    with TestClient(create_app(ServerConfig(database=str(tmp_path / "f.db"), data_dir=tmp_path))) as client:
        assert ok(client.get("/api/policy", headers=AUTH)) == {"policy": None}
        refused(client.get("/api/policy_metadata", headers=AUTH), 400, "No policy")
        refused(client.post("/api/batch", json=[{"inserts": [role("a", "member", "o")]}], headers=AUTH), 400)


# Values on the wire ----------------------------------------------------------------------------

def test_primitive_values_round_trip_as_typed_string_ids(api):
    insert(api, fact("has_quota", val("Repo", "r"), val("Integer", "3")),
           fact("is_public", val("Repo", "p"), val("Boolean", "true")),
           fact("is_public", val("Repo", "q"), val("Boolean", "false")))
    assert ok(api.get("/api/facts", params={"predicate": "has_quota"}, headers=AUTH)) == [
        fact("has_quota", val("Repo", "r"), val("Integer", "3"))]
    assert ok(api.get("/api/facts", params={"predicate": "is_public", "args.1.type": "Boolean", "args.1.id": "true"},
                      headers=AUTH)) == [fact("is_public", val("Repo", "p"), val("Boolean", "true"))]
    assert ok(post(api, "/api/authorize", authorize_body("x", "write", "Repo", "r"))) == {"allowed": True}
    assert ok(post(api, "/api/authorize", authorize_body("x", "read", "Repo", "p"))) == {"allowed": True}
    assert ok(post(api, "/api/authorize", authorize_body("x", "read", "Repo", "q"))) == {"allowed": False}


HOSTILE_IDS = ["'; DROP TABLE oso_facts; --", 'a"b\\c', "%", "_", "*", " ", "línea\nnueva\ttab", "🦀 ünï", "?x=1&y=2",
               "../../etc/passwd", "User:alice", "x" * 10_000, ""]


def test_hostile_ids_are_stored_and_matched_exactly(api):
    insert(api, *(role(f"u{i}", "member", hostile) for i, hostile in enumerate(HOSTILE_IDS)),
           *(role(hostile, "member", "plain") for hostile in HOSTILE_IDS))
    for i, hostile in enumerate(HOSTILE_IDS):
        assert ok(post(api, "/api/authorize", authorize_body(f"u{i}", "read", "Org", hostile))) == {"allowed": True}
        others = [h for h in HOSTILE_IDS if h != hostile]
        assert ok(post(api, "/api/authorize", authorize_body(f"u{i}", "read", "Org", others[i % len(others)]))) == {
            "allowed": False}
        got = ok(api.get("/api/facts", params={"predicate": "has_role", "args.2.type": "Org", "args.2.id": hostile},
                         headers=AUTH))
        assert got == [role(f"u{i}", "member", hostile)]
        got = ok(api.get("/api/facts", params={"predicate": "has_role", "args.0.type": "User", "args.0.id": hostile},
                         headers=AUTH))
        assert got == [role(hostile, "member", "plain")]
    listing = {"actor_type": "User", "actor_id": "u0", "action": "read", "resource_type": "Org"}
    assert ok(post(api, "/api/list", listing)) == {"results": [HOSTILE_IDS[0]]}


# Batches -----------------------------------------------------------------------------------------

def test_a_batch_is_applied_in_order(api):
    a, b = role("alice", "member", "acme"), role("bob", "member", "acme")
    ok(post(api, "/api/batch", [{"inserts": [a, b]}, {"deletes": [a]}, {"inserts": [parent("anvil", "acme")]}]))
    assert all_facts(api) == sorted([b, parent("anvil", "acme")], key=json.dumps)
    ok(post(api, "/api/batch", [{"deletes": [b]}, {"inserts": [b]}]))    # delete then insert: present
    assert b in all_facts(api)
    ok(post(api, "/api/batch", [{"deletes": [role("nobody", "member", "acme")]}]))   # deleting nothing is fine
    ok(post(api, "/api/batch", []))
    ok(post(api, "/api/batch", [{"inserts": [b, b]}]))    # facts are a set
    assert ok(api.get("/api/facts", params={"predicate": "has_role"}, headers=AUTH)) == [b]


def test_wildcard_deletes(api):
    insert(api, role("alice", "member", "acme"), role("alice", "owner", "acme"), role("alice", "member", "zed"),
           role("bob", "member", "acme"), fact("has_role", user("alice"), val("String", "admin")))
    ok(post(api, "/api/batch", [{"deletes": [fact("has_role", user("alice"), {"type": None, "id": None},
                                                  {"type": "Org", "id": None})]}]))
    assert ok(api.get("/api/facts", params={"predicate": "has_role", "args.0.id": "alice", "args.0.type": "User"},
                      headers=AUTH)) == [fact("has_role", user("alice"), val("String", "admin"))]
    ok(post(api, "/api/batch", [{"deletes": [fact("has_role", None, None)]}]))     # bare null wildcards too
    assert ok(api.get("/api/facts", params={"predicate": "has_role"}, headers=AUTH)) == [role("bob", "member", "acme")]


def test_get_facts_leaves_absent_indexes_open_and_any_arity(api):
    insert(api, role("alice", "member", "acme"), fact("has_role", user("alice"), val("String", "admin")),
           role("bob", "owner", "acme"))
    everything = ok(api.get("/api/facts?predicate=has_role", headers=AUTH))
    assert len(everything) == 3
    alice = ok(api.get("/api/facts?predicate=has_role&args.0.type=User&args.0.id=alice", headers=AUTH))
    assert sorted(alice, key=json.dumps) == sorted([role("alice", "member", "acme"),
                                                   fact("has_role", user("alice"), val("String", "admin"))], key=json.dumps)
    by_org = ok(api.get("/api/facts?predicate=has_role&args.2.type=Org", headers=AUTH))
    assert sorted(by_org, key=json.dumps) == [role("alice", "member", "acme"), role("bob", "owner", "acme")]
    assert ok(api.get("/api/facts?predicate=has_role&args.1.type=String&args.1.id=owner", headers=AUTH)) == [
        role("bob", "owner", "acme")]


def test_get_facts_of_a_predicate_the_policy_does_not_know_is_refused_as_a_batch_is(api):
    says = "the policy declares no fact predicate unknown_predicate (fact predicates: has_quota, has_relation"
    message = refused(api.get("/api/facts?predicate=unknown_predicate", headers=AUTH), 400, says)
    assert message.startswith("predicate: ")
    refused(post(api, "/api/batch", [{"inserts": [fact("unknown_predicate", user("a"))]}]), 400, says)
    refused(api.get("/api/facts?predicate=allow", headers=AUTH), 400, "no fact predicate allow")  # rules only


# Decisions -----------------------------------------------------------------------------------

def test_context_facts_count_for_one_request_only(api):
    context = [role("carol", "member", "acme"), parent("anvil", "acme")]
    assert ok(post(api, "/api/authorize", authorize_body("carol", "read", "Repo", "anvil", context))) == {"allowed": True}
    assert ok(post(api, "/api/authorize", authorize_body("carol", "read", "Repo", "anvil"))) == {"allowed": False}
    listing = {"actor_type": "User", "actor_id": "carol", "action": "read", "resource_type": "Repo",
               "context_facts": context}
    assert ok(post(api, "/api/list", listing)) == {"results": ["anvil"]}
    actions = {"actor_type": "User", "actor_id": "carol", "resource_type": "Org", "resource_id": "acme",
               "context_facts": context}
    assert ok(post(api, "/api/actions", actions)) == {"results": ["read"]}
    assert all_facts(api) == []


def test_evaluate_query_puts_every_variable_in_every_row(api):
    insert(api, role("alice", "member", "acme"), parent("anvil", "acme"), parent("bolt", "acme"),
           fact("has_role", user("root"), val("String", "admin")))
    query = {"predicate": ["allow", ["var_a", "var_b", "var_c"]],
             "calls": [["has_relation", ["var_c", "var_d", "var_e"]]],
             "constraints": {"var_a": {"type": "User", "ids": ["alice"]}, "var_b": {"type": "String", "ids": ["read"]},
                             "var_c": {"type": "Repo", "ids": None}, "var_d": {"type": "String", "ids": ["parent"]},
                             "var_e": {"type": "Org", "ids": None}},
             "context_facts": []}
    rows = ok(post(api, "/api/evaluate_query", query))["results"]
    assert rows == [{"var_a": "alice", "var_b": "read", "var_c": "anvil", "var_d": "parent", "var_e": "acme"},
                    {"var_a": "alice", "var_b": "read", "var_c": "bolt", "var_d": "parent", "var_e": "acme"}]
    admin = {"predicate": ["allow", ["u", "act", "org"]], "calls": [],
             "constraints": {"u": {"type": "User", "ids": ["root"]}, "act": {"type": "String", "ids": None},
                             "org": {"type": "Org", "ids": None}}, "context_facts": []}
    rows = ok(post(api, "/api/evaluate_query", admin))["results"]
    assert {"u": "root", "act": "delete", "org": None} in rows      # null: any Org
    with_context = {**query, "context_facts": [parent("cog", "acme")],
                    "constraints": {**query["constraints"], "var_c": {"type": "Repo", "ids": ["cog", "bolt"]}}}
    assert [r["var_c"] for r in ok(post(api, "/api/evaluate_query", with_context))["results"]] == ["bolt", "cog"]


def test_an_unbounded_list_is_refused_not_answered(api):
    insert(api, fact("has_role", user("root"), val("String", "admin")))
    refused(post(api, "/api/list", {"actor_type": "User", "actor_id": "root", "action": "read", "resource_type": "Org"}),
            400, "every value")


# Paging --------------------------------------------------------------------------------------------

def _orgs(count: int) -> list[str]:
    return [f"org{i:05d}" for i in range(count)]


@pytest.fixture
def many(api):
    insert(api, *(role("alice", "member", org) for org in _orgs(10_500)))
    return api


def _listing(**extra: object) -> dict:
    return {"actor_type": "User", "actor_id": "alice", "action": "read", "resource_type": "Org", "context_facts": [],
            **extra}


def test_list_pages_follow_their_tokens_to_the_end(many):
    first = ok(post(many, "/api/list", _listing(page_size=10_000, page_token=None)))
    assert set(first) == {"results", "next_page_token"}
    assert first["results"] == _orgs(10_000) and isinstance(first["next_page_token"], str)
    second = ok(post(many, "/api/list", _listing(page_size=10_000, page_token=first["next_page_token"])))
    assert second == {"results": _orgs(10_500)[10_000:], "next_page_token": None}
    assert ok(post(many, "/api/list", _listing()))["results"] == _orgs(10_500)


def test_a_page_token_resumes_after_its_last_id_when_facts_change(many):
    first = ok(post(many, "/api/list", _listing(page_size=10_000)))
    post(many, "/api/batch", [{"deletes": [role("alice", "member", "org00000")]},
                              {"inserts": [role("alice", "member", "org99999")]}])
    second = ok(post(many, "/api/list", _listing(page_size=10_000, page_token=first["next_page_token"])))
    assert second["results"] == [*_orgs(10_500)[10_000:], "org99999"]


def test_page_tokens_are_bound_to_the_query_and_the_policy(many):
    token = ok(post(many, "/api/list", _listing(page_size=10_000)))["next_page_token"]
    refused(post(many, "/api/list", _listing(page_size=10_000, page_token=token, action="delete")), 400, "another list")
    refused(post(many, "/api/list", _listing(page_size=10_000, page_token=token,
                                             context_facts=[role("x", "member", "y")])), 400, "another list")
    refused(post(many, "/api/list", _listing(page_token="not a token")), 400, "page_token")
    forged = base64.urlsafe_b64encode(b'{"v": 1}').decode()
    refused(post(many, "/api/list", _listing(page_token=forged)), 400, "page_token")
    refused(post(many, "/api/list", _listing(page_token=7)), 400, "page_token")
    ok(post(many, "/api/policy", {"filename": "", "src": OTHER_POLICY.replace("member", "member2")}))
    refused(post(many, "/api/list", _listing(page_token=token, action="read")), 400, "policy changed")


@pytest.mark.parametrize("size", [9_999, 0, -1, "10000", 1.5, True])
def test_page_size_must_be_an_integer_of_at_least_10000(api, size):
    refused(post(api, "/api/list", _listing(page_size=size)), 400, "page_size")


# Failing policies ------------------------------------------------------------------------------

def test_a_policy_that_does_not_load_is_refused_and_the_previous_one_serves(api):
    insert(api, role("alice", "member", "acme"))
    answer = post(api, "/api/policy", {"filename": "", "src": "resource Repo { permissions = [\"read\" "})
    assert answer.status_code == 400
    body = answer.json()
    assert set(body) == {"error_type", "message", "errors"} and body["error_type"] == "Validation"
    assert [set(e) for e in body["errors"]] == [{"error_type", "message"}]
    assert body["errors"][0]["error_type"] == "ValidationFailed"
    assert ok(api.get("/api/policy", headers=AUTH))["policy"]["src"] == POLICY
    assert ok(post(api, "/api/authorize", authorize_body("alice", "read", "Org", "acme"))) == {"allowed": True}


def test_a_policy_calling_a_declared_predicate_with_another_arity_is_refused_at_upload(api):
    wrong = POLICY.replace("has_quota(resource, 3)", "has_quota(resource, 3, _)")
    answer = post(api, "/api/policy", {"filename": "", "src": wrong})
    assert answer.status_code == 400
    body = answer.json()
    assert body["error_type"] == "Validation"
    assert "Call has_quota(resource, 3, _) fits no signature or rule of `has_quota`" in body["message"]
    assert "expected has_quota(Repo, Integer)" in body["message"] and "at line 7, column" in body["message"]
    assert ok(api.get("/api/policy", headers=AUTH))["policy"]["src"] == POLICY


def test_a_policy_whose_tests_fail_is_refused_and_one_whose_tests_pass_is_taken(api):
    failing = POLICY + 'test "owners delete" { setup { has_role(User{"a"}, "member", Org{"o"}); }\n' \
                       '  assert allow(User{"a"}, "delete", Org{"o"}); }\n'
    answer = post(api, "/api/policy", {"filename": "", "src": failing})
    assert answer.status_code == 400
    body = answer.json()
    assert body["error_type"] == "TestsFailed" and "owners delete" in body["message"]
    assert body["test_results"]["success"] is False
    assert body["test_results"]["tests"] == [{"name": "owners delete", "passed": 0, "total": 1}]
    assert [e["error_type"] for e in body["test_results"]["errors"]] == ["AssertionFailed"]
    assert ok(api.get("/api/policy", headers=AUTH))["policy"]["src"] == POLICY
    passing = failing.replace('"member", Org{"o"}', '"owner", Org{"o"}')
    assert post(api, "/api/policy", {"filename": "", "src": passing}).status_code == 200
    assert ok(api.get("/api/policy", headers=AUTH))["policy"]["src"] == passing


# Bad input -------------------------------------------------------------------------------------

@pytest.mark.parametrize("method,path", ENDPOINTS)
def test_malformed_json_is_refused_on_every_route(api, method, path):
    insert(api, role("alice", "member", "acme"))
    before = all_facts(api)
    for raw in (b"{not json", b'[{"inserts": [', b"\xff\xfe", b'{"a": 1}}', b"[" * 100_000 + b"]" * 100_000):
        refused(api.request(method, path, content=raw, headers={**AUTH, "Content-Type": "application/json"}), 400)
    assert all_facts(api) == before
    assert ok(api.get("/api/policy", headers=AUTH))["policy"]["src"] == POLICY


@pytest.mark.parametrize("method,path", ENDPOINTS)
def test_a_body_that_is_not_an_object_or_array_as_expected_is_refused(api, method, path):
    for body in (42, "text", None, True, {"inserts": []} if path == "/api/batch" else []):
        refused(post(api, path, body), 400)
    refused(api.request(method, path, headers=AUTH), 400, "request body")


BAD_FACTS = [
    ([{"inserts": [fact("nope", user("a"))]}], "[2].inserts[0]: nope"),
    ([{"inserts": [fact("has_role", user("a"), val("Org", "o"))]}], "matches no signature"),
    ([{"inserts": [fact("has_role", user("a"), val("String", "m"), val("Org", "o"), user("b"))]}], "4 arguments"),
    ([{"inserts": [fact("has_role", user("a"), val("String", "m"), val("Org", 7))]}], "[2].inserts[0].args[2].id: expected a string"),
    ([{"inserts": [fact("has_role", user("a\x00b"), val("String", "m"), val("Org", "o"))]}], "args[0].id: contains the NUL"),
    ([{"inserts": [fact("has_role", val("Us\x00er", "a"), val("String", "m"), val("Org", "o"))]}], "args[0].type"),
    ([{"inserts": [fact("has_role", user("a\ud800"), val("String", "m"), val("Org", "o"))]}], "args[0].id: contains a lone surrogate"),
    ([{"inserts": [fact("has_role", user("a"), val("String", "m\udfff"), val("Org", "o"))]}], "args[1].id: contains a lone surrogate"),
    ([{"inserts": [fact("has_role", user("a"), None, val("Org", "o"))]}], "args[1]: expected a JSON object"),
    ([{"inserts": [fact("has_role", user("a"), {"type": None, "id": None}, val("Org", "o"))]}], "args[1].type"),
    ([{"inserts": [fact("has_role", user("a"), {"type": "String", "id": None}, val("Org", "o"))]}], "args[1].id"),
    ([{"inserts": [{"predicate": "has_role"}]}], "[2].inserts[0].args: missing"),
    ([{"inserts": [{"predicate": 3, "args": []}]}], "predicate: expected a string"),
    ([{"inserts": [fact("has_role")]}], "1 to 5 arguments"),
    ([{"inserts": [fact("has_quota", val("Repo", "r"), val("Integer", "three"))]}], "Integer id"),
    ([{"inserts": [fact("has_quota", val("Repo", "r"), val("Integer", str(2 ** 64)))]}], "Integer id"),
    ([{"inserts": [fact("is_public", val("Repo", "r"), val("Boolean", "yes"))]}], "Boolean id"),
    ([{"inserts": {"a": 1}}], "[2].inserts: expected a JSON array"),
    ([{"inserts": [], "deletes": []}], "exactly one of"),
    ([{"upserts": []}], "exactly one of"),
    ([[]], "[2]: expected a JSON object"),
    ([{"deletes": [fact("has_role", {"type": None, "id": "x"}, None, None)]}], "[2].deletes[0].args[0].type"),
]


@pytest.mark.parametrize("body,says", BAD_FACTS)
def test_a_bad_fact_anywhere_in_a_batch_writes_nothing(api, body, says):
    insert(api, role("alice", "member", "acme"))
    before = all_facts(api)
    good = [{"inserts": [role("bob", "member", "acme")]}, {"deletes": [role("alice", "member", "acme")]}]
    refused(post(api, "/api/batch", [*good, *body]), 400, says)
    assert all_facts(api) == before


BAD_DECISIONS = [
    ("/api/authorize", {"actor_type": "User", "action": "read", "resource_type": "Org", "resource_id": "o"}, "actor_id: missing"),
    ("/api/authorize", {**authorize_body("a", "read", "Org", "o"), "actor_id": 7}, "actor_id: expected a string"),
    ("/api/authorize", {**authorize_body("a", "read", "Org", "o"), "action": ["read"]}, "action: expected a string"),
    ("/api/authorize", {**authorize_body("a", "read", "Org", "o"), "resource_type": ""}, "resource_type: expected a non-empty"),
    ("/api/authorize", {**authorize_body("a\x00", "read", "Org", "o")}, "actor_id: contains the NUL"),
    ("/api/authorize", {**authorize_body("a\ud800", "read", "Org", "o")}, "actor_id: contains a lone surrogate"),
    ("/api/authorize", authorize_body("a", "read", "Org", "o", [fact("nope", user("a"))]), "context_facts[0]: nope"),
    ("/api/authorize", authorize_body("a", "read", "Org", "o", [role("a", "m", "o"), fact("has_role", user("a"))]),
     "context_facts[1]"),
    ("/api/authorize", {**authorize_body("a", "read", "Org", "o"), "context_facts": {}}, "context_facts: expected a JSON array"),
    ("/api/authorize", authorize_body("a", "read", "Org", "o", [fact("has_role", user("a"), None, val("Org", "o"))]),
     "context_facts[0].args[1]"),
    ("/api/list", {"actor_type": "User", "actor_id": "a", "action": "read"}, "resource_type: missing"),
    ("/api/actions", {"actor_type": "User", "actor_id": "a", "resource_type": "Org"}, "resource_id: missing"),
    ("/api/evaluate_query", {"predicate": ["allow", ["x"]], "constraints": {}}, "predicate[1][0]"),
    ("/api/evaluate_query", {"predicate": "allow", "constraints": {}}, "predicate: expected a JSON array"),
    ("/api/evaluate_query", {"predicate": ["allow", ["x"]], "constraints": {"x": {"type": "Actor", "ids": None}}},
     "abstract"),
    ("/api/evaluate_query", {"predicate": ["allow", ["x"]], "constraints": {"x": {"type": "User", "ids": "a"}}},
     "constraints.x.ids: expected a JSON array"),
    ("/api/evaluate_query", {"predicate": ["allow", ["x"]], "constraints": {"x": {"type": "User"}, "y": {"type": "Org"}}},
     "constraints.y: the variable is not used"),
    ("/api/evaluate_query", {"predicate": ["has_quota", ["r", "n"]],
                             "constraints": {"r": {"type": "Repo"}, "n": {"type": "Integer", "ids": ["x"]}}},
     "constraints.n.ids[0]: an Integer id"),
    ("/api/expect", {"request_id": "r"}, "expected: missing"),
    ("/api/expect", {"request_id": "r", "expected": "yes"}, "expected: expected a boolean"),
]


@pytest.mark.parametrize("path,body,says", BAD_DECISIONS)
def test_bad_decision_requests_name_the_field(api, path, body, says):
    refused(post(api, path, body), 400, says)


def test_a_policy_upload_with_a_wrong_shape_is_refused(api):
    refused(post(api, "/api/policy", {"filename": ""}), 400, "src: missing")
    refused(post(api, "/api/policy", {"src": 3}), 400, "src: expected a string")
    refused(post(api, "/api/policy", {"src": POLICY, "filename": 3}), 400, "filename: expected a string")
    assert ok(api.get("/api/policy", headers=AUTH))["policy"]["src"] == POLICY


def test_bad_get_facts_query_strings_name_the_parameter(api):
    refused(api.get("/api/facts", headers=AUTH), 400, "predicate: missing")
    refused(api.get("/api/facts?predicate=has_role&args.9.type=User", headers=AUTH), 400, "args.9.type")
    refused(api.get("/api/facts?predicate=has_role&args.0.id=alice", headers=AUTH), 400, "args.0.type")
    refused(api.get("/api/facts?predicate=has_role&argz=1", headers=AUTH), 400, "argz")
    refused(api.get("/api/facts?predicate=has_quota&args.1.type=Integer&args.1.id=x", headers=AUTH), 400, "args.1.id")


def test_a_huge_body_is_refused_with_413_and_writes_nothing(api):
    facts = [role(f"user{i}", "member", "acme" + "x" * 100) for i in range(60_000)]
    raw = json.dumps([{"inserts": facts}]).encode()
    assert len(raw) > 10 * 1024 * 1024
    refused(api.post("/api/batch", content=raw, headers={**AUTH, "Content-Type": "application/json"}), 413)
    assert all_facts(api) == []


def test_unknown_routes_and_methods_and_keys(api):
    refused(api.get("/api/nope", headers=AUTH), 404, "Unknown route")
    refused(api.post("/api/agents/event/nope", json={}, headers=AUTH), 404)
    refused(api.get("/api/authorize", headers=AUTH), 405)
    refused(api.post("/api/batch", json=[{"inserts": [role("a", "member", "o")]}],
                     headers={"Authorization": "Bearer wrong"}), 401)
    refused(api.post("/api/authorize", json=authorize_body("a", "read", "Org", "o")), 401)
    assert all_facts(api) == []


def test_writes_need_a_read_write_key_and_each_key_sees_its_own_environment(tmp_path):
    read_only = ApiKey(name="reader", environment="default", read_only=True, secret="ro-secret")
    other = ApiKey(name="other", environment="staging", read_only=False, secret="staging-secret")
    config = ServerConfig(database=str(tmp_path / "f.db"), data_dir=tmp_path, keys=KeyRing([dev_key(), read_only, other]))
    with TestClient(create_app(config)) as client:
        ok(client.post("/api/policy", json={"filename": "", "src": POLICY}, headers=AUTH))
        ok(client.post("/api/batch", json=[{"inserts": [role("alice", "member", "acme")]}], headers=AUTH))
        reader = {"Authorization": "Bearer ro-secret"}
        refused(client.post("/api/policy", json={"filename": "", "src": OTHER_POLICY}, headers=reader), 403, "read-only")
        refused(client.post("/api/batch", json=[{"deletes": [fact("has_role", None, None, None)]}], headers=reader), 403)
        refused(client.post("/api/clear_data", headers=reader), 403)
        assert ok(client.post("/api/authorize", json=authorize_body("alice", "read", "Org", "acme"), headers=reader)) == {
            "allowed": True}
        assert len(ok(client.get("/api/facts?predicate=has_role", headers=reader))) == 1
        assert set(ok(client.post("/api/expect", json={"request_id": "r", "expected": True}, headers=reader))) == {
            "message"}
        staging = {"Authorization": "Bearer staging-secret"}
        assert ok(client.get("/api/policy", headers=staging)) == {"policy": None}
        assert ok(client.get("/api/facts?predicate=has_role", headers=staging)) == []
        ok(client.post("/api/policy", json={"filename": "", "src": POLICY}, headers=staging))
        ok(client.post("/api/clear_data", headers=staging))
        assert len(ok(client.get("/api/facts?predicate=has_role", headers=AUTH))) == 1
