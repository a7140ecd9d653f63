"""Middleware: require authorization on every request, or authorize every request.

Each is a function-style middleware usable in sync and async stacks
(`MIDDLEWARE += ["django_oso.middleware.RequireAuthorization"]`).
"""

from __future__ import annotations

from typing import Any, Callable

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.conf import settings

from oso_core.exceptions import OsoError

from .auth import authorize, authorize_request, request_authorized

__all__ = ["RequireAuthorization", "RouteAuthorization", "AllowRequestAuthorization",
           "ReloadPolicyMiddleware", "WHITELIST_STATUSES_DEFAULT"]

# Responses with these statuses pass `RequireAuthorization` without any authorization.
WHITELIST_STATUSES_DEFAULT = {401, 403, 404, 405, 500}

NOT_AUTHORIZED_MESSAGE = "authorize was not called during processing request."


def _both(factory: Callable) -> Callable:
    factory.sync_capable = True
    factory.async_capable = True
    return factory


def _check_authorized(request: Any, response: Any) -> Any:
    if response.status_code in WHITELIST_STATUSES_DEFAULT or request_authorized(request):
        return response
    # The view's response is dropped, never sent: the error becomes a 500 response. (Not
    # `response.close()`: that signals the end of the request, closing its DB connections.)
    raise OsoError(NOT_AUTHORIZED_MESSAGE)


@_both
def RequireAuthorization(get_response: Callable) -> Callable:  # noqa: N802 (legacy name)
    """Fail every request whose view did not authorize (`authorize`, `authorize_model`,
    `skip_authorization`, the decorators ...): `OsoError("authorize was not called during
    processing request.")`, which Django turns into a 500 response; the view's own response is
    discarded and never reaches the client. Responses with a status in
    `WHITELIST_STATUSES_DEFAULT` pass.

    The check runs after the view: database writes the view made are not rolled back (use
    `ATOMIC_REQUESTS`, which rolls back on the error).
    """
    if iscoroutinefunction(get_response):
        async def async_middleware(request: Any) -> Any:
            return _check_authorized(request, await get_response(request))

        return markcoroutinefunction(async_middleware)

    def middleware(request: Any) -> Any:
        return _check_authorized(request, get_response(request))

    return middleware


def _before(check: Callable[[Any], None]) -> Callable:
    def factory(get_response: Callable) -> Callable:
        if iscoroutinefunction(get_response):
            async_check = sync_to_async(check)

            async def async_middleware(request: Any) -> Any:
                await async_check(request)
                return await get_response(request)

            return markcoroutinefunction(async_middleware)

        def middleware(request: Any) -> Any:
            check(request)
            return get_response(request)

        return middleware

    return _both(factory)


RouteAuthorization = _before(lambda request: authorize(request, resource=request))
RouteAuthorization.__name__ = RouteAuthorization.__qualname__ = "RouteAuthorization"
RouteAuthorization.__doc__ = """Authorize every request before its view:
`allow(request.user, request.method, request)`, 403 if denied (legacy). Rules specialize on
`HttpRequest`: `allow(_, "GET", r: HttpRequest) if r.path = "/";`. Django resolves the URL after
middleware, so a request for an unknown URL is denied (403) rather than answered with 404."""

AllowRequestAuthorization = _before(lambda request: authorize_request(request))
AllowRequestAuthorization.__name__ = AllowRequestAuthorization.__qualname__ = "AllowRequestAuthorization"
AllowRequestAuthorization.__doc__ = """Authorize every request before its view against the
`allow_request` rule: `allow_request(request.user, request)`, 403 if denied (not in legacy:
`Oso.authorize_request`'s rule, so request rules stay apart from resource rules)."""


@_both
def ReloadPolicyMiddleware(get_response: Callable) -> Callable:  # noqa: N802 (legacy name)
    """With `settings.DEBUG`, reload the apps' policy files before every request (`reset_oso`)."""
    from .oso import reset_oso

    def reload_if_debug(request: Any) -> None:
        if settings.DEBUG:
            reset_oso()

    return _before(reload_if_debug)(get_response)
