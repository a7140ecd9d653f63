"""Two server processes on one database (a PostgreSQL schema, or a SQLite file) agree: a policy
uploaded through one is served by the other (PostgreSQL: NOTIFY, SQLite: the version poll),
facts written through either are seen by both, and authorize/list answer alike."""

from __future__ import annotations

import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")

from fixtures.databases import postgres_schema
from fixtures.server_http import POLICY, call, role_fact, value, wait_for
from fixtures.server_process import postgres_server_url, server_process


@pytest.fixture(params=["postgresql", "sqlite"])
def database_args(request, tmp_path):
    if request.param == "sqlite":
        yield ["--database", str(tmp_path / "shared.sqlite3")]
        return
    with postgres_schema() as schema:
        yield ["--database", postgres_server_url(schema)]


def _policy_of(url: str):
    policy = call(url, "GET", "/api/policy")[1]["policy"]
    return policy and policy["src"]


def _decisions(url: str) -> tuple:
    alice = {"actor_type": "User", "actor_id": "alice"}
    allowed = call(url, "POST", "/api/authorize", {**alice, "action": "read", "resource_type": "Repo",
                                                   "resource_id": "1", "context_facts": []})[1]
    listed = call(url, "POST", "/api/list", {**alice, "action": "read", "resource_type": "Repo",
                                             "context_facts": []})[1]
    return allowed, listed


def test_two_replicas_agree(tmp_path, database_args):
    with server_process(database_args, tmp_path / "a") as a, server_process(database_args, tmp_path / "b") as b:
        member, viewer = POLICY % ("member", "member"), POLICY % ("viewer", "viewer")
        assert call(a.url, "POST", "/api/policy", {"filename": "", "src": member})[0] == 200
        lag = wait_for(lambda: _policy_of(b.url) == member)
        print(f"replica B served A's upload after {lag:.3f} s")
        facts = [role_fact("alice", "member", "1"), role_fact("alice", "viewer", "2"), role_fact("alice", "member", "3")]
        assert call(b.url, "POST", "/api/batch", [{"inserts": facts}])[0] == 200
        status, seen_by_a = call(a.url, "GET", "/api/facts?predicate=has_role&args.0.type=User&args.0.id=alice")
        assert status == 200 and len(seen_by_a) == 3
        assert _decisions(a.url) == _decisions(b.url) == ({"allowed": True}, {"results": ["1", "3"]})

        # And back the other way, with a policy that changes every answer.
        assert call(b.url, "POST", "/api/policy", {"filename": "", "src": viewer})[0] == 200
        wait_for(lambda: _policy_of(a.url) == viewer)
        assert _decisions(a.url) == _decisions(b.url) == ({"allowed": False}, {"results": ["2"]})
        assert call(a.url, "POST", "/api/batch", [{"deletes": [{"predicate": "has_role", "args": [
            value("User", "alice"), {"type": None, "id": None}, {"type": "Repo", "id": None}]}]}])[0] == 200
        assert call(b.url, "GET", "/api/facts?predicate=has_role")[1] == []


def test_a_replica_started_later_serves_the_stored_policy(tmp_path, database_args):
    member = POLICY % ("member", "member")
    with server_process(database_args, tmp_path / "a") as a:
        call(a.url, "POST", "/api/policy", {"filename": "", "src": member})
        with server_process(database_args, tmp_path / "b") as b:
            assert _policy_of(b.url) == member
