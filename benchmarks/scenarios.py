"""The benchmark scenarios: policies, host classes, requests and the hand-written floor.

Every scenario is engine-neutral data. A :class:`Scenario` holds one policy, the host classes
to register before loading it and a list of :class:`Request` objects. Each request knows

* how to ask an ``Oso`` (``kind`` is ``"is_allowed"`` or ``"authorized_actions"``, ``args`` are
  the positional arguments of that method),
* the same check written by hand in plain Python (``floor``; same arguments, same answer), and
* the answer expected by construction (``expected``), so that a wrong floor is caught too.

The runner (:mod:`benchmarks.runner`) times them; ``tests/test_benchmarks_smoke.py`` checks,
without timing, that ``oso_core`` gives the floor's answers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable


@dataclass
class Request:
    label: str
    kind: str  # "is_allowed" | "authorized_actions"
    args: tuple
    floor: Callable[..., Any]
    expected: Any


@dataclass
class Scenario:
    key: str
    title: str
    policy: str
    classes: list  # [(polar name, python class)]
    requests: list = field(default_factory=list)


@dataclass
class LoadCase:
    key: str
    title: str
    policy: str
    classes: list


# ---------------------------------------------------------------------------------------------
# 1. Ownership ABAC
# ---------------------------------------------------------------------------------------------

class OwnUser:
    def __init__(self, name: str):
        self.name = name


class OwnDoc:
    def __init__(self, owner: str):
        self.owner = owner


OWNERSHIP_POLICY = """\
allow(user: User, "read", doc: Doc) if doc.owner = user.name;
"""


def ownership_floor(user, action, doc) -> bool:
    return (isinstance(user, OwnUser) and action == "read" and isinstance(doc, OwnDoc)
            and doc.owner == user.name)


def ownership_scenario() -> Scenario:
    alice = OwnUser("alice")
    return Scenario(
        key="ownership",
        title="ownership ABAC",
        policy=OWNERSHIP_POLICY,
        classes=[("User", OwnUser), ("Doc", OwnDoc)],
        requests=[
            Request("allowed", "is_allowed", (alice, "read", OwnDoc("alice")),
                    ownership_floor, True),
            Request("denied", "is_allowed", (alice, "read", OwnDoc("bob")),
                    ownership_floor, False),
        ],
    )


# ---------------------------------------------------------------------------------------------
# 2. GitHub-style resource blocks
# ---------------------------------------------------------------------------------------------

class GhUser:
    def __init__(self, name: str, roles: list):
        self.name = name
        self.roles = roles


class GhRole:
    def __init__(self, name: str, resource: Any):
        self.name = name
        self.resource = resource


class GhOrg:
    def __init__(self, name: str):
        self.name = name


class GhRepo:
    def __init__(self, name: str, org: GhOrg):
        self.name = name
        self.org = org


class GhIssue:
    def __init__(self, title: str, repo: GhRepo):
        self.title = title
        self.repo = repo


GITHUB_POLICY = """\
actor User {}

resource Org {
  roles = ["owner", "member"];
  permissions = ["read", "create_repo"];

  "read" if "member";
  "create_repo" if "owner";
  "member" if "owner";
}

resource Repo {
  roles = ["admin", "maintainer", "reader"];
  permissions = ["read", "create_issue", "push", "delete"];
  relations = { parent: Org };

  "read" if "reader";
  "create_issue" if "reader";
  "push" if "maintainer";
  "delete" if "admin";

  "maintainer" if "admin";
  "reader" if "maintainer";

  "admin" if "owner" on "parent";
  "reader" if "member" on "parent";
}

resource Issue {
  permissions = ["read", "comment", "close"];
  relations = { parent: Repo };

  "read" if "reader" on "parent";
  "comment" if "reader" on "parent";
  "close" if "maintainer" on "parent";
}

has_relation(org: Org, "parent", repo: Repo) if repo.org = org;
has_relation(repo: Repo, "parent", issue: Issue) if issue.repo = repo;

has_role(user: User, name: String, resource: Resource) if
  role in user.roles and
  role.name = name and
  role.resource = resource;

allow(actor, action, resource) if has_permission(actor, action, resource);
"""

GITHUB_CLASSES = [("User", GhUser), ("Org", GhOrg), ("Repo", GhRepo), ("Issue", GhIssue)]

# The policy above, by hand: collect the user's roles on the resource (and its parents) in one
# pass over user.roles, close them under the implications, then map roles to permissions.


def _gh_direct_roles(user: GhUser, resource: Any) -> set:
    return {role.name for role in user.roles if role.resource == resource}


def _gh_org_roles(user: GhUser, org: GhOrg) -> set:
    roles = _gh_direct_roles(user, org)
    if "owner" in roles:
        roles.add("member")
    return roles


def _gh_repo_roles(user: GhUser, repo: GhRepo) -> set:
    roles = _gh_direct_roles(user, repo)
    org_roles = _gh_org_roles(user, repo.org)
    if "owner" in org_roles:
        roles.add("admin")
    if "member" in org_roles:
        roles.add("reader")
    if "admin" in roles:
        roles.add("maintainer")
    if "maintainer" in roles:
        roles.add("reader")
    return roles


def github_floor_actions(user: Any, resource: Any) -> set:
    if not isinstance(user, GhUser):
        return set()
    actions = set()
    if isinstance(resource, GhIssue):
        roles = _gh_repo_roles(user, resource.repo)
        if "reader" in roles:
            actions.update(("read", "comment"))
        if "maintainer" in roles:
            actions.add("close")
    elif isinstance(resource, GhRepo):
        roles = _gh_repo_roles(user, resource)
        if "reader" in roles:
            actions.update(("read", "create_issue"))
        if "maintainer" in roles:
            actions.add("push")
        if "admin" in roles:
            actions.add("delete")
    elif isinstance(resource, GhOrg):
        roles = _gh_org_roles(user, resource)
        if "member" in roles:
            actions.add("read")
        if "owner" in roles:
            actions.add("create_repo")
    return actions


def github_floor_allow(user: Any, action: Any, resource: Any) -> bool:
    return action in github_floor_actions(user, resource)


def github_scenario() -> Scenario:
    acme = GhOrg("acme")
    anvil = GhRepo("anvil", acme)
    issue = GhIssue("anvil is heavy", anvil)

    # Other organisations and repositories, for the roles that do not apply.
    others = [GhOrg(f"org{i}") for i in range(4)]
    other_repos = [GhRepo(f"repo{i}", others[i % len(others)]) for i in range(16)]

    # Direct repo role.
    alice = GhUser("alice", [GhRole("reader", anvil)])
    # Org member -> repo reader (via "parent") -> issue read (via "parent").
    bob = GhUser("bob", [GhRole("member", acme)])
    # Worst case: 20 roles, every name of the policy, none on acme / anvil.
    names = ["owner", "member"]
    repo_names = ["admin", "maintainer", "reader"]
    carol_roles = [GhRole(names[i % 2], org) for i, org in enumerate(others)]
    carol_roles += [GhRole(repo_names[i % 3], repo) for i, repo in enumerate(other_repos)]
    assert len(carol_roles) == 20
    carol = GhUser("carol", carol_roles)
    # authorized_actions: a maintainer of the issue's repo, among other unrelated roles.
    dave = GhUser("dave", [GhRole("reader", other_repos[0]), GhRole("member", others[1]),
                           GhRole("maintainer", anvil)])

    return Scenario(
        key="github",
        title="GitHub resource blocks",
        policy=GITHUB_POLICY,
        classes=GITHUB_CLASSES,
        requests=[
            Request("allowed, direct repo role (read repo)", "is_allowed",
                    (alice, "read", anvil), github_floor_allow, True),
            Request("allowed, org member -> repo reader -> issue read", "is_allowed",
                    (bob, "read", issue), github_floor_allow, True),
            Request("denied, 20 roles none applicable (read issue)", "is_allowed",
                    (carol, "read", issue), github_floor_allow, False),
            Request("authorized_actions on issue", "authorized_actions",
                    (dave, issue), github_floor_actions, {"read", "comment", "close"}),
        ],
    )


# ---------------------------------------------------------------------------------------------
# 3. Recursive manager chain
# ---------------------------------------------------------------------------------------------

class MgrUser:
    def __init__(self, name: str):
        self.name = name
        self.manager = None  # the top of a chain


class MgrEmployee:
    def __init__(self, name: str, manager: Any):
        self.name = name
        self.manager = manager


MANAGER_POLICY = """\
allow(u: User, "read", e: Employee) if manages(u, e);

manages(m, e) if e.manager = m;
manages(m, e) if e.manager != nil and manages(m, e.manager);
"""


def manager_floor(user: Any, action: Any, employee: Any) -> bool:
    if not (isinstance(user, MgrUser) and action == "read" and isinstance(employee, MgrEmployee)):
        return False
    m = employee.manager
    while m is not None:
        if m == user:
            return True
        m = m.manager
    return False


def manager_scenario(depths=(1, 5, 20)) -> Scenario:
    boss = MgrUser("boss")
    outsider = MgrUser("outsider")
    chain = []
    manager: Any = boss
    for i in range(max(depths)):
        employee = MgrEmployee(f"e{i + 1}", manager)
        chain.append(employee)
        manager = employee
    # chain[d - 1] is d manager hops below boss.
    requests = [Request(f"allowed, depth {d}", "is_allowed", (boss, "read", chain[d - 1]),
                        manager_floor, True) for d in depths]
    deepest = max(depths)
    requests.append(Request(f"denied, depth {deepest} (not in chain)", "is_allowed",
                            (outsider, "read", chain[deepest - 1]), manager_floor, False))
    return Scenario(
        key="manager",
        title="recursive manager chain",
        policy=MANAGER_POLICY,
        classes=[("User", MgrUser), ("Employee", MgrEmployee)],
        requests=requests,
    )


# ---------------------------------------------------------------------------------------------
# 4. Many rules over many classes and actions
# ---------------------------------------------------------------------------------------------

RULE_CLASSES = 50   # Res0 .. Res49
RULE_OWNERS = 7     # owner0 .. owner6
RULE_SIZES = (20, 200, 1000)


class RuleUser:
    def __init__(self, name: str):
        self.name = name


def _make_res_class(j: int) -> type:
    def __init__(self, **owners):
        for k in range(RULE_OWNERS):
            setattr(self, f"owner{k}", owners.get(f"owner{k}", ""))
    return type(f"Res{j}", (), {"__init__": __init__, "__module__": __name__})


RES_CLASSES = [_make_res_class(j) for j in range(RULE_CLASSES)]
RULES_CLASSES = [("User", RuleUser)] + [(cls.__name__, cls) for cls in RES_CLASSES]


def rule_shape(i: int) -> tuple:
    """Rule i of the generated policies: (action, class index, owner attribute index)."""
    return f"act{i // RULE_CLASSES}", i % RULE_CLASSES, i % RULE_OWNERS


def rules_policy(n: int) -> str:
    lines = []
    for i in range(n):
        action, j, k = rule_shape(i)
        lines.append(f'allow(u: User, "{action}", r: Res{j}) if r.owner{k} = u.name;')
    return "\n".join(lines) + "\n"


def rules_floor_for(n: int) -> Callable[..., bool]:
    """The hand-written check of the n-rule policy: a dict from (class, action) to attribute."""
    table = {}
    for i in range(n):
        action, j, k = rule_shape(i)
        table[(RES_CLASSES[j], action)] = f"owner{k}"

    def floor(user: Any, action: Any, resource: Any) -> bool:
        attr = table.get((type(resource), action))
        return attr is not None and isinstance(user, RuleUser) and getattr(resource, attr) == user.name

    return floor


# The measured request: class Res0, action "act0", attribute owner0 -- rule 0, present in every size.
FIXED_ACTION, FIXED_CLASS, FIXED_OWNER = rule_shape(0)


def rules_scenario(n: int) -> Scenario:
    floor = rules_floor_for(n)
    cls = RES_CLASSES[FIXED_CLASS]
    attr = f"owner{FIXED_OWNER}"
    user = RuleUser("u0")
    return Scenario(
        key=f"rules{n}",
        title=f"{n} rules",
        policy=rules_policy(n),
        classes=RULES_CLASSES,
        requests=[
            Request("allowed", "is_allowed", (user, FIXED_ACTION, cls(**{attr: "u0"})), floor, True),
            Request("denied", "is_allowed", (user, FIXED_ACTION, cls(**{attr: "u1"})), floor, False),
        ],
    )


# ---------------------------------------------------------------------------------------------
# All of them
# ---------------------------------------------------------------------------------------------

def decision_scenarios() -> list:
    return [ownership_scenario(), github_scenario(), manager_scenario()] + [
        rules_scenario(n) for n in RULE_SIZES]


def load_cases() -> list:
    return [
        LoadCase("github", "resource-block policy", GITHUB_POLICY, GITHUB_CLASSES),
        LoadCase("rules1000", "1000-rule policy", rules_policy(1000), RULES_CLASSES),
    ]


def load_case(key: str) -> LoadCase:
    for case in load_cases():
        if case.key == key:
            return case
    raise KeyError(key)
