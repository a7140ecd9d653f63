"""The quick start of docs/facts.md runs as written and answers what its comments say, and its
policy's test blocks pass under `python -m oso_core test`."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

DOC = Path(__file__).resolve().parent.parent / "docs" / "facts.md"


def _quick_start() -> str:
    return re.search(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S).group(1)


def test_quick_start_runs_and_answers_as_commented(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)   # the example writes facts.db in the working directory
    namespace: dict = {}
    exec(compile(_quick_start(), str(DOC), "exec"), namespace)
    store, Value = namespace["store"], namespace["Value"]
    alice, anvil, acme, bob = Value("User", "alice"), Value("Repo", "anvil"), Value("Org", "acme"), Value("User", "bob")
    assert store.authorize(alice, "read", anvil) is True
    assert store.list(alice, "read", "Repo") == ["anvil"]
    assert store.actions(alice, anvil) == ["read"]
    assert store.authorize(bob, "read", anvil, context_facts=[("has_role", bob, "admin", acme)])
    assert not store.authorize(bob, "read", anvil)
    policy = tmp_path / "policy.polar"
    policy.write_text(store.get_policy(), encoding="utf-8")
    store.close()
    run = subprocess.run([sys.executable, "-m", "oso_core", "test", str(policy)], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 passed, 0 failed" in run.stdout
