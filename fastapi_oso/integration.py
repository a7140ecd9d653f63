"""`FastAPIOso`: authorization for FastAPI endpoints with an `oso_core.Oso`, never blocking the loop.

Every decision goes through the engine's async API (`Oso.is_allowed_async`, `authorize_async`,
...): the engine runs in a greenlet, and where the policy reads a host value that is awaitable
(a coroutine, or a lazy SQLAlchemy relationship of an object loaded by an `AsyncSession`) the
engine is suspended while the event loop awaits it. Other requests run meanwhile.

This module deliberately has no `from __future__ import annotations`: FastAPI reads the
signatures of the dependency functions built below at run time.
"""

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from fastapi import Depends, FastAPI, HTTPException, Request, status
from fastapi.responses import JSONResponse

from oso_core import Oso
from oso_core.exceptions import DuplicateClassAliasError, ForbiddenError, NotFoundError, OsoError

from ._filtering import authorized_select as _authorized_select

if TYPE_CHECKING:
    from sqlalchemy import Select

__all__ = ["FastAPIOso"]

logger = logging.getLogger("fastapi_oso")

ActorT = TypeVar("ActorT")
ResourceT = TypeVar("ResourceT")

# A dependency giving a resource, or None when there is none.
Loader = Callable[..., Awaitable[ResourceT | None]] | Callable[..., ResourceT | None]

_AUTHORIZATION_ERRORS = (NotFoundError, ForbiddenError)


class FastAPIOso(Generic[ActorT]):
    """Authorization for a FastAPI app.

    `get_actor` is a FastAPI dependency (async or sync; it may take `request: Request` and
    depend on other dependencies, e.g. a database session) returning the current actor, or
    None when the request is anonymous.

    Dependencies (use them with `Depends(...)`):

    * `current_actor`: the actor; 401 when `get_actor` returns None.
    * `optional_actor`: the actor or None.
    * `authorize_request()`: checks `allow_request(actor, request)` (403), gives the actor.
    * `authorized(action, load_resource)`: the resource `load_resource` returns, if the actor
      may `action` it; 404 when it is None or the actor may not read it, 403 when the actor may
      read it but not `action` it (exactly `Oso.authorize`).

    Coroutines: `authorize`, `is_allowed`, `authorized_actions`, `authorized_select`.

    `init_app(app)` installs the exception handlers: `NotFoundError` -> 404,
    `ForbiddenError` -> 403, any other `OsoError` -> 500 (logged; nothing of the error is
    shown). Without them those errors are unhandled: still 500s, never an allow.
    """

    current_actor: Callable[..., Awaitable[ActorT]]
    optional_actor: Callable[..., Awaitable[ActorT | None]]

    def __init__(self, oso: Oso, get_actor: Callable[..., Any], *, app: FastAPI | None = None) -> None:
        self.oso = oso
        self.get_actor = get_actor
        # `allow_request(actor, request: Request)` rules can name Starlette's request class.
        try:
            oso.register_class(Request)
        except DuplicateClassAliasError:
            pass   # registered already, or the application has its own class named Request
        self.optional_actor = self._make_optional_actor()
        self.current_actor = self._make_current_actor()
        if app is not None:
            self.init_app(app)

    # Setup ------------------------------------------------------------------------------------

    def init_app(self, app: FastAPI) -> None:
        """Answer oso's authorization errors: 404 for `NotFoundError`, 403 for `ForbiddenError`,
        500 for any other `OsoError` (a policy error, a policy that cannot be turned into SQL)."""
        app.add_exception_handler(NotFoundError, _not_found)
        app.add_exception_handler(ForbiddenError, _forbidden)
        app.add_exception_handler(OsoError, _oso_error)
        # An Oso built with its own error classes (`Oso(not_found_error=...)`) raises those.
        for factory, handler in ((self.oso.not_found_error, _not_found), (self.oso.forbidden_error, _forbidden)):
            if (isinstance(factory, type) and issubclass(factory, Exception)
                    and not issubclass(factory, (HTTPException, *_AUTHORIZATION_ERRORS))):
                app.add_exception_handler(factory, handler)

    # Dependencies ----------------------------------------------------------------------------

    def _make_optional_actor(self) -> Callable[..., Awaitable[Any]]:
        get_actor = self.get_actor

        async def optional_actor(actor: Any = Depends(get_actor)) -> Any:
            return actor

        return optional_actor

    def _make_current_actor(self) -> Callable[..., Awaitable[Any]]:
        get_actor = self.get_actor

        async def current_actor(actor: Any = Depends(get_actor)) -> Any:
            if actor is None:
                raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail="Not authenticated")
            return actor

        return current_actor

    def authorize_request(self) -> Callable[..., Awaitable[ActorT]]:
        """A dependency checking `allow_request(actor, request)`: 401 without an actor, 403 when
        no rule allows the request. It gives the actor. For a router or an app:
        `APIRouter(dependencies=[Depends(oso_fastapi.authorize_request())])`."""
        oso = self.oso

        async def authorize_request(request: Request, actor: Any = Depends(self.current_actor)) -> Any:
            await oso.authorize_request_async(actor, request)
            return actor

        return authorize_request

    def authorized(self, action: Any, load_resource: Loader[ResourceT], *,
                   check_read: bool = True) -> Callable[..., Awaitable[ResourceT]]:
        """A dependency giving the resource `load_resource` (itself a dependency: it may take
        path parameters and a session) returns, once the current actor may `action` it.

        None from `load_resource` is answered exactly like a resource the actor may not read
        (404), so a response never tells a missing object from a hidden one. The actor is
        resolved first: an anonymous request gets 401 before anything is loaded.
        """
        oso = self.oso

        async def authorized_resource(actor: Any = Depends(self.current_actor),
                                      resource: Any = Depends(load_resource)) -> Any:
            if resource is None:
                raise oso.not_found_error()
            await oso.authorize_async(actor, action, resource, check_read=check_read)
            return resource

        authorized_resource.__name__ = f"authorized_{getattr(load_resource, '__name__', 'resource')}"
        return authorized_resource

    # Coroutines --------------------------------------------------------------------------------

    async def authorize(self, actor: ActorT, action: Any, resource: Any, *, check_read: bool = True) -> None:
        """`Oso.authorize`: raises `NotFoundError` (404) or `ForbiddenError` (403). A None
        resource (nothing found) raises `NotFoundError`, like a resource the actor may not read."""
        if resource is None:
            raise self.oso.not_found_error()
        await self.oso.authorize_async(actor, action, resource, check_read=check_read)

    async def is_allowed(self, actor: ActorT, action: Any, resource: Any) -> bool:
        return await self.oso.is_allowed_async(actor, action, resource)

    async def authorized_actions(self, actor: ActorT, resource: Any, allow_wildcard: bool = False) -> set:
        return await self.oso.authorized_actions_async(actor, resource, allow_wildcard)

    async def authorized_select(self, actor: ActorT, action: Any, model: type[ResourceT]) -> "Select[Any]":
        """`SELECT model WHERE <the policy>` as a SQLAlchemy `Select` of the rows of `model` the
        actor may `action`; add `.where(...)`, `.order_by(...)`, `.options(...)` and run it on
        your `AsyncSession`: one SQL statement.

        The filter is built from the policy by partial evaluation (`build_filter_plan`, in the
        async engine, so an awaitable attribute of the actor is awaited) and compiled with the
        SQLAlchemy adapter's `build_select`. Relationships are found through the ORM when the
        models were registered with `sqlalchemy_oso.register_models` (or a `SqlAlchemyAdapter` is
        set). A policy that cannot be translated faithfully raises `UnsupportedError`, a 500:
        never an unfiltered query.
        """
        return await _authorized_select(self.oso, actor, action, model)


async def _not_found(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": "Not Found"}, status_code=status.HTTP_404_NOT_FOUND)


async def _forbidden(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": "Forbidden"}, status_code=status.HTTP_403_FORBIDDEN)


async def _oso_error(request: Request, exc: Exception) -> JSONResponse:
    logger.error("authorization failed with an error on %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse({"detail": "Internal Server Error"}, status_code=status.HTTP_500_INTERNAL_SERVER_ERROR)
