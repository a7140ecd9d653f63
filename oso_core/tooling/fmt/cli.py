"""`python -m oso_core fmt [--check] PATHS...`: format policy files in place, or check them.

Exit status: 0 all formatted (or, with `--check`, nothing would change), 1 with `--check` when
some file would change, 2 when a file does not parse or cannot be read, or for usage errors.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Optional, Sequence

from ...exceptions import OsoError, ParserError
from ..check import UsageError, collect_policy_files
from .formatter import format_source

STDIN = "-"


def _location(error: ParserError, name: str) -> str:
    details = error.details or {}
    return f"{name}:{details.get('line', 1)}:{details.get('column', 1)}"


def _report(error: OsoError, name: str) -> None:
    if isinstance(error, ParserError):
        print(f"{_location(error, name)}: error: {error.message}", file=sys.stderr)
    else:
        print(f"{name}: error: {error.message}", file=sys.stderr)


def _format_stdin(check: bool) -> int:
    text = sys.stdin.read()
    try:
        formatted = format_source(text)
    except OsoError as error:
        _report(error, "<stdin>")
        return 2
    if check:
        if formatted != text:
            print("<stdin>")
            return 1
        return 0
    sys.stdout.write(formatted)
    return 0


def _format_file(path: Path, check: bool) -> Optional[bool]:
    """Whether `path` changed (or would, with `check`); None when it could not be formatted."""
    try:
        text = path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as error:
        print(f"{path}: error: cannot read: {error}", file=sys.stderr)
        return None
    try:
        formatted = format_source(text, str(path))
    except OsoError as error:
        _report(error, str(path))
        return None
    if formatted == text:
        return False
    if not check:
        path.write_bytes(formatted.encode("utf-8"))
    return True


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m oso_core fmt",
        description="Format Polar policy files in the canonical layout (comments kept). "
                    "Files are rewritten in place, and only when their layout changes.")
    parser.add_argument("--check", action="store_true",
                        help="change nothing; list the files that would change and exit 1 if there are any")
    parser.add_argument("paths", nargs="+", metavar="PATH",
                        help="policy files, directories (searched for *.polar), or - for stdin to stdout")
    options = parser.parse_args(list(argv))
    paths = list(options.paths)
    if STDIN in paths:
        if len(paths) > 1:
            parser.error("- (stdin) cannot be combined with other paths")
        return _format_stdin(options.check)
    try:
        files = collect_policy_files(paths)
    except UsageError as error:
        print(f"python -m oso_core fmt: {error}", file=sys.stderr)
        return 2
    failed = changed = 0
    for path in files:
        outcome = _format_file(path, options.check)
        if outcome is None:
            failed += 1
        elif outcome:
            changed += 1
            print(path if options.check else f"reformatted {path}", file=sys.stdout if options.check else sys.stderr)
    if failed:
        return 2
    if options.check and changed:
        print(f"{changed} of {len(files)} file(s) would be reformatted", file=sys.stderr)
        return 1
    return 0
