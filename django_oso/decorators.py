"""View decorators: `@authorize`, `@authorize_request`, `@skip_authorization`.

Each works bare (`@authorize_request`) or called (`@authorize_request(actor="admin")`), and on
sync and async views alike: an async view gets an async wrapper that runs the policy check in
Django's sync thread (see `django_oso.auth.authorize_async`).
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Optional

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async

from . import auth

__all__ = ["authorize", "authorize_request", "skip_authorization"]


def _wrap(view_func: Callable, check: Callable[[Any], None]) -> Callable:
    """`view_func` preceded by `check(request)`."""
    if iscoroutinefunction(view_func):
        async_check = sync_to_async(check)

        @functools.wraps(view_func)
        async def async_view(request: Any, *args: Any, **kwargs: Any) -> Any:
            await async_check(request)
            return await view_func(request, *args, **kwargs)

        return markcoroutinefunction(async_view)

    @functools.wraps(view_func)
    def view(request: Any, *args: Any, **kwargs: Any) -> Any:
        check(request)
        return view_func(request, *args, **kwargs)

    return view


def skip_authorization(view_func: Callable) -> Callable:
    """Mark every request to this view as not needing authorization (`RequireAuthorization`)."""
    if iscoroutinefunction(view_func):
        @functools.wraps(view_func)
        async def async_view(request: Any, *args: Any, **kwargs: Any) -> Any:
            auth.skip_authorization(request)
            return await view_func(request, *args, **kwargs)

        return markcoroutinefunction(async_view)

    @functools.wraps(view_func)
    def view(request: Any, *args: Any, **kwargs: Any) -> Any:
        auth.skip_authorization(request)
        return view_func(request, *args, **kwargs)

    return view


def authorize(view_func: Optional[Callable] = None, resource: Any = None, actor: Any = None,
              action: Any = None) -> Callable:
    """Before the view: `auth.authorize(request, resource, actor=actor, action=action)` (403 if
    denied). All three are fixed at decoration time; actor and action default as in
    `auth.authorize` (`request.user`, `request.method`)."""
    if view_func is None:
        return functools.partial(authorize, resource=resource, actor=actor, action=action)
    return _wrap(view_func, lambda request: auth.authorize(request, resource, actor=actor, action=action))


def authorize_request(view_func: Optional[Callable] = None, actor: Any = None,
                      action: Any = None) -> Callable:
    """Before the view: authorize with the request itself as the resource,
    `allow(actor, action, request)` (like `RouteAuthorization`, for one view)."""
    if view_func is None:
        return functools.partial(authorize_request, actor=actor, action=action)
    return _wrap(view_func, lambda request: auth.authorize(request, request, actor=actor, action=action))
