"""`GET /api/healthcheck` (the Dev Server's), open without a key: load balancers probe it."""

from __future__ import annotations

from .endpoint import Call, RouteSpec, ServerState


def healthcheck(call: Call) -> dict:
    """200 {"message": "ok"} once the database answers (503 from the store otherwise)."""
    call.state.environments.ping()
    return {"message": "ok"}


def routes(state: ServerState) -> list[RouteSpec]:
    return [RouteSpec("GET", "/api/healthcheck", healthcheck, auth=False, body=False)]
