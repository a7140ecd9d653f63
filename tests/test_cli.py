"""`python -m oso_core`: one command line for the REPL and every policy tool."""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
from pathlib import Path

import pytest

from oso_core import __main__ as cli

REPO = Path(__file__).resolve().parent.parent


def test_help_lists_every_subcommand_with_its_summary(capsys):
    assert cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    for name in ("repl", "check", "test", "explain", "fmt", "lsp"):
        _, summary = cli.SUBCOMMANDS[name]
        assert f"  {name} " in out and summary in out
    assert "language server over stdio (needs oso-core[lsp])" in out
    assert cli.main(["-h"]) == 0
    assert capsys.readouterr().out == out


def test_help_imports_no_subcommand():
    code = ("import sys; from oso_core.__main__ import main; main(['--help']); "
            "print([m for m in sys.modules if m.startswith('oso_core.tooling')])")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert result.stdout.splitlines()[-1] == "[]"


def test_every_subcommand_module_has_a_main():
    for name, (module, summary) in cli.SUBCOMMANDS.items():
        assert summary and "\n" not in summary
        if name in cli.OPTIONAL_EXTRAS:
            continue
        assert callable(importlib.import_module(module).main)


@pytest.mark.parametrize("name", ["repl", "check", "test", "explain", "fmt"])
def test_each_subcommand_has_its_own_help(name, capsys):
    with pytest.raises(SystemExit) as exited:
        cli.main([name, "--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: python -m oso_core ")
    assert (f"python -m oso_core {name}" in out) or (name == "repl" and "python -m oso_core [repl]" in out)


def test_version_is_the_package_version(capsys, monkeypatch):
    from importlib import metadata

    assert cli.main(["--version"]) == 0
    assert capsys.readouterr().out == f"oso-core {metadata.version('oso-core')}\n"

    def not_installed(name):
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metadata, "version", not_installed)
    assert cli.version() == cli.FALLBACK_VERSION


def test_fallback_version_matches_pyproject():
    text = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    assert re.search(r'^version = "([^"]+)"$', text, re.MULTILINE).group(1) == cli.FALLBACK_VERSION


def test_files_without_a_subcommand_start_the_repl(monkeypatch, tmp_path):
    from oso_core.oso import Oso

    policy = tmp_path / "p.polar"
    policy.write_text("f(1);")
    started = []
    monkeypatch.setattr(Oso, "repl", lambda self, files=None: started.append(list(files)))
    assert cli.main([str(policy)]) == 0
    assert cli.main(["repl", str(policy)]) == 0
    assert started == [[str(policy)], [str(policy)]]


def test_a_subcommand_whose_optional_dependency_is_missing_says_so_in_one_line(monkeypatch, capsys):
    real_import = importlib.import_module

    def without_pygls(name, *args):
        if name == "oso_core.tooling.lsp":
            raise ModuleNotFoundError("No module named 'pygls'", name="pygls")
        return real_import(name, *args)

    monkeypatch.setattr(importlib, "import_module", without_pygls)
    assert cli.main(["lsp"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("python -m oso_core lsp: not available: No module named 'pygls'")
    assert "pip install 'oso-core[lsp]'" in err


def test_a_missing_module_of_oso_core_itself_is_not_hidden(monkeypatch):
    real_import = importlib.import_module

    def broken(name, *args):
        if name == "oso_core.tooling.lsp":
            raise ModuleNotFoundError("No module named 'oso_core.frontend.gone'", name="oso_core.frontend.gone")
        return real_import(name, *args)

    monkeypatch.setattr(importlib, "import_module", broken)
    with pytest.raises(ModuleNotFoundError):
        cli.main(["lsp"])


def test_python_dash_m_runs_fmt(tmp_path):
    policy = tmp_path / "p.polar"
    policy.write_text("f( 1 );")
    result = subprocess.run([sys.executable, "-m", "oso_core", "fmt", "--check", str(policy)],
                            capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 1 and result.stdout == f"{policy}\n"
