"""Fact predicates in the engine: `declare`, evaluation against a FactSource and context facts,
entity specializers, mixed policies, and the partial-evaluation constraint form."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from oso_core.exceptions import ValidationError
from oso_core.expression import Expression, Pattern
from oso_core.oso import Oso
from oso_core.polar import Polar
from oso_core.runtime.memory_facts import ChainedFacts, MemoryFacts
from oso_core.runtime.partial_eval import ROW, evaluate_rule
from oso_core.values import Value, ValueOfType
from oso_core.variable import Variable

ALICE, BOB = Value("User", "alice"), Value("User", "bob")
ACME = Value("Org", "acme")
ANVIL, ROCKET = Value("Repo", "anvil"), Value("Repo", "rocket")

GITHUB = """
declare has_role(User, String, Org);
declare has_role(User, String, Repo);
declare has_relation(Repo, String, Org);
declare is_public(Repo);
has_role(u: User, r: String, repo: Repo) if has_relation(repo, "parent", org) and has_role(u, r, org);
allow(u, "read", repo: Repo) if has_role(u, "member", repo);
allow(_u, "read", repo: Repo) if is_public(repo);
"""

FOLDERS = """
declare has_role(User, String, Folder);
declare has_relation(Folder, String, Folder);
allow(u, "read", f: Folder) if has_role(u, "viewer", f);
allow(u, "read", f: Folder) if has_relation(f, "parent", p) and allow(u, "read", p);
"""


def github(facts: list) -> Polar:
    p = Polar()
    p.load_str(GITHUB)
    p.attach_facts(MemoryFacts(facts))
    return p


def test_declarations_are_the_fact_signatures_and_several_form_a_union():
    p = Polar()
    p.load_str(GITHUB)
    assert p.fact_signatures() == {
        "has_role": [("User", "String", "Org"), ("User", "String", "Repo")],
        "has_relation": [("Repo", "String", "Org")],
        "is_public": [("Repo",)],
    }


def test_declare_accepts_specializer_form_and_repeats_once():
    p = Polar()
    p.load_str("declare f(x: User, Integer); declare f(User, Integer);")
    assert p.fact_signatures() == {"f": [("User", "Integer")]}


def test_a_misspelled_keyword_is_an_error_with_its_location():
    p = Polar()
    with pytest.raises(ValidationError) as e:
        p.load_str("allow(a, b, c) if f(a, b, c);\ndeclar f(User, String, Org);")
    assert "Unknown item keyword `declar`" in str(e.value)
    assert "line 2, column 1" in str(e.value)


def test_a_declaration_argument_must_be_a_type_name():
    p = Polar()
    with pytest.raises(ValidationError, match="Each argument of `declare` is a type name"):
        p.load_str('declare f("x");')


def test_a_declared_predicate_is_not_an_undefined_rule_and_its_types_are_known_specializers(capsys):
    p = Polar()
    p.load_str(GITHUB)
    assert "Unknown specializer" not in capsys.readouterr().err


def test_facts_and_rules_answer_one_predicate():
    p = github([("has_role", ALICE, "member", ACME), ("has_relation", ANVIL, "parent", ACME),
                ("is_public", ROCKET)])
    assert p.query_rule_once("allow", ALICE, "read", ANVIL)       # through the org's role
    assert p.query_rule_once("allow", BOB, "read", ROCKET)        # public
    assert not p.query_rule_once("allow", BOB, "read", ANVIL)
    roles = [r["bindings"] for r in p.query_rule("has_role", ALICE, Variable("r"), Variable("on"))]
    assert {"r": "member", "on": ANVIL} in roles and {"r": "member", "on": ACME} in roles


def test_without_a_fact_source_a_fact_predicate_has_only_its_rules():
    p = Polar()
    p.load_str(GITHUB)
    assert not p.query_rule_once("allow", ALICE, "read", ANVIL)


def test_context_facts_hold_for_one_query_only():
    p = github([])
    ctx = [("has_role", BOB, "member", ANVIL)]
    assert p.query_rule_once("allow", BOB, "read", ANVIL, context_facts=ctx)
    assert not p.query_rule_once("allow", BOB, "read", ANVIL)


def test_an_entity_matches_its_type_only():
    p = Polar()
    p.load_str("declare is_public(Repo); declare is_public(Org);\n"
               "f(x: Repo) if is_public(x);\ng(x) if x matches Org;")
    p.attach_facts(MemoryFacts([("is_public", ANVIL), ("is_public", ACME)]))
    assert p.query_rule_once("f", ANVIL)
    assert not p.query_rule_once("f", ACME)           # an Org is no Repo
    assert p.query_rule_once("g", ACME)
    assert not p.query_rule_once("g", ANVIL)


def test_primitive_arguments_compare_by_type():
    p = Polar()
    p.load_str("declare level(User, Integer); declare flag(User, Boolean);")
    p.attach_facts(MemoryFacts([("level", ALICE, 1), ("flag", ALICE, True)]))
    assert p.query_rule_once("level", ALICE, 1)
    assert not p.query_rule_once("level", ALICE, True)   # bool is not the integer 1
    assert p.query_rule_once("flag", ALICE, True)
    assert not p.query_rule_once("flag", ALICE, 1)


def test_memory_facts_delete_with_wildcards_and_chaining():
    facts = MemoryFacts([("has_role", ALICE, "member", ACME), ("has_role", ALICE, "admin", ANVIL)])
    facts.delete(("has_role", ALICE, None, ValueOfType("Org")))
    assert list(facts) == [("has_role", ALICE, "admin", ANVIL)]
    chained = ChainedFacts(facts, MemoryFacts([("has_role", BOB, "admin", ANVIL)]))
    assert len(list(chained.match("has_role", [None, "admin", ANVIL]))) == 2
    with pytest.raises(TypeError):
        MemoryFacts([("has_role", object())])


@dataclass(frozen=True)
class User:
    id: str


@dataclass(frozen=True)
class Document:
    id: str
    owner: str
    public: bool = False


def test_mixed_policy_host_objects_and_stored_roles_in_one_rule():
    oso = Oso()
    oso.register_class(User)
    oso.register_class(Document)
    oso.load_str("""
        declare has_role(User, String, Document);
        allow(u: User, "read", d: Document) if d.public or has_role(u, "reader", d);
        allow(u: User, "write", d: Document) if d.owner = u.id and has_role(u, "writer", d);
    """)
    oso.attach_facts(MemoryFacts([("has_role", Value("User", "ann"), "reader", Value("Document", "1")),
                                  ("has_role", Value("User", "ann"), "writer", Value("Document", "2"))]))
    ann = User("ann")
    assert oso.is_allowed(ann, "read", Document("1", "x"))
    assert oso.is_allowed(ann, "read", Document("3", "x", public=True))
    assert not oso.is_allowed(ann, "read", Document("3", "x"))
    assert oso.is_allowed(ann, "write", Document("2", "ann"))
    assert not oso.is_allowed(ann, "write", Document("2", "someone else"))
    assert not oso.is_allowed(User("bob"), "read", Document("1", "x"))


def _fact(pred: str, *args: object) -> Expression:
    return Expression("Fact", [pred, *args])


def _isa(var: str, tag: str) -> Expression:
    return Expression("Isa", [Variable(var), Pattern(tag, {})])


def test_partial_evaluation_of_fact_calls_names_the_predicate_and_its_terms():
    p = Polar()
    p.load_str(GITHUB)
    out = evaluate_rule(p._current_kb(), "allow", [ALICE, "read", ROW], "Repo")
    this = Variable("_this")
    assert out.sets == {}
    assert [r.args for r in out.results] == [
        # via the org: the org is an existential entity, typed from the declaration
        [_isa("_this", "Repo"), _fact("has_relation", this, "parent", Variable("_org_1")),
         _isa("_org_1", "Org"), _fact("has_role", ALICE, "member", Variable("_org_1"))],
        [_isa("_this", "Repo"), _fact("has_role", ALICE, "member", this)],
        [_isa("_this", "Repo"), _fact("is_public", this)],
    ]


def test_partial_evaluation_of_recursion_through_facts_is_tabled():
    p = Polar()
    p.load_str(FOLDERS)
    out = evaluate_rule(p._current_kb(), "allow", [ALICE, "read", ROW], "Folder")
    this, p1 = Variable("_this"), Variable("_p_1")
    assert list(out.sets) == ["allow_1"]
    definition = out.sets["allow_1"]
    assert definition.type_name == "Folder"
    assert [r.args for r in definition.results] == [
        [_isa("_this", "Folder"), _fact("has_role", ALICE, "viewer", this)],
        [_isa("_this", "Folder"), _fact("has_relation", this, "parent", p1), _isa("_p_1", "Folder"),
         Expression("InSet", [p1, "allow_1"])],
    ]
    assert all(any(c.operator == "Fact" for c in r.args) for r in out.results)
    assert out.results[-1].args[-1] == Expression("InSet", [Variable("_p_2"), "allow_1"])


def test_recursive_folders_evaluate_through_stored_facts():
    p = Polar()
    p.load_str(FOLDERS)
    f = [Value("Folder", str(i)) for i in range(5)]
    p.attach_facts(MemoryFacts([("has_role", ALICE, "viewer", f[1]), ("has_relation", f[2], "parent", f[1]),
                                ("has_relation", f[3], "parent", f[2])]))
    assert [p.query_rule_once("allow", ALICE, "read", x) for x in f] == [False, True, True, True, False]


def test_a_deferred_fact_constraint_is_checked_once_its_arguments_are_known():
    p = Polar()
    p.load_str("declare is_public(Repo);\nf(x, y) if is_public(x) and x = y;")
    p.attach_facts(MemoryFacts([("is_public", ANVIL)]))
    kb = p._current_kb()
    out = evaluate_rule(kb, "f", [ROW, ANVIL], "Repo")
    assert out.results == [ANVIL]
    assert evaluate_rule(kb, "f", [ROW, ROCKET], "Repo").results == []


def test_negated_fact_calls_evaluate_and_partially_evaluate_to_not_fact():
    p = Polar()
    p.load_str("declare is_public(Repo); declare is_banned(User);\n"
               'allow(u, "read", r: Repo) if is_public(r) and not is_banned(u);\n'
               'hidden(r: Repo) if not is_public(r);')
    p.attach_facts(MemoryFacts([("is_public", ANVIL), ("is_banned", BOB)]))
    assert p.query_rule_once("allow", ALICE, "read", ANVIL)
    assert not p.query_rule_once("allow", BOB, "read", ANVIL)
    out = evaluate_rule(p._current_kb(), "hidden", [ROW], "Repo")
    assert [r.args for r in out.results] == [
        [_isa("_this", "Repo"), Expression("Not", [_fact("is_public", Variable("_this"))])]]



def test_row_set_descriptions_show_entities_as_oso_cloud_writes_them():
    p = Polar()
    p.load_str(FOLDERS)
    out = evaluate_rule(p._current_kb(), "allow", [ALICE, "read", ROW], "Folder")
    assert out.sets["allow_1"].description == 'allow(User{"alice"}, "read", _)'


class _BrokenFacts:
    def match(self, predicate, pattern):
        raise OSError("database is down")


def test_a_failing_fact_source_is_a_typed_error_never_an_allow():
    from oso_core.exceptions import PolarRuntimeError
    p = github([])
    p.attach_facts(_BrokenFacts())
    with pytest.raises(PolarRuntimeError, match="fact source failed to match has_relation: OSError: database is down"):
        p.query_rule_once("allow", ALICE, "read", ANVIL)
