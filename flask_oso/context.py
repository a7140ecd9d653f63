"""Per-request / per-app-context storage used by flask_oso.

Legacy flask-oso kept its state on ``flask._app_ctx_stack.top``, which Flask 3 removed.  Here:

* the FlaskOso instance serving an app is found on the app context's ``flask.g`` (set by the
  ``before_request`` hook that ``FlaskOso.init_app`` installs) or, failing that, in
  ``app.extensions["flask_oso"]`` (also set by ``init_app``), so it is available outside requests
  too;
* the "authorization was performed" flag lives on the current *request* object while a request is
  active.  Flask 3 reuses an already-pushed app context for requests (e.g. a test that wraps several
  test-client calls in ``app.app_context()``), so a flag on the app context would leak from one
  request to the next.  Outside a request the flag is kept on ``flask.g``.

Nothing here is shared between threads or greenlets: both contexts are context-local.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, g, has_app_context, has_request_context, request

from oso_core.exceptions import OsoError

#: Key of the FlaskOso instance in ``app.extensions`` and attribute name on ``flask.g``.
EXTENSION_KEY = "flask_oso"
APP_OSO_ATTR = "oso_flask_oso"
AUTHORIZED_ATTR = "oso_flask_authorize_called"

NO_APP_CONTEXT_MESSAGE = (
    "Application context doesn't exist. Did you use oso outside the context of a request? "
    "See https://flask.palletsprojects.com/en/1.1.x/appcontext/#manually-push-a-context"
)
NO_OSO_MESSAGE = "No oso instance on current application. Did you forget to call init_app?"


def _app_context() -> Any:
    """The namespace of the current application context (``flask.g``).

    Raises ``OsoError`` (legacy message) if no application context is pushed.
    """
    if not has_app_context():
        raise OsoError(NO_APP_CONTEXT_MESSAGE)
    return g._get_current_object()


def _app_oso() -> Any:
    """The FlaskOso instance initialised on the current application."""
    ctx = _app_context()
    flask_oso = getattr(ctx, APP_OSO_ATTR, None)
    if flask_oso is None:
        flask_oso = current_app.extensions.get(EXTENSION_KEY)
    if flask_oso is None:
        raise OsoError(NO_OSO_MESSAGE)
    return flask_oso


def _flag_holder() -> Any:
    if has_request_context():
        return request._get_current_object()
    return _app_context()


def _authorize_called() -> None:
    """Mark the current request (or app context, outside a request) as authorized."""
    setattr(_flag_holder(), AUTHORIZED_ATTR, True)


def _was_authorize_called() -> bool:
    return bool(getattr(_flag_holder(), AUTHORIZED_ATTR, False))
