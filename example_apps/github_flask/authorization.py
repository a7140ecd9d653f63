"""Authorization for the app: one `Oso` with the policy, `FlaskOso` for views, data filtering.

* `init_authorization(app)` builds the `Oso` (models registered with `sqlalchemy_oso`, the
  SQLAlchemy data-filtering adapter over Flask-SQLAlchemy's session, the shared policy
  example_apps/github_domain/policy.polar) and a `FlaskOso` whose actor is the logged-in user.
  `require_authorization` is on: a view that neither authorizes nor says why it needn't fails
  with a 500 instead of answering.
* Anonymous requests get 401 before any view runs, except on views marked `@public`.
* Views use the helpers below: `authorized` and `authorize` (detail and write endpoints), `authorized_query`
  and `authorized_resources` (listings filtered in SQL), `authorized_session` (a session that
  filters every SELECT). Error responses that show no data (400, 401, 404, 405) need no
  authorization (see errors.py), so views can use `db.get_or_404` and `abort(400)`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from flask import Flask, abort, current_app, request, session
from sqlalchemy.orm import Session, sessionmaker

from example_apps.github_domain import POLICY
from flask_oso import FlaskOso
from oso_core import Oso
from oso_core.data.adapter.sqlalchemy_adapter import SqlAlchemyAdapter
from sqlalchemy_oso import authorized_sessionmaker, register_models

from .models import Base, Issue, Repo, User, db

EXTENSION_KEY = "github_flask.authorization"

T = TypeVar("T")


@dataclass
class Authorization:
    oso: Oso
    flask_oso: FlaskOso
    # Sessions in which every SELECT of a repo or an issue returns only rows the user may read.
    make_authorized_session: sessionmaker


def create_oso() -> Oso:
    """An `Oso` with the app's models, its policy, and data filtering through `db.session`."""
    oso = Oso()
    register_models(oso, Base)   # every mapped class, under its class name (User, Org, Repo, ...)
    # `db.session` is Flask-SQLAlchemy's scoped session: each request gets its own session.
    oso.set_data_filtering_adapter(SqlAlchemyAdapter(db.session))
    oso.load_files([POLICY])
    return oso


def init_authorization(app: Flask) -> Authorization:
    oso = create_oso()
    flask_oso = FlaskOso(oso=oso, app=app)
    flask_oso.set_get_actor(current_user)
    flask_oso.require_authorization(app)
    with app.app_context():
        engine = db.engine
    make_authorized_session = authorized_sessionmaker(
        get_oso=lambda: oso,
        get_user=current_user,
        get_checked_permissions=lambda: {Repo: "read", Issue: "read"},
        bind=engine,
    )
    auth = app.extensions[EXTENSION_KEY] = Authorization(oso, flask_oso, make_authorized_session)
    app.before_request(_require_login)
    return auth


def _auth() -> Authorization:
    return current_app.extensions[EXTENSION_KEY]


# The actor ------------------------------------------------------------------------------------

def current_user() -> User | None:
    """The logged-in `User` (loaded once per request), or None.

    Cached on the request, not on `flask.g`: Flask 3 reuses an already pushed app context (and
    its `g`) for requests, so a `g` cache could hand one request the user of another.
    """
    if not hasattr(request, "current_user"):
        user_id = session.get("user_id")
        request.current_user = db.session.get(User, user_id) if user_id is not None else None
    return request.current_user


def public(view: Callable[..., T]) -> Callable[..., T]:
    """Mark a view as reachable without logging in."""
    view.is_public = True  # type: ignore[attr-defined]
    return view


def _require_login() -> None:
    if request.url_rule is None:
        return           # no route matched: Flask answers 404/405
    view = current_app.view_functions.get(request.endpoint)
    if getattr(view, "is_public", False) or current_user() is not None:
        return
    abort(401, description='log in first: POST /login {"username": ...}')


# Helpers for views -------------------------------------------------------------------------------

def authorize(action: str, resource: Any) -> None:
    """Let the logged-in user do `action` on `resource`, or answer as GitHub does:

    404 if they may not even read the resource (its existence is not revealed), 403 if they may
    read it but not do `action`. That is `Oso.authorize`; flask_oso turns its `NotFoundError` /
    `ForbiddenError` into 404 / 403 and counts the check for `require_authorization`. A check
    that passes is recorded here (`FlaskOso.authorize` itself only knows 403).
    """
    auth = _auth()
    auth.oso.authorize(auth.flask_oso.current_actor, action, resource)
    skip_authorization(f"Oso.authorize allowed {action!r}")


def authorized(action: str, model: type[T], pk: int) -> T:
    """The `model` row `pk`, if the logged-in user may `action` it; else 404 (no such row, or one
    they may not read) or 403 (see `authorize`). As `FastAPIOso.authorized` in the FastAPI app."""
    resource = db.get_or_404(model, pk)
    authorize(action, resource)
    return resource


def skip_authorization(reason: str) -> None:
    """Tell `require_authorization` that this request needs no (more) checks, and why."""
    _auth().flask_oso.skip_authorization(reason=reason)


def authorized_query(action: str, model: type) -> Any:
    """An ORM query of the `model` rows the logged-in user may `action`: one SQL statement whose
    WHERE clause is the policy. The rows it returns are authorized by construction."""
    skip_authorization("rows are filtered by the policy in SQL")
    return _auth().oso.authorized_query(current_user(), action, model)


def authorized_resources(action: str, model: type[T]) -> list[T]:
    """The `model` objects the logged-in user may `action`, fetched with one SQL statement."""
    skip_authorization("rows are filtered by the policy in SQL")
    return _auth().oso.authorized_resources(current_user(), action, model)


def authorized_session() -> Session:
    """A new session (use it in a `with`) in which every SELECT returns only the repos and
    issues the logged-in user may read; other tables read as empty."""
    skip_authorization("rows are filtered by the policy in SQL")
    return _auth().make_authorized_session()
