"""The database of one app: its `AsyncEngine` and the `get_session` dependency."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine


@dataclass
class Database:
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]

    @classmethod
    def connect(cls, url: str, **engine_options: Any) -> Database:
        engine = create_async_engine(url, **engine_options)
        # Objects stay readable after a commit (the views serialize what they just changed):
        # expiring them would need a reload, i.e. I/O outside an await.
        return cls(engine, async_sessionmaker(engine, expire_on_commit=False))


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's session (one per request: FastAPI caches dependencies per request); closed,
    rolling back anything uncommitted, when the response is done."""
    database: Database = request.app.state.database
    async with database.sessionmaker() as session:
        yield session
