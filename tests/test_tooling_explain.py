"""`Oso.explain`, `oso_core.tooling.explain` and `python -m oso_core explain`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from engine_under_test import LEGACY

pytestmark = pytest.mark.skipif(LEGACY, reason="oso_core tooling")

if not LEGACY:
    from oso_core import Oso
    from oso_core.tooling.explain import (
        Explanation,
        Fact,
        Location,
        explain_query,
        iter_rules,
        main,
        to_dict,
    )

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _quiet(monkeypatch):
    monkeypatch.setenv("POLAR_IGNORE_NO_ALLOW_WARNING", "1")
    monkeypatch.delenv("POLAR_LOG", raising=False)


class User:
    def __init__(self, name, role):
        self.name = name
        self.role = role

    def __repr__(self):
        return f"User({self.name!r})"


class Repo:
    def __init__(self, name, public=False):
        self.name = name
        self.public = public

    def __repr__(self):
        return f"Repo({self.name!r})"


POLICY = """\
allow(u: User, "read", r: Repo) if is_admin(u) or r.public;
allow(u: User, "write", r: Repo) if is_admin(u) and not r.public;
is_admin(u: User) if u.role = "admin";
is_admin(u: User) if u.name = "root";
"""


def make_oso(policy=POLICY, *classes):
    oso = Oso()
    for cls in classes or (User, Repo):
        oso.register_class(cls)
    oso.load_str(policy)
    return oso


# Allowed ------------------------------------------------------------------------------------------


def test_allowed_gives_the_chain_of_rules_and_the_facts_used():
    oso = make_oso()
    e = oso.explain(User("alice", "admin"), "read", Repo("anvil"))
    assert isinstance(e, Explanation)
    assert e.allowed is True and e.error is None
    assert e.query == "allow(User('alice'), \"read\", Repo('anvil'))"
    assert [(r.head, r.location) for r in e.proof] == [
        ('allow(u: User{}, "read", r: Repo{})', Location(None, 1, 1)),
        ("is_admin(u: User{})", Location(None, 3, 1)),
    ]
    assert e.proof[0].rule == 'allow(u: User, "read", r: Repo) if (is_admin(u) or r.public);'
    assert e.facts == [Fact("u.role", '"admin"')]
    (call,) = e.calls
    assert call.succeeded and call.deciding_rule is e.proof[0]
    text = str(e)
    assert text.splitlines()[0] == "ALLOWED: allow(User('alice'), \"read\", Repo('anvil'))"
    assert "proved by: is_admin(u: User) if u.role = \"admin\";  [line 3, column 1]" in text
    assert "holds: u.role = \"admin\"  [line 3, column 22]" in text
    assert "Facts used:\n  u.role = \"admin\"" in text


def test_allowed_through_the_second_alternative_of_an_or():
    oso = make_oso()
    e = oso.explain(User("bob", "guest"), "read", Repo("anvil", public=True))
    assert e.allowed
    assert [r.head for r in e.proof] == ['allow(u: User{}, "read", r: Repo{})']
    assert e.facts == [Fact("r.public", "true")]
    (or_goal,) = e.proof[0].goals
    assert or_goal.text == "is_admin(u) or r.public" and or_goal.succeeded
    assert [g.text for g in or_goal.goals] == ["r.public"]


def test_explaining_does_not_change_or_slow_decisions():
    oso = make_oso()
    args = (User("bob", "guest"), "write", Repo("anvil"))
    before = oso.is_allowed(*args)
    oso.explain(*args)
    assert oso.is_allowed(*args) == before is False
    # decisions run on the plain snapshot; the instrumented copy is separate and cached
    kb = oso._current_kb()
    assert not getattr(kb, "instrumented", False)
    instrumented = [v for v in kb.derived.values() if getattr(v, "instrumented", False)]
    assert len(instrumented) == 1
    oso.explain(*args)
    assert [v for v in kb.derived.values() if getattr(v, "instrumented", False)] == instrumented


# Denied -------------------------------------------------------------------------------------------


def test_denied_shows_each_rule_tried_and_its_first_failing_goal():
    oso = make_oso()
    e = oso.explain(User("bob", "guest"), "write", Repo("anvil"))
    assert not e.allowed and e.proof == [] and e.facts == []
    (call,) = e.calls
    assert not call.succeeded
    tried, skipped = call.rules
    assert tried.outcome == "failed"
    assert tried.head == 'allow(u: User{}, "write", r: Repo{})'
    (goal,) = tried.goals
    assert goal.text == "is_admin(u)" and not goal.succeeded
    assert goal.location == Location(None, 2, 37)
    (inner,) = goal.calls
    assert inner.call == "is_admin(User('bob'))" and not inner.succeeded
    first, second = inner.rules
    assert first.outcome == second.outcome == "failed"
    (failed,) = first.goals
    assert (failed.text, failed.location) == ('u.role = "admin"', Location(None, 3, 22))
    assert failed.facts == (Fact("u.role", '"guest"'),)
    assert failed.bindings == {"u": "User('bob')"}
    assert second.goals[0].facts == (Fact("u.name", '"bob"'),)
    assert skipped.outcome == "not applicable"
    assert skipped.reason == 'argument 2 is "write", the rule expects "read"'
    text = str(e)
    assert text.splitlines()[0] == "DENIED: allow(User('bob'), \"write\", Repo('anvil'))"
    assert "FAILS: u.role = \"admin\"  [line 3, column 22]\n" in text
    assert "with u.role = \"guest\", u = User('bob')" in text
    assert ('not applicable: allow(u: User{}, "read", r: Repo{})  [line 1, column 1]: '
            'argument 2 is "write", the rule expects "read"') in text


def test_denied_by_a_negation_shows_what_held_inside_it():
    oso = make_oso()
    e = oso.explain(User("root", "guest"), "write", Repo("anvil", public=True))
    assert not e.allowed
    (goal,) = e.calls[0].rules[0].goals
    assert goal.text == "not r.public" and not goal.succeeded
    (held,) = goal.goals
    assert held.text == "r.public" and held.succeeded and held.facts == (Fact("r.public", "true"),)
    assert e.calls[0].rules[0].failures == 1


def test_no_rule_applies():
    oso = make_oso()
    e = oso.explain(User("a", "admin"), "delete", Repo("x"))
    assert [r.outcome for r in e.calls[0].rules] == ["not applicable", "not applicable"]
    assert "allow(User('a'), \"delete\", Repo('x')) fails: no rule applies" in str(e)
    e = oso.explain(1, "read", Repo("x"))
    assert e.calls[0].rules[0].reason == "argument 1 (1) is not an instance of User"


def test_failing_loop_reports_the_first_failure_and_counts_them():
    oso = make_oso("allow(_, _, r) if x in r and x > 5;")
    e = oso.explain(1, 2, [1, 2, 3])
    rule = e.calls[0].rules[0]
    assert rule.outcome == "failed" and rule.failures == 3  # x > 5, once per item
    (goal,) = rule.goals
    assert goal.text == "x > 5" and goal.bindings == {"x": "1"}
    assert "(3 goal failures in all; the first is shown)" in str(e)


def test_errors_are_reported_not_raised():
    oso = make_oso("allow(x, _, _) if x.nope = 1;")
    e = oso.explain(1, 2, 3)
    assert not e.allowed
    assert e.error.startswith("PolarRuntimeError: ")
    assert "Application error: 'int' object has no attribute 'nope'" in e.error
    assert e.calls[0].error is not None


# Resource blocks -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Org:
    name: str


@dataclass(frozen=True)
class Repository:
    name: str
    org: Org


@dataclass(frozen=True)
class Role:
    name: str
    resource: object


@dataclass
class Member:
    name: str
    roles: list = field(default_factory=list)

    def __repr__(self):
        return f"Member({self.name!r})"


BLOCKS = """\
actor Member {}

resource Org {
  roles = ["owner", "member"];
}

resource Repository {
  roles = ["reader", "admin"];
  permissions = ["read", "delete"];
  relations = { parent: Org };

  "read" if "reader";
  "delete" if "admin";
  "reader" if "member" on "parent";
  "admin" if "owner" on "parent";
}

has_relation(org: Org, "parent", repo: Repository) if repo.org = org;

has_role(m: Member, name: String, resource: Resource) if
  role in m.roles and
  role.name = name and
  role.resource = resource;

allow(actor, action, resource) if has_permission(actor, action, resource);
"""


def blocks_oso():
    return make_oso(BLOCKS, Member, Org, Repository)


def test_resource_block_allowed_chain():
    acme = Org("acme")
    repo = Repository("anvil", acme)
    e = blocks_oso().explain(Member("bob", [Role("member", acme)]), "read", repo)
    assert e.allowed
    assert [r.head for r in e.proof] == [
        "allow(actor, action, resource)",
        'has_permission(actor: Actor{}, "read", repository: Repository{})',
        'has_role(actor: Actor{}, "reader", repository: Repository{})',
        'has_relation(org: Org{}, "parent", repo: Repository{})',
        "has_role(m: Member{}, name: String{}, resource: Resource{})",
    ]
    shorthand = e.proof[2]
    assert shorthand.generated and shorthand.source_line == '"reader" if "member" on "parent";'
    assert shorthand.location == Location(None, 14, 3)
    assert [str(f) for f in e.facts] == [
        "repo.org = Org(name='acme')",
        "m.roles = [Role(name='member', resource=Org(name='acme'))]",
        'role.name = "member"',
        "role.resource = Org(name='acme')",
    ]
    assert 'resource block rule "reader" if "member" on "parent";' in str(e)


def test_resource_block_denied_shows_where_the_role_check_failed():
    acme = Org("acme")
    repo = Repository("anvil", acme)
    e = blocks_oso().explain(Member("bob", [Role("member", acme)]), "delete", repo)
    assert not e.allowed
    failed = [r for r in iter_rules(e) if r.outcome == "failed"]
    # has_role(actor, "admin", repo): the Member rule (more specific) first, then the shorthand
    # rule, which needs the "owner" role on the parent org, where the Member rule fails again.
    assert [r.head for r in failed] == [
        "allow(actor, action, resource)",
        'has_permission(actor: Actor{}, "delete", repository: Repository{})',
        "has_role(m: Member{}, name: String{}, resource: Resource{})",
        'has_role(actor: Actor{}, "admin", repository: Repository{})',
        "has_role(m: Member{}, name: String{}, resource: Resource{})",
    ]
    assert failed[3].source_line == '"admin" if "owner" on "parent";'
    (goal,) = failed[-1].goals
    assert goal.text == "role.name = name"
    assert goal.location == Location(None, 22, 3)
    assert goal.facts == (Fact("role.name", '"member"'),)
    assert goal.bindings["name"] == '"owner"'
    text = str(e)
    assert "FAILS: role.name = name  [line 22, column 3]" in text
    assert 'has_role(Member(\'bob\'), "owner", Org(name=\'acme\')) fails  [called at line 15, column 14]' in text


# Queries, structured output, CLI, REPL ----------------------------------------------------------------


def test_explain_query_text_with_new_and_several_goals():
    oso = make_oso()
    e = explain_query(oso, 'x = new User("alice", "admin") and allow(x, "write", new Repo("r"))')
    assert e.allowed and e.calls == ()
    assert [g.text for g in e.goals] == ['x = new User("alice", "admin")', 'allow(x, "write", new Repo("r"))']
    assert e.proof[0].head == 'allow(u: User{}, "write", r: Repo{})'
    assert e.goals[1].location is None  # positions in the query text are not policy positions
    data = to_dict(e)
    assert data["allowed"] is True
    assert json.loads(json.dumps(data))["goals"][1]["calls"][0]["rules"][0]["outcome"] == "succeeded"


def write_app(tmp_path):
    (tmp_path / "explain_app.py").write_text(textwrap.dedent("""\
        class User:
            def __init__(self, name, role):
                self.name = name
                self.role = role

            def __repr__(self):
                return f"User({self.name!r})"

        class Repo:
            def __init__(self, name, public=False):
                self.name = name
                self.public = public

            def __repr__(self):
                return f"Repo({self.name!r})"
        """))
    policy = tmp_path / "policy.polar"
    policy.write_text(POLICY)
    return policy


def test_cli(tmp_path, monkeypatch, capsys):
    policy = write_app(tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    code = main([str(policy), "-m", "explain_app", 'allow(new User("alice", "admin"), "read", new Repo("x"))'])
    out = capsys.readouterr().out
    assert code == 0
    assert out.startswith('ALLOWED: allow(new User("alice", "admin"), "read", new Repo("x"))\n')
    assert f"proved by: is_admin(u: User) if u.role = \"admin\";  [{policy}:3:1]" in out
    code = main([str(policy), "--module", "explain_app", "--json",
                 'allow(new User("bob", "guest"), "write", new Repo("x"));'])
    data = json.loads(capsys.readouterr().out)
    assert code == 1 and data["allowed"] is False
    first_goal = data["goals"][0]["calls"][0]["rules"][0]["goals"][0]
    assert first_goal["text"] == "is_admin(u)"
    assert main([str(policy), "-m", "explain_app", "allow(nope("]) == 2
    assert "error:" in capsys.readouterr().err


def test_cli_through_python_dash_m(tmp_path):
    policy = write_app(tmp_path)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO_ROOT), str(tmp_path)]))
    run = subprocess.run(
        [sys.executable, "-m", "oso_core", "explain", str(policy), "-m", "explain_app",
         'allow(new User("bob", "guest"), "delete", new Repo("x"))'],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60, check=False)
    assert run.returncode == 1, run.stderr
    assert run.stdout.startswith("DENIED: ")
    assert "fails: no rule applies" in run.stdout


def test_repl_explain_command(capsys):
    from oso_core.repl import run_repl
    oso = make_oso()
    lines = iter([':explain allow(new User("root", "guest"), "read", new Repo("x"));', ":explain f(("])

    def read(prompt):
        try:
            return next(lines)
        except StopIteration:
            raise EOFError from None
    run_repl(oso, [], read=read)
    out = capsys.readouterr().out
    assert 'ALLOWED: allow(new User("root", "guest"), "read", new Repo("x"))' in out
    assert "proved by: is_admin(u: User) if u.name = \"root\";" in out
    assert "hit the end of the file unexpectedly" in out
