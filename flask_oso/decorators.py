"""Route decorators: ``@authorize`` and ``@skip_authorization``.

Both work bare (``@authorize``) or called (``@authorize(resource=flask.request, action="read")``)
and must be placed *below* ``@app.route`` so that Flask registers the wrapped view.  They find the
app's ``FlaskOso`` through the application context (``init_app`` must have been called).
Coroutine views (Flask's async support) get a coroutine wrapper.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from .context import _app_oso


def _wrap(func: Callable, before: Callable[[], None]) -> Callable:
    if inspect.iscoroutinefunction(func):

        @functools.wraps(func)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            before()
            return await func(*args, **kwargs)

        return async_wrapper

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        before()
        return func(*args, **kwargs)

    return wrapper


def authorize(func: Callable | None = None, resource: Any = None, actor: Any = None,
              action: str | None = None) -> Callable:
    """Call :meth:`FlaskOso.authorize` (``actor``, ``action``, ``resource`` fixed here) before
    the view runs.  Defaults are those of :meth:`FlaskOso.authorize`.

    Example::

        @app.route("/")
        @authorize(resource=flask.request)
        def route():
            return "authorized"
    """

    def decorate(view: Callable) -> Callable:
        def before() -> None:
            _app_oso().authorize(actor=actor, action=action, resource=resource)

        return _wrap(view, before)

    if func is not None:
        return decorate(func)
    return decorate


def skip_authorization(func: Callable | None = None, reason: str | None = None) -> Callable:
    """Mark requests to the view as authorized (silences :meth:`FlaskOso.require_authorization`)."""

    def decorate(view: Callable) -> Callable:
        def before() -> None:
            _app_oso().skip_authorization(reason=reason)

        return _wrap(view, before)

    if func is not None:
        return decorate(func)
    return decorate
