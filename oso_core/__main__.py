"""`python -m oso_core`: the command line.

    python -m oso_core [repl] [--module M]... [FILES...]   interactive REPL (legacy: `python -m oso FILES`)
    python -m oso_core check FILES...                      parse, validate and lint policies
    python -m oso_core test [PATHS...]                     run policy test files
    python -m oso_core explain ...                         why a decision was allowed or denied
    python -m oso_core fmt [--check] PATHS...              lay policies out in the canonical layout
    python -m oso_core lsp                                 language server over stdio

Each subcommand lives in its own module under `oso_core.tooling` and is imported only when used,
so the REPL starts as fast as before and `--help` imports none of them.
"""

from __future__ import annotations

import importlib
import sys
from typing import Optional, Sequence

PROG = "python -m oso_core"
# The version when the package metadata is not available (running from a source tree).
FALLBACK_VERSION = "0.1.0"

# subcommand -> (module whose `main(argv) -> int` runs it, one-line summary for --help)
SUBCOMMANDS = {
    "repl": ("oso_core.tooling.repl_cli", "interactive REPL over policy files (the default: `python -m oso_core FILES...`)"),
    "check": ("oso_core.tooling.check", "validate and lint policy files as loading does"),
    "test": ("oso_core.tooling.policy_tests", "run policy tests (*.polar-test.yaml, test blocks in .polar)"),
    "explain": ("oso_core.tooling.explain", "why a decision (a query) was allowed or denied"),
    "fmt": ("oso_core.tooling.fmt", "format policy files in the canonical layout, comments kept"),
    "lsp": ("oso_core.tooling.lsp", "language server over stdio (needs oso-core[lsp])"),
}
# Subcommands whose module needs an optional extra: subcommand -> extra.
OPTIONAL_EXTRAS = {"lsp": "lsp"}


def version() -> str:
    """The installed package's version (package metadata), else FALLBACK_VERSION."""
    from importlib import metadata

    try:
        return metadata.version("oso-core")
    except metadata.PackageNotFoundError:
        return FALLBACK_VERSION


def usage() -> str:
    """The top-level `--help` text: every subcommand with its summary."""
    width = max(map(len, SUBCOMMANDS))
    lines = [
        f"usage: {PROG} [--help] [--version] [SUBCOMMAND] [ARGS...]",
        "",
        "The Polar policy language: REPL and policy tools. Without a subcommand the arguments go",
        f"to the REPL, as in legacy oso (`{PROG} FILES...`).",
        "",
        "subcommands:",
    ]
    lines += [f"  {name:<{width}}  {summary}" for name, (_, summary) in SUBCOMMANDS.items()]
    lines += ["", "options:", "  -h, --help  show this message and exit", "  --version   show the version and exit",
              "", f"`{PROG} SUBCOMMAND --help` shows a subcommand's options."]
    return "\n".join(lines) + "\n"


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Dispatch to a subcommand; anything else (files, options) goes to the REPL, as in legacy."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in ("-h", "--help"):
        sys.stdout.write(usage())
        return 0
    if args and args[0] == "--version":
        print(f"oso-core {version()}")
        return 0
    name = "repl"
    if args and args[0] in SUBCOMMANDS:
        name = args.pop(0)
    module_name = SUBCOMMANDS[name][0]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        extra = OPTIONAL_EXTRAS.get(name)
        missing = error.name or ""
        if extra is None or not (missing == module_name or not missing.startswith("oso_core")):
            raise
        print(f"{PROG} {name}: not available: {error}; install it with `pip install 'oso-core[{extra}]'`",
              file=sys.stderr)
        return 2
    return module.main(args) or 0


if __name__ == "__main__":
    sys.exit(main())
