"""Seeding the demo data (example_apps/github_domain: five users with different access, two orgs,
five repos, seven issues) through Flask-SQLAlchemy's session.

Who has which role is in `ACCESS` (and in docs/example-app.md, with what each user sees).
Everybody logged in also reads acme/rocket, the public repository.
"""

from __future__ import annotations

from example_apps.github_domain.data import ACCESS, ISSUES, ORG_ROLES, ORGS, REPO_ROLES, REPOS, USERS
from example_apps.github_domain.seed import any_user, demo_rows

from .models import db

# The shared data, importable from here as before (the banner prints ACCESS).
__all__ = ["ACCESS", "ISSUES", "ORG_ROLES", "ORGS", "REPO_ROLES", "REPOS", "USERS",
           "create_and_seed", "is_seeded", "seed"]


def is_seeded() -> bool:
    return db.session.scalar(any_user()) is not None


def seed() -> None:
    """Insert the demo rows (ids in the order of the lists) and commit."""
    for rows in demo_rows():
        db.session.add_all(rows)
        db.session.flush()
    db.session.commit()


def create_and_seed() -> bool:
    """Create the tables if missing and seed an empty database. True if it seeded."""
    db.create_all()
    if is_seeded():
        return False
    seed()
    return True
