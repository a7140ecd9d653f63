"""Seeding the demo data: the rows of example_apps/github_data.py (five users with different
access, two orgs, five repos, seven issues), as this app's models.

Who has which role is in `ACCESS` (and in docs/example-app.md, with what each user sees).
Everybody logged in also reads acme/rocket, the public repository.
"""

from __future__ import annotations

from sqlalchemy import select

from example_apps.github_data import ACCESS, ISSUES, ORG_ROLES, ORGS, REPO_ROLES, REPOS, USERS

from .models import Issue, Org, OrgRole, Repo, RepoRole, User, db

# The shared data, importable from here as before (the banner prints ACCESS).
__all__ = ["ACCESS", "ISSUES", "ORG_ROLES", "ORGS", "REPO_ROLES", "REPOS", "USERS",
           "create_and_seed", "is_seeded", "seed"]


def is_seeded() -> bool:
    return db.session.scalar(select(User.id).limit(1)) is not None


def seed() -> None:
    """Insert the demo rows and commit.

    The database numbers them; on an empty database ids follow the order of the lists in
    github_data (alice is user 1, acme org 1, anvil repo 1, ...). Ids are not set explicitly so that
    PostgreSQL sequences stay in step for rows the app creates later.
    """
    users = {name: User(username=name) for name in USERS}
    orgs = {name: Org(name=name) for name in ORGS}
    repos = {name: Repo(org=orgs[org], name=name, is_public=public) for org, name, public in REPOS}
    for group in (users, orgs, repos):
        db.session.add_all(group.values())
        db.session.flush()   # one table at a time, in list order
    db.session.add_all(OrgRole(user_id=users[u].id, org=orgs[o], name=role) for u, o, role in ORG_ROLES)
    db.session.add_all(RepoRole(user_id=users[u].id, repo=repos[r], name=role) for u, r, role in REPO_ROLES)
    db.session.add_all(Issue(repo=repos[r], creator_id=users[u].id, title=title, closed=closed)
                       for r, u, title, closed in ISSUES)
    db.session.commit()


def create_and_seed() -> bool:
    """Create the tables if missing and seed an empty database. True if it seeded."""
    db.create_all()
    if is_seeded():
        return False
    seed()
    return True
