"""The rules every oso_server request follows (`oso_server.endpoint`), on test-only routes in a
Starlette app built with `endpoint`: request ids, the body limit, JSON errors, keys and
read-only writes, internal errors; and the app's own 404/405."""

from __future__ import annotations

import json
import logging
import uuid

import pytest

pytest.importorskip("starlette")
pytest.importorskip("httpx")

from starlette.applications import Starlette
from starlette.routing import Route
from starlette.testclient import TestClient

from oso_server import ApiKey, KeyRing, RouteSpec, ServerConfig, ServerState, create_app
from oso_server import keys as keys_module
from oso_server.config import MAX_BODY_BYTES
from oso_server.endpoint import NO_BODY, endpoint

WRITER = ApiKey("writer", "default", read_only=False, secret="writer-secret-1")
READER = ApiKey("reader", "default", read_only=True, secret="reader-secret-2")


def _echo(call):
    return {"body": None if call.body is NO_BODY else call.body, "key": call.key.name}


def _crash(call):
    raise RuntimeError("internal detail that must stay in the server log")


def _size(call):
    return {"length": len(call.body)}


SPECS = [RouteSpec("POST", "/t/echo", _echo), RouteSpec("POST", "/t/write", _echo, write=True),
         RouteSpec("GET", "/t/crash", _crash, body=False), RouteSpec("POST", "/t/size", _size)]


@pytest.fixture
def client(tmp_path):
    config = ServerConfig(database=str(tmp_path / "facts.sqlite3"), data_dir=tmp_path, keys=KeyRing([WRITER, READER]))
    state = ServerState(config)
    app = Starlette(routes=[Route(s.path, endpoint(s, state), methods=[s.method]) for s in SPECS])
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client
    state.environments.close()


def _auth(key=WRITER):
    return {"Authorization": f"Bearer {key.secret}"}


def test_request_id_is_echoed(client):
    response = client.post("/t/echo", json={"a": 1}, headers={**_auth(), "X-Request-ID": "req-42.a:b_c"})
    assert response.status_code == 200
    assert response.headers["X-Request-ID"] == "req-42.a:b_c"
    assert response.json() == {"body": {"a": 1}, "key": "writer"}


@pytest.mark.parametrize("given", [None, "has spaces", "x" * 129, "new\tline", ""])
def test_request_id_is_generated_when_absent_or_unsafe(client, given):
    headers = _auth() if given is None else {**_auth(), "X-Request-ID": given}
    response = client.post("/t/echo", json={}, headers=headers)
    generated = response.headers["X-Request-ID"]
    assert generated != given
    assert str(uuid.UUID(generated)) == generated


def test_request_id_is_on_error_responses_too(client):
    response = client.post("/t/echo", json={}, headers={"X-Request-ID": "r-401"})
    assert response.status_code == 401
    assert response.headers["X-Request-ID"] == "r-401"


def test_body_at_the_limit_is_read(client):
    body = b'"' + b"a" * (MAX_BODY_BYTES - 2) + b'"'
    response = client.post("/t/size", content=body, headers=_auth())
    assert response.status_code == 200
    assert response.json() == {"length": MAX_BODY_BYTES - 2}


def test_declared_body_over_10_mib_is_413(client):
    response = client.post("/t/size", content=b" " * (MAX_BODY_BYTES + 1), headers=_auth())
    assert response.status_code == 413
    assert "over the limit" in response.json()["message"]


def test_streamed_body_over_10_mib_is_413(client):
    def chunks():  # no Content-Length: the server counts while it reads
        for _ in range(11):
            yield b" " * (1024 * 1024)

    response = client.post("/t/size", content=chunks(), headers=_auth())
    assert response.status_code == 413
    assert response.json() == {"message": f"Request body is over the limit of {MAX_BODY_BYTES} bytes"}


def test_non_numeric_content_length_is_400(client):
    response = client.post("/t/echo", content=b"{}", headers={**_auth(), "Content-Length": "lots"})
    assert response.status_code == 400


@pytest.mark.parametrize("raw", [b"{", b'{"a": }', b"[1, 2", b"\xff\xfe"])
def test_malformed_json_is_400(client, raw):
    response = client.post("/t/echo", content=raw, headers=_auth())
    assert response.status_code == 400
    message = response.json()["message"]
    assert "JSON" in message and set(response.json()) == {"message"}


def test_empty_body_is_no_body(client):
    assert client.post("/t/echo", headers=_auth()).json() == {"body": None, "key": "writer"}


@pytest.mark.parametrize("header", [None, "", "Bearer", "Bearer ", "Basic d3JpdGVy", "Bearer wrong-secret",
                                    f"Bearer {WRITER.secret}x", f"Bearer {WRITER.secret[:-1]}"])
def test_missing_or_wrong_key_is_401(client, header):
    headers = {} if header is None else {"Authorization": header}
    response = client.post("/t/echo", json={}, headers=headers)
    assert response.status_code == 401
    assert set(response.json()) == {"message"}
    assert WRITER.secret not in response.text


def test_write_with_read_only_key_is_403_and_read_is_allowed(client):
    response = client.post("/t/write", json={}, headers=_auth(READER))
    assert response.status_code == 403
    assert "'reader' is read-only" in response.json()["message"]
    assert READER.secret not in response.text
    assert client.post("/t/echo", json={}, headers=_auth(READER)).json()["key"] == "reader"
    assert client.post("/t/write", json={}, headers=_auth(WRITER)).status_code == 200


def test_403_comes_before_reading_the_body(client):
    # A read-only key is refused before its (here malformed) body is parsed.
    assert client.post("/t/write", content=b"{", headers=_auth(READER)).status_code == 403


def test_internal_error_is_500_with_request_id_and_no_traceback(client, caplog):
    with caplog.at_level(logging.ERROR, logger="oso_server"):
        response = client.get("/t/crash", headers={**_auth(), "X-Request-ID": "crash-1"})
    assert response.status_code == 500
    assert response.json() == {"message": "Internal server error (request id crash-1)"}
    assert "Traceback" not in response.text and "internal detail" not in response.text
    assert "crash-1" in caplog.text and "internal detail that must stay in the server log" in caplog.text


def test_every_key_is_compared(monkeypatch):
    keys = [ApiKey(f"k{i}", "default", False, f"secret-{i}") for i in range(5)]
    ring = KeyRing(keys)
    calls = []
    real = keys_module.hmac.compare_digest

    def counting(a, b):
        calls.append(1)
        return real(a, b)

    monkeypatch.setattr(keys_module.hmac, "compare_digest", counting)
    for header, expected in [("Bearer secret-0", "k0"), ("Bearer secret-4", "k4"), ("Bearer nope", None)]:
        calls.clear()
        if expected is None:
            with pytest.raises(keys_module.Unauthorized):
                ring.authenticate(header)
        else:
            assert ring.authenticate(header).name == expected
        assert len(calls) == len(keys)


def test_key_secret_is_not_in_repr():
    assert WRITER.secret not in repr(WRITER) and WRITER.secret not in repr(KeyRing([WRITER]).keys)


@pytest.fixture
def app_client(tmp_path):
    app = create_app(ServerConfig(database=str(tmp_path / "facts.sqlite3"), data_dir=tmp_path))
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def test_unknown_route_is_404_json(app_client):
    response = app_client.get("/api/nowhere", headers={"X-Request-ID": "r404"})
    assert response.status_code == 404
    assert response.json() == {"message": "Unknown route: GET /api/nowhere"}
    assert response.headers["X-Request-ID"] == "r404"


def test_wrong_method_is_405_json(app_client):
    response = app_client.delete("/api/healthcheck")
    assert response.status_code == 405
    assert response.json() == {"message": "Method DELETE is not allowed on /api/healthcheck"}
    assert json.loads(response.text).keys() == {"message"}
