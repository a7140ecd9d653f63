"""Policies and random data shared by the data-filtering proof tests (ORM-independent).

Each scenario is a policy over the same small schema (orgs, repos with a parent repo, issues,
org and repo roles) and the actions to check. The proof: for every user and action, the rows
`authorized_resources` returns are exactly the rows for which `is_allowed` is true.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

OWNERSHIP = """
allow(user: User, "read", repo: Repo) if repo.owner_id = user.id;
allow(_user: User, "read", repo: Repo) if repo.is_public = true;
allow(user: User, "update", repo: Repo) if repo.owner_id = user.id and repo.is_archived = false;
allow(user: User, "read", issue: Issue) if issue.creator_id = user.id or issue.repo.is_public = true;
allow(_user: User, "list", issue: Issue) if issue.title in ["bug", "crash"] and not issue.closed;
"""

GITHUB = """
actor User {}

resource Org {
  roles = ["member", "owner"];
  permissions = ["read", "create_repo"];
  "read" if "member";
  "create_repo" if "owner";
  "member" if "owner";
}

resource Repo {
  roles = ["reader", "maintainer", "admin"];
  permissions = ["read", "push", "delete"];
  relations = { parent: Org };
  "read" if "reader";
  "push" if "maintainer";
  "delete" if "admin";
  "reader" if "maintainer";
  "maintainer" if "admin";
  "reader" if "member" on "parent";
  "admin" if "owner" on "parent";
}

resource Issue {
  permissions = ["read", "close"];
  relations = { repo: Repo };
  "read" if "read" on "repo";
  "close" if "push" on "repo";
}

has_relation(org: Org, "parent", repo: Repo) if repo.org = org;
has_relation(repo: Repo, "repo", issue: Issue) if issue.repo = repo;

has_role(user: User, name: String, org: Org) if
  role in org.org_roles and role.user_id = user.id and role.name = name;
has_role(user: User, name: String, repo: Repo) if
  role in repo.repo_roles and role.user_id = user.id and role.name = name;

allow(actor, action, resource) if has_permission(actor, action, resource);
allow(_user: User, "read", repo: Repo) if repo.is_public = true;
"""

FOLDERS = """
# A repo's parent chain works like a folder tree: access to a parent gives access below it.
allow(user: User, "read", repo: Repo) if repo.owner_id = user.id;
allow(user: User, "read", repo: Repo) if
  role in repo.repo_roles and role.user_id = user.id and role.name = "reader";
allow(user: User, "read", repo: Repo) if allow(user, "read", repo.parent);
"""

NEGATION = """
allow(user: User, "read", repo: Repo) if not repo.owner_id = user.id;
allow(_user: User, "open", repo: Repo) if not (issue in repo.issues and issue.closed = false);
allow(_user: User, "clean", repo: Repo) if forall(issue in repo.issues, issue.closed = true);
allow(user: User, "watch", repo: Repo) if
  not repo.is_archived = true and not (role in repo.repo_roles and role.user_id = user.id);
allow(user: User, "fork", repo: Repo) if repo.owner_id != user.id and repo.id != 3;
allow(_user: User, "see", org: Org) if not org.name in ["acme", "initech"];
"""


@dataclass
class Scenario:
    name: str
    policy: str
    checks: list   # (action, resource class name)


SCENARIOS = [
    Scenario("ownership", OWNERSHIP, [("read", "Repo"), ("update", "Repo"), ("read", "Issue"), ("list", "Issue")]),
    Scenario("github", GITHUB, [("read", "Org"), ("create_repo", "Org"), ("read", "Repo"), ("push", "Repo"),
                                ("delete", "Repo"), ("read", "Issue"), ("close", "Issue")]),
    Scenario("folders", FOLDERS, [("read", "Repo")]),
    Scenario("negation", NEGATION, [("read", "Repo"), ("open", "Repo"), ("clean", "Repo"), ("watch", "Repo"),
                                    ("fork", "Repo"), ("see", "Org")]),
]


class User:
    """The actor: a plain object (users are not filtered)."""

    def __init__(self, id: int) -> None:
        self.id = id

    def __repr__(self) -> str:
        return f"User({self.id})"


def random_rows(seed: int, users: int = 6, orgs: int = 4, repos: int = 24, issues: int = 50) -> dict:
    """Rows for every table as plain dicts, with a parent forest over repos (depth up to ~6)."""
    rng = random.Random(seed)
    names = ["acme", "initech", "globex", "umbrella", "hooli"]
    out: dict = {"orgs": [], "repos": [], "issues": [], "org_roles": [], "repo_roles": []}
    for i in range(1, orgs + 1):
        out["orgs"].append({"id": i, "name": names[(i - 1) % len(names)]})
    for i in range(1, repos + 1):
        parent = rng.randint(1, i - 1) if i > 1 and rng.random() < 0.7 else None
        out["repos"].append({"id": i, "name": f"repo{i}", "org_id": rng.randint(1, orgs), "parent_id": parent,
                             "owner_id": rng.choice([None] + list(range(1, users + 1))),
                             "is_public": rng.random() < 0.25, "is_archived": rng.random() < 0.2})
    for i in range(1, issues + 1):
        out["issues"].append({"id": i, "repo_id": rng.randint(1, repos), "creator_id": rng.randint(1, users),
                              "title": rng.choice(["bug", "crash", "idea", "question"]),
                              "closed": rng.random() < 0.5})
    role_id = 0
    for _ in range(orgs * 2):
        role_id += 1
        out["org_roles"].append({"id": role_id, "user_id": rng.randint(1, users), "org_id": rng.randint(1, orgs),
                                 "name": rng.choice(["member", "owner"])})
    for _ in range(repos):
        role_id += 1
        out["repo_roles"].append({"id": role_id, "user_id": rng.randint(1, users),
                                  "repo_id": rng.randint(1, repos),
                                  "name": rng.choice(["reader", "maintainer", "admin"])})
    return out
