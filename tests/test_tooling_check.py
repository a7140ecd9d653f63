"""`python -m oso_core check`: loader diagnostics, lints, output format and exit status.

Every lint code is shown to fire on a policy that has the problem and to stay silent on good
policies: the conformance policies, the demo app's policy and the policy-test example.
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from oso_core import Oso
from oso_core.exceptions import OsoError
from oso_core.frontend.source import Source
from oso_core.host import new_host
from oso_core.tooling import check as check_module
from oso_core.tooling.check import check_sources
from oso_core.tooling.lint import Diagnostic

TESTS_DIR = Path(__file__).resolve().parent
REPO_ROOT = TESTS_DIR.parent
CONFORMANCE_DIRS = [TESTS_DIR / "conformance" / "oso-spec", REPO_ROOT.parent / "shared" / "conformance" / "oso-spec"]
LINE = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+):(?P<column>\d+): (?P<severity>error|warning): .+ \[(?P<code>[a-z-]+)\]$")


def check(text: str, filename: str = "policy.polar", classes: tuple = (), **options) -> list[Diagnostic]:
    """Diagnostics for one policy text; with `classes`, exactly those are registered (module mode)."""
    host = None
    if classes:
        host = new_host()
        for cls in classes:
            host.register_class(cls)
    return check_sources([Source(textwrap.dedent(text), filename)], host, **options)


def codes(diagnostics: list[Diagnostic]) -> list[str]:
    return [d.code for d in diagnostics]


# Classes for module mode ---------------------------------------------------------------------------

class User:
    pass


class Admin(User):
    pass


class Guest:
    pass


class Org:
    pass


class Repo:
    pass


GOOD = """\
    actor User {}

    resource Org {
      roles = ["owner", "member"];
      permissions = ["read", "invite"];
      "read" if "member";
      "invite" if "owner";
      "member" if "owner";
    }

    resource Repo {
      roles = ["reader"];
      permissions = ["read"];
      relations = { parent: Org };
      "read" if "reader";
      "reader" if "member" on "parent";
    }

    has_relation(org: Org, "parent", repo: Repo) if repo.org = org;
    has_role(user: User, name: String, resource: Resource) if
      role in user.roles and role.name = name and role.resource = resource;
    allow(actor, action, resource) if has_permission(actor, action, resource);
    """


# Good policies stay clean -------------------------------------------------------------------------

def test_good_policy_is_clean_with_and_without_classes():
    assert check(GOOD) == []
    assert check(GOOD, classes=(User, Org, Repo)) == []


def _conformance_loads():
    """(id, policy text) for each conformance policy file, and for each case's load that is
    expected to succeed (policies joined with the case's `load`, as the runner loads them)."""
    sys.path.insert(0, str(TESTS_DIR))
    from test_conformance import _lenient_yaml

    loads = []
    for root in CONFORMANCE_DIRS:
        if not root.is_dir():
            continue
        for policy in sorted((root / "policies").glob("*.polar")):
            loads.append((f"{root.parent.parent.name}/{policy.name}", policy.read_text(encoding="utf-8")))
        for spec_file in sorted((root / "spec").glob("*.yml")):
            spec = _lenient_yaml(spec_file.read_text(encoding="utf-8"))
            texts = [(root / "policies" / f"{p}.polar").read_text(encoding="utf-8") for p in spec.get("policies") or []]
            for i, case in enumerate(spec.get("cases") or []):
                if "err" not in case:
                    loads.append((f"{spec_file.name}::{i}", "\n".join(texts + [case.get("load") or ""])))
    assert loads
    return loads


@pytest.mark.parametrize("registered", [False, True], ids=["placeholders", "fixture-classes"])
def test_conformance_policies_have_no_errors(registered):
    from fixtures.conformance_classes import CLASSES

    for name, text in _conformance_loads():
        host = None
        if registered:
            host = new_host()
            for class_name, cls in CLASSES.items():
                host.register_class(cls, class_name)
        diagnostics = check_sources([Source(text, "conformance.polar")], host)
        # The only true remark about these policies: they have no allow rule (they are queried
        # rule by rule, not through is_allowed).
        assert [d for d in diagnostics if d.code != "no-allow-rule"] == [], name


def test_demo_app_policy_is_clean_with_its_module():
    policy = REPO_ROOT / "example_apps" / "policy_demo"
    spec = importlib.util.spec_from_file_location("policy_demo_for_check", policy / "demo.py")
    demo = sys.modules[spec.name] = importlib.util.module_from_spec(spec)  # dataclasses look it up
    spec.loader.exec_module(demo)
    host = new_host()
    for cls in (demo.User, demo.Organization, demo.Repository, demo.Role):
        host.register_class(cls)
    source = Source((policy / "policy.polar").read_text(encoding="utf-8"), "policy.polar")
    assert check_sources([source], host) == []
    assert check_sources([source]) == []


def test_policy_test_example_is_clean():
    path = TESTS_DIR / "policy_tests" / "github.polar"
    assert check_sources([Source(path.read_text(encoding="utf-8"), str(path))]) == []


# Loader diagnostics: the same problems loading reports --------------------------------------------

LOADER_CASES = {
    "syntax-error": "allow(x, y z) if x;",
    "singleton-variable": "allow(actor, _action, _resource) if actor = y;",
    "undefined-rule": "allow(actor, _action, _resource) if nothing_here(actor);",
    "rule-type": "allow(_actor, _action);",
    "invalid-rule-type": "type f(x.y);\nallow(_, _, _);\nf(_);",
    "missing-rule": 'actor User {}\nresource Org { roles = ["a"]; permissions = ["p"]; "p" if "a"; }\n'
                    "allow(a, b, c) if has_permission(a, b, c);",
    "resource-block": 'resource Org { roles = ["a"]; roles = ["b"]; }\nallow(_, _, _);',
}


@pytest.mark.parametrize("code", sorted(LOADER_CASES))
def test_loader_errors_match_what_loading_raises(code):
    text = LOADER_CASES[code]
    oso = Oso()
    for cls in (User, Org, Repo):
        oso.register_class(cls)
    with pytest.raises(OsoError) as raised:
        oso.load_str(text)
    details = raised.value.details or {}
    diagnostics = check(text, classes=(User, Org, Repo))
    errors = [d for d in diagnostics if d.severity == "error"]
    assert code in codes(errors)
    first = next(d for d in errors if d.code == code)
    assert first.message in " ".join(raised.value.message.split())
    if details.get("line") is not None:
        assert (first.line, first.column) == (details["line"], details["column"])


def test_every_error_of_a_load_is_reported_not_just_the_first():
    diagnostics = check("""\
        allow(actor, _action, _resource) if missing(actor);
        f(x) if y = 1;
        g(z) if z = w;
        """)
    assert [(d.code, d.line) for d in diagnostics if d.severity == "error"] == [
        ("undefined-rule", 1), ("singleton-variable", 2), ("singleton-variable", 2), ("singleton-variable", 3)]


def test_syntax_errors_in_several_files_are_all_reported():
    sources = [Source("allow(x y);", "a.polar"), Source("allow(_, _, _);", "b.polar"), Source("f(;", "c.polar")]
    diagnostics = check_sources(sources)
    assert [(d.file, d.code) for d in diagnostics] == [("a.polar", "syntax-error"), ("c.polar", "syntax-error")]


def test_duplicate_file_and_loader_warnings():
    same = "allow(_, _, _);"
    diagnostics = check_sources([Source(same, "a.polar"), Source(same, "b.polar")])
    assert [(d.file, d.line, d.code) for d in diagnostics] == [("b.polar", 1, "duplicate-file")]

    diagnostics = check("f(x) if x = 1 or x = 2 and x = 3;\ng(x: string) if x = 1;\n", entry_points=["f", "g"])
    assert [(d.line, d.column, d.code) for d in diagnostics] == [
        (1, 1, "no-allow-rule"), (1, 18, "ambiguous-precedence"), (2, 6, "unknown-specializer")]
    assert diagnostics[2].message == "Unknown specializer string, did you mean String?"


def test_missing_has_permission_points_at_the_first_block():
    diagnostics = check('allow(_, _, _);\nactor User {}\nresource Org { permissions = ["read"]; }\n'
                        'has_permission(_: User, "read", _: Org);')
    assert [(d.line, d.code) for d in diagnostics] == [(2, "missing-has-permission")]


# Host classes --------------------------------------------------------------------------------------

HIERARCHY = """\
    actor User {}
    resource Repo { permissions = ["read"]; }
    allow(actor, action, resource) if has_permission(actor, action, resource);
    has_permission(_a: Admin, "read", _r: Repo);
    """


def test_unknown_class_hierarchy_is_assumed_and_reported_as_a_warning():
    diagnostics = check(HIERARCHY)
    assert [(d.line, d.severity, d.code) for d in diagnostics] == [(4, "warning", "unverified-rule-type")]
    assert "assuming it is a subclass of User" in diagnostics[0].message


def test_with_classes_the_real_hierarchy_decides():
    assert check(HIERARCHY, classes=(User, Admin, Repo)) == []
    text = HIERARCHY.replace("Admin", "Guest")
    assert codes(check(text, classes=(User, Guest, Repo))) == ["rule-type"]


def test_with_classes_an_unregistered_block_type_is_an_error_like_loading():
    text = ('actor User {}\nresource Team {}\nallow(a, b, c) if has_permission(a, b, c);\n'
            'has_permission(_: User, "read", _: Team);')
    assert codes(check(text)) == []
    assert codes(check(text, classes=(User,))) == ["unregistered-class", "unknown-specializer"]


def test_errors_hidden_behind_an_assumption_still_show():
    text = HIERARCHY + 'has_permission(_u: User, "read", _r: Nothing) if 1 = 1;\n'
    text += "has_permission(u: User, 1, _r: Repo) if u;\n"
    diagnostics = check(text)
    assert [(d.line, d.code) for d in diagnostics] == [(4, "unverified-rule-type"), (5, "unverified-rule-type"),
                                                       (6, "rule-type")]


# Lints -----------------------------------------------------------------------------------------------

def test_unused_declaration():
    text = GOOD.replace('roles = ["reader"];', 'roles = ["reader", "ghost"];').replace(
        'permissions = ["read"];', 'permissions = ["read", "nuke"];')
    diagnostics = check(text)
    assert [(d.line, d.code, d.message.split(" is ")[0]) for d in diagnostics] == [
        (12, "unused-declaration", 'role "ghost"'), (13, "unused-declaration", 'permission "nuke"')]


def test_declarations_used_by_rules_or_a_variable_permission_rule_are_not_unused():
    text = """\
        actor User {}
        resource Repo {
          roles = ["admin"];
          permissions = ["read", "write"];
          relations = { owner: User };
        }
        has_role(u: User, "admin", _: Repo) if u.is_admin;
        has_relation(u: User, "owner", r: Repo) if r.owner = u;
        has_permission(u: User, action: String, r: Repo) if has_role(u, "admin", r) and action in r.actions;
        allow(actor, action, resource) if has_permission(actor, action, resource);
        """
    assert check(text) == []


def test_undeclared_name_in_calls_and_heads():
    text = GOOD + """\
    allow(actor, "admin", org: Org) if has_role(actor, "ownr", org);
    has_permission(_: User, "raed", _: Repo);
    """
    diagnostics = check(text)
    assert [(d.line, d.code) for d in diagnostics] == [(23, "undeclared-name"), (24, "undeclared-name")]
    assert diagnostics[0].message == 'role "ownr" is not declared in any resource block; did you mean "owner"?'
    assert diagnostics[1].message == 'permission "raed" is not declared in resource Repo; did you mean "read"?'


def test_undeclared_name_defined_by_a_written_rule_is_fine():
    text = GOOD + """\
    allow(actor, "admin", org: Org) if has_role(actor, "superuser", org);
    has_role(user: User, "superuser", _: Org) if user.is_superuser;
    """
    assert check(text) == []


def test_contradiction():
    text = GOOD + """\
    allow(_actor, "a", _r) if 1 = 2;
    allow(actor, "b", _r) if x = "p" and actor.ok and x = "q";
    allow(actor, "c", _r) if actor.ok and 3 > 4;
    allow(actor, "d", _r) if actor.ok and false;
    allow(_actor, "e", _r) if "a" != "a";
    """
    diagnostics = check(text)
    assert [(d.line, d.code) for d in diagnostics] == [(23, "contradiction"), (24, "contradiction"),
                                                       (25, "contradiction"), (26, "contradiction"),
                                                       (27, "contradiction")]
    assert diagnostics[0].message == "condition `1 = 2` is always false, so rule allow/3 never succeeds"
    assert diagnostics[1].column == 51  # the second, conflicting `x = "q"`


def test_no_contradiction_when_not_certain():
    text = GOOD + """\
    allow(_actor, "a", _r) if 1 = 1.0 and 1 < 2 and "a" != "b";
    allow(actor, "b", _r) if x = 1 or x = 2 and actor = x;
    allow(actor, "c", _r) if x = 1 and actor.f(x) and (x = 2 or actor.g);
    allow(actor, "d", _r) if actor.x = 1 and actor.x = 2;
    allow(actor, "e", _r) if nil = actor and nil = 1;
    """
    assert [d for d in check(text) if d.code == "contradiction"] == []


def test_wrong_arity_and_inline_query_calls():
    text = GOOD + """\
    allow(actor, "x", _r) if helper(actor, 1);
    helper(a) if a.ok;
    ?= helper(1, 2);
    ?= nowhere(1);
    """
    diagnostics = check(text)
    assert [(d.line, d.severity, d.code) for d in diagnostics] == [
        (23, "warning", "wrong-arity"), (25, "error", "wrong-arity"), (26, "error", "undefined-rule")]
    assert diagnostics[0].message == ("no helper rule takes 2 argument(s) (defined: helper/1): this call "
                                      "always fails")


def test_unreachable_rule():
    text = GOOD + """\
    orphan(x) if x > 1;
    helper(x) if x.ok;
    allow(actor, "x", _r) if helper(actor);
    type typed(x);
    typed(_);
    """
    diagnostics = check(text)
    assert [(d.line, d.code) for d in diagnostics] == [(23, "unreachable-rule")]
    assert check(text, entry_points=["orphan"]) == []
    # Without an allow rule the application may query any rule: nothing is unreachable.
    assert check("f(x) if g(x);\ng(x) if x > 1;\n", disabled=["no-allow-rule"]) == []


def test_unknown_class_needs_classes():
    text = """\
        allow(actor: User, _action, resource) if resource matches Strin and new Widget(actor) = resource;
        f(x: Strin, y: Strin) if x = y;
        """
    assert codes(check(text, entry_points=["f"])) == []
    diagnostics = check(text, classes=(User,), entry_points=["f"])
    assert [(d.line, d.column, d.code) for d in diagnostics] == [
        (1, 59, "unknown-specializer"), (1, 73, "unknown-class"), (2, 6, "unknown-class"), (2, 16, "unknown-class")]
    assert diagnostics[1].message == "class Widget is not registered: `new` fails"


def test_misspelled_builtin_is_reported_even_without_classes():
    diagnostics = check("f(x: string, y: string) if x = y;\nallow(_, _, _);", entry_points=["f"])
    assert [(d.column, d.code) for d in diagnostics] == [(6, "unknown-class"), (17, "unknown-class")]
    assert diagnostics[0].message.endswith("did you mean String?")


def test_suppression_comments_and_disabled_codes():
    text = GOOD + """\
    orphan(x) if x > 1;  # oso-check: ignore[unreachable-rule]
    # oso-check: ignore
    other(x) if x > 1;
    third(x) if x > 1;  # oso-check: ignore[contradiction]
    """
    assert [(d.line, d.code) for d in check(text)] == [(26, "unreachable-rule")]
    assert check(text, disabled=["unreachable-rule"]) == []


# Command line -------------------------------------------------------------------------------------

def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "oso_core", "check", *args], cwd=cwd, capture_output=True,
                          text=True, env={"PYTHONDONTWRITEBYTECODE": "1", "PATH": ""}, check=False)


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_cli_output_format_sorting_and_exit_status(tmp_path, capsys):
    write(tmp_path, "policies/b.polar", "allow(actor, _a, _r) if actor = y;\n")
    write(tmp_path, "policies/a.polar", "orphan(x) if x > 1;\nallow(_, _, _) if 1 = 2;\n")
    status = check_module.main([str(tmp_path / "policies")])
    out = capsys.readouterr()
    lines = out.out.splitlines()
    assert status == 1
    assert all(LINE.match(line) for line in lines), lines
    assert [(m["file"].rsplit("/", 1)[-1], m["line"], m["severity"], m["code"]) for m in map(LINE.match, lines)] == [
        ("a.polar", "1", "warning", "unreachable-rule"), ("a.polar", "2", "warning", "contradiction"),
        ("b.polar", "1", "error", "singleton-variable")]
    assert "1 error(s), 2 warning(s)" in out.err


def test_cli_exit_status_for_warnings_and_strict(tmp_path, capsys):
    write(tmp_path, "clean.polar", "allow(actor, _a, _r) if actor.ok;\n")
    write(tmp_path, "warn.polar", "allow(actor, _a, _r) if actor.ok;\norphan(x) if x > 1;\n")
    assert check_module.main([str(tmp_path / "clean.polar")]) == 0
    assert capsys.readouterr().out == ""
    assert check_module.main([str(tmp_path / "warn.polar")]) == 0
    assert check_module.main(["--strict", str(tmp_path / "warn.polar")]) == 1
    assert check_module.main(["--warnings-as-errors", str(tmp_path / "warn.polar")]) == 1
    assert check_module.main(["--strict", "--entry-point", "orphan,other", str(tmp_path / "warn.polar")]) == 0
    assert check_module.main(["--strict", "--disable", "unreachable-rule", str(tmp_path / "warn.polar")]) == 0


def test_cli_usage_errors(tmp_path, capsys):
    write(tmp_path, "notes.txt", "hello")
    assert check_module.main([str(tmp_path / "missing.polar")]) == 2
    assert check_module.main([str(tmp_path / "notes.txt")]) == 2
    assert check_module.main([str(tmp_path)]) == 2  # no policy files
    assert check_module.main(["--module", "no_such_module_here", str(tmp_path / "notes.txt")]) == 2
    err = capsys.readouterr().err
    assert "Could not find file" in err and ".polar extension" in err and "no policy files found" in err


def test_cli_json_format(tmp_path, capsys):
    write(tmp_path, "p.polar", "allow(actor, _a, _r) if actor = y;\n")
    assert check_module.main(["--format", "json", str(tmp_path / "p.polar")]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["errors"] == 1 and report["warnings"] == 0
    [entry] = report["diagnostics"]
    assert entry["code"] == "singleton-variable" and entry["line"] == 1 and entry["column"] == 33
    assert entry["severity"] == "error" and entry["file"].endswith("p.polar")
    assert "Singleton variable y" in entry["message"] and "\n" not in entry["message"]


def test_cli_module_option_registers_classes(tmp_path):
    write(tmp_path, "models.py", """\
        class User: pass
        class Admin(User): pass
        class Repo: pass
        """)
    write(tmp_path, "policy.polar", HIERARCHY)
    result = run_cli("policy.polar", cwd=tmp_path)
    assert result.returncode == 0 and "unverified-rule-type" in result.stdout
    result = run_cli("--module", "models", "policy.polar", cwd=tmp_path)
    assert (result.returncode, result.stdout) == (0, "")
    write(tmp_path, "policy.polar", HIERARCHY.replace("Admin", "Guest"))
    result = run_cli("-m", "models", "policy.polar", cwd=tmp_path)
    assert result.returncode == 1
    assert [LINE.match(line)["code"] for line in result.stdout.splitlines()] == ["rule-type", "unknown-specializer"]
