"""The Oso Cloud dialect of Polar (docs/cloud-dialect.md): switch and detection, entity
literals, typed variables, blocks over facts, inferred signatures, default allow, test blocks,
`@current_unix_time`, `extends`, and the load-time checks."""

from __future__ import annotations

import time

import pytest

from oso_core import exceptions
from oso_core.frontend.dialect import detect_dialect
from oso_core.frontend.policy_test_ast import Assertion, FactLine, PolicyTestBlocks, SourceSpot
from oso_core.frontend.source import Source
from oso_core.polar import Polar
from oso_core.runtime.memory_facts import MemoryFacts
from oso_core.values import Value

U = lambda i: Value("User", i)  # noqa: E731
ORG = lambda i: Value("Org", i)  # noqa: E731
REPO = lambda i: Value("Repo", i)  # noqa: E731

POLICY = '''
actor User {}
resource Org {
  roles = ["member", "admin"];
  permissions = ["read", "invite"];
  "read" if "member";
  "member" if "admin";
  "invite" if global "root";
}
resource Repo {
  roles = ["viewer"];
  permissions = ["read", "update", "delete"];
  relations = {parent: Org, creator: User};
  "read" if "viewer" or "member" on "parent" or is_public(resource);
  "update" if "creator";
  "delete" if "admin" on "parent" and not is_locked(resource);
}
global { roles = ["root"]; }
'''

FACTS = [
    ("has_role", U("alice"), "member", ORG("acme")),
    ("has_role", U("boss"), "admin", ORG("acme")),
    ("has_relation", REPO("anvil"), "parent", ORG("acme")),
    ("has_relation", REPO("anvil"), "creator", U("carol")),
    ("has_relation", REPO("locked"), "parent", ORG("acme")),
    ("is_locked", REPO("locked")),
    ("is_public", REPO("pub")),
    ("has_role", U("root"), "root"),
]


def cloud(src: str = POLICY, facts=FACTS, dialect="cloud") -> Polar:
    p = Polar()
    p.load_str(src, dialect=dialect)
    if facts is not None:
        p.attach_facts(MemoryFacts(facts))
    return p


def holds(p: Polar, q: str) -> bool:
    return next(p.query(q), None) is not None


# 1. Switch, detection, entity literals, typed variables ------------------------------------------

def test_detected_and_explicit_dialects():
    assert cloud(dialect=None).dialect() == "cloud"
    assert cloud(dialect="cloud").dialect() == "cloud"
    p = Polar()
    p.load_str("allow(_, _, _);")
    assert p.dialect() == "legacy"


@pytest.mark.parametrize("text, dialect", [
    ('f(x) if x = User{"a"};', "cloud"),
    ("f(x) if x = Integer{1};", "cloud"),
    ("f(x) if x < @current_unix_time;", "cloud"),
    ('test "t" { assert f(1); }', "cloud"),
    ("test fixture base { f(1); }", "cloud"),
    ("global { roles = []; }", "cloud"),
    ("resource File extends Node {}", "cloud"),
    ('f(x) if x = {a: "b"}; # User{"a"}', "legacy"),   # comments do not count
    ('f(x) if x = "User{\\"a\\"}";', "legacy"),          # nor strings
    ("actor User {} resource Org {}", "legacy"),        # no cloud-only token: legacy error stays
    ("f(x) if x = @;", "legacy"),
])
def test_detection_rule(text, dialect):
    assert detect_dialect([Source(text)]) == dialect


def test_invalid_dialect_is_a_value_error_naming_the_field():
    with pytest.raises(ValueError, match="dialect"):
        Polar().load_str("f(1);", dialect="oso")
    with pytest.raises(ValueError, match="dialect"):
        Polar().load_files(["x.polar"], dialect="Cloud")


def test_legacy_error_unchanged_for_block_over_unregistered_class():
    with pytest.raises(exceptions.ValidationError, match="Unregistered class: Nope"):
        Polar().load_str("resource Nope {}")


def test_entity_literals_are_values_and_primitive_literals_are_primitives():
    p = cloud('f(x) if x = Repo{"r"}; g(x) if x = Repo{12}; h(s, i, b) if s = String{"a"} and i = Integer{1} '
              'and b = Boolean{true};', facts=None)
    assert [r["bindings"] for r in p.query("f(x)")] == [{"x": Value("Repo", "r")}]
    assert [r["bindings"] for r in p.query("g(x)")] == [{"x": Value("Repo", "12")}]
    assert [r["bindings"] for r in p.query("h(s, i, b)")] == [{"s": "a", "i": 1, "b": True}]


def test_primitive_literal_of_the_wrong_type_is_located():
    with pytest.raises(exceptions.ParserError, match="Integer.*line 1, column 21"):
        Polar().load_str('f(x) if x = Integer{"a"};', dialect="cloud")


def test_queries_parse_in_the_policy_dialect_with_typed_variables():
    p = cloud()
    assert holds(p, 'allow(User{"alice"}, "read", Org{"acme"})')
    actions = sorted(r["bindings"]["a"] for r in p.query('allow(User{"alice"}, a: String, Repo{"anvil"})'))
    assert actions == ["read"]
    assert [r["bindings"] for r in p.query('has_role(u: User, "admin", Org{"acme"})')] == [{"u": U("boss")}]
    assert list(p.query('has_role(u: Org, "admin", Org{"acme"})')) == []


# 2. Blocks over facts, inferred signatures, default allow -----------------------------------------

@pytest.mark.parametrize("actor, action, resource, expected", [
    (U("alice"), "read", ORG("acme"), True),
    (U("boss"), "read", ORG("acme"), True),          # member if admin
    (U("bob"), "read", ORG("acme"), False),
    (U("alice"), "read", REPO("anvil"), True),       # member on parent
    (U("alice"), "read", REPO("other"), False),
    (U("nobody"), "read", REPO("pub"), True),        # or is_public(resource)
    (U("carol"), "update", REPO("anvil"), True),     # relation to an actor type: a condition
    (U("alice"), "update", REPO("anvil"), False),
    (U("boss"), "delete", REPO("anvil"), True),
    (U("boss"), "delete", REPO("locked"), False),    # and not is_locked(resource)
    (U("root"), "invite", ORG("any"), True),         # global role
    (U("alice"), "invite", ORG("acme"), False),
])
def test_block_semantics_over_facts(actor, action, resource, expected):
    p = cloud()
    assert p.query_rule_once("allow", actor, action, resource) is expected


def test_inferred_signatures():
    sigs = cloud().fact_signatures()
    assert sigs["has_role"] == [("User", "String", "Org"), ("User", "String", "Repo"), ("User", "String")]
    assert sigs["has_relation"] == [("Repo", "String", "Org"), ("Repo", "String", "User")]
    assert sigs["is_public"] == [("Repo",)]
    assert sigs["is_locked"] == [("Repo",)]


def test_signatures_inferred_from_specializers_literals_and_matches():
    p = cloud('actor User {} resource Doc {}\n'
              'declare owner(User, Doc);\n'
              'allow(u: User, "read", d: Doc) if has_tag(d, "public", 3) or owner(u, d) or '
              '(x matches Doc and linked(d, x));', facts=None)
    sigs = p.fact_signatures()
    assert sigs["has_tag"] == [("Doc", "String", "Integer")]
    assert sigs["linked"] == [("Doc", "Doc")]
    assert sigs["owner"] == [("User", "Doc")]


def test_untyped_undefined_predicate_is_an_error_with_a_hint():
    with pytest.raises(exceptions.ValidationError, match=r"(?s)undefined rule: mystery\(x\).*declare mystery"):
        Polar().load_str('actor User {} allow(_u: User, "read", x) if mystery(x);', dialect="cloud")


def _load_error(src: str) -> exceptions.ValidationError:
    with pytest.raises(exceptions.ValidationError) as caught:
        Polar().load_str(src, dialect="cloud")
    return caught.value


def test_call_with_an_arity_no_declaration_has_is_refused_at_load():
    src = ('actor User {}\nresource Repo { permissions = ["read"]; }\ndeclare is_public(Repo);\n'
           'has_permission(_u: User, "read", r: Repo) if is_public(r, x) and x = true;')
    error = _load_error(src)
    assert "Call is_public(r, x) fits no signature or rule of `is_public`" in str(error)
    assert "types (Repo, ?); expected is_public(Repo)" in str(error)
    column = src.splitlines()[3].index("is_public(r, x)") + 1
    assert (error.details["line"], error.details["column"]) == (4, column)


def test_call_whose_known_types_fit_no_signature_or_rule_is_refused():
    # Repo declares no roles: no has_role fact type or rule takes a Repo third argument.
    src = ('actor User {}\nresource Org { roles = ["member", "admin"]; "member" if "admin"; }\n'
           'resource Repo { permissions = ["read"]; }\n'
           'has_permission(actor: User, "read", resource: Repo) if has_role(actor, _role, resource);')
    message = str(_load_error(src))
    assert "Call has_role(actor, _role, resource) fits no signature or rule of `has_role`" in message
    assert ('types (User, ?, Repo); expected has_role(User, String, Org); '
            'rule has_role(actor: Actor{}, "member", resource: Org{})') in message
    # has_role has rules, so a typed call infers nothing: a global role call without a global
    # block fits neither the 3-argument facts nor the rules.
    two = src.replace("has_role(actor, _role, resource)", 'has_role(actor, "member") and resource = resource')
    assert "Call has_role(actor, \"member\") fits no signature" in str(_load_error(two))


def test_call_checked_against_rule_parameters_too():
    src = ('actor User {}\nresource Repo {}\nresource Org {}\n'
           'is_owner(_u: User, _r: Repo);\n'
           'allow(u: User, "read", o: Org) if is_owner(u, o);')
    assert "expected rule is_owner(_u: User{}, _r: Repo{})" in str(_load_error(src))
    fine = src.replace("o: Org) if is_owner(u, o)", "o: Repo) if is_owner(u, o)")
    assert Polar().load_str(fine, dialect="cloud") is None


def test_a_variable_typed_differently_in_two_or_branches_fits_either_signature():
    p = cloud('actor User {} resource Doc {} resource Folder {}\n'
              'declare in_doc(Doc, String);\ndeclare in_folder(Folder, String);\n'
              'allow(_u: User, "read", x) if (x matches Doc and in_doc(x, _t)) or '
              '(x matches Folder and in_folder(x, _s));', facts=None)
    assert p.fact_signatures()["in_doc"] == [("Doc", "String")]


def test_calls_that_fit_load_and_fully_typed_calls_join_the_declared_types():
    p = cloud('actor User {} resource Doc {} resource Folder {}\n'
              'declare is_public(Doc);\ndeclare has_tag(Doc, String);\n'
              'allow(_u: User, "read", d: Doc) if is_public(d) and has_tag(d, _t);\n'
              'allow(_u: User, "read", f: Folder) if is_public(f);', facts=None)
    # Oso Cloud accepts facts of every declared or inferred type: the typed call adds Folder.
    assert p.fact_signatures()["is_public"] == [("Doc",), ("Folder",)]
    assert p.fact_signatures()["has_tag"] == [("Doc", "String")]


def test_default_allow_only_without_an_allow_rule():
    p = cloud()
    assert "allow" not in {r.name for r in p._program.rules if not r.generated}
    own = cloud(POLICY + 'allow(_, "custom", _);')
    assert own.query_rule_once("allow", U("x"), "custom", ORG("acme"))
    assert not own.query_rule_once("allow", U("alice"), "read", ORG("acme"))
    assert own.query_rule_once("has_permission", U("alice"), "read", ORG("acme"))


def test_cloud_blocks_need_no_registered_class_and_policy_loads_without_warning(capsys):
    cloud()
    assert capsys.readouterr().out == ""


def test_has_role_rules_and_facts_both_answer():
    p = cloud()
    assert p.query_rule_once("has_role", U("boss"), "member", ORG("acme"))   # rule: member if admin
    assert p.query_rule_once("has_role", U("alice"), "member", ORG("acme"))  # fact


# 3. Test blocks ------------------------------------------------------------------------------------

TESTS = '''
actor User {}
resource Org { roles = ["member"]; permissions = ["read"]; "read" if "member"; }
test fixture base { has_role(User{"alice"}, "member", Org{"acme"}); }
test fixture more { fixture base; has_role(User{"bob"}, "member", Org{"x"}); }
test "members read" {
  setup {
    has_role(User{"carol"}, "member", Org{"acme"});
    fixture more;
  }
  assert allow(User{"alice"}, "read", Org{"acme"});
  assert_not allow(User{"dave"}, "read", Org{"acme"});
  assert allow(User{"alice"}, action: String, Org{"acme"}) iff action in ["read"];
}
'''


def test_policy_tests_are_parsed_into_the_dataclasses():
    p = Polar()
    p.load_str(TESTS)
    blocks = p.policy_tests()
    assert isinstance(blocks, PolicyTestBlocks)
    assert list(blocks.fixtures) == ["base", "more"]
    assert blocks.fixtures["more"].fixtures == ["base"]
    assert blocks.fixtures["base"].facts == [
        FactLine("has_role", (U("alice"), "member", ORG("acme")), SourceSpot(None, 4, 21))]
    (test,) = blocks.tests
    assert test.name == "members read" and test.fixtures == ["more"] and test.spot == SourceSpot(None, 6, 1)
    assert test.facts[0].as_tuple() == ("has_role", U("carol"), "member", ORG("acme"))
    assert test.assertions == [
        Assertion("assert", 'allow(User{"alice"}, "read", Org{"acme"})', None, SourceSpot(None, 11, 3)),
        Assertion("assert_not", 'allow(User{"dave"}, "read", Org{"acme"})', None, SourceSpot(None, 12, 3)),
        Assertion("assert", 'allow(User{"alice"}, action: String, Org{"acme"})', 'action in ["read"]',
                  SourceSpot(None, 13, 3)),
    ]
    # Test blocks never become rules; the assertions run against the loaded policy.
    assert {r.name for r in p._program.rules} == {"has_permission", "allow"}
    facts = [f.as_tuple() for f in test.facts + blocks.fixtures["base"].facts]
    assert next(p.query(test.assertions[0].query, context_facts=facts), None) is not None
    assert [r["bindings"] for r in p.query(test.assertions[2].query, context_facts=facts)] == [{"action": "read"}]


def test_policy_tests_of_a_legacy_policy_are_empty():
    p = Polar()
    p.load_str("allow(_, _, _);")
    assert p.policy_tests() == PolicyTestBlocks()


@pytest.mark.parametrize("src, message", [
    (TESTS.replace('has_role(User{"carol"}, "member", Org{"acme"})', 'has_role(User{"carol"}, "member", 7)'),
     r"Test fact has_role\(User, String, Integer\) matches no signature of `has_role`: expected "
     r"has_role\(User, String, Org\)\. at line 8, column 5"),
    (TESTS.replace("fixture more;", "fixture nope;"), r"uses fixture `nope`, which is not defined"),
    (TESTS.replace('assert_not allow(', 'assert_not alow('), r"calls `alow`.*line 12, column 3"),
    (TESTS.replace("assert allow(User{\"alice\"}, action", "assert_not allow(User{\"alice\"}, action"),
     r"Expected 'assert' but found 'assert_not'"),
    (TESTS + 'test fixture base { }', "Fixture `base` is defined twice"),
    (TESTS + 'test "members read" { }', r'Test "members read" is defined twice\. at line 15, column 1'),
    (TESTS.replace("action: String", "action: Strin"), r"uses the type `Strin`.*line 13, column 3"),
    (TESTS.replace('has_role(User{"carol"}, "member", Org{"acme"})', 'has_role(x, "member", Org{"acme"})'),
     "A test fact's arguments are values"),
])
def test_test_block_checks(src, message):
    with pytest.raises(exceptions.OsoError, match=message):
        Polar().load_str(src)


# 4. @current_unix_time, extends, matches, not ----------------------------------------------------

def test_current_unix_time():
    p = cloud('actor User {} resource Doc {}\n'
              'allow(u: User, "read", d: Doc) if has_expiry(u, d, t) and t matches Integer and t > @current_unix_time;',
              facts=[("has_expiry", U("a"), Value("Doc", "1"), int(time.time()) + 3600),
                     ("has_expiry", U("b"), Value("Doc", "1"), int(time.time()) - 3600)])
    assert p._kb.uses_current_unix_time and p.uses_current_unix_time()
    assert p.query_rule_once("allow", U("a"), "read", Value("Doc", "1"))
    assert not p.query_rule_once("allow", U("b"), "read", Value("Doc", "1"))
    (r,) = list(p.query("x = @current_unix_time"))
    assert abs(r["bindings"]["x"] - time.time()) < 5
    assert not cloud().uses_current_unix_time()


def test_entity_literal_types_of_the_rules():
    p = cloud('actor User {} resource Org {}\nis_root(User{"root"});\nallow(u, "x", o) if is_root(u) and o = Org{"a"};')
    assert p.entity_literal_types() == {"User", "Org"}
    assert cloud().entity_literal_types() == frozenset()
    legacy = Polar()
    legacy.load_str("allow(_, _, _);")
    assert legacy.entity_literal_types() == frozenset()


def test_unknown_constant_is_located():
    with pytest.raises(exceptions.ParserError, match="Unknown constant @now.*line 1, column 13"):
        Polar().load_str("f(x) if x = @now;", dialect="cloud")


EXTENDS = '''
actor User {}
resource Node { roles = ["viewer"]; permissions = ["view"]; relations = {owner: User}; "view" if "viewer"; }
resource File extends Node { permissions = ["edit"]; "edit" if "owner"; "view" if "owner"; }
'''


def test_extends_inherits_declarations_and_shorthand_rules():
    p = cloud(EXTENDS, facts=[("has_role", U("v"), "viewer", Value("File", "f")),
                              ("has_relation", Value("File", "f"), "owner", U("o"))])
    f = Value("File", "f")
    assert p.query_rule_once("allow", U("v"), "view", f)        # Node's shorthand applies to File
    assert not p.query_rule_once("allow", U("v"), "edit", f)
    assert p.query_rule_once("allow", U("o"), "edit", f)        # Node's relation, used in File
    sigs = p.fact_signatures()
    assert ("User", "String", "File") in sigs["has_role"] and ("File", "String", "User") in sigs["has_relation"]


def test_extends_an_unknown_block_is_an_error():
    with pytest.raises(exceptions.ValidationError, match="extends 'Nope'.*line 1, column 23"):
        Polar().load_str("resource File extends Nope {}")


# 5. Load-time checks ------------------------------------------------------------------------------

@pytest.mark.parametrize("src, message", [
    ('actor User {} resource Org { permissions = ["read"]; "read" if "membr"; }',
     r'Undeclared term "membr".*line 1, column 64'),
    ('actor User {} resource Org { roles = ["m"]; "read" if "m"; }', r'head "read".*undeclared'),
    ('actor User {} resource Org { roles = ["m"]; relations = {p: Org}; "m" if "m" on "q"; }',
     r'"q" after `on` must be a relation'),
    ('actor User {} resource Org { roles = ["m"]; relations = {p: Org}; "m" if "p"; }',
     "not an actor type, so it cannot be a condition"),
    ("global { roles = []; } global { roles = []; }", r"at most one `global` block.*line 1, column 24"),
    ('actor User {} resource Org { roles = ["m"]; "m" if global "root"; }', 'Undeclared global term "root"'),
    ('actor User {} resource Org { relations = {parent: Nope}; }', "type 'Nope', but no such block"),
    ('actor User {} resource Org { roles = ["m"]; "m" if "m" onn "x"; }', "Unexpected relation keyword 'onn'"),
    ("thing User {}", "Expected 'actor' or 'resource' but found 'thing'"),
])
def test_block_checks(src, message):
    with pytest.raises(exceptions.OsoError, match=message):
        Polar().load_str(src, dialect="cloud")


@pytest.mark.parametrize("src, what", [
    ("f(x) if x.name = 1;", "`.` lookup"),
    ("f(x) if x = new Foo();", "`new`"),
    ("f(x) if print(x);", "`print`/`debug`"),
    ("f(x) if cut;", "`cut`"),
    ("f(x) if x == 1;", "`==` (use `=`)"),
    ("f(x) if x = 1 + 2;", "arithmetic"),
    ("f(x) if forall(x in [1], x = 1);", "`forall`"),
])
def test_legacy_only_syntax_is_refused_in_the_cloud_dialect(src, what):
    with pytest.raises(exceptions.ParserError) as error:
        Polar().load_str(src, dialect="cloud")
    assert f"{what} is not supported in the Oso Cloud dialect at line 1" in error.value.message


def test_the_same_legacy_text_still_loads_in_the_legacy_dialect():
    Polar().load_str("f(x) if x == 1 + 2; allow(_, _, _);")


def test_not_negates_calls_only():
    p = cloud('actor User {} resource Doc {}\n'
              'allow(_u: User, "read", d: Doc) if is_open(d) and not (is_locked(d));', dialect="cloud",
              facts=[("is_open", Value("Doc", "1")), ("is_open", Value("Doc", "2")), ("is_locked", Value("Doc", "2"))])
    assert p.query_rule_once("allow", U("a"), "read", Value("Doc", "1"))
    assert not p.query_rule_once("allow", U("a"), "read", Value("Doc", "2"))
    with pytest.raises(exceptions.ParserError, match="`not` negates a fact or rule call.*line 1, column 14"):
        Polar().load_str("f(x) if not (x = 1);", dialect="cloud")


def test_matches_types_an_unbound_variable_before_the_fact_call():
    now = int(time.time())
    p = cloud('actor User {} resource Doc {}\n'
              'allow(u: User, "read", d: Doc) if t matches Integer and has_expiry(u, d, t) and t > @current_unix_time;',
              facts=[("has_expiry", U("a"), Value("Doc", "1"), now + 60), ("has_expiry", U("b"), Value("Doc", "1"), "x")])
    assert p.fact_signatures()["has_expiry"] == [("User", "Doc", "Integer")]
    assert p.query_rule_once("allow", U("a"), "read", Value("Doc", "1"))
    assert not p.query_rule_once("allow", U("b"), "read", Value("Doc", "1"))


def test_partial_evaluation_of_a_cloud_policy_gives_fact_constraints():
    from oso_core.runtime.partial_eval import ROW, evaluate_rule
    p = cloud()
    results = [str(r) for r in evaluate_rule(p._current_kb(), "allow", [U("alice"), "read", ROW], "Repo").results]
    assert any("Fact, ['has_relation', Variable('_this'), 'parent'" in r and "Pattern(Org" in r
               and "'member'" in r for r in results)
    assert any("Fact, ['is_public', Variable('_this')]" in r for r in results)


FOLDERS = '''
actor User { }
resource Repository { roles = ["reader", "maintainer"]; }
resource Folder {
  roles = ["reader", "writer"];
  relations = { repository: Repository, folder: Folder, };
  "reader" if "reader" on "repository";
  "writer" if "maintainer" on "repository";
  role if role on "folder";
}
resource File {
  permissions = ["read", "write"];
  roles = ["reader", "writer"];
  relations = { folder: Folder, };
  role if role on "folder";
  "read" if "reader";
  "write" if "writer";
}
test "folder roles apply to files" {
  setup {
    has_role(User{"alice"}, "reader", Repository{"anvil"});
    has_relation(Folder{"python"}, "repository", Repository{"anvil"});
    has_relation(Folder{"tests"}, "folder", Folder{"python"});
    has_relation(File{"test.py"}, "folder", Folder{"tests"});
  }
  assert allow(User{"alice"}, "read", File{"test.py"});
}
'''


def test_role_if_role_on_relation_inherits_every_role():
    p = Polar()
    p.load_str(FOLDERS)  # Oso's "inheriting roles" example, detected as cloud by its test block
    (test,) = p.policy_tests().tests
    facts = [f.as_tuple() for f in test.facts]
    assert next(p.query(test.assertions[0].query, context_facts=facts), None) is not None
    assert next(p.query('allow(User{"alice"}, "write", File{"test.py"})', context_facts=facts), None) is None
    roles = sorted(r["bindings"]["r"] for r in p.query('has_role(User{"alice"}, r: String, Folder{"tests"})',
                                                         context_facts=facts))
    assert roles == ["reader"]


def test_role_variable_only_in_its_own_shorthand_form():
    with pytest.raises(exceptions.OsoError, match="only the body of"):
        Polar().load_str('actor User {} resource F { roles = ["r"]; relations = {p: F}; "r" if role on "p"; }',
                         dialect="cloud")
    with pytest.raises(exceptions.ParserError, match="Expected 'role' but found 'perm'"):
        Polar().load_str('actor User {} resource F { roles = ["r"]; relations = {p: F}; perm if perm on "p"; }',
                         dialect="cloud")


def test_a_host_value_never_has_a_block_type():
    p = cloud()
    assert not p.query_rule_once("allow", "alice", "read", ORG("acme"))
    assert list(p.query('allow(User{"alice"}, "read", "acme")')) == []
    with pytest.raises(exceptions.UnregisteredClassError):
        list(p.query("x = 1 and x matches Nope"))  # a misspelt type is still an error


def test_load_files_and_reload_take_the_dialect(tmp_path):
    blocks = tmp_path / "blocks.polar"
    blocks.write_text('actor User {}\nresource Org { roles = ["m"]; permissions = ["read"]; "read" if "m"; }\n')
    tests = tmp_path / "tests.polar"
    tests.write_text('test "t" {\n  setup { has_role(User{"a"}, "m", Org{"o"}); }\n  assert allow(User{"a"}, "read", Org{"o"});\n}\n')
    p = Polar()
    with pytest.raises(exceptions.ValidationError, match="Unregistered class: User"):
        p.load_files([blocks], dialect="legacy")
    p.load_files([blocks, tests])  # the test block in the second file makes the load cloud
    assert p.dialect() == "cloud"
    (test,) = p.policy_tests().tests
    assert test.spot == SourceSpot(str(tests), 1, 1) and test.facts[0].spot == SourceSpot(str(tests), 2, 11)
    p.reload_files([blocks], dialect="cloud")
    assert p.dialect() == "cloud" and p.policy_tests().tests == []
    p.reload_str("allow(_, _, _);")
    assert p.dialect() == "legacy"
    with pytest.raises(ValueError, match="dialect"):
        p.reload_str("allow(_, _, _);", dialect="")
