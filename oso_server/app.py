"""The ASGI application: a Starlette app whose routes come from the route modules
(`oso_server.routes`), each an `endpoint.Endpoint` applying the rules every request follows.

A request whose method and path name a route exactly goes straight to that route's endpoint:
the endpoint already turns every failure into a JSON response, so Starlette's router (a regex
per route, tried in turn) and its two error middlewares only cost time there. Anything else
(an unknown path, a wrong method, HEAD, a trailing slash, a mounted app) takes Starlette's
path, which answers 404/405 and redirects as before.
"""

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
from .endpoint import Endpoint, Receive, Scope, Send, ServerState, endpoint, json_response, request_id_of
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


class ServerApp(Starlette):
    """Starlette, with requests that match a route exactly sent straight to its endpoint."""

    def __init__(self, endpoints: list[Endpoint], **options: object) -> None:
        routes = [Route(e.spec.path, e, methods=[e.spec.method]) for e in endpoints]
        super().__init__(routes=routes, **options)  # type: ignore[arg-type]
        self.direct: dict[tuple[str, str], Endpoint] = {(e.spec.method, e.spec.path): e for e in endpoints}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope.get("root_path"):
            found = self.direct.get((scope["method"], scope["path"]))
            if found is not None:
                scope["app"] = self
                await found(scope, receive, send)
                return
        await super().__call__(scope, receive, send)


def create_app(config: ServerConfig, state: Optional[ServerState] = None) -> ServerApp:
    """The server's ASGI app for `config` (opens the database; loads `config.policy_files`
    unless they are the stored current policy)."""
    state = state or ServerState(config)
    if config.policy_files:
        load_policy_files(state.environments.get(config.environment), config.policy_files)
    endpoints = [endpoint(spec, state) for spec in route_specs(state)]
    decision_log = install_decision_log(state)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        yield
        state.close()
        if decision_log is not None:
            decision_log.close()

    app = ServerApp(endpoints, exception_handlers={HTTPException: _http_error}, lifespan=lifespan)
    app.state.server = state
    return app
