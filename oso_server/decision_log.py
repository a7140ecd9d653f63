"""The server's decision log: one JSON line per request that made (or failed to make) a
decision, written by oso_core's `JsonLinesDecisionLogger` (docs/server-observability.md).

    serve --decision-log decisions.jsonl      (or `-` for standard output)

A line (one line each):

    {"time": "2026-12-07T21:30:00.123456Z", "method": "evaluation", "actor": "User:alice",
     "action": "read", "resource": "Repo:1", "allowed": true, "result": true, "elapsed_ms": 0.912,
     "request_id": "4f0c...", "environment": "default", "route": "POST /access/v1/evaluation",
     "status": 200, "policy_version": 3, "key": "dev-test-key"}

`key` is the API key's name, never its secret. `elapsed_ms` is the whole request's duration.
Searches and lists log their `result` (the ids, the first 100; `result_count` has how many);
a batch logs `evaluations` (each item's actor, action, resource and outcome) and `result`
(their outcomes). A decision request that failed logs `"allowed": false` and `error`. The
line is written after the decision, before the response leaves; a write that fails is reported
in the server log, and the response still goes out.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any, Optional

from oso_core.tooling.decision_log import Decision, JsonLinesDecisionLogger

from .endpoint import RequestRecord, ServerState

#: The most result ids a line lists (a list can have millions).
MAX_LOGGED_RESULTS = 100
_ROUTE_PREFIXES = ("/access/v1/", "/api/")


@dataclass(slots=True)
class RequestDecision(Decision):
    """A `Decision` with the request it was made in."""

    request_id: str = ""
    environment: Optional[str] = None
    route: str = ""
    status: int = 0
    policy_version: Optional[int] = None
    key_name: Optional[str] = None
    evaluations: Optional[list] = None
    result_count: Optional[int] = None


def request_decision(record: RequestRecord) -> Optional[RequestDecision]:
    """The decision of a finished request; None for a request that made none."""
    described = record.decision
    if described is None:
        return None
    evaluations = described.get("evaluations")
    results = described.get("results")
    error = None
    count = None
    if "allowed" in described:
        allowed = bool(described["allowed"])
        result: Any = allowed
    elif evaluations is not None:
        result = [bool(item.get("allowed")) for item in evaluations]
        allowed = any(result)
    elif results is not None:
        allowed = bool(results)
        result, count = list(results[:MAX_LOGGED_RESULTS]), len(results)
    else:
        allowed, result = False, None
    if record.status >= 400:
        allowed, error = False, f"the request failed with status {record.status}"
    return RequestDecision(
        method=_short_name(record.route), actor=described.get("actor"), action=described.get("action"),
        resource=described.get("resource"), allowed=allowed, result=result, elapsed=record.seconds, error=error,
        request_id=record.request_id, environment=record.environment, route=f"{record.method} {record.route}",
        status=record.status, policy_version=described.get("policy_version"), key_name=record.key_name,
        evaluations=evaluations, result_count=count)


class RequestDecisionLogger(JsonLinesDecisionLogger):
    """A `JsonLinesDecisionLogger` whose lines also name the request; `observe` is the
    `ServerState` observer."""

    def __init__(self, target: Any) -> None:
        super().__init__(target, render=str)

    def record(self, decision: Decision) -> dict:
        out = super().record(decision)
        if not isinstance(decision, RequestDecision):
            return out
        # The SQL decision path does not trace rules: no `rules` rather than an empty list
        # that would read as "no rule allowed it".
        del out["rules"]
        out["actor"], out["resource"] = decision.actor, decision.resource  # already text (or None)
        out.update({"request_id": decision.request_id, "environment": decision.environment,
                    "route": decision.route, "status": decision.status,
                    "policy_version": decision.policy_version, "key": decision.key_name})
        if decision.evaluations is not None:
            out["evaluations"] = decision.evaluations
        if decision.result_count is not None:
            out["result_count"] = decision.result_count
        return out

    def observe(self, record: RequestRecord) -> None:
        """Write the line of a finished request, if it made a decision."""
        decision = request_decision(record)
        if decision is not None:
            self(decision)


def install_decision_log(state: ServerState) -> Optional[RequestDecisionLogger]:
    """Start the decision log `state.config.decision_log` names ("-": standard output) as an
    observer of every request; None when there is none. The caller closes it."""
    target = state.config.decision_log
    if not target:
        return None
    logger = RequestDecisionLogger(sys.stdout if target == "-" else target)
    state.observers.append(logger.observe)
    return logger


def _short_name(route: str) -> str:
    for prefix in _ROUTE_PREFIXES:
        if route.startswith(prefix):
            return route[len(prefix):]
    return route.lstrip("/")
