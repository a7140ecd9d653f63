"""Formatting shared by the benchmark reports: numbers in table cells, the docs tables, and the
failed checks."""

from __future__ import annotations

import sys
from typing import Optional

SKIPPED = "-"


def format_number(x: float) -> str:
    """Three significant figures, thousands separated: 1,234 / 12.3 / 1.23."""
    if x >= 100:
        return f"{x:,.0f}"
    if x >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}"


def replace_between_markers(path: str, begin_marker: str, end_marker: str, block: str,
                            new_section: Optional[str] = None) -> None:
    """Replace the text between two marker lines of a docs file with `block`. Without the
    markers: append `new_section` (a heading and intro) with the markers, or fail if None."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    begin = text.find(begin_marker)
    end = text.find(end_marker, begin + 1 if begin >= 0 else 0)
    body = begin_marker + "\n\n" + block.strip() + "\n\n"
    if begin >= 0 and end >= 0:
        new = text[:begin] + body + text[end:]
    elif new_section is not None:
        new = text.rstrip("\n") + "\n\n" + new_section.strip() + "\n\n" + body + end_marker + "\n"
    else:
        raise SystemExit(f"{path}: markers {begin_marker!r} ... {end_marker!r} not found")
    with open(path, "w", encoding="utf-8") as f:
        f.write(new)


def exit_status(problems: list[str], heading: str) -> int:
    """The exit status of a benchmark run: 0, or 1 after listing `problems` under `heading` on
    stderr."""
    if not problems:
        return 0
    print(f"\n{heading}:\n", file=sys.stderr)
    for problem in problems:
        print(f"* {problem}\n", file=sys.stderr)
    return 1
