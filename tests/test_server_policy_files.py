"""`serve --policy` over an existing data directory (oso_server/policy_files.py): a restart with
the same files stores no new policy version; a changed file does."""

from __future__ import annotations

from pathlib import Path

from oso_core.facts import FactStore
from oso_server.app import create_app
from oso_server.config import ServerConfig

MEMBER = 'actor User {}\nresource Org { roles = ["member"]; permissions = ["read"]; "read" if "member"; }\n'
OWNER = MEMBER.replace('"member"', '"owner"')


def start(tmp_path: Path, *files: Path) -> int:
    """Build the app as a (re)started server does; the version its environment serves."""
    app = create_app(ServerConfig(data_dir=tmp_path / "data", policy_files=list(files)))
    try:
        return app.state.server.environments.get("default").policy_version
    finally:
        app.state.server.environments.close()


def stored_versions(tmp_path: Path) -> int:
    store = FactStore(str(tmp_path / "data" / "facts.sqlite3"))
    try:
        return store.policy_version
    finally:
        store.close()


def test_a_restart_with_unchanged_files_stores_no_new_version(tmp_path):
    policy = tmp_path / "main.polar"
    policy.write_text(MEMBER)
    assert start(tmp_path, policy) == 1
    assert start(tmp_path, policy) == 1
    assert stored_versions(tmp_path) == 1


def test_a_changed_file_stores_a_new_version(tmp_path):
    policy = tmp_path / "main.polar"
    policy.write_text(MEMBER)
    assert start(tmp_path, policy) == 1
    policy.write_text(OWNER)
    assert start(tmp_path, policy) == 2
    policy.write_text(MEMBER)            # back to the first text: still a change from the current one
    assert start(tmp_path, policy) == 3


def test_several_files_compare_as_the_joined_text_the_store_keeps(tmp_path):
    blocks, rules = tmp_path / "blocks.polar", tmp_path / "rules.polar"
    blocks.write_text('actor User {}\nresource Org { roles = ["member"]; permissions = ["read"]; }\n')
    rules.write_text('has_permission(actor: User, "read", org: Org) if has_role(actor, "member", org);\n')
    assert start(tmp_path, blocks, rules) == 1
    assert start(tmp_path, blocks, rules) == 1
    assert start(tmp_path, rules, blocks) == 2    # another order is another source
