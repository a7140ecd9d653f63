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
    if read is None and sys.stdin.isatty():
        _enable_history()
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
        if text.startswith(":"):
            _command(polar, text, read)
        else:
            _answer(polar, text)


def history_path() -> str:
    """Where the REPL keeps its history between sessions (`POLAR_HISTORY` overrides it)."""
    return os.environ.get("POLAR_HISTORY") or os.path.join(os.path.expanduser("~"), ".polar_history")


def _enable_history() -> Optional[Callable[[], None]]:
    """Line editing, and history kept across sessions, when `readline` is available; returns
    the function (also registered to run at exit) that saves the history."""
    try:
        import atexit
        import readline
    except ImportError:
        return None
    path = history_path()
    try:
        readline.read_history_file(path)
    except OSError:
        pass  # first session, or an unreadable file: start empty
    readline.set_history_length(1000)

    def save() -> None:
        try:
            readline.write_history_file(path)
        except OSError:
            pass  # a read-only home must not turn leaving the REPL into an error
    atexit.register(save)
    return save


COMMANDS_HELP = """\
REPL commands (any other line is a Polar query):
  :debug QUERY     run QUERY in the debugger, stopped before its first step
  :explain QUERY   show why QUERY has a result or not
  :help            show this help"""


def _command(polar: Any, text: str, read: Callable[[str], str]) -> None:
    """`:name argument` lines: tools for policy authors (not part of legacy's REPL)."""
    name, _, rest = text[1:].partition(" ")
    rest = rest.strip().strip(";").strip()
    if name == "debug" and rest:
        from .tooling.debugger import Debugger
        _answer(polar, rest, debug=Debugger(input=read))
    elif name == "explain" and rest:
        from .tooling.explain import explain_query
        try:
            print(explain_query(polar, rest))
        except ParserError as e:
            _print_error(e)
    else:
        print(COMMANDS_HELP)


def _answer(polar: Any, text: str, **options: Any) -> None:
    """Run a query and print its results as legacy's REPL does."""
    try:
        results = list(polar.query(text, accept_expression=True, **options))
    except (ParserError, PolarRuntimeError) as e:
        _print_error(e)
        return
    if not results:
        print(False)
    for result in results:
        bindings = result["bindings"]
        if not bindings:
            print(True)
        for name, value in bindings.items():
            print(f"{name} = {value!r}")


def _print_error(e: Any) -> None:
    print(_colour(type(e).__name__, "31"))
    print(e.message if e.message is not None else str(e))
