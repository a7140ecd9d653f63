"""The client subcommands of `oso-server`, modelled on Oso's `oso-cloud` CLI (docs/server-cli.md).

    policy FILE...                     upload a policy          tell PRED ARG...     add a fact
    delete PRED ARG...                 delete matching facts    get PRED ARG...      show matching facts
    authorize ACTOR ACTION RESOURCE    Allowed / Denied         list ACTOR ACTION TYPE
    actions ACTOR RESOURCE             allowed actions          test FILE...         run test blocks locally

They talk to the server at `--url` / `$OSO_URL` (default http://127.0.0.1:8080) with the key
`--key` / `$OSO_AUTH` (default: the Dev Server test key). Answers go to stdout; errors to stderr.
Exit status: 0 success (and Allowed), 1 Denied, a server error, an unreachable server or a
failing test, 2 a usage error (bad arguments).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any, Callable

from .cli_values import (ArgumentSyntaxError, parse_context_fact, parse_fact, parse_fact_pattern, parse_value,
                         polar_fact, resource_type)
from .client import DEFAULT_KEY, DEFAULT_URL, ClientError, OsoClient

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
ARGS_HELP = "arguments: Type:id, or a plain string (type String)"
PATTERN_HELP = "arguments as for tell, or wildcards: _ (anything) or Type:_ (any value of Type)"


def _connection_options() -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("--url", default=None, help=f"the server (default: $OSO_URL, else {DEFAULT_URL})")
    parent.add_argument("--key", default=None, help="the API key (default: $OSO_AUTH, else the Dev Server test key)")
    return parent


def _context_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-c", "--context", action="append", default=[], metavar="FACT",
                        help='a context fact for this request only, as one word: -c "is_public Repo:anvil '
                             'Boolean:true" (repeatable)')


def add_commands(commands: Any) -> None:
    """Register the client subcommands on `commands` (an argparse sub-parsers object)."""
    connection = _connection_options()

    def add(name: str, run: Callable[[argparse.Namespace, OsoClient], int], summary: str) -> argparse.ArgumentParser:
        parser = commands.add_parser(name, parents=[connection], help=summary, description=summary + ".")
        parser.set_defaults(run=lambda args: _run_remote(parser, run, args))
        return parser

    policy = add("policy", _policy, "upload a policy (several files are joined into one policy)")
    policy.add_argument("files", nargs="+", type=Path, metavar="FILE")
    for name, run, summary, help_ in (
            ("tell", _tell, "add a fact", ARGS_HELP),
            ("delete", _delete, "delete every fact matching a pattern (no error when none matches)", PATTERN_HELP),
            ("get", _get, "show the stored facts matching a pattern, one per line in Polar syntax", PATTERN_HELP)):
        parser = add(name, run, summary)
        parser.add_argument("predicate", metavar="PRED")
        parser.add_argument("args", nargs="+", metavar="ARG", help=help_)
    authorize = add("authorize", _authorize, "check a permission: prints Allowed (exit 0) or Denied (exit 1)")
    authorize.add_argument("actor", metavar="ACTOR")
    authorize.add_argument("action", metavar="ACTION")
    authorize.add_argument("resource", metavar="RESOURCE")
    _context_option(authorize)
    listing = add("list", _list, "list the ids of the resources of a type an actor may act on, one per line")
    listing.add_argument("actor", metavar="ACTOR")
    listing.add_argument("action", metavar="ACTION")
    listing.add_argument("resource_type", metavar="TYPE")
    _context_option(listing)
    actions = add("actions", _actions, "list the actions an actor may take on a resource, one per line")
    actions.add_argument("actor", metavar="ACTOR")
    actions.add_argument("resource", metavar="RESOURCE")
    _context_option(actions)

    test = commands.add_parser("test", help="run the test blocks of a policy locally (no server needed)",
                               description="Run the `test` blocks of an Oso Cloud dialect policy locally, as "
                                           "`python -m oso_core test FILE...` does (same output and exit status).")
    test.add_argument("files", nargs="+", type=Path, metavar="FILE", help="the policy's .polar files, loaded together")
    test.add_argument("-v", "--verbose", action="store_true", help="also list the tests and assertions that pass")
    test.set_defaults(run=_test)


def client_from_args(args: argparse.Namespace) -> OsoClient:
    """The client the options and environment describe (options win over $OSO_URL / $OSO_AUTH)."""
    url = args.url or os.environ.get("OSO_URL") or DEFAULT_URL
    key = args.key or os.environ.get("OSO_AUTH") or DEFAULT_KEY
    return OsoClient(url, key)


def _run_remote(parser: argparse.ArgumentParser, run: Callable[[argparse.Namespace, OsoClient], int],
                args: argparse.Namespace) -> int:
    try:
        return run(args, client_from_args(args))
    except ArgumentSyntaxError as error:
        parser.error(str(error))  # exits with status 2, like any usage error
    except ClientError as error:
        print(f"error: {error.message}", file=sys.stderr)
    return EXIT_FAILED


# The commands ------------------------------------------------------------------------------------

def _policy(args: argparse.Namespace, client: OsoClient) -> int:
    sources = []
    for path in args.files:
        try:
            sources.append(path.read_text(encoding="utf-8"))
        except OSError as error:
            print(f"error: cannot read {path}: {error.strerror or error}", file=sys.stderr)
            return EXIT_FAILED
    filename = str(args.files[0]) if len(args.files) == 1 else ""
    print(client.policy("\n".join(sources), filename))
    return EXIT_OK


def _tell(args: argparse.Namespace, client: OsoClient) -> int:
    print(client.insert(parse_fact(args.predicate, args.args)))
    return EXIT_OK


def _delete(args: argparse.Namespace, client: OsoClient) -> int:
    print(client.delete(parse_fact_pattern(args.predicate, args.args)))
    return EXIT_OK


def _get(args: argparse.Namespace, client: OsoClient) -> int:
    pattern = parse_fact_pattern(args.predicate, args.args)
    for fact in client.get(pattern["predicate"], pattern["args"]):
        print(polar_fact(fact))
    return EXIT_OK


def _context(args: argparse.Namespace) -> list[dict]:
    return [parse_context_fact(text) for text in args.context]


def _authorize(args: argparse.Namespace, client: OsoClient) -> int:
    allowed = client.authorize(parse_value(args.actor), args.action, parse_value(args.resource), _context(args))
    print("Allowed" if allowed else "Denied")
    return EXIT_OK if allowed else EXIT_FAILED


def _list(args: argparse.Namespace, client: OsoClient) -> int:
    for resource_id in client.list(parse_value(args.actor), args.action, resource_type(args.resource_type),
                                   _context(args)):
        print(resource_id)
    return EXIT_OK


def _actions(args: argparse.Namespace, client: OsoClient) -> int:
    for action in client.actions(parse_value(args.actor), parse_value(args.resource), _context(args)):
        print(action)
    return EXIT_OK


def _test(args: argparse.Namespace) -> int:
    """The policy's test blocks, run as `python -m oso_core test FILES` runs named .polar files."""
    from oso_core.tooling.policy_tests import has_test_blocks, run_policy

    missing = [str(p) for p in args.files if not p.is_file()]
    if missing:
        print(f"error: no such file: {', '.join(missing)}", file=sys.stderr)
        return EXIT_USAGE
    files = list(dict.fromkeys(args.files))
    if not any(map(has_test_blocks, files)):
        print(f"error: no test blocks in {', '.join(map(str, files))}", file=sys.stderr)
        return EXIT_USAGE
    passed, failed = run_policy(files, print, args.verbose)
    print(f"{passed} passed, {failed} failed")
    return EXIT_FAILED if failed else EXIT_OK
