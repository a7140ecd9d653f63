"""Deterministic demo data: five users with different access, two orgs, five repos, issues.

On an empty database ids follow the order of the lists (alice is user 1, acme org 1, anvil repo
1, issue 1 is "Anvils fall too slowly", ...). Everybody logged in reads acme/rocket, the public
repository.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction

from .models import Issue, Org, OrgRole, Repo, RepoRole

USERS = ["alice", "bob", "carol", "dave", "erin"]
ORGS = ["acme", "globex"]
# What each user may do, in words (printed by `manage.py demo`).
ACCESS = {
    "alice": "owner of acme: administers every acme repository",
    "bob": "member of acme (reads its repositories), maintainer of acme/tnt, assigned to issue 1",
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
# (repo, creator, title, closed, assignees)
ISSUES = [
    ("anvil", "alice", "Anvils fall too slowly", False, ["bob"]),
    ("anvil", "carol", "Paint the anvil black", False, []),
    ("rocket", "erin", "Rocket explodes on launch", False, []),
    ("rocket", "bob", "Add a parachute", True, []),
    ("tnt", "bob", "Fuse is too short", False, []),
    ("hammock", "dave", "Hammock sags in the middle", False, []),
    ("zeppelin", "carol", "Zeppelin needs more helium", False, []),
]


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
