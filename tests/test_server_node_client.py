"""The real Node client, `oso-cloud@2.6.0` from the npm registry, against a server process.

tests/node_client/ holds the pinned manifest (package.json, package-lock.json) and the script
(client_check.mjs: policy, insert, batch, get with wildcards, authorize with and without context
facts, list and listPaginated, actions, wildcard delete, a 400 and a 401). `npm ci` installs the
client into tests/node_client/node_modules (gitignored) when it is not there yet, so later runs
reuse it. Without node or npm, or without the registry, the test skips saying so; under CI=true
it fails instead: CI must run it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")

from fixtures.server_process import server_process  # noqa: E402
from oso_server.keys import DEV_TEST_KEY  # noqa: E402

NODE_CLIENT = Path(__file__).resolve().parent / "node_client"
CLIENT_VERSION = "2.6.0"
INSTALL_TIMEOUT = 300


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"The Node client test must run under CI=true: {reason}")
    pytest.skip(reason)


def _installed_version() -> str | None:
    manifest = NODE_CLIENT / "node_modules" / "oso-cloud" / "package.json"
    try:
        return json.loads(manifest.read_text(encoding="utf-8")).get("version")
    except (OSError, ValueError):
        return None


def node_client() -> str:
    """The `node` executable, with oso-cloud@2.6.0 installed beside the script (npm ci if needed)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        _unavailable(f"node and npm are needed for the oso-cloud Node client (node: {node}, npm: {npm})")
    if _installed_version() != CLIENT_VERSION:
        install = subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=NODE_CLIENT,
                                 capture_output=True, text=True, timeout=INSTALL_TIMEOUT)
        if install.returncode != 0 or _installed_version() != CLIENT_VERSION:
            _unavailable(f"`npm ci` could not install oso-cloud@{CLIENT_VERSION} in {NODE_CLIENT}:\n"
                         f"{install.stdout[-2000:]}{install.stderr[-2000:]}")
    return node


def test_the_node_client_talks_to_the_server(tmp_path: Path) -> None:
    node = node_client()
    with server_process([], tmp_path) as server:
        env = {**os.environ, "OSO_URL": server.url, "OSO_AUTH": DEV_TEST_KEY}
        run = subprocess.run([node, "client_check.mjs"], cwd=NODE_CLIENT, env=env,
                             capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, f"{run.stdout}\n{run.stderr}\nserver log:\n{server.log()}"
    assert run.stdout.strip() == "ok: 13 checks"
