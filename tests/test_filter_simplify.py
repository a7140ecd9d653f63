"""Plan simplification: each rewrite keeps the meaning (checked by evaluating both sides over
every assignment of the atoms) and gives the shape a person would write."""

from __future__ import annotations

import itertools

from oso_core.filtering.plan import FALSE, TRUE, And, Compare, Exists, Field, In, Not, Or, RelationInfo, Row, Value
from oso_core.filtering.plan import render_condition
from oso_core.filtering.simplify import simplify, substitute


class Repo:
    pass


class Role:
    pass


class Org:
    pass


ROLES = RelationInfo("roles", "many", Role, "Role", "id", "repo_id")
ORG = RelationInfo("org", "one", Org, "Org", "org_id", "id")
ORG_ROLES = RelationInfo("roles", "many", Role, "Role", "id", "org_id")


def role_exists(parent: Row, relation: RelationInfo, name: str, user: int = 1) -> Exists:
    r = Row(Role, "Role", f"role_{name}")
    return Exists(parent, relation, r, And((Compare("Eq", Field(r, "user_id"), Value(user)),
                                            Compare("Eq", Field(r, "name"), Value(name)))))


def test_sibling_exists_over_one_relation_merge_into_one_with_in():
    repo = Row(Repo, "Repo", "repo")
    c = Or((role_exists(repo, ROLES, "reader"), role_exists(repo, ROLES, "maintainer"),
            role_exists(repo, ROLES, "admin")))
    out = simplify(c)
    assert type(out) is Exists and out.relation is ROLES
    text = render_condition(out)
    assert text == (f"exists {out.row.label} in repo.roles where ({out.row.label}.user_id = 1 and "
                    f"{out.row.label}.name in ['reader', 'maintainer', 'admin'])")


def test_duplicate_branches_through_a_to_one_relation_collapse():
    repo = Row(Repo, "Repo", "repo")
    branches = []
    for name in ("owner", "member", "owner"):
        org = Row(Org, "Org", f"org_{len(branches)}")
        branches.append(Exists(repo, ORG, org, role_exists(org, ORG_ROLES, name)))
    out = simplify(Or(tuple(branches)))
    assert type(out) is Exists and out.relation is ORG
    inner = out.condition
    assert type(inner) is Exists and inner.parent is out.row
    assert "name in ['owner', 'member']" in render_condition(inner)


def test_exists_under_different_parents_or_relations_stay_apart():
    a, b = Row(Repo, "Repo", "a"), Row(Repo, "Repo", "b")
    c = Or((role_exists(a, ROLES, "x"), role_exists(b, ROLES, "y")))
    assert type(simplify(c)) is Or and len(simplify(c).items) == 2
    # and `and` never merges: two related rows need not be the same row
    c = And((role_exists(a, ROLES, "x"), role_exists(a, ROLES, "y")))
    assert type(simplify(c)) is And and len(simplify(c).items) == 2


def test_substitute_replaces_only_the_given_rows():
    a, b = Row(Repo, "Repo", "a"), Row(Repo, "Repo", "b")
    c = And((Compare("Eq", Field(a, "x"), Field(b, "y")), Not(In(Field(a, "z"), Value([1])))))
    out = substitute(c, {a: b})
    assert render_condition(out) == "(b.x = b.y and not b.z in [1])"


# --- factoring common conjuncts, checked as boolean algebra ---------------------------------

ROW = Row(Repo, "Repo", "r")
ATOMS = [Compare("Eq", Field(ROW, name), Value(1)) for name in "abcd"]


def evaluate(c, truth: dict) -> bool:
    t = type(c)
    if t is Compare:
        return truth[c.left.name]
    if t is In:
        return any(truth[c.item.name] for _ in c.values.value)  # only as `x in [1]` here
    if t is And:
        return all(evaluate(x, truth) for x in c.items)
    if t is Or:
        return any(evaluate(x, truth) for x in c.items)
    if t is Not:
        return not evaluate(c.item, truth)
    raise AssertionError(t)


def same_meaning(a, b) -> bool:
    return all(evaluate(a, dict(zip("abcd", bits))) == evaluate(b, dict(zip("abcd", bits)))
               for bits in itertools.product([False, True], repeat=4))


def test_common_conjuncts_are_factored_out():
    a, b, c, d = ATOMS
    before = Or((And((a, b)), And((a, c)), And((a, d, b))))
    after = simplify(before)
    assert same_meaning(before, after)
    assert type(after) is And and after.items[0] == a


def test_a_branch_reduced_to_true_absorbs_the_rest():
    a, b, _, _ = ATOMS
    before = Or((And((a, b)), a))
    after = simplify(before)
    assert after == a and same_meaning(before, after)


def test_random_formulas_keep_their_meaning():
    import random
    rng = random.Random(7)

    def formula(depth: int):
        if depth == 0 or rng.random() < 0.3:
            atom = rng.choice(ATOMS)
            return Not(atom) if rng.random() < 0.2 else atom
        kind = rng.choice([And, Or, Or])
        return kind(tuple(formula(depth - 1) for _ in range(rng.randint(0, 3))))

    for _ in range(400):
        f = formula(4)
        assert same_meaning(f, simplify(f)), render_condition(f)


def test_constants():
    a = ATOMS[0]
    assert simplify(Or(())) == FALSE and simplify(And(())) == TRUE
    assert simplify(Not(TRUE)) == FALSE and simplify(Not(FALSE)) == TRUE
    assert simplify(Or((a, TRUE))) == TRUE and simplify(And((a, FALSE))) == FALSE
    assert simplify(Exists(ROW, ROLES, Row(Role, "Role", "x"), FALSE)) == FALSE
