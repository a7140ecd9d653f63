"""Policy `test` blocks (Oso Cloud dialect): their evaluation, the `python -m oso_core test`
report and the pytest plugin.

The evaluation tests build `PolicyTestBlocks` by hand and run them against legacy-syntax
policies (`declare`d fact predicates, entities registered as constants), so they do not depend
on the cloud parser; the end-to-end tests at the bottom run real policy text.
"""

from __future__ import annotations

import glob
import textwrap
from pathlib import Path

import pytest

from oso_core.frontend.policy_test_ast import Assertion, FactLine, Fixture, PolicyTest, PolicyTestBlocks, SourceSpot
from oso_core.oso import Oso
from oso_core.tooling import policy_tests
from oso_core.tooling.policy_test_blocks import (
    MAX_SOLUTIONS,
    assertion_text,
    outcome_lines,
    polar_repr,
    run_test,
    facts_of_test,
    typed_variables,
)
from oso_core.tooling.policy_tests import discover, has_test_blocks, main
from oso_core.values import Value

pytest_plugins = ["pytester"]
INNER_OPTIONS = ("-p", "no:cacheprovider", "-p", "no:asyncio", "-p", "no:pytest-lsp")

ALICE, BOB = Value("User", "alice"), Value("User", "bob")
ANVIL, ACME = Value("Repo", "anvil"), Value("Org", "acme")

POLICY = """\
declare has_role(User, String, Repo);
declare has_role(User, String, Org);
declare has_relation(Repo, String, Org);
declare is_public(Repo);
declare flag(Boolean);
has_role(u: User, r: String, repo: Repo) if has_relation(repo, "parent", org) and has_role(u, r, org);
allow(u, "read", r: Repo) if has_role(u, "reader", r) or is_public(r);
allow(u, "write", r: Repo) if has_role(u, "writer", r);
allow(u, action, r: Repo) if has_role(u, "admin", r) and action in ["read", "write", "delete"];
allow(u, _action, r: Repo) if has_role(u, "owner", r);
pick(b) if flag(b);
pick(_b) if flag(true) and flag(false);
"""


def spot(line: int, column: int = 3) -> SourceSpot:
    return SourceSpot("policy.polar", line, column)


def fact(predicate: str, *args: object, line: int = 1) -> FactLine:
    return FactLine(predicate, tuple(args), spot(line))


def check(query: str, line: int, iff: str | None = None) -> Assertion:
    return Assertion("assert", query, iff, spot(line))


def refute(query: str, line: int) -> Assertion:
    return Assertion("assert_not", query, None, spot(line))


def make_oso(policy: str = POLICY) -> Oso:
    oso = Oso()
    for name, value in (("alice", ALICE), ("bob", BOB), ("anvil", ANVIL), ("acme", ACME)):
        oso.register_constant(value, name)
    oso.load_str(policy)
    return oso


@pytest.fixture(scope="module")
def oso() -> Oso:
    return make_oso()


def run_one(oso: Oso, *assertions: Assertion, facts: list[FactLine] = (), fixtures: list[str] = (),
            defined: dict[str, Fixture] | None = None) -> list[str | None]:
    """The failure of each assertion of one test (None: passed)."""
    test = PolicyTest("t", list(facts), list(fixtures), list(assertions), spot(1, 1))
    outcome = run_test(oso, test, PolicyTestBlocks([test], defined or {}))
    assert outcome.error is None, outcome.error
    return [a.failure for a in outcome.assertions]


# Facts: setup + fixtures, for one test only ---------------------------------------------------------

def test_facts_are_setup_then_fixtures_recursively_each_fixture_once():
    fixtures = {
        "org": Fixture("org", [fact("has_role", ALICE, "reader", ACME, line=2)], ["repo"], spot(1, 1)),
        "repo": Fixture("repo", [fact("has_relation", ANVIL, "parent", ACME, line=5)], [], spot(4, 1)),
        "both": Fixture("both", [], ["org", "repo"], spot(7, 1)),
    }
    test = PolicyTest("t", [fact("is_public", ANVIL, line=11)], ["both", "repo"], [], spot(10, 1))
    facts = [f.as_tuple() for f in facts_of_test(test, PolicyTestBlocks([test], fixtures))]
    assert facts == [("is_public", ANVIL), ("has_role", ALICE, "reader", ACME),
                     ("has_relation", ANVIL, "parent", ACME)]


def test_fixture_facts_make_assertions_pass(oso):
    fixtures = {"org": Fixture("org", [fact("has_role", ALICE, "reader", ACME)], ["repo"], spot(1, 1)),
                "repo": Fixture("repo", [fact("has_relation", ANVIL, "parent", ACME)], [], spot(4, 1))}
    assert run_one(oso, check('allow(alice, "read", anvil)', 5), fixtures=["org"], defined=fixtures) == [None]
    # Without the nested fixture, the role on the org does not reach the repo.
    assert run_one(oso, check('allow(alice, "read", anvil)', 5),
                   facts=[fact("has_role", ALICE, "reader", ACME)]) == ["expected a result, got none"]


def test_facts_hold_for_their_test_only(oso):
    with_fact = PolicyTest("one", [fact("is_public", ANVIL)], [], [check('allow(bob, "read", anvil)', 3)], spot(1))
    without = PolicyTest("two", [], [], [check('allow(bob, "read", anvil)', 6)], spot(5))
    blocks = PolicyTestBlocks([with_fact, without], {})
    assert run_test(oso, with_fact, blocks).passed
    failed = run_test(oso, without, blocks)
    assert not failed.passed
    assert failed.assertions[0].failure == "expected a result, got none"
    assert next(oso.query('allow(bob, "read", anvil)'), None) is None  # nothing was stored


@pytest.mark.parametrize(("fixtures", "named", "message"), [
    ({}, ["nope"], 'test "t" (policy.polar:1:1) names an unknown fixture \'nope\'; the policy defines no fixtures'),
    ({"a": Fixture("a", [], ["nope"], spot(3, 1))}, ["a"],
     "fixture a (policy.polar:3:1) names an unknown fixture 'nope'; the fixtures are: a"),
    ({"a": Fixture("a", [], ["b"], spot(3, 1)), "b": Fixture("b", [], ["a"], spot(6, 1))}, ["a"],
     "fixtures include each other in a cycle: a (policy.polar:3:1) -> b (policy.polar:6:1) -> a (policy.polar:3:1)"),
    ({"a": Fixture("a", [], ["a"], spot(3, 1))}, ["a"],
     "fixtures include each other in a cycle: a (policy.polar:3:1) -> a (policy.polar:3:1)"),
])
def test_unknown_fixtures_and_cycles_fail_the_test_naming_the_fixture(oso, fixtures, named, message):
    test = PolicyTest("t", [], named, [check('allow(alice, "read", anvil)', 2)], spot(1, 1))
    outcome = run_test(oso, test, PolicyTestBlocks([test], fixtures))
    assert not outcome.passed and outcome.assertions == []
    assert outcome.error == message
    assert outcome_lines(outcome) == [f'policy.polar:1:1: FAIL test "t": {message}']


@pytest.mark.parametrize(("facts", "message"), [
    ([fact("has_rol", ALICE, "reader", ANVIL, line=4)],
     'fact has_rol(User{"alice"}, "reader", Repo{"anvil"}) (policy.polar:4:3): the policy has no fact predicate '
     "has_rol; known: flag, has_relation, has_role, is_public"),
    ([fact("has_role", ALICE, "reader", BOB, line=4)],
     'fact has_role(User{"alice"}, "reader", User{"bob"}) (policy.polar:4:3) matches no signature of has_role: '
     "has_role(User, String, Repo); has_role(User, String, Org)"),
    ([fact("flag", 1, line=4)], "fact flag(1) (policy.polar:4:3) matches no signature of flag: flag(Boolean)"),
    ([fact("is_public", ANVIL, ANVIL, line=4)],
     'fact is_public(Repo{"anvil"}, Repo{"anvil"}) (policy.polar:4:3) matches no signature of is_public: '
     "is_public(Repo)"),
])
def test_a_fact_the_policy_cannot_see_fails_the_test(oso, facts, message):
    test = PolicyTest("t", facts, [], [check('allow(alice, "read", anvil)', 2)], spot(1, 1))
    outcome = run_test(oso, test, PolicyTestBlocks([test], {}))
    assert outcome.error == message and not outcome.passed


# assert / assert_not -------------------------------------------------------------------------------

def test_assert_and_assert_not(oso):
    facts = [fact("has_role", ALICE, "reader", ANVIL)]
    assert run_one(oso, check('allow(alice, "read", anvil)', 2), refute('allow(alice, "write", anvil)', 3),
                   check('allow(alice, "write", anvil)', 4), refute('allow(alice, "read", anvil)', 5),
                   refute('allow(alice, action, anvil) and action matches String', 6),
                   facts=facts) == [
        None, None, "expected a result, got none", "expected no result, got one",
        'expected no result, got one: action = "read"']


def test_a_query_that_raises_fails_its_assertion_and_the_others_still_run(oso):
    failures = run_one(oso, check('allow(alice, "read", anvil', 2), check("nope(1)", 3),
                       check('allow(alice, "read", anvil)', 4), facts=[fact("is_public", ANVIL)])
    assert failures[0].startswith("raised UnrecognizedEOF: hit the end of the file unexpectedly")
    assert failures[1].startswith("raised ")
    assert failures[2] is None


# iff ---------------------------------------------------------------------------------------------

ACTIONS = "allow(alice, action, anvil) and action matches String"


@pytest.mark.parametrize(("role", "condition", "failure"), [
    ("admin", 'action in ["read", "write", "delete"]', None),
    ("admin", 'action in ["delete", "write", "read", "read"]', None),
    ("admin", 'action in ["read", "write"]', 'allowed but not expected: ["delete"]'),
    ("reader", 'action in ["read", "write"]', 'expected but not allowed: ["write"]'),
    ("writer", 'action in ["read", "delete"]',
     'allowed but not expected: ["write"]; expected but not allowed: ["delete", "read"]'),
    ("reader", 'action in ["read", 1]', "expected but not allowed: [1]"),
    ("reader", 'action = "read" or action = "read"', None),
    ("reader", 'action != "write"',
     'the condition `action != "write"` cannot be enumerated: it does not bind action to values '
     "(write it like `action in [...]`)"),
    ("reader", 'other in ["read"]',
     'the condition `other in ["read"]` cannot be enumerated: it does not bind action to values '
     "(write it like `action in [...]`)"),
    ("owner", 'action in ["read"]', "allowed for every String value of action, but the condition can list only some"),
    ("nobody", "action in []", None),
    ("nobody", 'action in ["read"]', 'expected but not allowed: ["read"]'),
])
def test_iff_compares_the_solutions_of_query_and_condition(oso, role, condition, failure):
    facts = [fact("has_role", ALICE, role, ANVIL)] if role != "nobody" else []
    assert run_one(oso, check(ACTIONS, 2, condition), facts=facts) == [failure]


def test_iff_over_several_typed_variables_and_booleans(oso):
    facts = [fact("has_role", ALICE, "reader", ANVIL), fact("has_role", BOB, "writer", ANVIL)]
    both = "allow(user, action, anvil) and user matches User and action matches String"
    assert run_one(oso, check(both, 2, '[user, action] in [[alice, "read"], [bob, "write"]]'),
                   check(both, 3, '[user, action] in [[alice, "read"]]'), facts=facts) == [
        None, 'allowed but not expected: [{user: User{"bob"}, action: "write"}]']
    # A Boolean variable the query leaves unbound stands for both values.
    assert run_one(oso, check("pick(b) and b matches Boolean", 2, "b in [true, false]"),
                   check("pick(b) and b matches Boolean", 3, "b in [true]"),
                   facts=[fact("flag", True), fact("flag", False)]) == [None, "allowed but not expected: [false]"]


def test_iff_needs_a_typed_variable_and_goes_with_assert_only(oso):
    assert run_one(oso, check('allow(alice, "read", anvil)', 2, 'x in ["read"]'),
                   Assertion("assert_not", ACTIONS, 'action in ["read"]', spot(3))) == [
        "`iff` needs a typed variable in the query, such as `action: String`",
        "`iff` goes with `assert`, not `assert_not`"]


def test_a_runaway_enumeration_is_an_error_not_a_hang():
    oso = make_oso("declare n(Integer);\nallow(_, _, _) if n(1);\n")
    many = [fact("n", i) for i in range(MAX_SOLUTIONS + 1)]
    assert run_one(oso, check("n(x) and x matches Integer", 2, "x in [0]"), facts=many) == [
        f"the query has more than {MAX_SOLUTIONS} solutions"]
    assert run_one(oso, check("n(x) and x matches Integer", 2, "n(x)"), facts=many) == [
        f"the query has more than {MAX_SOLUTIONS} solutions"]


# Typed variables and display ---------------------------------------------------------------------

@pytest.mark.parametrize(("query", "expected"), [
    ('allow(User{"alice"}, action: String, Repo{"anvil"})', [("action", "String")]),
    ("f(a: User, b: Integer) and g(a: User)", [("a", "User"), ("b", "Integer")]),
    ("x matches Integer and f(x)", [("x", "Integer")]),
    ("f(_x: String, _: User)", []),
    ("x.m(k: Foo) and new Bar(k: Baz) = y", []),  # keyword arguments
    ('f({a: B}) and f([c])', []),  # a dictionary
    ("f(g(h: String))", [("h", "String")]),
    ("t > @current_unix_time and f(x: String)", [("x", "String")]),  # a constant of the cloud dialect
    ("f(x: String) and $y(z: String)", [("x", "String")]),  # scanning stops at a lexical error
])
def test_typed_variables(query, expected):
    assert typed_variables(query) == expected


def test_polar_repr_and_assertion_text():
    assert [polar_repr(v) for v in ("a\"b", 1, True, ANVIL, ["x", False])] == [
        '"a\\"b"', "1", "true", 'Repo{"anvil"}', '["x", false]']
    assert assertion_text(Assertion("assert", "allow(a,\n    b, c)", "b in\n  [1]", spot(1))) == \
        "assert allow(a, b, c) iff b in [1]"


# The report ----------------------------------------------------------------------------------------

def test_report_lines_quiet_and_verbose(oso):
    test = PolicyTest('members "read"', [fact("has_role", ALICE, "reader", ANVIL)], [],
                      [check('allow(alice, "read", anvil)', 3), check('allow(alice, "write", anvil)', 4),
                       check(ACTIONS, 5, 'action in ["read"]')], spot(1, 1))
    outcome = run_test(oso, test, PolicyTestBlocks([test], {}))
    title = 'test "members \\"read\\""'
    failure = f'policy.polar:4:3: FAIL {title}: assert allow(alice, "write", anvil): expected a result, got none'
    assert outcome_lines(outcome) == [failure]
    assert outcome_lines(outcome, verbose=True) == [
        f"policy.polar:1:1: FAIL {title}",
        f'policy.polar:3:3: PASS {title}: assert allow(alice, "read", anvil)',
        failure,
        f'policy.polar:5:3: PASS {title}: assert {ACTIONS} iff action in ["read"]',
    ]


def fake_loader(monkeypatch, blocks_by_file: dict[str, PolicyTestBlocks]) -> list[list[Path]]:
    """Make `load_policy` give a legacy policy and hand-built blocks; returns the loads seen."""
    loads: list[list[Path]] = []

    def load(paths):
        loads.append(list(paths))
        return make_oso(), blocks_by_file[Path(paths[0]).name]

    monkeypatch.setattr(policy_tests, "load_policy", load)
    return loads


def two_tests(filename: str) -> PolicyTestBlocks:
    where = lambda line, col=3: SourceSpot(filename, line, col)  # noqa: E731
    return PolicyTestBlocks([
        PolicyTest("passes", [fact("is_public", ANVIL)], [], [Assertion("assert", 'allow(bob, "read", anvil)', None,
                                                                        where(2))], where(1, 1)),
        PolicyTest("fails", [], [], [Assertion("assert", 'allow(bob, "read", anvil)', None, where(5)),
                                     Assertion("assert_not", 'allow(bob, "write", anvil)', None, where(6))],
                   where(4, 1)),
    ], {})


def test_the_command_runs_test_blocks(tmp_path, monkeypatch, capsys):
    policy = tmp_path / "policy.polar"
    policy.write_text('test "passes" {}\n')
    fake_loader(monkeypatch, {"policy.polar": two_tests(str(policy))})
    assert main([str(policy)]) == 1
    assert capsys.readouterr().out.splitlines() == [
        f'{policy}:5:3: FAIL test "fails": assert allow(bob, "read", anvil): expected a result, got none',
        "1 passed, 1 failed"]
    assert main(["-v", str(policy)]) == 1
    assert capsys.readouterr().out.splitlines() == [
        f'{policy}:1:1: PASS test "passes"',
        f'{policy}:2:3: PASS test "passes": assert allow(bob, "read", anvil)',
        f'{policy}:4:1: FAIL test "fails"',
        f'{policy}:5:3: FAIL test "fails": assert allow(bob, "read", anvil): expected a result, got none',
        f'{policy}:6:3: PASS test "fails": assert_not allow(bob, "write", anvil)',
        "1 passed, 1 failed"]


def test_named_polar_files_are_one_policy_found_ones_each_their_own(tmp_path, monkeypatch, capsys):
    (tmp_path / "rules.polar").write_text("allow(_, _, _);\n")
    (tmp_path / "tests.polar").write_text('test fixture f {}\n')
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "other.polar").write_text('  test "x" {}\n')
    (tmp_path / "sub" / "plain.polar").write_text("allow(_, _, _);\n")
    loads = fake_loader(monkeypatch, {"rules.polar": PolicyTestBlocks(), "other.polar": PolicyTestBlocks()})
    assert main([str(tmp_path / "rules.polar"), str(tmp_path / "tests.polar"), str(tmp_path / "sub"),
                 str(tmp_path / "rules.polar")]) == 0  # a file named twice is loaded once
    assert loads == [[tmp_path / "rules.polar", tmp_path / "tests.polar"], [tmp_path / "sub" / "other.polar"]]
    assert capsys.readouterr().out.splitlines() == ["0 passed, 0 failed"]
    # Named .polar files without any test block: a usage error, nothing loaded.
    assert main([str(tmp_path / "rules.polar")]) == 2
    assert "no test blocks in" in capsys.readouterr().err
    assert len(loads) == 2


def test_yaml_files_and_test_blocks_in_one_run(tmp_path, monkeypatch, capsys):
    shutil_example = Path(__file__).resolve().parent / "policy_tests"
    policy = tmp_path / "policy.polar"
    policy.write_text('test "passes" {}\n')
    fake_loader(monkeypatch, {"policy.polar": two_tests(str(policy))})
    assert main([str(shutil_example), str(policy)]) == 1
    assert capsys.readouterr().out.splitlines()[-1] == "15 passed, 1 failed"


def test_a_policy_that_does_not_load_is_one_failure(tmp_path, capsys):
    policy = tmp_path / "broken.polar"
    policy.write_text('actor User {}\ntest "t" { setup { fixture nope; } assert allow(User{"a"}, "r", User{"b"}); }\n')
    assert main([str(policy)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"{policy}:2:1: ERROR the policy does not load: ValidationError: ")
    assert "fixture `nope`" in lines[0]
    assert lines[-1] == "0 passed, 1 failed"


# Finding files with test blocks --------------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ('test "name" {\n}\n', True),
    ('allow(_, _, _);\n\n    test fixture repos {\n}\n', True),
    ("test\tfixture f {}", True),
    ("allow(_, _, _);\n", False),
    ('# test "commented out"\n', False),
    ('test("x") if true;\n', False),  # a legacy rule named test
    ('testing "x"\n', False),
    ("test fixtures_are_not_this\n", False),
])
def test_the_cheap_check(tmp_path, text, expected):
    path = tmp_path / "p.polar"
    path.write_text(text)
    assert has_test_blocks(path) is expected
    other = tmp_path / "p.txt"
    other.write_text(text)
    assert has_test_blocks(other) is False  # only .polar files


def test_discover_finds_polar_files_with_test_blocks(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "with.polar").write_text('test "t" {}\n')
    (tmp_path / "a" / "without.polar").write_text("allow(_, _, _);\n")
    (tmp_path / "a" / "t.polar-test.yaml").write_text("x: 1\n")
    assert [p.relative_to(tmp_path).as_posix() for p in discover([str(tmp_path)])] == [
        "a/t.polar-test.yaml", "a/with.polar"]


# The pytest plugin ----------------------------------------------------------------------------------

def test_ordinary_polar_files_are_not_collected_or_parsed(pytester):
    # A loader that fails loudly: collecting (or parsing) any of these files would show.
    pytester.makeconftest(textwrap.dedent("""\
        from oso_core.tooling import policy_tests

        def fail(paths):
            raise AssertionError(f"loaded {paths}")

        policy_tests.load_policy = fail
        """))
    pytester.makefile(".polar", plain="allow(_, _, _);\n", legacy_test='test("x") if true;\n',
                      comment='# test "not a test"\nallow(_, _, _);\n', broken="allow(;\n")
    pytester.makepyfile(test_plain="def test_ok():\n    assert True\n")
    result = pytester.runpytest_subprocess("-v", *INNER_OPTIONS)
    result.assert_outcomes(passed=1)
    result.stdout.no_fnmatch_line("*.polar*")


FAKE_LOADER_CONFTEST = """\
from pathlib import Path

from oso_core.frontend.policy_test_ast import Assertion, FactLine, PolicyTest, PolicyTestBlocks, SourceSpot
from oso_core.oso import Oso
from oso_core.tooling import policy_tests
from oso_core.values import Value

POLICY = 'declare is_public(Repo);\\nallow(_, "read", r: Repo) if is_public(r);\\n'


def load(paths):
    # Legacy text and hand-built blocks stand in for a cloud policy (tests of the plugin only).
    name = str(paths[0])
    if Path(name).name == "broken.polar":
        raise ValueError("cannot load broken.polar")
    oso = Oso()
    oso.register_constant(Value("Repo", "anvil"), "anvil")
    oso.load_str(POLICY)
    at = lambda line: SourceSpot(name, line, 3)
    public = [FactLine("is_public", (Value("Repo", "anvil"),), at(2))]
    return oso, PolicyTestBlocks([
        PolicyTest("public", public, [], [Assertion("assert", 'allow(1, "read", anvil)', None, at(3))], at(1)),
        PolicyTest("private", [], [], [Assertion("assert", 'allow(1, "read", anvil)', None, at(6))], at(5)),
        PolicyTest("public", public, [], [], at(8)),
    ], {})


policy_tests.load_policy = load
"""


def test_plugin_collects_one_item_per_test_block(pytester):
    pytester.makeconftest(FAKE_LOADER_CONFTEST)
    pytester.makefile(".polar", repo='test "public" {}\n', broken='test "x" {}\n', plain="allow(_, _, _);\n")
    pytester.makepyfile(test_plain="def test_ok():\n    assert True\n")
    result = pytester.runpytest_subprocess("-v", "--continue-on-collection-errors", *INNER_OPTIONS)
    result.assert_outcomes(passed=3, failed=1, errors=1)
    result.stdout.fnmatch_lines_random([
        "*repo.polar::test[[]public[]] PASSED*",
        "*repo.polar::test[[]public #2[]] PASSED*",
        "*repo.polar::test[[]private[]] FAILED*",
        '*repo.polar:6:3: FAIL test "private": assert allow(1, "read", anvil): expected a result, got none',
        "*broken.polar: ERROR the policy does not load: ValueError: cannot load broken.polar*",
    ])
    result.stdout.no_fnmatch_line("*Traceback*")
    result.stdout.no_fnmatch_line("*plain.polar*")


# End to end: policy text in the cloud dialect ------------------------------------------------------

CLOUD_POLICY = """\
actor User {}
resource Org { roles = ["member"]; }
resource Repo {
  roles = ["reader", "maintainer"];
  permissions = ["read", "push", "delete"];
  relations = { parent: Org };
  "read" if "reader";
  "push" if "maintainer";
  "reader" if "maintainer";
  "reader" if "member" on "parent";
}

test fixture acme { has_relation(Repo{"anvil"}, "parent", Org{"acme"}); }
test fixture people {
  fixture acme;
  has_role(User{"alice"}, "maintainer", Repo{"anvil"});
  has_role(User{"bob"}, "member", Org{"acme"});
}

test "repo permissions" {
  setup { fixture people; }
  assert allow(User{"alice"}, "push", Repo{"anvil"});
  assert allow(User{"bob"}, "read", Repo{"anvil"});
  assert_not allow(User{"bob"}, "push", Repo{"anvil"});
  assert allow(User{"alice"}, action: String, Repo{"anvil"}) iff action in ["read", "push"];
  assert has_permission(User{"bob"}, action: String, Repo{"anvil"}) iff action = "read";
}

test "facts are per test" {
  assert_not allow(User{"bob"}, "read", Repo{"anvil"});
}

test "wrong expectations" {
  setup {
    fixture acme;
    has_role(User{"bob"}, "member", Org{"acme"});
  }
  assert allow(User{"bob"}, "push", Repo{"anvil"});
  assert_not allow(User{"bob"}, action: String, Repo{"anvil"});
  assert allow(User{"bob"}, action: String, Repo{"anvil"}) iff action in ["push", "delete"];
  assert allow(User{"bob"}, action: String, Repo{"anvil"}) iff action != "push";
  assert allow(User{"bob"}, "read", Repo{"anvil"});
}
"""
WRONG = [
    ':38:3: FAIL test "wrong expectations": assert allow(User{"bob"}, "push", Repo{"anvil"}): expected a result, got none',
    ':39:3: FAIL test "wrong expectations": assert_not allow(User{"bob"}, action: String, Repo{"anvil"}): '
    'expected no result, got one: action = "read"',
    ':40:3: FAIL test "wrong expectations": assert allow(User{"bob"}, action: String, Repo{"anvil"}) iff action in '
    '["push", "delete"]: allowed but not expected: ["read"]; expected but not allowed: ["delete", "push"]',
    ':41:3: FAIL test "wrong expectations": assert allow(User{"bob"}, action: String, Repo{"anvil"}) iff action != '
    '"push": the condition `action != "push"` cannot be enumerated: it does not bind action to values '
    "(write it like `action in [...]`)",
]


def test_end_to_end_on_cloud_policy_text(tmp_path, capsys):
    policy = tmp_path / "repo.polar"
    policy.write_text(CLOUD_POLICY)
    assert main([str(policy)]) == 1
    assert capsys.readouterr().out.splitlines() == [f"{policy}{line}" for line in WRONG] + ["2 passed, 1 failed"]
    assert main(["-v", str(policy)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[:2] == [f'{policy}:20:1: PASS test "repo permissions"',
                         f'{policy}:22:3: PASS test "repo permissions": assert allow(User{{"alice"}}, "push", '
                         'Repo{"anvil"})']
    assert f'{policy}:33:1: FAIL test "wrong expectations"' in lines
    assert f'{policy}:42:3: PASS test "wrong expectations": assert allow(User{{"bob"}}, "read", Repo{{"anvil"}})' in lines
    assert len(lines) == (1 + 5) + (1 + 1) + (1 + 5) + 1  # a line per test and per assertion, the summary


def test_end_to_end_with_rules_and_tests_in_separate_files(tmp_path, capsys):
    rules, tests = CLOUD_POLICY.split("test fixture acme", 1)
    (tmp_path / "rules.polar").write_text(rules)
    (tmp_path / "tests.polar").write_text("test fixture acme" + tests)
    assert main([str(tmp_path / "tests.polar"), str(tmp_path / "rules.polar")]) == 1
    assert capsys.readouterr().out.splitlines()[-1] == "2 passed, 1 failed"
    # Found in a directory, tests.polar is a policy on its own, which does not load.
    assert main([str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert f"{tmp_path / 'tests.polar'}:" in out and "ERROR the policy does not load" in out


def test_end_to_end_pytest_plugin(pytester):
    pytester.makefile(".polar", repo=CLOUD_POLICY, plain="actor User {}\nresource Repo {}\n",
                      broken='actor User {}\ntest "t" { setup { fixture nope; } }\n')
    result = pytester.runpytest_subprocess("-v", "--continue-on-collection-errors", *INNER_OPTIONS)
    result.assert_outcomes(passed=2, failed=1, errors=1)
    result.stdout.fnmatch_lines_random([
        "*repo.polar::test[[]repo permissions[]] PASSED*",
        "*repo.polar::test[[]facts are per test[]] PASSED*",
        "*repo.polar::test[[]wrong expectations[]] FAILED*",
        *[f"*repo.polar{glob.escape(line)}" for line in WRONG],
        "*broken.polar:2:1: ERROR the policy does not load: ValidationError: *",
    ])
    result.stdout.no_fnmatch_line("*Traceback*")
    result.stdout.no_fnmatch_line("*plain.polar*")


def test_end_to_end_iff_over_entities_and_unbounded_queries(tmp_path):
    policy = tmp_path / "ent.polar"
    policy.write_text(textwrap.dedent("""\
        actor User {}
        resource Repo {
          roles = ["reader"];
          permissions = ["read"];
          "read" if "reader";
          "read" if is_public(resource);
        }
        test "entities" {
          setup {
            has_role(User{"alice"}, "reader", Repo{"a"});
            is_public(Repo{"p"});
          }
          assert allow(User{"alice"}, "read", repo: Repo) iff repo in [Repo{"a"}, Repo{"p"}];
          assert allow(User{"bob"}, "read", repo: Repo) iff repo in [Repo{"p"}, Repo{"a"}];
          assert allow(user: User, action: String, Repo{"a"}) iff [user, action] in [[User{"alice"}, "read"]];
          assert allow(user: User, "read", Repo{"p"}) iff user in [User{"alice"}];
        }
        """))
    oso, blocks = policy_tests.load_policy([policy])
    outcome = run_test(oso, blocks.tests[0], blocks)
    assert [a.failure for a in outcome.assertions] == [
        None, 'expected but not allowed: [Repo{"a"}]', None,
        "allowed for every User value of user, but the condition can list only some"]
