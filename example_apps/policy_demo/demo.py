"""Load a resource-block policy and print who may do what.

Run from the repository root: `python example_apps/policy_demo/demo.py`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from oso_core import Oso


@dataclass(frozen=True)
class Organization:
    name: str


@dataclass(frozen=True)
class Repository:
    name: str
    organization: Organization
    is_public: bool = False


@dataclass(frozen=True)
class Role:
    name: str
    resource: object


@dataclass
class User:
    name: str
    roles: list = field(default_factory=list)


def main() -> None:
    oso = Oso()
    for cls in (User, Organization, Repository):
        oso.register_class(cls)
    oso.load_files([Path(__file__).with_name("policy.polar")])

    acme = Organization("acme")
    anvil = Repository("anvil", acme)
    rocket = Repository("rocket", acme, is_public=True)
    users = [
        User("alice", [Role("owner", acme)]),
        User("bob", [Role("member", acme)]),
        User("carol", [Role("maintainer", anvil)]),
        User("dave"),
    ]
    actions = ["read", "push", "delete"]

    print(f"{'user':<8}{'repository':<12}" + "".join(f"{a:<8}" for a in actions) + "authorized_actions")
    for user in users:
        for repo in (anvil, rocket):
            cells = "".join(f"{'allow' if oso.is_allowed(user, a, repo) else 'deny':<8}" for a in actions)
            print(f"{user.name:<8}{repo.name:<12}{cells}{sorted(oso.authorized_actions(user, repo))}")


if __name__ == "__main__":
    main()
