"""The ``FlaskOso`` extension: authorization for Flask 3 views with an ``oso_core.Oso``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NoReturn

from flask import Flask, current_app, g, has_app_context, request
from flask import request as _request_proxy
from flask.wrappers import Request, Response
from werkzeug.exceptions import Forbidden, HTTPException, NotFound

from oso_core import Oso
from oso_core.exceptions import (
    AuthorizationError,
    DuplicateClassAliasError,
    ForbiddenError,
    NotFoundError,
    OsoError,
)

from .context import (
    APP_OSO_ATTR,
    EXTENSION_KEY,
    _app_context,
    _authorize_called,
    _was_authorize_called,
)

CURRENT_ACTOR_ERROR = (
    "Getting the current actor failed. You may need to override the current actor function with "
    "FlaskOso#set_get_actor"
)


def _default_unauthorized() -> NoReturn:
    raise Forbidden("Unauthorized")


def _default_get_actor() -> Any:
    return g.current_user


class FlaskOso:
    """oso Flask extension.

    Initialise it with a Flask app (``app=`` or :meth:`init_app`) and an ``oso_core.Oso``
    (``oso=`` or :meth:`set_oso`).

    * :meth:`authorize` checks ``allow(actor, action, resource)``; actor defaults to
      :attr:`current_actor` (``flask.g.current_user`` unless :meth:`set_get_actor` was used) and
      action to ``flask.request.method``.  Failure calls the unauthorized action (default: raise
      ``werkzeug.exceptions.Forbidden("Unauthorized")``, a 403).
    * :meth:`authorize_request` (addition) checks ``allow_request(actor, request)``.
    * :meth:`require_authorization` turns a routed request that performed no authorization into an
      error (``OsoError("Authorize not called.")``, a 500 response); :meth:`skip_authorization`
      opts a request out.
    * :meth:`perform_route_authorization` authorizes every routed request with the request itself
      as the resource.
    * With ``init_app``, ``oso_core`` ``NotFoundError`` / ``ForbiddenError`` raised by a view
      (``oso.authorize(...)``) become 404 / 403 responses.
    """

    _app: Flask | None
    _oso: Oso | None

    def __init__(self, oso: Oso | None = None, app: Flask | None = None) -> None:
        self._app = app
        self._oso = None
        self._unauthorized_action: Callable[[], Any] = _default_unauthorized
        self._get_actor: Callable[[], Any] = _default_get_actor
        if app is not None:
            self.init_app(app)
        if oso is not None:
            self.set_oso(oso)

    # Initialization ------------------------------------------------------------------------

    def set_oso(self, oso: Oso) -> None:
        """Use ``oso`` for authorization; registers ``flask.wrappers.Request`` with it."""
        if oso is self._oso:
            return
        self._oso = oso
        try:
            oso.register_class(Request)
        except DuplicateClassAliasError:
            # Already registered (another FlaskOso on the same Oso, or the app did it): fine when
            # it is the very same class, an error (as in legacy) when "Request" names another.
            if oso.get_class("Request") is not Request:
                raise

    def init_app(self, app: Flask) -> None:
        """Initialise ``app`` for use with this ``FlaskOso``.

        Registers the teardown and ``before_request`` hooks of legacy flask-oso, records the
        extension in ``app.extensions["flask_oso"]`` and maps ``oso_core.NotFoundError`` /
        ``ForbiddenError`` to 404 / 403 responses unless the app already has handlers for them.
        """
        app.teardown_appcontext(self.teardown)
        app.before_request(self._provide_oso)
        app.extensions.setdefault(EXTENSION_KEY, self)
        app_handlers = app.error_handler_spec[None][None]
        for exc_class in (NotFoundError, ForbiddenError):
            if exc_class not in app_handlers:
                app.register_error_handler(exc_class, _handle_authorization_error)

    def set_get_actor(self, func: Callable[[], Any]) -> None:
        """``func()`` (no arguments) supplies the actor when none is passed to :meth:`authorize`."""
        self._get_actor = func

    def set_unauthorized_action(self, func: Callable[[], Any]) -> None:
        """``func()`` (no arguments) is called when authorization fails; it should raise.

        The default raises ``werkzeug.exceptions.Forbidden("Unauthorized")`` (a 403 response).
        """
        self._unauthorized_action = func

    # Hooks affecting every request -----------------------------------------------------------

    def require_authorization(self, app: Flask | None = None) -> None:
        """Require every routed request to ``app`` to be authorized.

        After a request that matched a route, if neither :meth:`authorize`,
        :meth:`authorize_request` nor :meth:`skip_authorization` was called, raises
        ``OsoError("Authorize not called.")``: Flask answers 500 (or propagates the error when
        testing) and the view's response is discarded.  Requests matching no route pass.
        """
        if app is None:
            app = self._app
        if app is None:
            raise OsoError("Cannot require authorization without Flask app object")
        app.after_request(self._require_authorization)

    def perform_route_authorization(self, app: Flask | None = None) -> None:
        """Before every routed request, call ``authorize(resource=flask.request)``.

        The action is the request method and the resource the ``flask.wrappers.Request``, so
        rules read ``allow(actor, "GET", r: Request) if r.path = "/";``.
        """
        if app is None:
            app = self._app
        if app is None:
            raise OsoError("Cannot perform route authorization without Flask app object")
        app.before_request(self._perform_route_authorization)

    # During a request -------------------------------------------------------------------------

    def skip_authorization(self, reason: str | None = None) -> None:
        """Mark the current request as authorized (``reason`` is informational only)."""
        _authorize_called()

    def authorize(self, resource: Any, *, actor: Any = None, action: str | None = None) -> None:
        """Check ``oso.is_allowed(actor, action, resource)`` (the ``allow`` rule).

        :param resource: the resource; ``flask.request`` authorizes the current request object.
        :param actor: defaults to :attr:`current_actor`.
        :param action: defaults to ``flask.request.method``.

        Marks the request as authorized, then calls the unauthorized action if not allowed.
        """
        if actor is None:
            actor = self._resolve_actor()
        if action is None:
            action = request.method
        if resource is request:
            resource = request._get_current_object()
        if self._oso is None:
            raise OsoError("Cannot perform authorization without oso instance")
        allowed = self._oso.is_allowed(actor, action, resource)
        _authorize_called()
        if not allowed:
            self._unauthorized_action()

    def authorize_request(self, request: Any = None, *, actor: Any = None) -> None:
        """Check ``allow_request(actor, request)`` with ``Oso.authorize_request`` (addition).

        :param request: defaults to the current ``flask.request``.
        :param actor: defaults to :attr:`current_actor`.

        Marks the request as authorized, then calls the unauthorized action if not allowed.
        """
        if actor is None:
            actor = self._resolve_actor()
        if request is None or request is _request_proxy:
            request = _request_proxy._get_current_object()
        oso = self._oso
        if oso is None:
            raise OsoError("Cannot perform authorization without oso instance")
        denied: tuple = (AuthorizationError,)
        custom = getattr(oso, "forbidden_error", None)
        if isinstance(custom, type) and issubclass(custom, Exception):
            denied += (custom,)
        try:
            oso.authorize_request(actor, request)
        except denied:
            _authorize_called()
            self._unauthorized_action()
        else:
            _authorize_called()

    # Properties -------------------------------------------------------------------------------

    @property
    def app(self) -> Flask:
        """The constructor's app, else the current app."""
        if self._app is not None:
            return self._app
        if has_app_context():
            return current_app._get_current_object()
        return current_app  # an unbound proxy, as in legacy

    @property
    def oso(self) -> Oso | None:
        return self._oso

    @property
    def current_actor(self) -> Any:
        return self._get_actor()

    # Hooks -------------------------------------------------------------------------------------

    def _resolve_actor(self) -> Any:
        try:
            return self.current_actor
        except AttributeError as e:
            raise OsoError(CURRENT_ACTOR_ERROR) from e

    def _provide_oso(self) -> None:
        ctx = _app_context()
        if getattr(ctx, APP_OSO_ATTR, None) is None:
            setattr(ctx, APP_OSO_ATTR, self)

    def _perform_route_authorization(self) -> None:
        if request.url_rule is None:
            return  # no route matched: let Flask answer 404/405
        self.authorize(resource=request)

    def _require_authorization(self, response: Response) -> Response:
        if request.url_rule is None:
            return response
        if not _was_authorize_called():
            # Flask also runs after_request hooks on the 500 response it builds for this error;
            # mark the request so that pass lets the error page through instead of failing again.
            _authorize_called()
            raise OsoError("Authorize not called.")
        return response

    def teardown(self, exception: BaseException | None) -> None:
        pass


def _handle_authorization_error(error: AuthorizationError) -> Any:
    """Error handler: oso_core ``NotFoundError`` → 404, ``ForbiddenError`` → 403.

    An app-level handler the app registered for a more general oso exception class
    (``AuthorizationError``, ``OsoError``) takes precedence.  The 404/403 goes through the app's
    normal HTTP error handling (its own 404/403 pages apply).
    """
    # Authorization was performed (and denied): require_authorization must not turn the response
    # into a 500.
    _authorize_called()
    app = current_app._get_current_object()
    app_handlers = app.error_handler_spec[None][None]
    for cls in type(error).__mro__[1:]:
        if not (isinstance(cls, type) and issubclass(cls, OsoError)):
            break
        handler = app_handlers.get(cls)
        if handler is not None and handler is not _handle_authorization_error:
            return app.ensure_sync(handler)(error)
    http_error: HTTPException = NotFound() if isinstance(error, NotFoundError) else Forbidden()
    return app.handle_user_exception(http_error)
