"""The demo data of example_apps/github_flask: five users with different access, two orgs, five
repos, seven issues (the same rows, so the two apps answer alike; see docs/example-app.md)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from .models import Base, Issue, Org, OrgRole, Repo, RepoRole, User

USERS = ["alice", "bob", "carol", "dave", "erin"]
ORGS = ["acme", "globex"]
# What each user may do, in words (printed when the app starts).
ACCESS = {
    "alice": "owner of acme: administers every acme repository",
    "bob": "member of acme (reads its repositories), maintainer of acme/tnt",
    "carol": "member of globex, reader of acme/anvil (an outside collaborator)",
    "dave": "owner of globex: administers every globex repository",
    "erin": "no roles: sees only the public repository acme/rocket",
}
# (org, name, is_public)
REPOS = [
    ("acme", "anvil", False),
    ("acme", "rocket", True),
    ("acme", "tnt", False),
    ("globex", "hammock", False),
    ("globex", "zeppelin", False),
]
ORG_ROLES = [("alice", "acme", "owner"), ("bob", "acme", "member"),
             ("carol", "globex", "member"), ("dave", "globex", "owner")]
REPO_ROLES = [("bob", "tnt", "maintainer"), ("carol", "anvil", "reader")]
# (repo, creator, title, closed)
ISSUES = [
    ("anvil", "alice", "Anvils fall too slowly", False),
    ("anvil", "carol", "Paint the anvil black", False),
    ("rocket", "erin", "Rocket explodes on launch", False),
    ("rocket", "bob", "Add a parachute", True),
    ("tnt", "bob", "Fuse is too short", False),
    ("hammock", "dave", "Hammock sags in the middle", False),
    ("zeppelin", "carol", "Zeppelin needs more helium", False),
]


async def is_seeded(session: AsyncSession) -> bool:
    return await session.scalar(select(User.id).limit(1)) is not None


async def seed(session: AsyncSession) -> None:
    """Insert the demo rows and commit. On an empty database ids follow the order of the lists
    above (alice is user 1, acme org 1, anvil repo 1, ...); they are not set explicitly, so
    PostgreSQL sequences stay in step for rows the app creates later."""
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
