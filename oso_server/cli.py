"""The `oso-server` / `python -m oso_server` command line: `serve`, and the client commands."""

from __future__ import annotations

import argparse
import sys
from typing import Optional, Sequence

from . import client_cli, serve


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="oso-server", description="A self-hosted authorization service "
                                     "speaking Oso Cloud's HTTP API (docs/server.md).")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    serve_parser = commands.add_parser("serve", help="run the server", description="Run the server.")
    serve.add_arguments(serve_parser)
    serve_parser.set_defaults(run=serve.main)
    client_cli.add_commands(commands)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run one command; its exit status."""
    args = build_parser().parse_args(argv)
    return int(args.run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
