"""`python -m oso_core lsp`: the Polar language server (stdio), for editors.

Diagnostics as you type (the texts of `python -m oso_core check`), hover, go to definition,
references, completion, document symbols, rename of roles/permissions/relations, code lenses
that run policy tests. See docs/editors.md. Needs the `lsp` extra (pygls, lsprotocol), which is
imported only here, when the server runs.
"""

from __future__ import annotations

import argparse
import sys


def main(argv: list | None = None) -> int:
    """Run the language server on stdin/stdout until the client exits; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m oso_core lsp",
                                     description="Polar language server over stdio (see docs/editors.md).")
    parser.add_argument("--stdio", action="store_true", help="talk LSP over stdin/stdout (the default and only transport)")
    parser.parse_args(argv)
    try:
        from .server import create_server
    except ImportError as error:
        print(f"error: the language server needs pygls and lsprotocol: pip install 'oso-core[lsp]' ({error})",
              file=sys.stderr)
        return 2
    create_server().start_io()
    return 0
