"""`AuthorizedSQLAlchemy`: Flask-SQLAlchemy 3.x whose sessions are authorized sessions.

    db = AuthorizedSQLAlchemy(
        get_oso=lambda: current_app.oso,
        get_user=lambda: flask.g.current_user,
        get_checked_permissions=lambda: {Post: "read"},
    )

`db.session`, `Model.query`, `db.get_or_404`, `db.first_or_404`, `db.one_or_404` and
`db.paginate` all go through authorized sessions. `db.session` is scoped by application context
*and* by the oso instance, user and checked permissions read when it is used, so a request that
changes its user mid-way gets a fresh session; every session of the context is closed when the
context ends. (Legacy sqlalchemy-oso supported only Flask-SQLAlchemy 2.x and silently stopped
filtering on 3.x.)
"""

from __future__ import annotations

try:
    import flask_sqlalchemy
    from flask_sqlalchemy import SQLAlchemy
    from flask_sqlalchemy.session import Session as _FlaskSession
except ImportError:  # pragma: no cover - depends on the environment
    import warnings

    warnings.warn("Missing dependencies for Flask. Install oso-core with the flask-sqlalchemy extra.")
    raise

from collections.abc import Callable, Mapping, MutableMapping
from typing import Any

import sqlalchemy.orm

from oso_core import Oso

from .session import Permissions, authorized_scoped, authorized_sessionmaker

if hasattr(flask_sqlalchemy, "SignallingSession"):  # pragma: no cover - Flask-SQLAlchemy 2.x
    raise ImportError("sqlalchemy_oso.flask supports Flask-SQLAlchemy 3.x only")

try:
    from flask_sqlalchemy.session import _app_ctx_id
except ImportError:  # pragma: no cover - a future Flask-SQLAlchemy
    def _app_ctx_id() -> int:
        import flask
        return id(flask.globals.app_ctx._get_current_object())  # type: ignore[attr-defined]

__all__ = ["AuthorizedSQLAlchemy"]


class AuthorizedSQLAlchemy(SQLAlchemy):
    """A `flask_sqlalchemy.SQLAlchemy` whose sessions authorize every read with oso.

    :param get_oso: returns the `Oso` instance to use.
    :param get_user: returns the user of the current request.
    :param get_checked_permissions: returns `{Model: action}` (or `None`: no authorization).
    Other keyword arguments go to `SQLAlchemy`.
    """

    def __init__(
        self,
        get_oso: Callable[[], Oso],
        get_user: Callable[[], object],
        get_checked_permissions: Callable[[], Permissions],
        **kwargs: Any,
    ) -> None:
        # Set before SQLAlchemy.__init__, which creates the scoped session.
        self._get_oso = get_oso
        self._get_user = get_user
        self._get_checked_permissions = get_checked_permissions
        super().__init__(**kwargs)

    def _make_session_factory(self, options: dict) -> sqlalchemy.orm.sessionmaker:
        options = dict(options)
        options.setdefault("class_", _FlaskSession)
        options.setdefault("query_cls", self.Query)
        return authorized_sessionmaker(
            get_oso=self._get_oso,
            get_user=self._get_user,
            get_checked_permissions=self._get_checked_permissions,
            db=self,
            **options,
        )

    def _make_scoped_session(self, options: dict) -> sqlalchemy.orm.scoped_session:
        options = dict(options)
        scope = options.pop("scopefunc", _app_ctx_id)
        factory = self._make_session_factory(options)
        return authorized_scoped(factory, self._get_oso, self._get_user,
                                 self._get_checked_permissions, scope)

    # Legacy (Flask-SQLAlchemy 2.x) names, kept for code written against legacy sqlalchemy-oso.

    def create_scoped_session(self, options: MutableMapping[str, Any] | None = None) -> sqlalchemy.orm.scoped_session:
        """A new scoped session of authorized sessions (legacy name)."""
        return self._make_scoped_session(dict(options or {}))

    def create_session(self, options: Mapping[str, Any]) -> sqlalchemy.orm.sessionmaker:
        """A `sessionmaker` of authorized sessions (legacy name)."""
        return self._make_session_factory(dict(options))
