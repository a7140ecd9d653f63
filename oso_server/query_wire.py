"""The query builder's wire form (`POST /api/evaluate_query`, spec section 3.9) -> a fact
store query, and its solutions back.

    {"predicate": ["allow", ["var_a", "var_b", "var_c"]],
     "calls": [["has_relation", ["var_c", "var_d", "var_e"]]],
     "constraints": {"var_a": {"type": "User", "ids": ["alice"]}, "var_b": {"type": "String", "ids": null}, ...},
     "context_facts": [...]}

Every argument is a variable named in `constraints`, with its type and optionally the ids it
is limited to (a concrete argument is a variable with one id). `/api/evaluate_query_local`
carries the same form in its `query` field: both parse it with `parse_query`.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple, Sequence

from oso_core.facts import FactStore, QueryVariable, StoreQuery

from .errors import BadRequest
from .wire import BOOLEAN, INTEGER, bad, context_facts, field, is_integer_id, require_list, require_object, shown, text

_ABSTRACT = ("Actor", "Resource")


def _call(value: Any, path: str) -> tuple[str, list[str]]:
    """`[name, [variable id, ...]]`."""
    items = require_list(value, path)
    if len(items) != 2:
        raise BadRequest(f"{path}: a call is [predicate name, [variable ids]], got {len(items)} items")
    name = text(items[0], f"{path}[0]")
    args = [text(a, f"{path}[1][{i}]") for i, a in enumerate(require_list(items[1], f"{path}[1]"))]
    return name, args


def _ids(type_: str, value: Any, path: str) -> list[str]:
    """A variable's ids as id strings (the client sends `in_` values as given: ints too)."""
    ids = []
    for i, item in enumerate(require_list(value, path)):
        where = f"{path}[{i}]"
        if isinstance(item, bool):
            item = "true" if item else "false"
        elif isinstance(item, int):
            item = str(item)
        item = text(item, where, allow_empty=True)
        if type_ == INTEGER and not is_integer_id(item):
            raise BadRequest(f"{where}: an Integer id is a 64-bit decimal integer, got {shown(item)}")
        if type_ == BOOLEAN and item not in ("true", "false"):
            raise BadRequest(f'{where}: a Boolean id is "true" or "false", got {shown(item)}')
        ids.append(item)
    return ids


def _constraints(value: Any, prefix: str) -> dict[str, tuple[QueryVariable, Any]]:
    """Variable id -> (its QueryVariable, its ids or None)."""
    found = {}
    for name, constraint in require_object(value, f"{prefix}constraints").items():
        path = f"{prefix}constraints.{name}"
        text(name, path)
        constraint = require_object(constraint, path)
        type_ = text(field(constraint, "type", path), f"{path}.type")
        if type_ in _ABSTRACT:
            raise BadRequest(f"{path}.type: a query variable has a concrete type, not the abstract {type_}")
        ids = constraint.get("ids")
        found[name] = (QueryVariable(type_, name), None if ids is None else _ids(type_, ids, f"{path}.ids"))
    return found


class WireQuery(NamedTuple):
    """A parsed query-builder body: the predicate's name, the store query (context facts
    included), and the query's variables by id."""

    predicate: str
    query: StoreQuery
    variables: dict[str, QueryVariable]


def parse_query(store: FactStore, body: dict, check_context: Callable[[Sequence[tuple], str], list[tuple]],
                prefix: str = "") -> WireQuery:
    """The query-builder wire form as a store query. `prefix` is where `body` sits in the request
    ("" for `/api/evaluate_query`, "query." for `/api/evaluate_query_local`), for the paths that
    errors name; `check_context(facts, path)` returns the context facts the policy accepts."""
    where = prefix.rstrip(".")
    predicate = _call(field(body, "predicate", where), f"{prefix}predicate")
    calls_value = body.get("calls")
    calls = [] if calls_value is None else [_call(c, f"{prefix}calls[{i}]")
                                            for i, c in enumerate(require_list(calls_value, f"{prefix}calls"))]
    constraints = _constraints(field(body, "constraints", where), prefix)
    used: dict[str, None] = {}
    named = [(f"{prefix}predicate", predicate), *((f"{prefix}calls[{i}]", c) for i, c in enumerate(calls))]
    for path, (name, args) in named:
        for i, arg in enumerate(args):
            if arg not in constraints:
                raise bad(f"{path}[1][{i}]", f"a variable id named in {prefix}constraints", arg)
            used[arg] = None
    for name in constraints:
        if name not in used:
            raise BadRequest(f"{prefix}constraints.{name}: the variable is not used by the predicate or any call")
    facts = check_context(context_facts(body), f"{prefix}context_facts")

    def vars_of(args: list[str]) -> tuple:
        return tuple(constraints[a][0] for a in args)

    query = store.build_query((predicate[0], *vars_of(predicate[1])))
    for name, args in calls:
        query = query.and_((name, *vars_of(args)))
    for variable, ids in constraints.values():
        if ids is not None:
            query = query.in_(variable, ids)
    if facts:
        query = query.with_context_facts(facts)
    return WireQuery(predicate[0], query, {name: variable for name, (variable, _) in constraints.items()})


def evaluate_query(store: FactStore, body: dict,
                   check_context: Callable[[Sequence[tuple], str], list[tuple]]) -> tuple[str, list[dict]]:
    """(the query's predicate name, its solutions as `{variable id: id string | None}` rows)."""
    parsed = parse_query(store, body, check_context)
    return parsed.predicate, parsed.query.rows()
