"""Local authorization entry points: a request -> the symbolic evaluation -> local SQL text.

`FactStore.authorize_local` / `list_local` / `actions_local` / `evaluate_query_local` call these
with the loaded policy's knowledge base and a lookup of stored facts; `local_sql` compiles.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence, Union

from ..values import Value
from .local_bindings import LocalBindings, parse_bindings
from .local_sql import FactFetcher, LocalContext, actions_sql, authorize_sql, list_fragment
from .symbolic import Symbol, evaluate

Bindings = Union[LocalBindings, Mapping, None]


def as_bindings(bindings: Bindings) -> LocalBindings:
    """`LocalBindings` as given, or parsed from the data-bindings mapping (InvalidBindingsError)."""
    return bindings if isinstance(bindings, LocalBindings) else parse_bindings(bindings)


def authorize_local(kb: Any, fetch: FactFetcher, actor: Value, action: str, resource: Value,
                    bindings: Bindings, context_facts: Sequence[tuple] = ()) -> str:
    """SQL of one row, one boolean column `allowed`: does `allow(actor, action, resource)` hold?"""
    _check(actor, "actor")
    _check(resource, "resource")
    if not isinstance(action, str):
        raise TypeError(f"action must be a string, got {action!r}")
    evaluation = evaluate(kb, [("allow", [Symbol("actor"), action, Symbol("resource")])],
                          {"actor": actor.type, "resource": resource.type}, symbolic_actor="actor")
    ctx = LocalContext(kb, evaluation, as_bindings(bindings), fetch, {"actor": actor, "resource": resource},
                       context_facts)
    return authorize_sql(ctx, actor.type, resource.type)


def list_local(kb: Any, fetch: FactFetcher, actor: Value, action: str, resource_type: str, column: str,
               bindings: Bindings, context_facts: Sequence[tuple] = ()) -> str:
    """A boolean SQL condition over `column` (the caller's id column of `resource_type`)."""
    _check(actor, "actor")
    if not isinstance(action, str):
        raise TypeError(f"action must be a string, got {action!r}")
    if not isinstance(resource_type, str) or not resource_type:
        raise TypeError(f"resource_type must be a non-empty string, got {resource_type!r}")
    if not isinstance(column, str) or not column.strip() or "\x00" in column:
        raise TypeError(f"column must be a non-empty SQL column reference, got {column!r}")
    evaluation = evaluate(kb, [("allow", [Symbol("actor"), action, Symbol("resource")])],
                          {"actor": actor.type, "resource": resource_type}, symbolic_actor="actor")
    ctx = LocalContext(kb, evaluation, as_bindings(bindings), fetch, {"actor": actor}, context_facts)
    return list_fragment(ctx, resource_type, column)


def actions_local(kb: Any, fetch: FactFetcher, actor: Value, resource: Value, bindings: Bindings,
                  context_facts: Sequence[tuple] = ()) -> str:
    """SQL with one row per allowed action, in the column `action`."""
    _check(actor, "actor")
    _check(resource, "resource")
    evaluation = evaluate(kb, [("allow", [Symbol("actor"), Symbol("action"), Symbol("resource")])],
                          {"actor": actor.type, "action": None, "resource": resource.type}, symbolic_actor="actor")
    ctx = LocalContext(kb, evaluation, as_bindings(bindings), fetch, {"actor": actor, "resource": resource},
                       context_facts)
    return actions_sql(ctx, actor.type, resource.type)


def _check(value: Any, field: str) -> None:
    if not isinstance(value, Value):
        raise TypeError(f"{field} must be a Value(type, id), got {value!r}")
