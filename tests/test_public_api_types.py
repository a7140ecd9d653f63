"""The public API type-checks: `mypy --strict` accepts tests/typecheck/usage.py, code that uses
oso_core, flask_oso, sqlalchemy_oso, django_oso and fastapi_oso as an application would, and
rejects a wrong call (so the check sees the real annotations, not `Any`).

mypy runs from the repository root, where it finds the packages' sources (an editable install's
import hook is invisible to it). `--follow-imports=silent` reports errors in the checked file
only, as for an installed typed package: the check is of the API's signatures, not its internals.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("mypy")

ROOT = Path(__file__).resolve().parent.parent
USAGE = ROOT / "tests" / "typecheck" / "usage.py"


@pytest.fixture(scope="module")
def mypy_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache for the module's runs: the second run reuses the first's analysis."""
    return tmp_path_factory.mktemp("mypy-cache")


def run_mypy(path: Path, cache: Path) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("MYPY")}
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--follow-imports=silent", "--no-error-summary",
         "--cache-dir", str(cache), str(path)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )


def test_typed_usage_passes_mypy_strict(mypy_cache: Path) -> None:
    result = run_mypy(USAGE, mypy_cache)
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict_rejects_wrong_calls(tmp_path: Path, mypy_cache: Path) -> None:
    wrong = tmp_path / "wrong_usage.py"
    wrong.write_text(
        "from oso_core import Oso\n"
        "from flask_oso import FlaskOso\n"
        "from sqlalchemy_oso import authorized_sessionmaker\n"
        "oso = Oso()\n"
        "oso.is_allowed('alice', 'read')\n"
        "count: int = oso.authorized_actions('alice', 'doc')\n"
        "FlaskOso(oso=42)\n"
        "session: int = authorized_sessionmaker(lambda: oso, lambda: None, lambda: None)()\n"
    )
    result = run_mypy(wrong, mypy_cache)
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert any(':5: error: Missing positional argument "resource" in call to "is_allowed"' in line
               for line in lines), result.stdout
    assert any(":6: error: Incompatible types in assignment" in line for line in lines), result.stdout
    assert any(':7: error: Argument "oso" to "FlaskOso" has incompatible type "int"' in line
               for line in lines), result.stdout
    assert any(':8: error: Incompatible types in assignment (expression has type "Session"' in line
               for line in lines), result.stdout
