"""Seeding the demo data: the rows of example_apps/github_data.py (five users with different
access, two orgs, five repos, seven issues; the Flask app's too, so the apps answer alike; see
docs/example-app.md), as this app's models, through an `AsyncSession`."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from example_apps.github_data import ACCESS, ISSUES, ORG_ROLES, ORGS, REPO_ROLES, REPOS, USERS

from .models import Base, Issue, Org, OrgRole, Repo, RepoRole, User

# The shared data, importable from here as before (the banner prints ACCESS).
__all__ = ["ACCESS", "ISSUES", "ORG_ROLES", "ORGS", "REPO_ROLES", "REPOS", "USERS",
           "create_and_seed", "is_seeded", "seed"]


async def is_seeded(session: AsyncSession) -> bool:
    return await session.scalar(select(User.id).limit(1)) is not None


async def seed(session: AsyncSession) -> None:
    """Insert the demo rows and commit. On an empty database ids follow the order of the lists
    in github_data (alice is user 1, acme org 1, anvil repo 1, ...); they are not set explicitly,
    so PostgreSQL sequences stay in step for rows the app creates later."""
    users = {name: User(username=name) for name in USERS}
    orgs = {name: Org(name=name) for name in ORGS}
    repos = {name: Repo(org=orgs[org], name=name, is_public=public) for org, name, public in REPOS}
    for group in (users, orgs, repos):
        session.add_all(group.values())
        await session.flush()   # one table at a time, in list order
    session.add_all(OrgRole(user_id=users[u].id, org=orgs[o], name=role) for u, o, role in ORG_ROLES)
    session.add_all(RepoRole(user_id=users[u].id, repo=repos[r], name=role) for u, r, role in REPO_ROLES)
    session.add_all(Issue(repo=repos[r], creator_id=users[u].id, title=title, closed=closed)
                    for r, u, title, closed in ISSUES)
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
