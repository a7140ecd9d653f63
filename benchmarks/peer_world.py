"""What the peer engines (cedarpy, casbin) need to know about a scenario, read off its objects.

Oso asks the host objects at decision time; Cedar and casbin decide over data they were given
beforehand (an entity graph, grouping rules). This module walks a scenario's request arguments
once, outside any timed loop, and gives every object a stable id, so that both peers build
their data from the same objects the oso engines see. The permission tables below are the
resource blocks of ``scenarios.GITHUB_POLICY`` written out by hand; the peers generate their
policies from them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from . import scenarios as sc

# Resource blocks of GITHUB_POLICY: permission -> the role that grants it. Issue permissions
# come from a role on the issue's parent repo.
ORG_PERMISSIONS = {"read": "member", "create_repo": "owner"}
REPO_PERMISSIONS = {"read": "reader", "create_issue": "reader", "push": "maintainer", "delete": "admin"}
ISSUE_PERMISSIONS = {"read": "reader", "comment": "reader", "close": "maintainer"}
# Implications inside one resource: role -> the roles it implies directly.
ORG_IMPLIES = {"owner": ("member",), "member": ()}
REPO_IMPLIES = {"admin": ("maintainer",), "maintainer": ("reader",), "reader": ()}
# Implications from an org role to a role on each of its repos ("admin" if "owner" on "parent").
ORG_TO_REPO = {"owner": "admin", "member": "reader"}


class Ids:
    """A stable short id per object (by identity): "0", "1", ... in order of first sight."""

    def __init__(self) -> None:
        self._ids: dict = {}
        self._objects: list = []  # keeps the objects alive, so an id(obj) is never reused

    def of(self, obj: Any) -> str:
        key = id(obj)
        if key not in self._ids:
            self._ids[key] = str(len(self._ids))
            self._objects.append(obj)
        return self._ids[key]


@dataclass
class GithubWorld:
    """Every user, org, repo and issue reachable from the GitHub scenario's requests."""

    ids: Ids = field(default_factory=Ids)
    users: list = field(default_factory=list)
    orgs: list = field(default_factory=list)
    repos: list = field(default_factory=list)
    issues: list = field(default_factory=list)

    def add(self, obj: Any) -> None:
        """Add a resource (and its parents) or a user (and the resources of its roles)."""
        bucket = {sc.GhUser: self.users, sc.GhOrg: self.orgs, sc.GhRepo: self.repos,
                  sc.GhIssue: self.issues}[type(obj)]
        if any(seen is obj for seen in bucket):
            return
        bucket.append(obj)
        self.ids.of(obj)
        if isinstance(obj, sc.GhUser):
            for role in obj.roles:
                self.add(role.resource)
        elif isinstance(obj, sc.GhRepo):
            self.add(obj.org)
        elif isinstance(obj, sc.GhIssue):
            self.add(obj.repo)

    def repos_of(self, org: sc.GhOrg) -> list:
        return [repo for repo in self.repos if repo.org is org]


def github_world(scenario: sc.Scenario) -> GithubWorld:
    world = GithubWorld()
    for request in scenario.requests:
        for arg in request.args:
            if not isinstance(arg, str):
                world.add(arg)
    return world


def permissions_of(resource: Any) -> dict:
    """The permission table of a GitHub resource's block."""
    return {sc.GhOrg: ORG_PERMISSIONS, sc.GhRepo: REPO_PERMISSIONS, sc.GhIssue: ISSUE_PERMISSIONS}[type(resource)]


def manager_chain(scenario: sc.Scenario) -> tuple:
    """(users, employees) of the manager scenario: every user and every employee up the chains
    of the requested employees."""
    users, employees = [], []
    for request in scenario.requests:
        user, _, employee = request.args
        if not any(u is user for u in users):
            users.append(user)
        node = employee
        while isinstance(node, sc.MgrEmployee):
            if not any(e is node for e in employees):
                employees.append(node)
            node = node.manager
        if node is not None and not any(u is node for u in users):
            users.append(node)
    return users, employees


def rules_count(scenario: sc.Scenario) -> int:
    """N of the "rules<N>" scenario."""
    return int(scenario.key[len("rules"):])
