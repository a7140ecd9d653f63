"""`serve --watch` (`oso_server.watch.PolicyWatcher`): a changed policy file is reloaded as a
new version, a file that fails to load is logged with file:line:column while the previous
policy keeps serving, and the same source makes no new version."""

from __future__ import annotations

import logging

import pytest

pytest.importorskip("starlette")

from oso_core.facts import FactStore
from oso_core.values import Value
from oso_server.watch import PolicyWatcher

POLICY = 'actor User {}\nresource Repo { permissions = ["read"]; roles = ["%s"]; "read" if "%s"; }\n'
ALICE, REPO = Value("User", "alice"), Value("Repo", "1")


@pytest.fixture
def watched(tmp_path):
    path = tmp_path / "policy.polar"
    path.write_text(POLICY % ("member", "member"))
    store = FactStore(tmp_path / "facts.sqlite3")
    store.load_files([path])
    store.insert(("has_role", ALICE, "viewer", REPO))
    yield path, store, PolicyWatcher(lambda: store, [path])
    store.close()


def test_unchanged_files_make_no_version(watched):
    path, store, watcher = watched
    assert watcher.check() is None
    path.write_text(path.read_text())  # rewritten, same text
    assert watcher.check() is None
    assert store.policy_version == 1


def test_a_change_is_reloaded(watched):
    path, store, watcher = watched
    assert not store.authorize(ALICE, "read", REPO)
    path.write_text(POLICY % ("viewer", "viewer"))
    assert watcher.check() == 2
    assert store.authorize(ALICE, "read", REPO)
    assert watcher.check() is None


def test_a_failed_reload_logs_the_position_and_keeps_the_policy(watched, caplog):
    path, store, watcher = watched
    path.write_text('actor User {}\nresource Repo {\n  permissions = ["read"];\n  bad bad; }\n')
    with caplog.at_level(logging.ERROR, logger="oso_server.watch"):
        assert watcher.check() is None
    assert f"{path}:4:7:" in caplog.text  # the second `bad`
    assert "version 1 keeps serving" in caplog.text
    assert store.policy_version == 1 and store.get_policy() == POLICY % ("member", "member")
    path.write_text(POLICY % ("viewer", "viewer"))  # fixed: loads
    assert watcher.check() == 2


def test_reverting_to_the_loaded_source_makes_no_version(watched):
    path, store, watcher = watched
    original = path.read_text()
    path.write_text("not polar at all (")
    assert watcher.check() is None
    path.write_text(original)
    assert watcher.check() is None
    assert store.policy_version == 1


def test_a_missing_file_is_waited_for(watched):
    path, store, watcher = watched
    path.unlink()
    assert watcher.check() is None
    path.write_text(POLICY % ("viewer", "viewer"))
    assert watcher.check() == 2


def test_the_thread_reloads(watched):
    path, store, _ = watched
    watcher = PolicyWatcher(lambda: store, [path], interval=0.05)
    watcher.start()
    try:
        path.write_text(POLICY % ("viewer", "viewer"))
        _wait_for(lambda: store.policy_version == 2)
    finally:
        watcher.stop()


def _wait_for(condition, limit=20.0):
    import time
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.02)
