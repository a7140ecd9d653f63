"""`python -m oso_core`: the command line.

    python -m oso_core [repl] [--module M]... [FILES...]   interactive REPL (legacy: `python -m oso FILES`)
    python -m oso_core check FILES...                      parse, validate and lint policies
    python -m oso_core test [PATHS...]                     run policy test files
    python -m oso_core explain ...                         why a decision was allowed or denied
    python -m oso_core lsp                                 the language server for editors (stdio)

Each subcommand lives in its own module under `oso_core.tooling` and is imported only when used,
so the REPL starts as fast as before.
"""

from __future__ import annotations

import importlib
import sys
from typing import Optional

# subcommand -> module whose `main(argv) -> int` runs it
SUBCOMMANDS = {
    "repl": "oso_core.tooling.repl_cli",
    "check": "oso_core.tooling.check",
    "test": "oso_core.tooling.policy_tests",
    "explain": "oso_core.tooling.explain",
    "lsp": "oso_core.tooling.lsp",
}


def main(argv: Optional[list] = None) -> int:
    """Dispatch to a subcommand; anything else (files, options) goes to the REPL, as in legacy."""
    args = list(sys.argv[1:] if argv is None else argv)
    name = "repl"
    if args and args[0] in SUBCOMMANDS:
        name = args.pop(0)
    module = importlib.import_module(SUBCOMMANDS[name])
    return module.main(args) or 0


if __name__ == "__main__":
    sys.exit(main())
