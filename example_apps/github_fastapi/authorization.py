"""Authorization for the app: the shared policy, `fastapi_oso`, and data filtering.

* `oso` holds the models (registered with `sqlalchemy_oso.register_models`, which also lets data
  filtering follow their relationships) and `example_apps/github_domain/policy.polar`, the policy
  of every GitHub-like example app.
* `oso_fastapi` gives the endpoints the current user (`current_actor`, 401 when not logged in),
  `authorized(action, loader)` for single objects (404/403 exactly like `Oso.authorize`) and
  `authorized_select` for listings (the policy as one SQL query). Every decision is awaited
  (`Oso.authorize_async`...): lazy relationships the policy reads load in the event loop.
* `authorized_session` is a sqlalchemy_oso authorized `AsyncSession` in which every SELECT of a
  repo or an issue returns only rows the user may read.

Users log in by name (a demo: no passwords); the session cookie holds the user id, signed with
HMAC-SHA256 so that it cannot be forged without the secret key.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import AsyncIterator

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from fastapi_oso import FastAPIOso
from oso_core import Oso
from sqlalchemy_oso import register_models
from sqlalchemy_oso.session import AuthorizedSession

from example_apps.github_domain import POLICY
from example_apps.github_domain.models import Base, Issue, Org, Repo, User

from .database import get_session

SESSION_COOKIE = "github_session"


def create_oso() -> Oso:
    oso = Oso()
    register_models(oso, Base)   # every mapped class, under its class name (User, Org, Repo, ...)
    oso.load_files([POLICY])
    return oso


# Logging in: a signed cookie ------------------------------------------------------------------

def sign_user_id(user_id: int, secret_key: str) -> str:
    value = str(user_id)
    mac = hmac.new(secret_key.encode(), value.encode(), hashlib.sha256).hexdigest()
    return f"{value}.{mac}"


def signed_user_id(cookie: str | None, secret_key: str) -> int | None:
    """The user id of a cookie made by `sign_user_id` with the same key, else None."""
    value, _, mac = (cookie or "").partition(".")
    if not value.isdigit() or not hmac.compare_digest(sign_user_id(int(value), secret_key), cookie or ""):
        return None
    return int(value)


async def get_actor(request: Request, session: AsyncSession = Depends(get_session)) -> User | None:
    """The logged-in user (one SELECT, in the request's session), or None."""
    user_id = signed_user_id(request.cookies.get(SESSION_COOKIE), request.app.state.secret_key)
    return await session.get(User, user_id) if user_id is not None else None


oso = create_oso()
oso_fastapi: FastAPIOso[User] = FastAPIOso(oso, get_actor)
current_actor = oso_fastapi.current_actor


# Loaders for `oso_fastapi.authorized(action, loader)` --------------------------------------------

async def load_org(org_id: int, session: AsyncSession = Depends(get_session)) -> Org | None:
    return await session.get(Org, org_id)


async def load_repo(repo_id: int, session: AsyncSession = Depends(get_session)) -> Repo | None:
    return await session.get(Repo, repo_id)


async def load_issue(issue_id: int, session: AsyncSession = Depends(get_session)) -> Issue | None:
    return await session.get(Issue, issue_id)


# An authorized session -----------------------------------------------------------------------------

READ_PERMISSIONS = {Repo: "read", Issue: "read"}


async def authorized_session(user: User = Depends(current_actor),
                             session: AsyncSession = Depends(get_session)) -> AsyncIterator[AsyncSession]:
    """An `AsyncSession` in which every SELECT returns only the repos and issues `user` may
    read (other tables read as empty). It works on the connection of the request's session: a
    request holds one pooled connection, however many sessions it uses."""
    connection = await session.connection()
    async with AsyncSession(bind=connection, sync_session_class=AuthorizedSession, oso=oso, user=user,
                            checked_permissions=READ_PERMISSIONS) as authorized:
        yield authorized
