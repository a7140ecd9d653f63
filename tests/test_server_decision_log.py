"""The server's decision log: one JSON line per decision request (who, what, decision, policy
version, request id, environment, route, duration), never an API key's secret; and the
`serve --decision-log` / `--metrics-key-required` options, in a real server process."""

from __future__ import annotations

import argparse
import json
import urllib.request

import pytest

pytest.importorskip("starlette")
pytest.importorskip("httpx")

from starlette.testclient import TestClient

from fixtures.server_process import server_process
from oso_core.values import Value
from oso_server import create_app
from oso_server.config import ServerConfig
from oso_server.decision_log import MAX_LOGGED_RESULTS
from oso_server.keys import DEV_TEST_KEY, ApiKey, KeyRing
from oso_server.serve import add_arguments, config_from_args

POLICY = """
actor User {}
resource Repo {
    roles = ["viewer"];
    permissions = ["read", "write"];
    "read" if "viewer";
}
allow(actor, action, resource) if has_permission(actor, action, resource);
"""
SECRET = "team-secret-key-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {SECRET}"}
FIELDS = {"time", "method", "actor", "action", "resource", "allowed", "result", "elapsed_ms", "request_id",
          "environment", "route", "status", "policy_version", "key"}


def evaluation(user: str, action: str = "read", repo: str = "anvil") -> dict:
    return {"subject": {"type": "User", "id": user}, "action": {"name": action},
            "resource": {"type": "Repo", "id": repo}}


@pytest.fixture
def logged(tmp_path):
    """(client, store, path of the decision log)."""
    log_path = tmp_path / "decisions.jsonl"
    keys = KeyRing([ApiKey("team", "prod", False, SECRET)])
    app = create_app(ServerConfig(database=str(tmp_path / "f.db"), keys=keys, decision_log=str(log_path)))
    store = app.state.server.environments.get("prod")
    store.policy(POLICY)
    store.insert(("has_role", Value("User", "bob"), "viewer", Value("Repo", "anvil")))
    with TestClient(app) as client:
        yield client, store, log_path


def lines(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_one_line_per_decision_with_who_what_and_which_request(logged):
    client, store, path = logged
    allowed = client.post("/access/v1/evaluation", json=evaluation("bob"), headers={**AUTH, "X-Request-ID": "r-1"})
    denied = client.post("/access/v1/evaluation", json=evaluation("bob", "write"), headers=AUTH)
    assert allowed.json() == {"decision": True} and denied.json() == {"decision": False}
    first, second = lines(path)
    assert set(first) == FIELDS
    assert {k: first[k] for k in FIELDS - {"time", "elapsed_ms"}} == {
        "method": "evaluation", "actor": "User:bob", "action": "read", "resource": "Repo:anvil",
        "allowed": True, "result": True, "request_id": "r-1", "environment": "prod",
        "route": "POST /access/v1/evaluation", "status": 200, "policy_version": store.policy_version, "key": "team"}
    assert first["elapsed_ms"] > 0 and first["time"].endswith("Z")
    assert (second["allowed"], second["action"]) == (False, "write")
    assert second["request_id"] == denied.headers["X-Request-ID"]


def test_the_secret_never_reaches_the_log(logged):
    client, _, path = logged
    client.post("/access/v1/evaluation", json=evaluation("bob"), headers=AUTH)
    client.post("/access/v1/evaluation", json=evaluation("bob"), headers={"Authorization": f"Bearer {SECRET}x"})
    text = path.read_text()
    assert len(text.splitlines()) == 1  # the 401 made no decision
    assert SECRET not in text and "Bearer" not in text


def test_requests_without_a_decision_write_nothing(logged):
    client, _, path = logged
    assert client.get("/api/healthcheck").status_code == 200
    assert client.get("/.well-known/authzen-configuration").status_code == 200
    assert client.get("/metrics").status_code == 200
    assert client.post("/access/v1/evaluation", json={"subject": 1}, headers=AUTH).status_code == 400
    assert path.read_text() == ""


def test_batches_and_searches_log_their_results(logged):
    client, store, path = logged
    batch = {"subject": {"type": "User", "id": "bob"}, "action": {"name": "read"},
             "evaluations": [{"resource": {"type": "Repo", "id": r}} for r in ("anvil", "x")]}
    client.post("/access/v1/evaluations", json=batch, headers=AUTH)
    with store.batch() as tx:
        for i in range(MAX_LOGGED_RESULTS + 20):
            tx.insert(("has_role", Value("User", "bob"), "viewer", Value("Repo", f"r{i:04d}")))
    search = {"subject": {"type": "User", "id": "bob"}, "action": {"name": "read"}, "resource": {"type": "Repo"}}
    client.post("/access/v1/search/resource", json=search, headers=AUTH)
    batch_line, search_line = lines(path)
    assert batch_line["actor"] == "User:bob" and batch_line["resource"] is None  # not shared by the items
    assert batch_line["result"] == [True, False] and batch_line["allowed"] is True
    assert batch_line["evaluations"] == [
        {"actor": "User:bob", "action": "read", "resource": "Repo:anvil", "allowed": True},
        {"actor": "User:bob", "action": "read", "resource": "Repo:x", "allowed": False}]
    assert search_line["resource"] == "Repo:*" and search_line["result_count"] == MAX_LOGGED_RESULTS + 21
    assert len(search_line["result"]) == MAX_LOGGED_RESULTS and search_line["result"][0] == "Repo:anvil"


def test_a_failed_decision_is_logged_as_denied_with_its_error(tmp_path):
    log_path = tmp_path / "d.jsonl"
    app = create_app(ServerConfig(database=str(tmp_path / "f.db"), decision_log=str(log_path)))  # no policy
    with TestClient(app) as client:
        response = client.post("/access/v1/evaluation", json=evaluation("bob"),
                               headers={"Authorization": f"Bearer {DEV_TEST_KEY}"})
    assert response.status_code == 400
    (line,) = lines(log_path)
    assert (line["allowed"], line["status"], line["policy_version"]) == (False, 400, 0)
    assert line["error"] == "the request failed with status 400"
    assert DEV_TEST_KEY not in log_path.read_text()


def test_dash_writes_to_standard_output(tmp_path, capsys):
    app = create_app(ServerConfig(database=str(tmp_path / "f.db"), decision_log="-"))
    app.state.server.environments.get("default").policy(POLICY)
    with TestClient(app) as client:
        client.post("/access/v1/evaluation", json=evaluation("carl"), headers={"Authorization": f"Bearer {DEV_TEST_KEY}"})
    (line,) = [json.loads(text) for text in capsys.readouterr().out.splitlines()]
    assert (line["actor"], line["allowed"]) == ("User:carl", False)


def test_serve_options():
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    config = config_from_args(parser.parse_args(["--decision-log", "d.jsonl", "--metrics-key-required"]))
    assert (config.decision_log, config.metrics_key_required) == ("d.jsonl", True)
    default = config_from_args(parser.parse_args([]))
    assert (default.decision_log, default.metrics_key_required) == (None, False)


def test_a_server_process_logs_decisions_and_serves_metrics(tmp_path):
    policy = tmp_path / "policy.polar"
    policy.write_text(POLICY)
    log_path = tmp_path / "decisions.jsonl"
    with server_process(["--policy", str(policy), "--decision-log", str(log_path)], tmp_path) as server:
        request = urllib.request.Request(f"{server.url}/access/v1/evaluation", method="POST",
                                         data=json.dumps(evaluation("bob")).encode(),
                                         headers={"Authorization": f"Bearer {DEV_TEST_KEY}",
                                                  "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            assert json.load(response) == {"decision": False}
            request_id = response.headers["X-Request-ID"]
        with urllib.request.urlopen(f"{server.url}/metrics", timeout=10) as response:
            metrics = response.read().decode()
    (line,) = lines(log_path)
    assert (line["request_id"], line["allowed"], line["policy_version"]) == (request_id, False, 1)
    assert 'oso_server_requests_total{method="POST",route="/access/v1/evaluation",status="200"} 1' in metrics
    assert 'oso_server_decisions_total{decision="deny"} 1' in metrics


def test_the_oso_cloud_decision_routes_are_logged_and_counted(logged):
    client, store, path = logged
    body = {"actor_type": "User", "actor_id": "bob", "action": "read", "resource_type": "Repo",
            "resource_id": "anvil", "context_facts": []}
    assert client.post("/api/authorize", json=body, headers=AUTH).json() == {"allowed": True}
    listed = {"actor_type": "User", "actor_id": "bob", "action": "read", "resource_type": "Repo",
              "context_facts": []}
    assert client.post("/api/list", json=listed, headers=AUTH).status_code == 200
    authorize_line, list_line = lines(path)
    assert (authorize_line["method"], authorize_line["actor"], authorize_line["resource"]) == (
        "authorize", "User:bob", "Repo:anvil")
    assert (authorize_line["allowed"], authorize_line["policy_version"], authorize_line["environment"]) == (
        True, store.policy_version, "prod")
    assert (list_line["method"], list_line["result"], list_line["result_count"]) == ("list", ["anvil"], 1)
    metrics = client.get("/metrics").text
    assert 'oso_server_decisions_total{decision="allow"} 1' in metrics
    assert 'oso_server_decisions_total{decision="list"} 1' in metrics
