"""Oso Cloud's decision endpoints: `POST /api/authorize`, `/api/list`, `/api/actions` and
`/api/evaluate_query` (the query builder), over the fact store of the key's environment.

Each answers exactly the keys the oso-cloud 2.6.0 client unpacks (spec section 1.8) and sets
`call.decision` for the decision log.
"""

from __future__ import annotations

from typing import Any, Sequence

from oso_core.facts import FactStore, InvalidFactError

from .endpoint import NO_BODY, Call, RouteSpec, ServerState
from .errors import BadRequest
from .paging import page, query_digest, resume
from .query_wire import evaluate_query
from .wire import context_facts, entity_field, fact_json, require_object, text_field


def request_object(call: Call) -> dict:
    """The JSON object body of a decision request."""
    if call.body is NO_BODY:
        raise BadRequest("request body: expected a JSON object, got nothing")
    return require_object(call.body, "request body")


def checked_context(store: FactStore, facts: Sequence[tuple], path: str = "context_facts") -> list[tuple]:
    """Context facts the policy accepts; 400 naming the first it does not."""
    for i, fact in enumerate(facts):
        try:
            store.validate_facts([fact])
        except InvalidFactError as error:
            raise BadRequest(f"{path}[{i}]: {error}") from None
    return list(facts)


def authorize(call: Call) -> dict:
    """`{"allowed": bool}`: does `allow(actor, action, resource)` hold?"""
    body = request_object(call)
    actor = entity_field(body, "actor")
    action = text_field(body, "action", allow_empty=True)
    resource = entity_field(body, "resource")
    store = call.store
    facts = checked_context(store, context_facts(body))
    version = store.policy_version
    allowed = store.authorize(actor, action, resource, facts)
    call.decision = {"actor": _shown(actor), "action": action, "resource": _shown(resource), "allowed": allowed,
                     "policy_version": version}
    return {"allowed": allowed}


def list_resources(call: Call) -> dict:
    """`{"results": [...]}`, plus `next_page_token` when the request pages (has `page_size` or
    `page_token`): a 2.5.x client sends neither and breaks on the extra key."""
    body = request_object(call)
    actor = entity_field(body, "actor")
    action = text_field(body, "action", allow_empty=True)
    resource_type = text_field(body, "resource_type")
    store = call.store
    facts = checked_context(store, context_facts(body))
    token, page_size = body.get("page_token"), body.get("page_size")
    version = store.policy_version
    paged = token is not None or page_size is not None
    if paged:
        digest = query_digest(call.key.environment if call.key else "", [
            actor.type, actor.id, action, resource_type, [fact_json(f) for f in facts]])
        size, after = resume(token, page_size, version, digest)
    ids = store.list(actor, action, resource_type, facts)
    answer: dict[str, Any]
    if paged:
        results, next_token = page(ids, size, after, version, digest)
        answer = {"results": results, "next_page_token": next_token}
    else:
        results = ids
        answer = {"results": results}
    call.decision = {"actor": _shown(actor), "action": action, "resource": resource_type, "results": results,
                     "policy_version": version}
    return answer


def actions(call: Call) -> dict:
    """`{"results": [action, ...]}`: what the actor may do to the resource, sorted."""
    body = request_object(call)
    actor = entity_field(body, "actor")
    resource = entity_field(body, "resource")
    store = call.store
    facts = checked_context(store, context_facts(body))
    version = store.policy_version
    results = store.actions(actor, resource, facts)
    call.decision = {"actor": _shown(actor), "action": None, "resource": _shown(resource), "results": results,
                     "policy_version": version}
    return {"results": results}


def evaluate(call: Call) -> dict:
    """`{"results": [{variable id: id string | null}]}`: one row per solution, every variable of
    the query in every row (null: the solution holds for any value)."""
    body = request_object(call)
    store = call.store
    version = store.policy_version
    predicate, rows = evaluate_query(store, body, lambda facts, path: checked_context(store, facts, path))
    call.decision = {"actor": None, "action": None, "resource": None, "query": predicate, "results": rows,
                     "policy_version": version}
    return {"results": rows}


def _shown(value: Any) -> str:
    return f"{value.type}:{value.id}"


def routes(state: ServerState) -> list[RouteSpec]:
    """The routes of this module."""
    return [
        RouteSpec("POST", "/api/authorize", authorize),
        RouteSpec("POST", "/api/list", list_resources),
        RouteSpec("POST", "/api/actions", actions),
        RouteSpec("POST", "/api/evaluate_query", evaluate),
    ]
