"""oso_server API keys: the TOML config file, `$OSO_SERVER_KEYS`, dev mode, and environments
isolated from each other in one database."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("starlette")
pytest.importorskip("httpx")

from starlette.applications import Starlette
from starlette.routing import Route
from starlette.testclient import TestClient

from oso_server import DEV_TEST_KEY, RouteSpec, ServerConfig, ServerState
from oso_server.config_file import KeyConfigError, keys_from_environment, keys_from_file
from oso_server.endpoint import endpoint
from oso_server.keys import key_ring

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
secret = "dashboard-secret-in-file"

[[keys]]
name = "staging"
environment = "staging"
access = "read-write"
secret = "staging-secret"
"""


def _write(tmp_path, text):
    path = tmp_path / "keys.toml"
    path.write_text(text)
    return path


def test_keys_from_file(tmp_path):
    keys = keys_from_file(_write(tmp_path, CONFIG), {"BACKEND_KEY": "backend-secret-from-env"})
    assert [(k.name, k.environment, k.read_only, k.secret) for k in keys] == [
        ("backend", "production", False, "backend-secret-from-env"),
        ("dashboard", "production", True, "dashboard-secret-in-file"),
        ("staging", "staging", False, "staging-secret")]


@pytest.mark.parametrize("entry, message", [
    ('name = "a"\nenvironment = "e"\naccess = "write"\nsecret = "s"', "access must be 'read-write' or 'read-only'"),
    ('name = "a"\nenvironment = "e"\naccess = "read-only"', "exactly one of 'secret' and 'secret_env'"),
    ('name = "a"\nenvironment = "e"\naccess = "read-only"\nsecret = "s"\nsecret_env = "X"', "exactly one of"),
    ('name = "a"\nenvironment = "e"\naccess = "read-only"\nsecret_env = "UNSET_VARIABLE"',
     "UNSET_VARIABLE (secret_env) is not set"),
    ('name = "a"\naccess = "read-only"\nsecret = "s"', "field 'environment' must be a non-empty string"),
    ('environment = "e"\naccess = "read-only"\nsecret = "s"', "field 'name' must be a non-empty string"),
    ('name = "a"\nenvironment = "e"\naccess = "read-only"\nsecret = ""', "field 'secret' must be a non-empty"),
    ('name = "a"\nenvironment = "e"\naccess = "read-only"\nsecret = "s"\nrole = "x"', "unknown field(s) role"),
    (f'name = "a"\nenvironment = "e"\naccess = "read-only"\nsecret = "{DEV_TEST_KEY}"', "use `serve --dev`"),
])
def test_bad_key_entries_are_refused_by_name(tmp_path, entry, message):
    with pytest.raises(KeyConfigError) as error:
        keys_from_file(_write(tmp_path, f"[[keys]]\n{entry}\n"), {})
    assert message in str(error.value)
    assert "keys[0]" in str(error.value)


def test_bad_files_are_refused(tmp_path):
    with pytest.raises(KeyConfigError, match="not valid TOML"):
        keys_from_file(_write(tmp_path, "[[keys]\n"), {})
    with pytest.raises(KeyConfigError, match="unknown table"):
        keys_from_file(_write(tmp_path, "[server]\nport = 1\n"), {})
    with pytest.raises(KeyConfigError, match="Cannot read the config file"):
        keys_from_file(tmp_path / "missing.toml", {})
    assert keys_from_file(_write(tmp_path, ""), {}) == []


def test_keys_from_environment_variable():
    raw = json.dumps([{"name": "ci", "environment": "test", "access": "read-only", "secret": "ci-secret"},
                      {"name": "app", "environment": "test", "access": "read-write", "secret_env": "APP_KEY"}])
    keys = keys_from_environment({"OSO_SERVER_KEYS": raw, "APP_KEY": "app-secret"})
    assert [(k.name, k.read_only, k.secret) for k in keys] == [("ci", True, "ci-secret"), ("app", False, "app-secret")]
    assert keys_from_environment({}) == []


def test_malformed_environment_variable_does_not_echo_its_text():
    with pytest.raises(KeyConfigError) as error:
        keys_from_environment({"OSO_SERVER_KEYS": '[{"secret": "leaky-secret-value"'})
    assert "leaky-secret-value" not in str(error.value)
    with pytest.raises(KeyConfigError, match="JSON list"):
        keys_from_environment({"OSO_SERVER_KEYS": '{"name": "x"}'})


def test_dev_mode_without_keys_accepts_only_the_test_key():
    ring, dev = key_ring([])
    assert dev
    [key] = ring.keys
    assert (key.environment, key.read_only) == ("default", False)
    assert ring.authenticate(f"Bearer {DEV_TEST_KEY}") is key


def test_configured_keys_refuse_the_test_key_unless_dev(tmp_path):
    keys = keys_from_file(_write(tmp_path, CONFIG), {"BACKEND_KEY": "b"})
    ring, dev = key_ring(keys)
    assert not dev
    with pytest.raises(Exception, match="Invalid API key"):
        ring.authenticate(f"Bearer {DEV_TEST_KEY}")
    ring, dev = key_ring(keys, dev=True)
    assert dev and ring.authenticate(f"Bearer {DEV_TEST_KEY}").environment == "default"
    assert ring.authenticate("Bearer staging-secret").name == "staging"


def test_two_keys_with_one_secret_are_refused():
    raw = json.dumps([{"name": n, "environment": "e", "access": "read-only", "secret": "same"} for n in "ab"])
    with pytest.raises(ValueError, match="same secret"):
        key_ring(keys_from_environment({"OSO_SERVER_KEYS": raw}))


POLICY = 'actor User {}\nresource Repo { permissions = ["read"]; roles = ["%s"]; "read" if "%s"; }\n'


def _policy(call):
    call.store.policy(POLICY % (call.body["role"], call.body["role"]))
    return {"version": call.store.policy_version}


def _insert(call):
    from oso_core.values import Value
    call.store.insert(("has_role", Value("User", call.body["user"]), call.body["role"], Value("Repo", "1")))
    return {}


def _read(call):
    from oso_core.values import Value
    store = call.store
    return {"policy": store.get_policy(), "facts": len(store.get(("has_role", None, None, None))),
            "alice": store.authorize(Value("User", "alice"), "read", Value("Repo", "1"))}


def test_environments_are_isolated_in_one_database(tmp_path):
    keys = keys_from_file(_write(tmp_path, CONFIG), {"BACKEND_KEY": "backend-secret"})
    ring, _ = key_ring(keys)
    state = ServerState(ServerConfig(database=str(tmp_path / "facts.sqlite3"), data_dir=tmp_path, keys=ring))
    specs = [RouteSpec("POST", "/t/policy", _policy, write=True), RouteSpec("POST", "/t/insert", _insert, write=True),
             RouteSpec("GET", "/t/read", _read, body=False)]
    app = Starlette(routes=[Route(s.path, endpoint(s, state), methods=[s.method]) for s in specs])
    production, staging = {"Authorization": "Bearer backend-secret"}, {"Authorization": "Bearer staging-secret"}
    dashboard = {"Authorization": "Bearer dashboard-secret-in-file"}
    with TestClient(app) as client:
        assert client.post("/t/policy", json={"role": "member"}, headers=production).json() == {"version": 1}
        assert client.post("/t/policy", json={"role": "viewer"}, headers=staging).json() == {"version": 1}
        client.post("/t/insert", json={"user": "alice", "role": "member"}, headers=production)
        client.post("/t/insert", json={"user": "bob", "role": "viewer"}, headers=staging)
        client.post("/t/insert", json={"user": "carol", "role": "viewer"}, headers=staging)
        seen_by_production = client.get("/t/read", headers=dashboard).json()
        seen_by_staging = client.get("/t/read", headers=staging).json()
        assert client.post("/t/insert", json={"user": "x", "role": "member"}, headers=dashboard).status_code == 403
    state.environments.close()
    assert seen_by_production == {"policy": POLICY % ("member", "member"), "facts": 1, "alice": True}
    assert seen_by_staging == {"policy": POLICY % ("viewer", "viewer"), "facts": 2, "alice": False}
