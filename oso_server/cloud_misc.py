"""Oso Cloud endpoints that record nothing here: `POST /api/expect` (Oso Migrate's parity
checks, `ParityHandle`) and `POST /api/agents/event/<kind>` (Oso for Agents telemetry).

Both check that the body is what the client sends and answer what the client expects; neither
stores anything (there is no parity report or agent-event log to feed).
"""

from __future__ import annotations

from typing import Any

from .endpoint import NO_BODY, Call, RouteSpec, ServerState
from .errors import BadRequest
from .wire import bad, field, require_object, text

AGENT_EVENTS = ("tool_call_request", "tool_call_response", "tool_call_error", "message_from_user", "message_to_user")


def _object(call: Call) -> dict:
    if call.body is NO_BODY:
        raise BadRequest("request body: expected a JSON object, got nothing")
    return require_object(call.body, "request body")


def expect(call: Call) -> dict:
    """`{"request_id": str, "expected": bool}` -> `{"message": "ok"}`."""
    body = _object(call)
    text(field(body, "request_id", ""), "request_id")
    expected: Any = field(body, "expected", "")
    if not isinstance(expected, bool):
        raise bad("expected", "a boolean", expected)
    return {"message": "ok"}


def agent_event(call: Call) -> dict:
    """Any JSON object -> `{}` (the client ignores the answer)."""
    _object(call)
    return {}


def routes(state: ServerState) -> list[RouteSpec]:
    """The routes of this module."""
    return [RouteSpec("POST", "/api/expect", expect),
            *(RouteSpec("POST", f"/api/agents/event/{kind}", agent_event) for kind in AGENT_EVENTS)]
