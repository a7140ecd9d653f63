"""Authorized `sqlalchemy.ext.asyncio.AsyncSession`s.

An `AsyncSession` runs its ORM work in a synchronous `Session` (its `sync_session_class`); with
an authorized session class there, reads are filtered exactly as in synchronous code:

    Session = authorized_async_sessionmaker(lambda: oso, lambda: user, lambda: {Post: "read"},
                                            bind=async_engine)
    async with Session() as session:
        posts = (await session.scalars(select(Post))).all()

or directly: `AsyncSession(async_engine, sync_session_class=AuthorizedSession, oso=oso,
user=user, checked_permissions={Post: "read"})`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.ext.asyncio import (
    async_scoped_session as sqlalchemy_async_scoped_session,
)
from sqlalchemy.orm import Session

from oso_core import Oso

from .session import (
    Permissions,
    _authorized_class,
    _AuthorizedRegistry,
    _key_part,
    _permissions_key,
)

__all__ = ["async_authorized_sessionmaker", "async_scoped_session", "authorized_async_sessionmaker"]


def authorized_async_sessionmaker(
    get_oso: Callable[[], Oso],
    get_user: Callable[[], Any],
    get_checked_permissions: Callable[[], Permissions],
    class_: type[AsyncSession] | None = None,
    sync_session_class: type[Session] | None = None,
    **kwargs: Any,
) -> async_sessionmaker[AsyncSession]:
    """An `async_sessionmaker` of `AsyncSession`s whose synchronous sessions are authorized
    (the context is read once per session, at creation). Other keyword arguments go to
    `async_sessionmaker`."""
    sync_class = _authorized_class(sync_session_class, get_oso, get_user, get_checked_permissions)
    return async_sessionmaker(class_=class_ or AsyncSession, sync_session_class=sync_class, **kwargs)


async_authorized_sessionmaker = authorized_async_sessionmaker


class _AuthorizedAsyncScopedSession(sqlalchemy_async_scoped_session):
    def __init__(self, session_factory: Any, scopefunc: Callable[[], Any], inner: Callable[[], Any]) -> None:
        super().__init__(session_factory, scopefunc)
        self.registry = _AuthorizedRegistry(session_factory, scopefunc, inner)  # type: ignore[assignment]

    async def remove(self) -> None:
        for session in self.registry.all_in_scope():  # type: ignore[attr-defined]
            await session.close()
        self.registry.clear()


def async_scoped_session(
    get_oso: Callable[[], Oso],
    get_user: Callable[[], Any],
    get_checked_permissions: Callable[[], Permissions],
    scopefunc: Callable[[], Any],
    **kwargs: Any,
) -> sqlalchemy_async_scoped_session:
    """An `async_scoped_session` keyed by `scopefunc()` (e.g. `asyncio.current_task`) and by
    the oso instance, checked permissions and user; `await remove()` closes every session of
    the current scope."""
    factory = authorized_async_sessionmaker(get_oso, get_user, get_checked_permissions, **kwargs)

    def inner() -> tuple:
        return (_key_part(get_oso()), _permissions_key(get_checked_permissions()), _key_part(get_user()))

    return _AuthorizedAsyncScopedSession(factory, scopefunc, inner)
