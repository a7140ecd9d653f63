"""Merging partial-evaluation solutions before SQL (oso_core.facts.solution_merge): duplicates
go, solutions differing in one constant of one top-level fact become one with an `In`, and
nothing else is merged."""

from __future__ import annotations

from oso_core.expression import Expression, Pattern
from oso_core.facts.solution_merge import merge_solutions
from oso_core.facts.symbolic import Solution
from oso_core.variable import Variable

ACTOR, RESOURCE = Variable("actor"), Variable("resource")
BINDINGS = {"actor": ACTOR, "resource": RESOURCE}


def fact(*args):
    return Expression("Fact", list(args))


def solution(*constraints, bindings=None):
    return Solution(dict(BINDINGS if bindings is None else bindings), list(constraints))


def test_solutions_differing_in_one_fact_constant_become_one_in():
    given = [solution(fact("has_role", ACTOR, role, RESOURCE)) for role in ("reader", "maintainer", "admin")]
    [merged] = merge_solutions(given)
    assert merged.bindings == BINDINGS
    role_fact, member = merged.constraints
    assert role_fact.operator == "Fact" and role_fact.args[0] == "has_role"
    fresh = role_fact.args[2]
    assert isinstance(fresh, Variable) and fresh not in ("actor", "resource")
    assert member == Expression("In", [fresh, ["reader", "maintainer", "admin"]])


def test_duplicates_under_other_variable_names_are_dropped():
    def via(org):
        return solution(fact("has_role", ACTOR, "admin", Variable(org)),
                        fact("has_relation", RESOURCE, "parent", Variable(org)),
                        Expression("Isa", [Variable(org), Pattern("Org", {})]))
    first = via("_o_1")
    assert merge_solutions([first, via("_o_2")]) == [first]


def test_org_roles_on_the_parent_merge_and_the_order_is_kept():
    direct = [solution(fact("has_role", ACTOR, role, RESOURCE)) for role in ("reader", "admin")]
    parent = [solution(fact("has_role", ACTOR, role, Variable(f"_o_{i}")),
                       fact("has_relation", RESOURCE, "parent", Variable(f"_o_{i}")))
              for i, role in enumerate(("admin", "member", "admin"))]
    merged = merge_solutions(direct + parent)
    assert len(merged) == 2
    assert merged[0].constraints[-1].args[1] == ["reader", "admin"]
    assert merged[1].constraints[-1].args[1] == ["admin", "member"]
    assert merged[1].constraints[1] == fact("has_relation", RESOURCE, "parent", Variable("_o_0"))


def test_solutions_differing_in_two_places_stay_apart():
    given = [solution(fact("has_role", ACTOR, "reader", RESOURCE), fact("is_public", RESOURCE, True)),
             solution(fact("has_role", ACTOR, "admin", RESOURCE), fact("is_public", RESOURCE, False))]
    assert merge_solutions(given) == given


def test_a_constant_under_not_or_in_a_comparison_is_not_merged():
    negated = [solution(Expression("Not", [fact("is_banned", ACTOR, level)])) for level in ("a", "b")]
    assert merge_solutions(negated) == negated
    compared = [solution(fact("age", ACTOR, Variable("_x")), Expression("Gt", [Variable("_x"), n])) for n in (1, 2)]
    assert merge_solutions(compared) == compared


def test_different_bindings_and_the_predicate_name_are_not_merged():
    bound = [solution(fact("has_role", ACTOR, "admin", RESOURCE), bindings={"actor": ACTOR, "action": action})
             for action in ("read", "push")]
    assert merge_solutions(bound) == bound
    predicates = [solution(fact(name, ACTOR, RESOURCE)) for name in ("owner", "editor")]
    assert merge_solutions(predicates) == predicates


def test_a_variable_and_a_string_of_the_same_name_are_not_duplicates():
    given = [solution(fact("has_role", ACTOR, Variable("r"), RESOURCE), fact("is", Variable("r"))),
             solution(fact("has_role", ACTOR, "r", RESOURCE), fact("is", "r"))]
    assert merge_solutions(given) == given
    flags = [solution(fact("level", ACTOR, True)), solution(fact("level", ACTOR, 1))]
    assert [len(s.constraints) for s in merge_solutions(flags)] == [2]   # merged into In, not deduplicated
    assert merge_solutions(flags)[0].constraints[1].args[1] == [True, 1]


def test_the_fresh_variable_avoids_names_in_use():
    given = [solution(fact("has_role", Variable("_merged_0"), role, RESOURCE), bindings={"actor": Variable("_merged_0")})
             for role in ("a", "b")]
    [merged] = merge_solutions(given)
    assert merged.constraints[0].args[2] == "_merged_1"
