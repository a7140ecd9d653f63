"""Policy test files (`*.polar-test.yaml`): the `python -m oso_core test` runner and the pytest plugin."""

from __future__ import annotations

import shutil
import sys
import textwrap
from pathlib import Path

import pytest

from oso_core.tooling import policy_tests
from oso_core.tooling.policy_tests import PolicyTestSuite, discover, main

pytest_plugins = ["pytester"]

EXAMPLE_DIR = Path(__file__).resolve().parent / "policy_tests"
EXAMPLE_POLICY = EXAMPLE_DIR / "github.polar"
EXAMPLE_TESTS = EXAMPLE_DIR / "github.polar-test.yaml"
EXAMPLE_CASES = 14
# Inner pytest runs: no cache files, and no unrelated plugin warnings (pytest-asyncio, if installed)
# or failures (pytest-lsp's plugin breaks non-function items; pyproject.toml leaves it out too).
INNER_OPTIONS = ("-p", "no:cacheprovider", "-p", "no:asyncio", "-p", "no:pytest-lsp")


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def with_example_policy(directory: Path) -> None:
    shutil.copy(EXAMPLE_POLICY, directory / "github.polar")


# A test file written against the example policy; the line numbers below refer to it.
HEADER = textwrap.dedent("""\
    policy: github.polar
    classes:
      User: [name, roles]
      Organization: [name]
      Repository: {name: null, organization: null, is_public: false}
      Role: [name, resource]
    objects:
      acme: {class: Organization, name: acme}
      anvil: {class: Repository, name: anvil, organization: $acme}
      alice: {class: User, name: alice, roles: [{class: Role, name: owner, resource: $acme}]}
      dave: {class: User, name: dave, roles: []}
    """)  # 11 lines


# The runner ---------------------------------------------------------------------------------------

def test_example_file_passes(capsys):
    assert main([str(EXAMPLE_DIR)]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == f"{EXAMPLE_CASES} passed, 0 failed"


def test_verbose_lists_passing_cases_with_their_lines(capsys):
    assert main(["-v", str(EXAMPLE_TESTS)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"{EXAMPLE_TESTS}:22: PASS allow(alice, delete, anvil)"
    assert len(lines) == EXAMPLE_CASES + 1


def test_failures_are_reported_with_file_and_line(tmp_path, capsys):
    with_example_policy(tmp_path)
    path = write(tmp_path, "t.polar-test.yaml", HEADER + textwrap.dedent("""\
    allow:
      - [alice, delete, anvil]
      - [dave, delete, anvil]
    deny:
      - [alice, add_member, acme]
    queries:
      - query: has_role(alice, "member", acme)
        holds: false
      - rule: has_role
        args: [alice, owner, acme]
        count: 2
      - query: x = 1 or x = 2
        results: [{x: 2}, {x: 1}]
      - query: dave.missing_attribute
    """))
    assert main([str(path)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[:5] == [
        f"{path}:14: FAIL expected allow(dave, delete, anvil) to be allowed, but it is denied",
        f"{path}:16: FAIL expected deny(alice, add_member, acme) to be denied, but it is allowed",
        f'{path}:18: FAIL query has_role(alice, "member", acme): expected no result, got 1 result(s)',
        f"{path}:20: FAIL rule call has_role(alice, owner, acme): expected 2 result(s), got 1",
        f"{path}:23: FAIL query x = 1 or x = 2: expected results [{{'x': 2}}, {{'x': 1}}], got [{{'x': 1}}, {{'x': 2}}]",
    ]
    # An error is reported with the engine's whole message (its trace spans several lines).
    assert lines[5].startswith(f"{path}:25: FAIL query(dave.missing_attribute) raised PolarRuntimeError: ")
    assert "has no attribute 'missing_attribute'" in "\n".join(lines[5:])
    assert lines[-1] == "1 passed, 6 failed"


@pytest.mark.parametrize(("body", "line", "message"), [
    ("policy: github.polar\nalow:\n  - [a, b, c]\n", 2, "unknown key 'alow'"),
    ("allow:\n  - [a, b, c]\n", 1, "`policy` (a file) or `policies` (a list of files) is required"),
    ("policy: github.polar\nallow:\n  - [a, b, c]\n  - [a, b]\n", 4, "each `allow` case is a list"),
    ("policy: github.polar\nqueries:\n  - query: x\n    rule: y\n", 3, "either `query` (Polar text) or `rule`"),
    ("policy: github.polar\nqueries:\n  - query: x\n    hold: true\n", 4, "unknown key 'hold' in a query case"),
    ("policy: github.polar\nallow: [[a, b, c]\n", 3, "invalid YAML"),
    ("policy: github.polar\nobjects:\n  a: {class: Nope}\nallow:\n  - [a, b, a]\n", 3, "unknown class 'Nope'"),
    ("policy: github.polar\nobjects:\n  a: {x: $b}\nallow:\n  - [a, b, a]\n", 3, "unknown object 'b'"),
    ("policy: github.polar\nclasses:\n  Org: [name]\nobjects:\n  a: {class: Org, name: $a}\nallow:\n  - [a, b, a]\n",
     5, "objects refer to each other in a cycle: a -> a"),
    ("policy: github.polar\nclasses:\n  A: {extends: B}\nallow:\n  - [a, b, a]\n", 3, "extends unknown class 'B'"),
    ("policy: github.polar\nclasses:\n  A: [x]\nobjects:\n  a: {class: A, y: 1}\nallow:\n  - [a, b, a]\n", 5,
     "A has no field 'y'"),
    ("policy: missing.polar\nallow:\n  - [a, b, c]\n", 1, "policy file not found"),
    ("policy: github.polar\nmodule: no_such_module_xyz\nallow:\n  - [a, b, c]\n", 2,
     "cannot use module no_such_module_xyz"),
])
def test_malformed_files_are_reported_with_their_line(tmp_path, capsys, body, line, message):
    with_example_policy(tmp_path)
    path = write(tmp_path, "bad.polar-test.yaml", body)
    assert main([str(path)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"{path}:{line}: ERROR "), out
    assert message in out[0]
    assert out[-1].endswith("failed") and not out[-1].endswith(" 0 failed")


def test_a_policy_that_does_not_load_fails_every_case_once_reported(tmp_path, capsys):
    write(tmp_path, "broken.polar", "allow(actor, _a, _r) if actor = y;\n")
    path = write(tmp_path, "t.polar-test.yaml", """\
        # comment
        policy: broken.polar
        allow:
          - [a, b, c]
        deny:
          - [a, b, c]
        """)
    assert main([str(path)]) == 1
    lines = capsys.readouterr().out.splitlines()
    # The load error is reported once (with the loader's excerpt of the policy), at the `policy` key.
    assert lines[0].startswith(f"{path}:2: ERROR the policy does not load: ValidationError: Singleton variable y")
    assert [line for line in lines if "ERROR" in line] == [lines[0]]
    assert lines[-1] == "0 passed, 2 failed"


def test_module_classes_constants_and_inline_subclasses(tmp_path, capsys):
    write(tmp_path, "models.py", """\
        from dataclasses import dataclass

        @dataclass
        class Account:
            name: str
            admin: bool = False
        """)
    write(tmp_path, "p.polar", """\
        allow(account: Account, "read", doc: Doc) if doc.owner = account or account.admin;
        allow(_: Auditor, "read", doc: Doc) if doc.level <= MAX_LEVEL;
        """)
    path = write(tmp_path, "p.polar-test.yaml", """\
        policy: p.polar
        module: models            # Account is registered from the module
        classes:
          Doc: [owner, level]
          Person: [name]
          Auditor: {extends: Person, fields: {clearance: 1}}
        constants:
          MAX_LEVEL: 2
        objects:
          ann: {class: Account, name: ann}
          root: {class: Account, name: root, admin: true}
          audrey: {class: Auditor, name: audrey}
          doc: {class: Doc, owner: $ann, level: 3}
          memo: {class: Doc, owner: $root, level: 1}
        allow:
          - [ann, read, doc]
          - [root, read, doc]
          - [audrey, read, memo]
        deny:
          - [ann, read, memo]
          - [audrey, read, doc]
          - [ann, write, doc]
        queries:
          - query: audrey.clearance = 1 and audrey matches Person
          - query: x = "$literal"
            results: [{x: "$$literal"}]   # `$$` is a literal `$`
        """)
    assert main([str(path)]) == 0, capsys.readouterr().out
    assert capsys.readouterr().out.splitlines()[-1] == "8 passed, 0 failed"


def test_bare_words_name_objects_only_in_case_arguments():
    suite = PolicyTestSuite(EXAMPLE_TESTS)
    suite.setup()
    alice = suite._objects["alice"]
    assert suite._value(["alice", "$alice", "read", "$$alice"], ("allow", 0), True) == [alice, alice, "read",
                                                                                         "$alice"]
    assert suite._value({"name": "alice"}, ("objects",), False) == {"name": "alice"}


def test_missing_pyyaml_is_a_clear_error(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "yaml", None)
    with pytest.raises(ImportError, match="install PyYAML"):
        PolicyTestSuite(EXAMPLE_TESTS)
    assert main([str(EXAMPLE_TESTS)]) == 2
    assert "install PyYAML" in capsys.readouterr().err


def test_discovery_and_usage_errors(tmp_path, capsys):
    write(tmp_path, "a/one.polar-test.yaml", "x: 1")
    write(tmp_path, "a/b/two.polar-test.yml", "x: 1")
    write(tmp_path, ".venv/three.polar-test.yaml", "x: 1")
    write(tmp_path, "node_modules/four.polar-test.yaml", "x: 1")
    write(tmp_path, "a/other.yaml", "x: 1")
    assert [p.relative_to(tmp_path).as_posix() for p in discover([str(tmp_path)])] == [
        "a/one.polar-test.yaml", "a/b/two.polar-test.yml"]
    assert main([str(tmp_path / "nope")]) == 2
    write(tmp_path, "empty/readme.txt", "")
    assert main([str(tmp_path / "empty")]) == 2
    err = capsys.readouterr().err
    assert "no such file or directory" in err and "no policy test files" in err


def test_dispatcher_runs_the_test_command(capsys):
    from oso_core.__main__ import main as dispatch

    assert dispatch(["test", str(EXAMPLE_TESTS)]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == f"{EXAMPLE_CASES} passed, 0 failed"


# The pytest plugin -----------------------------------------------------------------------------------

def test_plugin_is_registered_in_this_session(request):
    # Registered by the pytest11 entry point, which is how this suite collects tests/policy_tests.
    assert request.config.pluginmanager.has_plugin("oso_core")


def test_plugin_in_a_pytest_run(pytester):
    """One pytest run (a subprocess: the plugin comes in through its entry point, as in a user's
    project) over a directory with a passing file, a failing file, a malformed file, a plain test
    module and unrelated YAML/Polar files."""
    with_example_policy(pytester.path)
    shutil.copy(EXAMPLE_TESTS, pytester.path / EXAMPLE_TESTS.name)
    pytester.makefile(".polar-test.yaml", failing=HEADER + textwrap.dedent("""\
        allow:
          - [alice, delete, anvil]
          - [dave, delete, anvil]
        """))
    pytester.makefile(".polar-test.yaml", malformed="policy: p.polar\nalow: []\n")
    pytester.makepyfile(test_plain="def test_ok():\n    assert True\n")
    pytester.makefile(".yaml", config="a: 1\n")
    pytester.makefile(".polar", other="allow(_, _, _);\n")

    result = pytester.runpytest_subprocess("-v", "--continue-on-collection-errors", *INNER_OPTIONS)
    # One item per case; the plain test still runs; nothing else is collected.
    result.assert_outcomes(passed=EXAMPLE_CASES + 1 + 1, failed=1, errors=1)
    result.stdout.fnmatch_lines_random([
        "*github.polar-test.yaml::allow[[]alice, delete, anvil[]] PASSED*",
        "*test_plain.py::test_ok PASSED*",
        # a failure names the file and line of the case, without a traceback
        "*failing.polar-test.yaml:14: expected allow(dave, delete, anvil) to be allowed, but it is denied",
        # a malformed file is a collection error naming the line
        "*malformed.polar-test.yaml:2: unknown key 'alow'*",
    ])
    result.stdout.no_fnmatch_line("*Traceback*")


def test_plugin_module_imports_nothing_heavy():
    # The plugin module is imported in every pytest session of a project that has oso-core
    # installed: it must not pull in PyYAML or the policy-test machinery by itself.
    source = Path(policy_tests.__file__).with_name("pytest_plugin.py").read_text(encoding="utf-8")
    top_level_imports = [line for line in source.splitlines() if line.startswith(("import ", "from "))]
    assert "yaml" not in "\n".join(top_level_imports)
    assert top_level_imports[-1] == "from .policy_tests import TEST_FILE_SUFFIXES, has_test_blocks"
