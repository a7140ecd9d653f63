"""Replicas in one process: `FactStore.refresh` loads a policy version another store (process)
stored, and `oso_server.replicas.PolicyRefresher` keeps every opened environment current
through LISTEN/NOTIFY (PostgreSQL) and through its version poll (SQLite file, PostgreSQL)."""

from __future__ import annotations

import logging
import time

import pytest

from fixtures.databases import postgres_schema, postgres_url, schema_connect_args
from oso_core.facts import FactStore
from oso_core.values import Value

POLICY = 'actor User {}\nresource Repo { permissions = ["read"]; roles = ["%s"]; "read" if "%s"; }\n'
ALICE, REPO = Value("User", "alice"), Value("Repo", "1")


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, tmp_path):
    """A database two stores (two replicas) can share: an Engine factory."""
    from sqlalchemy import create_engine

    if request.param == "sqlite":
        yield lambda: str(tmp_path / "facts.sqlite3")
        return
    with postgres_schema() as schema:
        engines = []

        def make():
            engines.append(create_engine(postgres_url(), connect_args=schema_connect_args(schema)))
            return engines[-1]
        yield make
        for engine in engines:
            engine.dispose()


def test_refresh_loads_a_newer_stored_version(database):
    a, b = FactStore(database()), FactStore(database())
    try:
        a.policy(POLICY % ("member", "member"))
        a.insert(("has_role", ALICE, "viewer", REPO))
        assert b.policy_version == 0 and b.refresh() is True
        assert b.policy_version == 1 and not b.authorize(ALICE, "read", REPO)
        assert b.refresh() is False
        a.policy(POLICY % ("viewer", "viewer"))
        assert b.refresh() is True
        assert b.policy_version == 2 and b.authorize(ALICE, "read", REPO)
        assert b.get_policy() == a.get_policy()
        assert a.refresh() is False  # its own upload is loaded already
    finally:
        a.close()
        b.close()


def test_refresh_keeps_other_environments_apart(database):
    a = FactStore(database(), environment="one")
    b = FactStore(database(), environment="two")
    try:
        a.policy(POLICY % ("member", "member"))
        assert b.refresh() is False and b.policy_version == 0
    finally:
        a.close()
        b.close()


def _wait_for(condition, limit=20.0):
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.01)


@pytest.mark.parametrize("mode", ["poll", "listen"])
def test_refresher_spreads_a_policy(database, mode, request):
    pytest.importorskip("starlette")
    from oso_server.environments import Environments
    from oso_server.replicas import PolicyRefresher

    if mode == "listen" and "sqlite" in request.node.callspec.id:
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's")
    writer, reader = Environments(database()), Environments(database())
    # listen: the poll is too slow to matter, so only the NOTIFY can bring the version in time.
    refresher = (PolicyRefresher(reader, interval=0.05, listen=False) if mode == "poll"
                 else PolicyRefresher(reader, interval=3600.0, listen=True))
    try:
        served = reader.get("default")
        assert served.policy_version == 0
        reader.start(refresher)
        if mode == "listen":
            time.sleep(0.5)  # the listener's LISTEN is in place (it also refreshes once after it)
        writer.get("default").policy(POLICY % ("member", "member"))
        _wait_for(lambda: served.policy_version == 1)
        writer.get("default").policy(POLICY % ("viewer", "viewer"))
        _wait_for(lambda: served.policy_version == 2)
        assert served.get_policy() == POLICY % ("viewer", "viewer")
    finally:
        reader.close()
        writer.close()


def test_a_stored_policy_that_does_not_load_is_logged_once(database, caplog, monkeypatch):
    pytest.importorskip("starlette")
    from oso_core.facts import policies
    from oso_server.environments import Environments
    from oso_server.replicas import PolicyRefresher

    writer, reader = Environments(database()), Environments(database())
    try:
        served = reader.get("default")
        writer.get("default").policy(POLICY % ("member", "member"))

        def refuse(src, dialect):
            raise ValueError("this replica cannot load it")
        monkeypatch.setattr(policies, "load_source", refuse)
        refresher = PolicyRefresher(reader, listen=False)
        with caplog.at_level(logging.ERROR, logger="oso_server.replicas"):
            assert refresher.refresh_all() == [] and refresher.refresh_all() == []
        assert caplog.text.count("this replica cannot load it") == 1
        assert served.policy_version == 0
    finally:
        reader.close()
        writer.close()
