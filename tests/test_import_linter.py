"""import-linter's layers contract (`[tool.importlinter]` in pyproject.toml) holds; the same
command fails on a package that breaks such a contract."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytest.importorskip("importlinter")


def _lint_imports(cwd: Path, config: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(cwd)}
    code = "import sys; from importlinter.cli import lint_imports_command; lint_imports_command()"
    return subprocess.run([sys.executable, "-c", code, "--config", str(config), "--no-cache"],
                          capture_output=True, text=True, cwd=cwd, env=env)


def test_the_layers_contract_is_kept() -> None:
    result = _lint_imports(ROOT, ROOT / "pyproject.toml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout


def test_lint_imports_fails_on_an_upward_lazy_import(tmp_path: Path) -> None:
    (tmp_path / "pkg" / "low").mkdir(parents=True)
    (tmp_path / "pkg" / "high").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "low" / "__init__.py").write_text("def hook():\n    from pkg.high import tool\n")
    (tmp_path / "pkg" / "high" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "high" / "tool.py").write_text("from pkg.low import hook\n")
    config = tmp_path / "setup.cfg"
    config.write_text("[importlinter]\nroot_package = pkg\n\n[importlinter:contract:layers]\n"
                      "name = layers\ntype = layers\nlayers =\n    pkg.high\n    pkg.low\n")
    result = _lint_imports(tmp_path, config)
    assert result.returncode != 0
    assert "pkg.low -> pkg.high.tool" in result.stdout
