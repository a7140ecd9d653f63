"""The tables (example_apps/github_domain/models.py), bound to Flask-SQLAlchemy's `db`."""

from __future__ import annotations

from flask_sqlalchemy import SQLAlchemy

from example_apps.github_domain.models import (
    ORG_ROLES,
    REPO_ROLES,
    Base,
    Issue,
    Org,
    OrgRole,
    Repo,
    RepoRole,
    User,
)

__all__ = ["ORG_ROLES", "REPO_ROLES", "Base", "Issue", "Org", "OrgRole", "Repo", "RepoRole", "User", "db"]

# `db.session` (a session per request), `db.create_all()` over `Base.metadata`, `db.get_or_404`.
db = SQLAlchemy(model_class=Base)
