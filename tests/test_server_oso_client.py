"""The real `oso-cloud==2.6.0` Python client, unmodified, against a real `python -m oso_server
serve` process on a loopback port: every public method of `oso_cloud.Oso` (but the
local-authorization ones, served by another module), its query builder, parity handles, agent
events, the internal `api.get_policy` / `api.clear_data`, and the errors it raises. One case
also runs against a server on PostgreSQL."""

from __future__ import annotations

import logging
import uuid

import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
oso_cloud = pytest.importorskip("oso_cloud")

from oso_cloud import Oso, OsoException, ParityHandle, Value, ValueOfType, typed_var  # noqa: E402

from fixtures.databases import postgres_schema  # noqa: E402
from fixtures.server_process import postgres_server_url, server_process  # noqa: E402
from oso_server.keys import DEV_TEST_KEY  # noqa: E402

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
ALICE, BOB, ROOT = Value("User", "alice"), Value("User", "bob"), Value("User", "root")
ACME, ZED = Value("Org", "acme"), Value("Org", "zed")
ANVIL, BOLT = Value("Repo", "anvil"), Value("Repo", "bolt")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with server_process([], tmp_path_factory.mktemp("oso-client")) as running:
        yield running


@pytest.fixture
def oso(server) -> Oso:
    client = Oso(url=server.url, api_key=DEV_TEST_KEY)
    client.policy(POLICY)
    client.api.clear_data()
    return client


def facts(oso: Oso, *patterns: tuple) -> list:
    return sorted((f for p in patterns for f in oso.get(p)), key=repr)


def test_policy_upload_read_and_metadata(oso):
    oso.policy(POLICY)                                   # the same source again: 202, accepted
    assert oso.api.get_policy().policy["src"] == POLICY
    metadata = oso.get_policy_metadata()
    assert sorted(metadata.resources) == ["Org", "Repo", "User", "global"]
    assert metadata.resources["Org"].roles == ["member", "owner"]
    assert metadata.resources["Org"].permissions == ["delete", "read"]
    assert metadata.resources["Repo"].relations == {"parent": "Org"}
    assert metadata.resources["global"].roles == ["admin"]


def test_insert_get_and_delete_with_wildcards(oso):
    oso.insert(("has_role", ALICE, "member", ACME))
    oso.insert(("has_role", ALICE, "owner", ZED))
    oso.insert(("has_role", BOB, "member", ACME))
    oso.insert(("has_role", ALICE, "admin"))
    oso.insert(("has_quota", ANVIL, 3))
    oso.insert(("is_public", BOLT, True))
    assert oso.get(("has_role", ALICE, "member", ACME)) == [("has_role", ALICE, Value("String", "member"), ACME)]
    assert facts(oso, ("has_role", ALICE, None, ValueOfType("Org"))) == sorted(
        [("has_role", ALICE, Value("String", "member"), ACME), ("has_role", ALICE, Value("String", "owner"), ZED)],
        key=repr)
    assert len(oso.get(("has_role", None, None, None))) == 4          # every arity: the global role too
    assert oso.get(("has_quota", None, None)) == [("has_quota", ANVIL, Value("Integer", "3"))]
    assert oso.get(("is_public", None, True)) == [("is_public", BOLT, Value("Boolean", "true"))]
    oso.delete(("has_role", ALICE, None, ValueOfType("Org")))
    assert oso.get(("has_role", ALICE, None, None)) == [("has_role", ALICE, Value("String", "admin"))]
    oso.delete(("has_role", None, None))
    oso.delete(("has_role", None, None, None))
    assert oso.get(("has_role", None, None, None)) == []
    assert oso.get(("has_quota", ANVIL, None)) == [("has_quota", ANVIL, Value("Integer", "3"))]


def test_batch_applies_mixed_operations_in_order_and_an_exception_sends_nothing(oso):
    with oso.batch() as tx:
        tx.insert(("has_role", ALICE, "member", ACME))
        tx.insert(("has_role", BOB, "member", ACME))
        tx.delete(("has_role", ALICE, None, None))
        tx.insert(("has_relation", ANVIL, "parent", ACME))
        tx.delete(("has_role", BOB, "member", ACME))
        tx.insert(("has_role", BOB, "owner", ACME))
    assert facts(oso, ("has_role", None, None, None), ("has_relation", None, None, None)) == sorted(
        [("has_role", BOB, Value("String", "owner"), ACME), ("has_relation", ANVIL, Value("String", "parent"), ACME)],
        key=repr)
    with pytest.raises(RuntimeError):
        with oso.batch() as tx:
            tx.insert(("has_role", ALICE, "member", ZED))
            raise RuntimeError("changed my mind")
    assert oso.get(("has_role", ALICE, None, None)) == []
    with pytest.raises(OsoException) as error:
        with oso.batch() as tx:
            tx.insert(("has_role", ALICE, "member", ZED))
            tx.insert(("no_such_predicate", ALICE))
    assert error.value.status_code == 400
    assert oso.get(("has_role", ALICE, None, None)) == []             # the good insert was not written either


def test_authorize_actions_and_list_with_context_facts_and_parity(oso):
    oso.insert(("has_role", ALICE, "member", ACME))
    oso.insert(("has_relation", ANVIL, "parent", ACME))
    assert oso.authorize(ALICE, "read", ANVIL)
    assert not oso.authorize(BOB, "read", ANVIL)
    assert oso.authorize(BOB, "read", ANVIL, [("has_role", BOB, "member", ACME)])
    assert not oso.authorize(BOB, "read", ANVIL)                   # context facts are never stored
    assert oso.authorize(BOB, "read", BOLT, context_facts=[("is_public", BOLT, True)])
    assert oso.actions(ALICE, ACME) == ["read"]
    assert oso.actions(ALICE, ACME, [("has_role", ALICE, "owner", ACME)]) == ["delete", "read"]
    assert oso.list(ALICE, "read", "Repo") == ["anvil"]
    assert oso.list(BOB, "read", "Repo", [("has_relation", BOLT, "parent", ZED), ("has_role", BOB, "member", ZED)]) == [
        "bolt"]
    page = oso.list_paginated(ALICE, "read", "Org", page_size=10_000)
    assert (page.results, page.next_page_token) == (["acme"], None)
    handle = ParityHandle()
    assert oso.authorize(ALICE, "read", ANVIL, parity_handle=handle)
    handle.expect(True)                                             # sends /api/expect
    assert handle.request_id
    early = ParityHandle()
    early.expect(False)
    assert not oso.authorize(BOB, "delete", ACME, parity_handle=early)  # sends /api/expect from inside authorize


def test_list_follows_pages_past_10000_results(oso):
    orgs = [f"org{i:05d}" for i in range(12_000)]
    with oso.batch() as tx:
        for org in orgs:
            tx.insert(("has_role", ALICE, "member", Value("Org", org)))
    assert oso.list(ALICE, "read", "Org") == orgs
    first = oso.list_paginated(ALICE, "read", "Org", page_size=10_000)
    assert first.results == orgs[:10_000] and first.next_page_token
    second = oso.list_paginated(ALICE, "read", "Org", page_size=10_000, page_token=first.next_page_token)
    assert (second.results, second.next_page_token) == (orgs[10_000:], None)
    with pytest.raises(OsoException) as error:
        oso.list_paginated(ALICE, "delete", "Org", page_size=10_000, page_token=first.next_page_token)
    assert error.value.status_code == 400 and "another list query" in str(error.value)


def test_the_query_builder_in_every_shape(oso):
    oso.insert(("has_role", ALICE, "member", ACME))
    oso.insert(("has_relation", ANVIL, "parent", ACME))
    oso.insert(("has_relation", BOLT, "parent", ACME))
    oso.insert(("has_role", ROOT, "admin"))
    repo, action, org = typed_var("Repo"), typed_var("String"), typed_var("Org")
    assert oso.build_query(("allow", ALICE, "read", ANVIL)).evaluate() is True
    assert oso.build_query(("allow", BOB, "read", ANVIL)).evaluate() is False
    assert oso.build_query(("allow", ALICE, "read", repo)).evaluate(repo) == ["anvil", "bolt"]
    assert oso.build_query(("allow", ALICE, action, repo)).evaluate((action, repo)) == [("read", "anvil"),
                                                                                        ("read", "bolt")]
    grouped = (oso.build_query(("allow", ALICE, "read", repo)).and_(("has_relation", repo, "parent", org))
               .evaluate({org: repo}))
    assert grouped == {"acme": ["anvil", "bolt"]}
    assert oso.build_query(("allow", ALICE, "read", repo)).in_(repo, ["bolt", "cog"]).evaluate(repo) == ["bolt"]
    cog = Value("Repo", "cog")
    with_context = (oso.build_query(("allow", BOB, "read", repo))
                    .with_context_facts([("has_relation", cog, "parent", ZED), ("has_role", BOB, "member", ZED)]))
    assert with_context.evaluate(repo) == ["cog"]
    assert oso.build_query(("allow", ROOT, action, org)).evaluate({action: org}) == {"delete": ["*"], "read": ["*"]}


def test_agent_events_reach_the_server(server, oso, caplog):
    caplog.set_level(logging.INFO, logger="oso_cloud")
    agents = oso.for_agents("agent-1", uuid.uuid4(), [ALICE], team="blue")
    agents.tool_call_request("get_weather", {"city": "SF"})
    agents.tool_call_response("get_weather", {"temp": 72}, latency_ms=3)
    agents.tool_call_error("get_weather", reason="timeout")
    agents.message_from_user("hello")
    agents.message_to_user("hi")
    assert not [r for r in caplog.records if "Failed to send event" in r.getMessage()]
    wrong = Oso(url=server.url, api_key="not-a-key").for_agents("agent-1", uuid.uuid4(), [ALICE])
    wrong.message_to_user("hi")                           # the client swallows errors: they are only logged
    assert [r for r in caplog.records if "Failed to send event" in r.getMessage()]


def test_errors_reach_the_caller_as_oso_exceptions(server, oso):
    with pytest.raises(OsoException) as error:
        oso.insert(("no_such_predicate", ALICE, ACME))
    assert error.value.status_code == 400
    assert "Oso Server error: 400" in str(error.value) and "no_such_predicate" in str(error.value)
    with pytest.raises(OsoException) as error:
        oso.insert(("has_role", ALICE, ACME))
    assert error.value.status_code == 400 and "matches no signature" in str(error.value)
    with pytest.raises(OsoException) as error:
        Oso(url=server.url, api_key="e_wrong_key").authorize(ALICE, "read", ANVIL)
    assert error.value.status_code == 401 and "Invalid API key" in str(error.value)
    with pytest.raises(OsoException) as error:
        oso.policy("resource Repo { permissions = [")
    assert error.value.status_code == 400 and '"error_type":"Validation"' in str(error.value)
    assert oso.api.get_policy().policy["src"] == POLICY            # the previous policy keeps serving
    oso.insert(("has_role", ROOT, "admin"))
    with pytest.raises(OsoException) as error:
        oso.list(ROOT, "read", "Org")                             # every Org: not a finite answer
    assert error.value.status_code == 400


def test_the_client_against_a_server_on_postgresql(tmp_path):
    with postgres_schema() as schema:
        with server_process(["--database", postgres_server_url(schema)], tmp_path) as running:
            oso = Oso(url=running.url, api_key=DEV_TEST_KEY)
            oso.policy(POLICY)
            with oso.batch() as tx:
                tx.insert(("has_role", ALICE, "member", ACME))
                tx.insert(("has_relation", ANVIL, "parent", ACME))
                tx.insert(("has_quota", ANVIL, 3))
            assert oso.authorize(ALICE, "read", ANVIL)
            assert oso.authorize(BOB, "write", ANVIL)
            assert oso.list(ALICE, "read", "Repo") == ["anvil"]
            assert oso.actions(ALICE, ACME) == ["read"]
            assert oso.get(("has_quota", None, None)) == [("has_quota", ANVIL, Value("Integer", "3"))]
            repo = typed_var("Repo")
            assert oso.build_query(("allow", ALICE, "read", repo)).evaluate(repo) == ["anvil"]
            oso.delete(("has_role", ALICE, None, None))
            assert not oso.authorize(ALICE, "read", ANVIL)
            oso.api.clear_data()
            assert oso.get(("has_relation", None, None, None)) == []
