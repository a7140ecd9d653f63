"""How a request reaches its handler: the app sends an exact method and path straight to the
route's endpoint and everything else through Starlette's router (same answers either way);
handlers run on the handler threads, or on the event loop with `handler_threads=0`; the
thread count is bounded by the connection pool."""

from __future__ import annotations

import argparse
import threading

import pytest

pytest.importorskip("starlette")
pytest.importorskip("httpx")

from starlette.testclient import TestClient

from oso_server import ServerConfig, create_app
from oso_server.config import MAX_HANDLER_THREADS
from oso_server.keys import DEV_TEST_KEY
from oso_server.serve import add_arguments, config_from_args

AUTH = {"Authorization": f"Bearer {DEV_TEST_KEY}"}
POLICY = 'actor User {}\nresource Repo { permissions = ["read"]; }\nallow(a, "read", r: Repo) if a = r;\n'


def _client(tmp_path, threads: int) -> TestClient:
    config = ServerConfig(database=str(tmp_path / "facts.sqlite3"), data_dir=tmp_path, handler_threads=threads)
    return TestClient(create_app(config), raise_server_exceptions=False)


@pytest.mark.parametrize("threads", [0, 2])
def test_decisions_answer_the_same_with_and_without_handler_threads(tmp_path, threads):
    with _client(tmp_path, threads) as client:
        assert client.post("/api/policy", json={"src": POLICY}, headers=AUTH).status_code == 200
        body = {"actor_type": "User", "actor_id": "1", "action": "read", "resource_type": "Repo",
                "resource_id": "1", "context_facts": []}
        response = client.post("/api/authorize", json=body, headers={**AUTH, "X-Request-ID": "abc"})
        assert response.status_code == 200
        assert response.json() == {"allowed": False}
        assert response.headers["X-Request-ID"] == "abc"
        assert response.headers["content-type"] == "application/json"
        assert int(response.headers["content-length"]) == len(response.content)
        bad = client.post("/api/authorize", content=b"{", headers=AUTH)
        assert bad.status_code == 400 and "Malformed JSON" in bad.json()["message"]
        assert bad.headers["X-Request-ID"]


def test_handlers_run_on_handler_threads_unless_threads_is_zero(tmp_path):
    seen = []
    for threads in (0, 2):
        (tmp_path / str(threads)).mkdir()
        with _client(tmp_path / str(threads), threads) as client:
            endpoint = client.app.direct[("GET", "/api/healthcheck")]
            original = endpoint.spec.handler
            spec = endpoint.spec.__class__(**{**endpoint.spec.__dict__,
                                              "handler": lambda call: seen.append(threading.current_thread().name)
                                              or original(call)})
            endpoint.spec = spec
            assert client.get("/api/healthcheck").status_code == 200
    assert not seen[0].startswith("oso-handler")
    assert seen[1].startswith("oso-handler")


def test_requests_off_the_exact_routes_take_starlettes_router(tmp_path):
    with _client(tmp_path, 1) as client:
        wrong_method = client.get("/api/authorize", headers=AUTH)
        assert wrong_method.status_code == 405
        assert wrong_method.json() == {"message": "Method GET is not allowed on /api/authorize"}
        assert wrong_method.headers["X-Request-ID"]
        unknown = client.post("/api/nothing", json={}, headers=AUTH)
        assert unknown.status_code == 404
        assert client.head("/api/healthcheck").status_code == 200


def test_thread_count_is_bounded_by_the_connection_pool(tmp_path):
    with pytest.raises(ValueError, match="handler_threads"):
        ServerConfig(data_dir=tmp_path, handler_threads=MAX_HANDLER_THREADS + 1)
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    with pytest.raises(ValueError, match="--threads must be 0 to"):
        config_from_args(parser.parse_args(["--data-dir", str(tmp_path), "--threads", "40"]))
    with pytest.raises(ValueError, match="--threads must be 0 to"):
        config_from_args(parser.parse_args(["--data-dir", str(tmp_path), "--threads", "-1"]))
