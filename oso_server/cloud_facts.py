"""Oso Cloud's fact endpoints: `POST /api/batch`, `GET /api/facts`, `POST /api/clear_data`.

A batch is parsed and validated whole before anything is written, then applied in one
transaction in the order given (an insert may be deleted later in the same batch); one bad
fact anywhere answers 400 naming it and writes nothing.
"""

from __future__ import annotations

import re
from typing import Any

from oso_core.facts import InvalidFactError

from .endpoint import NO_BODY, Call, RouteSpec, ServerState
from .errors import BadRequest
from .offsets import acknowledge
from .wire import MAX_ARGS, fact_json, parse_fact_items, parse_pattern, parse_pattern_arg, require_list, \
    require_object, text

INSERTS, DELETES = "inserts", "deletes"
_ARG_PARAM = re.compile(r"^args\.([0-9]+)\.(type|id)$")


def parse_batch(body: Any) -> list[tuple[str, tuple]]:
    """The operations of a batch body, in order: `("inserts", fact)` / `("deletes", pattern)`."""
    if body is NO_BODY:
        raise BadRequest('request body: expected a JSON array of changesets ({"inserts": [...]} or '
                         '{"deletes": [...]}), got nothing')
    operations = []
    for i, changeset in enumerate(require_list(body, "request body")):
        path = f"[{i}]"
        changeset = require_object(changeset, path)
        kinds = [k for k in (INSERTS, DELETES) if k in changeset]
        if len(kinds) != 1:
            raise BadRequest(f'{path}: a changeset has exactly one of "inserts" or "deletes", got keys '
                             f"{sorted(changeset)}")
        kind = kinds[0]
        items = require_list(changeset[kind], f"{path}.{kind}")
        if kind == INSERTS:
            operations += [(INSERTS, fact) for fact in parse_fact_items(items, f"{path}.{kind}")]
        else:
            operations += [(kind, parse_pattern(item, f"{path}.{kind}[{j}]")) for j, item in enumerate(items)]
    return operations


def batch(call: Call) -> dict:
    """Apply a batch atomically, in order."""
    operations = parse_batch(call.body)
    store = call.store
    with store.batch() as tx:
        for n, (kind, fact) in enumerate(operations):
            if kind == INSERTS:
                try:
                    tx.insert(fact)
                except InvalidFactError as error:  # name the fact's place in the body
                    raise BadRequest(f"{_place(call.body, n)}: {error}") from None
            else:
                tx.delete(fact)
    inserted = sum(kind == INSERTS for kind, _ in operations)
    return acknowledge(call, f"Batch applied: {inserted} inserts, {len(operations) - inserted} deletes")


def _place(body: list, n: int) -> str:
    """The path of the n-th operation of a batch body."""
    for i, changeset in enumerate(body):
        ((kind, items),) = [(k, v) for k, v in changeset.items() if k in (INSERTS, DELETES)]
        if n < len(items):
            return f"[{i}].{kind}[{n}]"
        n -= len(items)
    raise IndexError(n)


def facts_pattern(params: dict[str, str]) -> tuple[str, dict[int, Any]]:
    """The predicate and the given arguments (index -> pattern argument) of a `GET /facts`
    query string: `predicate=P&args.0.type=User&args.0.id=alice&args.2.type=Repo`."""
    if "predicate" not in params:
        raise BadRequest("predicate: missing (GET /api/facts?predicate=NAME&args.0.type=T&args.0.id=ID...)")
    predicate = text(params["predicate"], "predicate")
    given: dict[int, dict[str, str]] = {}
    for name, value in params.items():
        if name == "predicate":
            continue
        match = _ARG_PARAM.match(name)
        if match is None:
            raise BadRequest(f"{name}: unknown query parameter (expected predicate, args.<i>.type, args.<i>.id)")
        index = int(match.group(1))
        if index >= MAX_ARGS:
            raise BadRequest(f"{name}: a fact has at most {MAX_ARGS} arguments (indexes 0 to {MAX_ARGS - 1})")
        given.setdefault(index, {})[match.group(2)] = value
    return predicate, {i: parse_pattern_arg(parts, f"args.{i}") for i, parts in given.items()}


def get_facts(call: Call) -> list[dict]:
    """The stored facts matching the pattern. An index the query string leaves out is a
    wildcard, and the arity is not constrained: every arity that covers the given indexes.
    A predicate that is no fact predicate of the loaded policy is refused (400), as a batch
    refuses it."""
    predicate, given = facts_pattern(call.query_params())
    shortest = max(given, default=-1) + 1
    store = call.store
    if store.policy_version:
        check_fact_predicate(predicate, store.oso.fact_signatures())
    found = []
    for arity in range(max(shortest, 1), MAX_ARGS + 1):
        found += store.get((predicate, *(given.get(i) for i in range(arity))))
    return [fact_json(f) for f in found]


def check_fact_predicate(predicate: str, signatures: dict[str, list[tuple[str, ...]]]) -> None:
    """BadRequest naming `predicate` unless the policy has a fact signature for it."""
    if not signatures.get(predicate):
        known = ", ".join(sorted(signatures)) or "none"
        raise BadRequest(f"predicate: the policy declares no fact predicate {predicate} (fact predicates: {known})")


def clear_data(call: Call) -> dict:
    """Delete every fact of the key's environment (the policy stays)."""
    call.store.clear_data()
    return acknowledge(call, "All facts deleted")


def routes(state: ServerState) -> list[RouteSpec]:
    """The routes of this module."""
    return [
        RouteSpec("POST", "/api/batch", batch, write=True),
        RouteSpec("GET", "/api/facts", get_facts, body=False),
        RouteSpec("POST", "/api/clear_data", clear_data, write=True, body=False),
    ]
