"""The server-process fixture itself: a server starts on a free port, answers its healthcheck
and unknown routes with JSON, and stops."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")

from fixtures.server_process import server_process


def test_server_starts_answers_and_stops(tmp_path):
    with server_process([], tmp_path) as server:
        with urllib.request.urlopen(f"{server.url}/api/healthcheck", timeout=5) as response:
            assert json.load(response) == {"message": "ok"}
            assert response.headers["X-Request-ID"]
        with pytest.raises(urllib.error.HTTPError) as error:
            urllib.request.urlopen(f"{server.url}/api/no-such-route", timeout=5)
        assert error.value.code == 404
        assert json.load(error.value) == {"message": "Unknown route: GET /api/no-such-route"}
    assert server.process.returncode is not None
    assert (tmp_path / "facts.sqlite3").exists()


def test_the_public_helper_starts_a_server_and_names_a_failed_start(tmp_path):
    from oso_server.testing import ServerStartError, running_server

    with running_server(["--data-dir", str(tmp_path / "data")], log_path=tmp_path / "server.log") as server:
        with urllib.request.urlopen(f"{server.url}/api/healthcheck", timeout=5) as response:
            assert json.load(response) == {"message": "ok"}
        assert server.url == f"http://127.0.0.1:{server.port}"
    assert server.process.returncode is not None
    assert (tmp_path / "server.log").exists()
    with pytest.raises(ServerStartError) as failed:
        running_server(["--data-dir", str(tmp_path / "data"), "--policy", str(tmp_path / "nowhere.polar")]).__enter__()
    assert "oso_server exited with 1" in str(failed.value) and "nowhere.polar" in str(failed.value)
