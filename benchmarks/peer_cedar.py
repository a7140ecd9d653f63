"""The benchmark scenarios in Cedar, decided by cedarpy (Cedar's Rust engine from Python).

Everything but the decision is done once, outside the timed loop: the policy text is parsed into
a ``cedarpy.PolicySet``, the scenario's objects become a pre-parsed ``cedarpy.Entities`` (Cedar
computes the transitive closure of the entity hierarchy there), and each request is a ready
dict. The timed call is ``cedarpy.is_authorized(request, policies, entities)``, the public API.

How each scenario is written in Cedar:

* ownership: ``permit(principal is User, action == Action::"read", resource is Doc) when
  { resource.owner == principal.name };`` over entities with ``name`` / ``owner`` attributes.
* GitHub resource blocks: a ``Role`` entity per (resource, role name); a user is a member of
  the ``Role`` entities it holds, and every implication is an entity parent (org ``owner`` is in
  org ``member`` and in ``admin`` of each repo of the org; repo ``admin`` in ``maintainer`` in
  ``reader``; org ``member`` in ``reader`` of each repo). Orgs and repos carry their ``Role``
  entities as attributes, issues their repo; one policy per permission, e.g.
  ``permit(principal, action == Action::"close", resource is Issue) when
  { principal in resource.repo.maintainer };``. ``authorized_actions`` is one
  ``is_authorized_batch`` over the block's permissions.
* manager chain: an employee's parent is its manager; ``when { resource in principal }``.
* N rules: N generated policies ``permit(principal is User, action == Action::"act<i>",
  resource is Res<j>) when { resource.owner<k> == principal.name };``.
"""

from __future__ import annotations

import json
from typing import Any, Callable

from . import peer_world as pw
from . import scenarios as sc


def availability() -> None:
    """Raise if cedarpy cannot decide a trivial request."""
    import cedarpy

    policies = cedarpy.PolicySet.from_str("permit(principal, action, resource);")
    entities = cedarpy.Entities.from_json_str("[]")
    request = {"principal": uid("User", "a"), "action": uid("Action", "b"), "resource": uid("Thing", "c")}
    if not cedarpy.is_authorized(request, policies, entities).allowed:
        raise RuntimeError("a trivial Cedar policy did not allow")


def uid(kind: str, key: str) -> dict:
    # The structured form: cedarpy parses a `Kind::"id"` string per call, ~4x slower.
    return {"type": kind, "id": key}


def ref(kind: str, key: str) -> dict:
    return {"__entity": {"type": kind, "id": key}}


def entity(kind: str, key: str, attrs: dict, parents: list = ()) -> dict:
    return {"uid": {"type": kind, "id": key}, "attrs": attrs,
            "parents": [{"type": t, "id": i} for t, i in parents]}


class Built:
    """A scenario in Cedar: the parsed policies, the entities, and a way to turn a request's
    arguments into Cedar requests (``requests_for(request) -> (kind, payload)``)."""

    def __init__(self, policy_text: str, entities: list, to_request: Callable[..., dict]) -> None:
        import cedarpy

        self.cedarpy = cedarpy
        self.policies = cedarpy.PolicySet.from_str(policy_text)
        self.entities = cedarpy.Entities.from_json_str(json.dumps(entities))
        self.to_request = to_request

    def decider(self, request: sc.Request) -> tuple:
        if request.kind == "is_allowed":
            return self.is_allowed, (self.to_request(*request.args),)
        user, resource = request.args
        actions = list(pw.permissions_of(resource))
        return self.authorized_actions, (actions, [self.to_request(user, a, resource) for a in actions])

    def is_allowed(self, cedar_request: dict) -> bool:
        return self.cedarpy.is_authorized(cedar_request, self.policies, self.entities).allowed

    def authorized_actions(self, actions: list, cedar_requests: list) -> set:
        results = self.cedarpy.is_authorized_batch(cedar_requests, self.policies, self.entities)
        return {action for action, result in zip(actions, results) if result.allowed}


def _request(principal: dict, action: str, resource: dict) -> dict:
    return {"principal": principal, "action": uid("Action", action), "resource": resource}


# ---------------------------------------------------------------------------------------------

OWNERSHIP = """\
permit(principal is User, action == Action::"read", resource is Doc)
when { resource.owner == principal.name };
"""


def _ownership(scenario: sc.Scenario) -> Built:
    ids, entities = pw.Ids(), []
    for request in scenario.requests:
        user, _, doc = request.args
        entities.append(entity("User", ids.of(user), {"name": user.name}))
        entities.append(entity("Doc", ids.of(doc), {"owner": doc.owner}))
    unique = list({e["uid"]["type"] + e["uid"]["id"]: e for e in entities}.values())
    return Built(OWNERSHIP, unique, lambda u, a, d: _request(uid("User", ids.of(u)), a, uid("Doc", ids.of(d))))


def _role(kind: str, key: str, name: str) -> tuple:
    return "Role", f"{kind}/{key}/{name}"


def github_policy() -> str:
    out = []
    for kind, table, path in (("Org", pw.ORG_PERMISSIONS, "resource"), ("Repo", pw.REPO_PERMISSIONS, "resource"),
                              ("Issue", pw.ISSUE_PERMISSIONS, "resource.repo")):
        for action, role in table.items():
            out.append(f'permit(principal, action == Action::"{action}", resource is {kind})\n'
                       f'when {{ principal in {path}.{role} }};')
    return "\n".join(out) + "\n"


def _github(scenario: sc.Scenario) -> Built:
    world = pw.github_world(scenario)
    of = world.ids.of
    entities = []
    for org in world.orgs:
        repos = world.repos_of(org)
        for name, implied in pw.ORG_IMPLIES.items():
            parents = [_role("Org", of(org), n) for n in implied]
            parents += [_role("Repo", of(repo), pw.ORG_TO_REPO[name]) for repo in repos]
            entities.append(entity(*_role("Org", of(org), name), {}, parents))
        entities.append(entity("Org", of(org), {n: ref(*_role("Org", of(org), n)) for n in pw.ORG_IMPLIES}))
    for repo in world.repos:
        for name, implied in pw.REPO_IMPLIES.items():
            entities.append(entity(*_role("Repo", of(repo), name), {},
                                   [_role("Repo", of(repo), n) for n in implied]))
        attrs = {n: ref(*_role("Repo", of(repo), n)) for n in pw.REPO_IMPLIES}
        attrs["org"] = ref("Org", of(repo.org))
        entities.append(entity("Repo", of(repo), attrs))
    for issue in world.issues:
        entities.append(entity("Issue", of(issue), {"repo": ref("Repo", of(issue.repo))}))
    kinds = {sc.GhOrg: "Org", sc.GhRepo: "Repo", sc.GhIssue: "Issue"}
    for user in world.users:
        held = [_role(kinds[type(role.resource)], of(role.resource), role.name) for role in user.roles]
        entities.append(entity("User", of(user), {}, held))
    return Built(github_policy(), entities,
                 lambda u, a, r: _request(uid("User", of(u)), a, uid(kinds[type(r)], of(r))))


MANAGER = """\
permit(principal is User, action == Action::"read", resource is Employee)
when { resource in principal };
"""


def _manager(scenario: sc.Scenario) -> Built:
    users, employees = pw.manager_chain(scenario)
    ids = pw.Ids()

    def node(obj: Any) -> tuple:
        return ("User" if isinstance(obj, sc.MgrUser) else "Employee"), ids.of(obj)

    entities = [entity(*node(u), {}) for u in users]
    entities += [entity(*node(e), {}, [node(e.manager)]) for e in employees]
    return Built(MANAGER, entities, lambda u, a, e: _request(uid(*node(u)), a, uid(*node(e))))


def rules_policy(n: int) -> str:
    out = []
    for i in range(n):
        action, j, k = sc.rule_shape(i)
        out.append(f'permit(principal is User, action == Action::"{action}", resource is Res{j})\n'
                   f'when {{ resource.owner{k} == principal.name }};')
    return "\n".join(out) + "\n"


def _rules(scenario: sc.Scenario) -> Built:
    ids, entities = pw.Ids(), {}
    for request in scenario.requests:
        user, _, resource = request.args
        entities[("User", ids.of(user))] = entity("User", ids.of(user), {"name": user.name})
        owners = {f"owner{k}": getattr(resource, f"owner{k}") for k in range(sc.RULE_OWNERS)}
        kind = type(resource).__name__
        entities[(kind, ids.of(resource))] = entity(kind, ids.of(resource), owners)
    return Built(rules_policy(pw.rules_count(scenario)), list(entities.values()),
                 lambda u, a, r: _request(uid("User", ids.of(u)), a, uid(type(r).__name__, ids.of(r))))


def build(scenario: sc.Scenario) -> Built:
    """The scenario in Cedar (KeyError for a scenario this module does not know)."""
    if scenario.key.startswith("rules"):
        return _rules(scenario)
    return {"ownership": _ownership, "github": _github, "manager": _manager}[scenario.key](scenario)
