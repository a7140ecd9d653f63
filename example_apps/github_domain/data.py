"""The demo data of the GitHub-like example apps, as plain Python (no framework imports).

example_apps/github_flask, example_apps/github_fastapi and example_apps/github_django seed these
same rows (github_domain/seed.py turns them into the SQLAlchemy models of the first two, the
Django project's `seed.py` into its own models), so the three apps answer alike.
Five users with different access, two orgs, five repos, seven issues. Who has which role is in
`ACCESS` below (and in docs/example-app.md, with what each user sees); everybody logged in also
reads acme/rocket, the public repository.

On an empty database ids follow the order of the lists: alice is user 1, acme org 1, anvil repo 1,
issue 1 is "Anvils fall too slowly", ...
"""

from __future__ import annotations

USERS = ["alice", "bob", "carol", "dave", "erin"]
ORGS = ["acme", "globex"]
# What each user may do, in words (printed when an app starts).
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
# (user, org, role)
ORG_ROLES = [("alice", "acme", "owner"), ("bob", "acme", "member"),
             ("carol", "globex", "member"), ("dave", "globex", "owner")]
# (user, repo, role)
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
