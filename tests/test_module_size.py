"""No library module over ~700 lines without a reason written at its top.

A module that must stay longer says why in a comment among its first ten lines, starting with
`# Longer than 700 lines:` (tests are exempt; generated data such as lalr_table.py is one line).
"""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("oso_core", "flask_oso", "django_oso", "sqlalchemy_oso", "fastapi_oso")
MAX_LINES = 700
MARKER = "# Longer than 700 lines:"


def long_modules_without_reason(root: Path) -> list[str]:
    """The .py files under the packages in root that are too long and give no reason."""
    found = []
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            if "tests" in path.relative_to(root).parts:
                continue
            lines = path.read_text(encoding="utf-8").splitlines()
            if len(lines) <= MAX_LINES:
                continue
            reason = [line for line in lines[:10] if line.startswith(MARKER) and line[len(MARKER):].strip()]
            if not reason:
                found.append(f"{path.relative_to(root).as_posix()} ({len(lines)} lines)")
    return found


def test_no_module_over_700_lines_without_a_reason():
    assert long_modules_without_reason(ROOT) == []


@pytest.mark.parametrize("top, flagged", [
    ("", True),
    ("# Longer than 700 lines:\n", True),  # the marker without a reason does not count
    ("# Longer than 700 lines: one state machine that reads best in one place.\n", False),
])
def test_a_long_module_needs_a_written_reason(tmp_path: Path, top: str, flagged: bool):
    package = tmp_path / "oso_core"
    package.mkdir()
    (package / "short.py").write_text("x = 1\n" * MAX_LINES, encoding="utf-8")
    (package / "long.py").write_text(top + "x = 1\n" * (MAX_LINES + 1), encoding="utf-8")
    for name in PACKAGES[1:]:
        (tmp_path / name).mkdir()
    expected = [f"oso_core/long.py ({MAX_LINES + 1 + bool(top)} lines)"] if flagged else []
    assert long_modules_without_reason(tmp_path) == expected
