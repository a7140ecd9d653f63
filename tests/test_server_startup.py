"""Starting oso_server as a user does, as real processes: the `oso-server` console script with
defaults ($OSO_PORT, ./oso-data), `$OSO_DIRECTORY`, dev mode and its warning, keys from a
config file and `$OSO_SERVER_KEYS` (secrets never in the log), `--watch`, refused bad starts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")

from fixtures.server_http import POLICY, call, wait_for
from fixtures.server_process import ROOT, free_port, server_process
from oso_server import DEV_TEST_KEY

MEMBER_POLICY = POLICY % ("member", "member")
#: Variables of the developer's shell that would change what these servers do.
_OURS = ("OSO_DIRECTORY", "OSO_PORT", "OSO_SERVER_KEYS")


def _clean_env(**extra: str) -> dict:
    return {**{k: v for k, v in os.environ.items() if k not in _OURS}, **extra}


def _start(command: list, cwd: Path, env: dict, port: int) -> subprocess.Popen:
    log = open(cwd / "server.log", "wb")
    process = subprocess.Popen(command, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, (cwd / "server.log").read_text()
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/healthcheck", timeout=2):
                return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise AssertionError("server did not start:\n" + (cwd / "server.log").read_text())


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    process.wait(15)


def test_console_script_serves_with_defaults(tmp_path):
    script = Path(sys.executable).parent / "oso-server"
    assert script.exists(), "the oso-server console script is not installed"
    (tmp_path / "policy.polar").write_text(MEMBER_POLICY)
    port = free_port()
    process = _start([str(script), "serve", "--policy", "policy.polar"], tmp_path, _clean_env(OSO_PORT=str(port)),
                     port)
    try:
        status, answer = call(f"http://127.0.0.1:{port}", "GET", "/api/policy")
        assert status == 200 and answer["policy"]["src"] == MEMBER_POLICY
    finally:
        _stop(process)
    assert (tmp_path / "oso-data" / "facts.sqlite3").is_file()
    log = (tmp_path / "server.log").read_text()
    assert "dev mode: accepting Oso's public Dev Server test key" in log
    assert f"127.0.0.1:{port}" in log


def test_python_m_uses_oso_directory(tmp_path):
    port = free_port()
    data = tmp_path / "elsewhere"
    process = _start([sys.executable, "-m", "oso_server", "serve", "--port", str(port)], tmp_path,
                     _clean_env(OSO_DIRECTORY=str(data), PYTHONPATH=str(ROOT)), port)
    _stop(process)
    assert (data / "facts.sqlite3").is_file() and not (tmp_path / "oso-data").exists()


CONFIG = """
[[keys]]
name = "backend"
environment = "production"
access = "read-write"
secret_env = "BACKEND_KEY"

[[keys]]
name = "dashboard"
environment = "production"
access = "read-only"
secret = "dashboard-secret-4c8a1f"
"""
BACKEND_SECRET = "backend-secret-9d2e77"
STAGING_SECRET = "staging-secret-51b0aa"
WRONG_SECRETS = ["wrong-secret-e3f9c2", BACKEND_SECRET[:-1], BACKEND_SECRET + "x"]


def test_keys_work_and_no_secret_is_logged(tmp_path):
    config = tmp_path / "keys.toml"
    config.write_text(CONFIG)
    keys_env = json.dumps([{"name": "staging", "environment": "staging", "access": "read-write",
                            "secret": STAGING_SECRET}])
    env = {"BACKEND_KEY": BACKEND_SECRET, "OSO_SERVER_KEYS": keys_env}
    with server_process(["--config", str(config), "--log-level", "debug"], tmp_path / "data", env) as server:
        url = server.url
        for wrong in [*WRONG_SECRETS, DEV_TEST_KEY, None]:
            status, answer = call(url, "GET", "/api/policy", key=wrong)
            assert status == 401 and set(answer) == {"message"}
        assert call(url, "POST", "/api/policy", {"filename": "", "src": MEMBER_POLICY}, key=BACKEND_SECRET)[0] == 200
        assert call(url, "GET", "/api/policy", key="dashboard-secret-4c8a1f")[1]["policy"]["src"] == MEMBER_POLICY
        status, answer = call(url, "POST", "/api/policy", {"filename": "", "src": MEMBER_POLICY + "\n"},
                              key="dashboard-secret-4c8a1f")
        assert status == 403 and "'dashboard' is read-only" in answer["message"]
        assert call(url, "GET", "/api/policy", key=STAGING_SECRET)[1] == {"policy": None}  # its own environment
        log = server.log()
    for secret in [BACKEND_SECRET, STAGING_SECRET, "dashboard-secret-4c8a1f", *WRONG_SECRETS, DEV_TEST_KEY]:
        assert secret not in log
    assert "API key 'backend': environment 'production', read-write" in log
    assert "dev mode" not in log


def test_dev_flag_adds_the_test_key_to_configured_keys(tmp_path):
    env = {"OSO_SERVER_KEYS": json.dumps([{"name": "app", "environment": "default", "access": "read-only",
                                           "secret": "app-secret-77"}])}
    with server_process(["--dev"], tmp_path, env) as server:
        assert call(server.url, "GET", "/api/policy", key=DEV_TEST_KEY)[0] == 200
        assert call(server.url, "GET", "/api/policy", key="app-secret-77")[0] == 200
        assert "besides the configured keys" in server.log()


@pytest.mark.parametrize("args, env, message", [
    (["--config", "missing.toml"], {}, "Cannot read the config file"),
    ([], {"OSO_SERVER_KEYS": "[{]"}, "OSO_SERVER_KEYS: not valid JSON"),
    (["--watch"], {}, "--watch needs at least one --policy file"),
    (["--policy", "nowhere.polar"], {}, "cannot start"),
])
def test_bad_starts_exit_with_a_message(tmp_path, args, env, message):
    result = subprocess.run([sys.executable, "-m", "oso_server", "serve", "--port", str(free_port()),
                             "--data-dir", str(tmp_path), *args], cwd=tmp_path, capture_output=True, text=True,
                            env=_clean_env(PYTHONPATH=str(ROOT), **env), timeout=60)
    assert result.returncode != 0
    assert message in result.stderr and "Traceback" not in result.stderr


def test_watch_reloads_the_policy_file(tmp_path):
    policy = tmp_path / "policy.polar"
    policy.write_text(MEMBER_POLICY)
    with server_process(["--policy", str(policy), "--watch"], tmp_path / "data") as server:
        def served() -> str:
            return call(server.url, "GET", "/api/policy")[1]["policy"]["src"]
        assert served() == MEMBER_POLICY
        policy.write_text(POLICY % ("viewer", "viewer"))
        wait_for(lambda: served() == POLICY % ("viewer", "viewer"))
        policy.write_text('actor User {}\nresource Repo {\n  oops; }\n')
        wait_for(lambda: "policy reload failed" in server.log())
        assert served() == POLICY % ("viewer", "viewer")
        assert f"{policy}:3:" in server.log()
