"""The benchmark scenarios in casbin (pycasbin), decided by ``Enforcer.enforce``.

Everything but the decision is done once, outside the timed loop: the model text is loaded,
every policy and grouping rule is added (casbin's role manager builds its role graph as rules
are added), and each request's arguments are ready. The timed call is ``enforcer.enforce(...)``
(for ``authorized_actions``, ``enforcer.batch_enforce`` over the block's permissions). casbin
evaluates its matcher against every policy row in turn, in Python.

How each scenario is written in casbin:

* ownership: an ABAC matcher over the request's own objects,
  ``r.act == p.act && r.obj.owner == r.sub.name``, one policy row ``p, read``.
* GitHub resource blocks: the RBAC-with-domains model, a domain per organisation.
  Org roles are ``member`` / ``owner`` in the org's domain, repo roles ``<repo>#reader`` etc.
  in the domain of the repo's org, and every implication is a grouping rule in that domain
  (``g, owner, member, <org>``; ``g, member, <repo>#reader, <org>``; ``g, owner, <repo>#admin,
  <org>``; ``g, <repo>#admin, <repo>#maintainer, <org>``; ...). Policy rows grant a role an
  action on an object: ``p, <repo>#reader, <org>, <repo>, read``; an issue's permissions are on
  the object ``<repo>/issues``. A request names the domain and object of its resource
  (``(user, <org>, <repo>/issues, "read")`` for an issue), read off the resource's parents when
  the request is built -- casbin has no relations to follow.
* manager chain: plain RBAC; an employee is a "member" of its manager
  (``g, <employee>, <manager>``), the matcher ``r.act == p.act && g(r.obj, r.sub)``; the role
  manager's hierarchy limit is raised from 10 to 32, or depth 20 would be denied.
* N rules: N policy rows ``p, Res<j>, act<i>, owner<k>`` and the matcher
  ``r.act == p.act && kind(r.obj) == p.kind && attr(r.obj, p.attr) == r.sub.name``, with
  ``kind`` (the class name) and ``attr`` (``getattr``) added as matcher functions.
"""

from __future__ import annotations

from typing import Any, Callable

from . import peer_world as pw
from . import scenarios as sc

ABAC_MODEL = """\
[request_definition]
r = sub, obj, act
[policy_definition]
p = act
[policy_effect]
e = some(where (p.eft == allow))
[matchers]
m = r.act == p.act && r.obj.owner == r.sub.name
"""

# casbin's example rbac_with_domains model, the cheap comparisons first: simpleeval stops at the
# first false operand of `and`, so most rows never reach the role manager.
DOMAINS_MODEL = """\
[request_definition]
r = sub, dom, obj, act
[policy_definition]
p = sub, dom, obj, act
[role_definition]
g = _, _, _
[policy_effect]
e = some(where (p.eft == allow))
[matchers]
m = r.dom == p.dom && r.obj == p.obj && r.act == p.act && g(r.sub, p.sub, r.dom)
"""

MANAGER_MODEL = """\
[request_definition]
r = sub, obj, act
[policy_definition]
p = act
[role_definition]
g = _, _
[policy_effect]
e = some(where (p.eft == allow))
[matchers]
m = r.act == p.act && g(r.obj, r.sub)
"""

RULES_MODEL = """\
[request_definition]
r = sub, obj, act
[policy_definition]
p = kind, act, attr
[policy_effect]
e = some(where (p.eft == allow))
[matchers]
m = r.act == p.act && kind(r.obj) == p.kind && attr(r.obj, p.attr) == r.sub.name
"""

# The manager chain's depth is 20; casbin's default role manager stops after 10 hops.
MAX_HIERARCHY_LEVEL = 32


def availability() -> None:
    """Raise if casbin cannot decide a trivial request."""
    enforcer = enforcer_for(ABAC_MODEL, [("read",)], [])
    owner = type("Obj", (), {"owner": "a", "name": "a"})()
    if enforcer.enforce(owner, owner, "read") is not True:
        raise RuntimeError("a trivial casbin model did not allow")


def enforcer_for(model_text: str, policies: list, groupings: list) -> Any:
    import casbin

    enforcer = casbin.Enforcer(casbin.Enforcer.new_model(text=model_text))
    if policies:
        enforcer.add_policies(policies)
    if groupings:
        enforcer.add_grouping_policies(groupings)
    return enforcer


class Built:
    """A scenario in casbin: the enforcer, and ``to_request(*args)`` giving the tuple of request
    values for an oso-style request's arguments."""

    def __init__(self, enforcer: Any, to_request: Callable[..., tuple]) -> None:
        self.enforcer = enforcer
        self.to_request = to_request

    def decider(self, request: sc.Request) -> tuple:
        if request.kind == "is_allowed":
            return self.enforcer.enforce, self.to_request(*request.args)
        user, resource = request.args
        actions = list(pw.permissions_of(resource))
        return self.authorized_actions, (actions, [self.to_request(user, a, resource) for a in actions])

    def authorized_actions(self, actions: list, requests: list) -> set:
        results = self.enforcer.batch_enforce(requests)
        return {action for action, allowed in zip(actions, results) if allowed}


def _ownership(scenario: sc.Scenario) -> Built:
    return Built(enforcer_for(ABAC_MODEL, [("read",)], []), lambda user, action, doc: (user, doc, action))


def _github(scenario: sc.Scenario) -> Built:
    world = pw.github_world(scenario)
    of = world.ids.of

    def repo_role(repo: sc.GhRepo, name: str) -> str:
        return f"repo{of(repo)}#{name}"

    def org_of(resource: Any) -> sc.GhOrg:
        if isinstance(resource, sc.GhIssue):
            resource = resource.repo
        return resource if isinstance(resource, sc.GhOrg) else resource.org

    def obj(resource: Any) -> str:
        if isinstance(resource, sc.GhIssue):
            return f"repo{of(resource.repo)}/issues"
        return f"{'org' if isinstance(resource, sc.GhOrg) else 'repo'}{of(resource)}"

    policies, groupings = [], []
    for org in world.orgs:
        dom = obj(org)
        policies += [(role, dom, dom, action) for action, role in pw.ORG_PERMISSIONS.items()]
        groupings += [(role, implied, dom) for role, implies in pw.ORG_IMPLIES.items() for implied in implies]
        for repo in world.repos_of(org):
            policies += [(repo_role(repo, role), dom, obj(repo), action)
                         for action, role in pw.REPO_PERMISSIONS.items()]
            policies += [(repo_role(repo, role), dom, f"{obj(repo)}/issues", action)
                         for action, role in pw.ISSUE_PERMISSIONS.items()]
            groupings += [(repo_role(repo, role), repo_role(repo, implied), dom)
                          for role, implies in pw.REPO_IMPLIES.items() for implied in implies]
            groupings += [(org_role, repo_role(repo, role), dom) for org_role, role in pw.ORG_TO_REPO.items()]
    for user in world.users:
        for role in user.roles:
            name = role.name if isinstance(role.resource, sc.GhOrg) else repo_role(role.resource, role.name)
            groupings.append((f"user{of(user)}", name, obj(org_of(role.resource))))
    enforcer = enforcer_for(DOMAINS_MODEL, policies, groupings)
    return Built(enforcer, lambda user, action, resource: (f"user{of(user)}", obj(org_of(resource)),
                                                          obj(resource), action))


def _manager(scenario: sc.Scenario) -> Built:
    users, employees = pw.manager_chain(scenario)
    ids = pw.Ids()

    def name(node: Any) -> str:
        return f"{'user' if isinstance(node, sc.MgrUser) else 'employee'}{ids.of(node)}"

    enforcer = enforcer_for(MANAGER_MODEL, [("read",)], [(name(e), name(e.manager)) for e in employees])
    enforcer.get_role_manager().max_hierarchy_level = MAX_HIERARCHY_LEVEL
    return Built(enforcer, lambda user, action, employee: (name(user), name(employee), action))


def _rules(scenario: sc.Scenario) -> Built:
    rows = []
    for i in range(pw.rules_count(scenario)):
        action, j, k = sc.rule_shape(i)
        rows.append((f"Res{j}", action, f"owner{k}"))
    enforcer = enforcer_for(RULES_MODEL, rows, [])
    enforcer.add_function("kind", lambda obj: type(obj).__name__)
    # simpleeval refuses the builtin getattr itself as a matcher function.
    enforcer.add_function("attr", lambda obj, name: getattr(obj, name))
    return Built(enforcer, lambda user, action, resource: (user, resource, action))


def build(scenario: sc.Scenario) -> Built:
    """The scenario in casbin (KeyError for a scenario this module does not know)."""
    if scenario.key.startswith("rules"):
        return _rules(scenario)
    return {"ownership": _ownership, "github": _github, "manager": _manager}[scenario.key](scenario)
