"""Seeding the demo data (example_apps/github_domain: five users with different access, two orgs,
five repos, seven issues; the Flask app's too, so the apps answer alike; see docs/example-app.md)
through an `AsyncSession`."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from example_apps.github_domain.data import ACCESS, ISSUES, ORG_ROLES, ORGS, REPO_ROLES, REPOS, USERS
from example_apps.github_domain.models import Base
from example_apps.github_domain.seed import any_user, demo_rows

# The shared data, importable from here as before (the banner prints ACCESS).
__all__ = ["ACCESS", "ISSUES", "ORG_ROLES", "ORGS", "REPO_ROLES", "REPOS", "USERS",
           "create_and_seed", "is_seeded", "seed"]


async def is_seeded(session: AsyncSession) -> bool:
    return await session.scalar(any_user()) is not None


async def seed(session: AsyncSession) -> None:
    """Insert the demo rows (ids in the order of the lists) and commit."""
    for rows in demo_rows():
        session.add_all(rows)
        await session.flush()
    await session.commit()


async def create_and_seed(engine: AsyncEngine, *, reset: bool = False) -> bool:
    """Create the tables if missing (after dropping them, with `reset`) and seed an empty
    database. True if it seeded."""
    async with engine.begin() as conn:
        if reset:
            await conn.run_sync(Base.metadata.drop_all)
        await conn.run_sync(Base.metadata.create_all)
    async with AsyncSession(engine, expire_on_commit=False) as session:
        if await is_seeded(session):
            return False
        await seed(session)
        return True
