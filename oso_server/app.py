"""The ASGI application: one Starlette app whose routes come from the route modules
(`oso_server.routes`), each wrapped by `endpoint.endpoint` for the rules every request follows."""

from __future__ import annotations

import contextlib
from typing import AsyncIterator, Optional

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .config import ServerConfig
from .decision_log import install_decision_log
from .endpoint import ServerState, endpoint, json_response, request_id_of
from .policy_files import load_policy_files
from .routes import route_specs


async def _http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    if error.status_code == 404:
        message = f"Unknown route: {request.method} {request.url.path}"
    elif error.status_code == 405:
        message = f"Method {request.method} is not allowed on {request.url.path}"
    else:
        message = str(error.detail)
    return json_response({"message": message}, error.status_code, {"X-Request-ID": request_id_of(request)})


def create_app(config: ServerConfig, state: Optional[ServerState] = None) -> Starlette:
    """The server's ASGI app for `config` (opens the database; loads `config.policy_files`
    unless they are the stored current policy)."""
    state = state or ServerState(config)
    if config.policy_files:
        load_policy_files(state.environments.get(config.environment), config.policy_files)
    routes = [Route(spec.path, endpoint(spec, state), methods=[spec.method]) for spec in route_specs(state)]
    decision_log = install_decision_log(state)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        yield
        state.environments.close()
        if decision_log is not None:
            decision_log.close()

    app = Starlette(routes=routes, exception_handlers={HTTPException: _http_error}, lifespan=lifespan)
    app.state.server = state
    return app
