"""The route table: every route module's `routes(state)`, in one list.

Each module owns the routes of one API (Oso Cloud's, local authorization, AuthZEN, metrics)
and returns `RouteSpec`s; `create_app` wraps each with the rules every request follows.
"""

from __future__ import annotations

from .endpoint import RouteSpec, ServerState
from . import authzen, cloud_decisions, cloud_facts, cloud_misc, cloud_policy, health, local_api, metrics


def route_specs(state: ServerState) -> list[RouteSpec]:
    """Every route of the server."""
    modules = [health, cloud_policy, cloud_facts, cloud_decisions, cloud_misc, local_api, authzen, metrics]
    return [spec for module in modules for spec in module.routes(state)]
