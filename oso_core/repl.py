"""The interactive query loop behind `Polar.repl()` and `python -m oso_core`."""

from __future__ import annotations

import os
import sys
from typing import Any, Callable, Optional

from .exceptions import ParserError, PolarRuntimeError

PROMPT = "query> "


def _colour(text: str, code: str) -> str:
    if sys.stdout.isatty() and (os.name != "nt" or "ANSICON" in os.environ):
        return f"\x1b[{code}m{text}\x1b[0m"
    return text


def run_repl(polar: Any, files: list, read: Optional[Callable[[str], str]] = None) -> None:
    """Load `files`, then answer one query per line until end of input or Ctrl-C."""
    try:
        import readline  # noqa: F401  (line editing and history for input())
    except ImportError:
        pass
    polar.load_files(files)
    read = read or input
    while True:
        try:
            line = read(_colour(PROMPT, "34"))
        except (EOFError, KeyboardInterrupt):
            return
        text = line.strip().strip(";").strip()
        if not text:
            continue
        try:
            results = list(polar.query(text, accept_expression=True))
        except (ParserError, PolarRuntimeError) as e:
            print(_colour(type(e).__name__, "31"))
            print(e.message if e.message is not None else str(e))
            continue
        if not results:
            print(False)
        for result in results:
            bindings = result["bindings"]
            if not bindings:
                print(True)
            for name, value in bindings.items():
                print(f"{name} = {value!r}")
