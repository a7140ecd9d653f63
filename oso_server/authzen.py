"""The OpenID AuthZEN Authorization API 1.0 over the fact store (docs/server-authzen.md).

    POST /access/v1/evaluation        one decision: {"decision": bool}
    POST /access/v1/evaluations       many, with defaults and options.evaluations_semantic
    POST /access/v1/search/subject    who may: `allow(typed_var(subject.type), action, resource)`
    POST /access/v1/search/resource   what: `store.list`
    POST /access/v1/search/action     which actions: `store.actions`
    GET  /.well-known/authzen-configuration   the PDP metadata (no key needed)

The API routes take the same bearer keys as the Oso Cloud API and answer from the key's
environment. A malformed request is a 400 naming the field; a denied access is a 200 with
`"decision": false`. Each decision handler sets `call.decision` for the decision log and the
metrics before it decides (so a failed decision is logged as such), then adds the outcome.
"""

from __future__ import annotations

from typing import Any, Optional

from oso_core.facts import FactStore, FactStoreError, InvalidFactError, UnboundedResultError, UnsupportedPolicyError
from oso_core.facts import typed_var

from . import authzen_wire as wire
from .endpoint import Call, RouteSpec, ServerState
from .errors import BadRequest

EVALUATION = "/access/v1/evaluation"
EVALUATIONS = "/access/v1/evaluations"
SEARCH_SUBJECT = "/access/v1/search/subject"
SEARCH_RESOURCE = "/access/v1/search/resource"
SEARCH_ACTION = "/access/v1/search/action"
CONFIGURATION = "/.well-known/authzen-configuration"
#: Errors that deny one evaluation of a batch (reported in its context) instead of failing the
#: whole request: they concern that evaluation's own input.
_EVALUATION_ERRORS = (InvalidFactError, UnsupportedPolicyError, UnboundedResultError)


# Access evaluation ---------------------------------------------------------------------------


def evaluate_one(call: Call) -> dict:
    """`POST /access/v1/evaluation`."""
    question = wire.evaluation(wire.request_object(call.body))
    store = call.store
    call.decision = _described(question, store)
    allowed = store.authorize(question.subject, question.action, question.resource, question.context_facts)
    call.decision["allowed"] = allowed
    return {"decision": allowed}


def evaluate_many(call: Call) -> dict:
    """`POST /access/v1/evaluations`: without an `evaluations` array, one evaluation of the
    top-level 4-tuple; with one, a decision per item in item order (the top-level keys are
    defaults), stopped early under `deny_on_first_deny` / `permit_on_first_permit`."""
    body = wire.request_object(call.body)
    questions = wire.evaluations(body)
    if questions is None:
        return evaluate_one(call)
    semantic = wire.semantic(body)
    store = call.store
    call.decision = _batch_described(questions, store)
    logged: list[dict] = []
    answers: list[dict] = []
    for question in questions:
        answer = _answer(store, question)
        answers.append(answer)
        logged.append({**_described(question, None), "allowed": answer["decision"]})
        if semantic == "deny_on_first_deny" and not answer["decision"]:
            answer.setdefault("context", {})["reason"] = "deny_on_first_deny"
            break
        if semantic == "permit_on_first_permit" and answer["decision"]:
            break
    call.decision["evaluations"] = logged
    return {"evaluations": answers}


def _answer(store: FactStore, question: wire.Evaluation) -> dict:
    """One item's answer; an error in its own input denies it, with the error in its context."""
    try:
        allowed = store.authorize(question.subject, question.action, question.resource, question.context_facts)
    except _EVALUATION_ERRORS as error:
        return {"decision": False, "context": {"error": {"status": 400, "message": str(error)}}}
    return {"decision": allowed}


# Searches ------------------------------------------------------------------------------------


def search_subject(call: Call) -> dict:
    """`POST /access/v1/search/subject`: the subjects of `subject.type` that may perform the
    action on the resource (an id of "*" means: any subject of that type)."""
    body = wire.request_object(call.body)
    subject_type, _ = wire.entity(body.get("subject"), "subject", id_required=False)
    action = wire.action_name(body.get("action"), "action")
    resource = wire.entity_value(body.get("resource"), "resource")
    facts = wire.context_facts(body.get("context"), "context")
    page = wire.page_request(body)
    try:
        subject = typed_var(subject_type)
    except FactStoreError as error:
        raise BadRequest(f"subject.type: {error}") from None
    store = call.store
    call.decision = {"actor": f"{subject_type}:*", "action": action, "resource": wire.show(resource),
                     "policy_version": store.policy_version}
    query = store.build_query(("allow", subject, action, resource))
    if facts:
        query = query.with_context_facts(facts)
    ids, page_out = wire.page_of(query.evaluate(subject), page)
    call.decision["results"] = [f"{subject_type}:{ident}" for ident in ids]
    return {"results": [{"type": subject_type, "id": ident} for ident in ids], "page": page_out}


def search_resource(call: Call) -> dict:
    """`POST /access/v1/search/resource`: the resources of `resource.type` the subject may act on."""
    body = wire.request_object(call.body)
    subject = wire.entity_value(body.get("subject"), "subject")
    action = wire.action_name(body.get("action"), "action")
    resource_type, _ = wire.entity(body.get("resource"), "resource", id_required=False)
    facts = wire.context_facts(body.get("context"), "context")
    page = wire.page_request(body)
    store = call.store
    call.decision = {"actor": wire.show(subject), "action": action, "resource": f"{resource_type}:*",
                     "policy_version": store.policy_version}
    ids, page_out = wire.page_of(store.list(subject, action, resource_type, facts), page)
    call.decision["results"] = [f"{resource_type}:{ident}" for ident in ids]
    return {"results": [{"type": resource_type, "id": ident} for ident in ids], "page": page_out}


def search_action(call: Call) -> dict:
    """`POST /access/v1/search/action`: the actions the subject may perform on the resource."""
    body = wire.request_object(call.body)
    subject = wire.entity_value(body.get("subject"), "subject")
    resource = wire.entity_value(body.get("resource"), "resource")
    facts = wire.context_facts(body.get("context"), "context")
    page = wire.page_request(body)
    store = call.store
    call.decision = {"actor": wire.show(subject), "action": None, "resource": wire.show(resource),
                     "policy_version": store.policy_version}
    names, page_out = wire.page_of(store.actions(subject, resource, facts), page)
    call.decision["results"] = names
    return {"results": [{"name": name} for name in names], "page": page_out}


# Metadata ------------------------------------------------------------------------------------


def configuration(call: Call) -> dict:
    """`GET /.well-known/authzen-configuration`: this PDP's identifier (the URL it was reached
    at) and its endpoints. Clients may cache it for five minutes (the spec asks PDPs to say how long)."""
    base = str(call.request.base_url).rstrip("/")
    call.headers["Cache-Control"] = "max-age=300"
    return {
        "policy_decision_point": base,
        "access_evaluation_endpoint": base + EVALUATION,
        "access_evaluations_endpoint": base + EVALUATIONS,
        "search_subject_endpoint": base + SEARCH_SUBJECT,
        "search_resource_endpoint": base + SEARCH_RESOURCE,
        "search_action_endpoint": base + SEARCH_ACTION,
    }


# Decision log entries ------------------------------------------------------------------------


def _described(question: wire.Evaluation, store: Optional[FactStore]) -> dict[str, Any]:
    described: dict[str, Any] = {"actor": wire.show(question.subject), "action": question.action,
                                 "resource": wire.show(question.resource)}
    if store is not None:
        described["policy_version"] = store.policy_version
    return described


def _batch_described(questions: list[wire.Evaluation], store: FactStore) -> dict[str, Any]:
    """Who, what and on what for a batch: each where every item shares it, else None."""
    def shared(values: set) -> Optional[str]:
        return next(iter(values)) if len(values) == 1 else None
    return {"actor": shared({wire.show(q.subject) for q in questions}),
            "action": shared({q.action for q in questions}),
            "resource": shared({wire.show(q.resource) for q in questions}),
            "policy_version": store.policy_version}


def routes(state: ServerState) -> list[RouteSpec]:
    return [
        RouteSpec("POST", EVALUATION, evaluate_one),
        RouteSpec("POST", EVALUATIONS, evaluate_many),
        RouteSpec("POST", SEARCH_SUBJECT, search_subject),
        RouteSpec("POST", SEARCH_RESOURCE, search_resource),
        RouteSpec("POST", SEARCH_ACTION, search_action),
        RouteSpec("GET", CONFIGURATION, configuration, auth=False, body=False, inline=True),
    ]
