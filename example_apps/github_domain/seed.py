"""The demo rows of data.py as objects of the SQLAlchemy models, for a sync or an async session."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import Select, select

from .data import ISSUES, ORG_ROLES, ORGS, REPO_ROLES, REPOS, USERS
from .models import Base, Issue, Org, OrgRole, Repo, RepoRole, User


def any_user() -> Select:
    """A query that finds a row in a seeded database (and none in an empty one)."""
    return select(User.id).limit(1)


def demo_rows() -> Iterator[list[Base]]:
    """The demo rows, one group at a time: add each group to the session and flush it before
    taking the next (later groups use the ids of earlier ones), then commit.

    The database numbers the rows; on an empty database ids follow the order of the lists in
    data.py (alice is user 1, acme org 1, anvil repo 1, ...). Ids are not set explicitly so that
    PostgreSQL sequences stay in step for rows the app creates later.
    """
    users = {name: User(username=name) for name in USERS}
    orgs = {name: Org(name=name) for name in ORGS}
    repos = {name: Repo(org=orgs[org], name=name, is_public=public) for org, name, public in REPOS}
    for group in (users, orgs, repos):   # one table at a time, in list order
        yield list(group.values())
    yield [*(OrgRole(user_id=users[u].id, org=orgs[o], name=role) for u, o, role in ORG_ROLES),
           *(RepoRole(user_id=users[u].id, repo=repos[r], name=role) for u, r, role in REPO_ROLES),
           *(Issue(repo=repos[r], creator_id=users[u].id, title=title, closed=closed)
             for r, u, title, closed in ISSUES)]
