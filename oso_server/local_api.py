"""Oso Cloud's local authorization endpoints: SQL for the caller's own PostgreSQL tables.

`POST /api/authorize_query`, `/api/list_query`, `/api/actions_query` and
`/api/evaluate_query_local` (spec sections 3.8, 3.9, 7). Each body carries the decision request
in `query` (the same wire shape as `/api/authorize`, `/api/list`, `/api/actions`,
`/api/evaluate_query`) and the data-bindings YAML text in `data_bindings`; each answers exactly
`{"sql": "..."}`. The SQL is compiled by the fact store (`FactStore.authorize_local` etc.,
docs/server-local-authorization.md); a malformed YAML or a binding the policy has no fact for
is a 400 naming the key.
"""

from __future__ import annotations

from typing import Any

import yaml

from oso_core.facts import FactStore, InvalidBindingsError, LocalBindings, StoreQuery, parse_bindings

from .cloud_decisions import checked_context, request_object
from .endpoint import Call, RouteSpec, ServerState
from .errors import BadRequest
from .query_wire import parse_query
from .wire import context_facts, entity_field, field, require_object, text, text_field


def bindings_of(body: dict) -> LocalBindings:
    """The parsed `data_bindings` YAML text of a request (null: no bindings)."""
    raw = body.get("data_bindings")
    if raw is None:
        return parse_bindings(None)
    source = text(raw, "data_bindings", allow_empty=True)
    try:
        data = yaml.safe_load(source)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise BadRequest(f"data_bindings: not valid YAML{where}: {getattr(error, 'problem', None) or error}") from None
    try:
        return parse_bindings(data)
    except InvalidBindingsError as error:
        raise BadRequest(f"data_bindings: {error}") from None


def _query(body: dict) -> dict:
    return require_object(field(body, "query", ""), "query")


def _sql(call: Call, compile_sql: Any) -> dict:
    try:
        return {"sql": compile_sql()}
    except InvalidBindingsError as error:
        raise BadRequest(f"data_bindings: {error}") from None


def authorize_query(call: Call) -> dict:
    """`{"sql"}`: a query of one row with one boolean column `allowed`."""
    body = request_object(call)
    query = _query(body)
    actor = entity_field(query, "actor", "query")
    action = text_field(query, "action", "query", allow_empty=True)
    resource = entity_field(query, "resource", "query")
    bindings = bindings_of(body)
    store = call.store
    facts = checked_context(store, context_facts(query), "query.context_facts")
    return _sql(call, lambda: store.authorize_local(actor, action, resource, bindings, facts))


def list_query(call: Call) -> dict:
    """`{"sql"}`: a boolean WHERE-clause fragment over the request's `column`."""
    body = request_object(call)
    query = _query(body)
    actor = entity_field(query, "actor", "query")
    action = text_field(query, "action", "query", allow_empty=True)
    resource_type = text_field(query, "resource_type", "query")
    column = text_field(body, "column")
    bindings = bindings_of(body)
    store = call.store
    facts = checked_context(store, context_facts(query), "query.context_facts")
    return _sql(call, lambda: store.list_local(actor, action, resource_type, column, bindings, facts))


def actions_query(call: Call) -> dict:
    """`{"sql"}`: a query with one row per allowed action, in the column `action`."""
    body = request_object(call)
    query = _query(body)
    actor = entity_field(query, "actor", "query")
    resource = entity_field(query, "resource", "query")
    bindings = bindings_of(body)
    store = call.store
    facts = checked_context(store, context_facts(query), "query.context_facts")
    return _sql(call, lambda: store.actions_local(actor, resource, bindings, facts))


def evaluate_query_local(call: Call) -> dict:
    """`{"sql"}` for a query-builder query: select mode (columns named per variable, or one
    boolean column `result`) or filter mode (a WHERE fragment over one column)."""
    body = request_object(call)
    query_body = _query(body)
    mode = require_object(field(body, "mode", ""), "mode")
    kind = text_field(mode, "mode", "mode")
    bindings = bindings_of(body)
    store = call.store
    query, variables = store_query(store, query_body)
    if kind == "select":
        raw = mode.get("query_vars_to_output_column_names")
        names = {} if raw is None else require_object(raw, "mode.query_vars_to_output_column_names")
        columns = {}
        for var_id, column in names.items():
            path = f"mode.query_vars_to_output_column_names.{var_id}"
            if var_id not in variables:
                raise BadRequest(f"{path}: not a variable of the query")
            columns[variables[var_id]] = text(column, path)
        return _sql(call, lambda: store.evaluate_query_local(query, bindings, select=columns))
    if kind == "filter":
        column = text_field(mode, "output_column_name", "mode")
        var_id = text_field(mode, "query_var", "mode")
        if var_id not in variables:
            raise BadRequest("mode.query_var: not a variable of the query")
        return _sql(call, lambda: store.evaluate_query_local(query, bindings, filter=(column, variables[var_id])))
    raise BadRequest(f'mode.mode: expected "select" or "filter", got {kind!r}')


def store_query(store: FactStore, body: dict) -> tuple[StoreQuery, dict]:
    """The query-builder wire form (`predicate`, `calls`, `constraints`, `context_facts`, as for
    `/api/evaluate_query`) of the request's `query` as a store query, and its variables by id."""
    parsed = parse_query(store, body, lambda facts, path: checked_context(store, facts, path), "query.")
    return parsed.query, parsed.variables


def routes(state: ServerState) -> list[RouteSpec]:
    return [
        RouteSpec("POST", "/api/authorize_query", authorize_query),
        RouteSpec("POST", "/api/list_query", list_query),
        RouteSpec("POST", "/api/actions_query", actions_query),
        RouteSpec("POST", "/api/evaluate_query_local", evaluate_query_local),
    ]
