"""Seeding the demo data: the rows of example_apps/github_domain/data.py (five users with different
access, two orgs, five repos, seven issues), as this app's models, with issue assignees.

On an empty database ids follow the order of the lists (alice is user 1, acme org 1, anvil repo
1, issue 1 is "Anvils fall too slowly", ...). Everybody logged in reads acme/rocket, the public
repository.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction

from example_apps.github_domain import data
from example_apps.github_domain.data import ORG_ROLES, ORGS, REPO_ROLES, REPOS, USERS

from .models import Issue, Org, OrgRole, Repo, RepoRole

# The shared data, importable from here as before.
__all__ = ["ACCESS", "ASSIGNEES", "ISSUES", "ORG_ROLES", "ORGS", "REPO_ROLES", "REPOS", "USERS",
           "is_seeded", "reset", "seed", "seed_if_empty"]

# The rows of example_apps/github_domain/data.py (the Flask and FastAPI apps seed them too), plus what
# only this app has: assignees of issues (a many-to-many field), here bob on issue 1.
ASSIGNEES = {"Anvils fall too slowly": ["bob"]}   # issue title -> usernames
# What each user may do, in words (printed by `manage.py demo`).
ACCESS = {**data.ACCESS, "bob": data.ACCESS["bob"] + ", assigned to issue 1"}
# (repo, creator, title, closed, assignees)
ISSUES = [(repo, creator, title, closed, ASSIGNEES.get(title, []))
          for repo, creator, title, closed in data.ISSUES]


def is_seeded() -> bool:
    return get_user_model().objects.filter(username__in=USERS).exists()


@transaction.atomic
def seed() -> None:
    """Insert the demo rows (users get no password: the demo names them in a header)."""
    User = get_user_model()
    users = {}
    for name in USERS:
        user = User(username=name)
        user.set_unusable_password()
        user.save()
        users[name] = user
    orgs = {name: Org.objects.create(name=name) for name in ORGS}
    repos = {name: Repo.objects.create(org=orgs[org], name=name, is_public=public)
             for org, name, public in REPOS}
    OrgRole.objects.bulk_create(OrgRole(user=users[u], org=orgs[o], name=r) for u, o, r in ORG_ROLES)
    RepoRole.objects.bulk_create(RepoRole(user=users[u], repo=repos[r], name=role)
                                 for u, r, role in REPO_ROLES)
    for repo, creator, title, closed, assignees in ISSUES:
        issue = Issue.objects.create(repo=repos[repo], creator=users[creator], title=title, closed=closed)
        issue.assignees.set([users[a] for a in assignees])


def seed_if_empty() -> bool:
    """Seed an empty database; True if it seeded."""
    if is_seeded():
        return False
    seed()
    return True


def reset() -> None:
    """Delete the demo rows and seed afresh."""
    with transaction.atomic():
        Org.objects.all().delete()   # repos, issues and roles go with them
        get_user_model().objects.filter(username__in=USERS).delete()
    seed()
