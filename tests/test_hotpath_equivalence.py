"""The decision hot path's specialised forms give the general forms' answers, errors and host
reads (docs/performance-hotpath.md).

Each case runs a shape the fast paths compile specially (`x.f = y`, `x.f = "lit"`,
`x.f != nil`, `x in coll and ...` scans, resource-block rules) with the values that must take
the general path (dictionaries, unbound variables, Polar values, partials, errors), and counts
host attribute reads. Expected values were checked against legacy oso 0.27.3:

    OSO_TESTS_AGAINST_LEGACY=1 /tmp/hp_legacy/bin/python -m pytest tests/test_hotpath_equivalence.py -q
"""

from __future__ import annotations

import pytest

from engine_under_test import Oso, Variable, exceptions as E


@pytest.fixture(autouse=True)
def _quiet(monkeypatch):
    monkeypatch.setenv("POLAR_IGNORE_NO_ALLOW_WARNING", "1")
    monkeypatch.delenv("POLAR_LOG", raising=False)


class Counted:
    """A host object counting every attribute read by name."""

    def __init__(self, **fields):
        object.__setattr__(self, "_fields", fields)
        object.__setattr__(self, "reads", {})

    def __getattr__(self, name):
        fields = object.__getattribute__(self, "_fields")
        if name not in fields:
            raise AttributeError(f"'Counted' object has no attribute '{name}'")
        reads = object.__getattribute__(self, "reads")
        reads[name] = reads.get(name, 0) + 1
        return fields[name]


def make(policy, *classes):
    oso = Oso()
    for cls in classes:
        oso.register_class(cls)
    oso.load_str(policy)
    return oso


def values(oso, query, var="x"):
    return [r["bindings"].get(var) for r in oso.query(query)]


def test_attribute_equals_variable_on_objects_dicts_and_unbound():
    oso = make("f(a, b) if a.name = b;", Counted)
    c = Counted(name="n")
    assert list(oso.query_rule("f", c, "n")) != []
    assert list(oso.query_rule("f", c, "m")) == []
    assert c.reads == {"name": 2}
    # A dictionary, and an unbound second argument that the lookup binds.
    assert list(oso.query_rule("f", {"name": "n"}, "n")) != []
    assert list(oso.query_rule("f", {"other": 1}, "n")) == []
    assert values(oso, 'f(new Counted(name: 3), x)') == [3]
    assert values(oso, 'f({name: [1, 2]}, x)') == [[1, 2]]


def test_attribute_equals_constant_and_compare_with_nil():
    oso = make('g(a) if a.kind = "k"; h(a) if a.next != nil; i(a) if a.n > 2;', Counted)
    assert oso.query_rule_once("g", Counted(kind="k"))
    assert not oso.query_rule_once("g", Counted(kind="j"))
    assert not oso.query_rule_once("g", Counted(kind=1))
    assert oso.query_rule_once("g", {"kind": "k"})
    assert oso.query_rule_once("h", Counted(next=1))
    assert not oso.query_rule_once("h", Counted(next=None))
    assert oso.query_rule_once("i", Counted(n=3))
    assert not oso.query_rule_once("i", Counted(n=2))
    assert oso.query_rule_once("i", {"n": 2.5})


def test_missing_attribute_is_the_same_error():
    oso = make('g(a) if a.kind = "k"; f(a, b) if a.kind = b; h(a) if a.kind != nil;', Counted)
    for rule, args in (("g", ()), ("f", ("k",)), ("h", ())):
        with pytest.raises(E.PolarRuntimeError) as info:
            oso.query_rule_once(rule, Counted(other=1), *args)
        assert "has no attribute 'kind'" in str(info.value)


def test_large_integer_attribute_is_the_same_error():
    oso = make("f(a, b) if a.n = b;", Counted)
    with pytest.raises(E.OperationalError) as info:
        oso.query_rule_once("f", Counted(n=2 ** 70), 1)
    assert "expected i64" in str(info.value)


def test_scan_reads_the_collection_once_per_call_and_each_element_once_per_test():
    policy = """
    has(user, name, res) if role in user.roles and role.name = name and role.res = res;
    """
    oso = make(policy, Counted)
    r1, r2 = Counted(name="a", res=1), Counted(name="b", res=2)
    user = Counted(roles=[r1, r2])
    assert oso.query_rule_once("has", user, "b", 2)
    assert user.reads == {"roles": 1}
    assert r1.reads == {"name": 1} and r2.reads == {"name": 1, "res": 1}
    assert not oso.query_rule_once("has", user, "c", 2)
    assert user.reads == {"roles": 2}
    # All solutions, with the element bound back to the caller.
    oso2 = make("pick(xs, x) if y in xs and y.v = x;")
    assert values(oso2, "pick([{v: 1}, {v: 2}, {w: 3}], x)") == [1, 2]


def test_scan_over_non_lists_and_cut():
    oso = make("e(c, x) if y in c and y = x; first(c, x) if y in c and y = x and cut;")
    assert values(oso, 'e({a: 1, b: 2}, x)') == [["a", 1], ["b", 2]]
    assert values(oso, "first([1, 2, 3], x)") == [1]
    assert values(oso, "e([1, [2, 3]], x)") == [1, [2, 3]]


def test_scan_with_partial_collection():
    oso = make("e(c, x) if y in c and y.a = x;")
    results = list(oso.query_rule("e", Variable("c"), 1, accept_expression=True))
    assert len(results) == 1
    assert "c" in results[0]["bindings"]


def test_resource_blocks_answers_and_reads():
    policy = """
    actor User {}
    resource Org { roles = ["owner", "member"]; permissions = ["read", "admin"];
      "read" if "member"; "admin" if "owner"; "member" if "owner"; }
    resource Repo { roles = ["reader", "writer"]; permissions = ["read", "write"];
      relations = { parent: Org };
      "read" if "reader"; "write" if "writer"; "reader" if "writer";
      "reader" if "member" on "parent"; "writer" if "owner" on "parent"; }
    has_relation(org: Org, "parent", repo: Repo) if repo.org = org;
    has_role(user: User, name: String, resource: Resource) if
      role in user.roles and role.name = name and role.resource = resource;
    allow(actor, action, resource) if has_permission(actor, action, resource);
    """

    class User(Counted):
        pass

    class Org(Counted):
        pass

    class Repo(Counted):
        pass

    class Role(Counted):
        pass

    oso = Oso()
    for cls in (User, Org, Repo):
        oso.register_class(cls)
    oso.load_str(policy)
    org = Org(name="o")
    repo = Repo(name="r", org=org)
    member = Role(name="member", resource=org)
    writer = Role(name="writer", resource=Repo(name="other", org=org))
    user = User(roles=[writer, member])
    assert oso.is_allowed(user, "read", repo)
    assert not oso.is_allowed(user, "write", repo)
    assert oso.authorized_actions(user, repo) == {"read"}
    assert oso.authorized_actions(user, org) == {"read"}
    assert oso.authorized_actions(User(roles=[]), repo) == set()
    # The reads of the role scans are the general evaluation's (checked against legacy).
    assert user.reads == {"roles": 16}
    assert member.reads == {"name": 16, "resource": 3}
    assert writer.reads == {"name": 16, "resource": 4}


def test_attribute_equals_attribute():
    oso = make("own(u, d) if d.owner = u.name;", Counted)
    user, doc = Counted(name="a"), Counted(owner="a")
    assert oso.query_rule_once("own", user, doc)
    assert not oso.query_rule_once("own", user, Counted(owner="b"))
    assert user.reads == {"name": 2} and doc.reads == {"owner": 1}
    assert oso.query_rule_once("own", {"name": 1}, Counted(owner=1))
    assert not oso.query_rule_once("own", {"name": 1}, Counted(owner=True))
    assert oso.query_rule_once("own", Counted(name=[1, {"k": 2}]), {"owner": [1, {"k": 2}]})
    results = list(oso.query_rule("own", Variable("u"), doc, accept_expression=True))
    assert len(results) == 1 and "u" in results[0]["bindings"]
    with pytest.raises(E.PolarRuntimeError) as info:
        oso.query_rule_once("own", user, Counted(other=1))
    assert "has no attribute 'owner'" in str(info.value)


def test_recursion_answers_and_cut():
    class Node(Counted):
        pass

    policy = """
    up(a, b) if b.parent = a;
    up(a, b) if b.parent != nil and up(a, b.parent);
    first_up(a, b) if up(a, b) and cut;
    first_up(_, _) if false;
    """
    oso = make(policy, Node)
    root = Node(parent=None)
    chain = [root]
    for _ in range(30):
        chain.append(Node(parent=chain[-1]))
    assert oso.query_rule_once("up", root, chain[-1])
    assert not oso.query_rule_once("up", chain[-1], root)
    assert oso.query_rule_once("first_up", root, chain[5])
    assert len(list(oso.query_rule("up", Variable("x"), chain[3]))) == 4   # the last is nil
    assert chain[3].reads == {"parent": 9}


def test_scan_with_attribute_test_on_mixed_elements():
    policy = """
    pick(xs, n, y) if y in xs and y.name = n and y.ok = true;
    some(xs, n) if y in xs and y.name = n;
    once(xs, n, y) if y in xs and y.name = n and cut;
    """
    oso = make(policy, Counted)
    a, b = Counted(name="a", ok=True), Counted(name=1, ok=True)
    xs = [Counted(name="a", ok=False), {"name": "a", "ok": True}, a, b, Counted(name="b", ok=True)]
    got = [r["bindings"]["y"] for r in oso.query_rule("pick", xs, "a", Variable("y"))]
    assert got == [{"name": "a", "ok": True}, a]
    assert [r["bindings"]["y"] for r in oso.query_rule("pick", xs, 1, Variable("y"))] == [b]
    assert oso.query_rule_once("some", xs, 1)
    assert not oso.query_rule_once("some", xs, "c")
    assert [r["bindings"]["y"] for r in oso.query_rule("once", xs, "a", Variable("y"))] == [xs[0]]
    assert [r["bindings"]["n"] for r in oso.query_rule("some", [a, b], Variable("n"))] == ["a", 1]
    with pytest.raises(E.PolarRuntimeError):
        oso.query_rule_once("some", [Counted(other=1)], "a")


def test_anonymous_variables_in_bodies_run_by_both_forms():
    policy = """
    allow(a, _, r) if pair(a, _) and [_, x] = r and x = 2;
    pair(_, _);
    """
    oso = make(policy)
    # The generator form first (query), then the existence form (is_allowed) on one snapshot.
    assert len(list(oso.query_rule("allow", 1, "act", [0, 2]))) == 1
    assert oso.is_allowed(1, "act", [0, 2])
    assert not oso.is_allowed(1, "act", [0, 3])
    assert not oso.is_allowed(1, "act", [2])


def test_concurrent_first_decisions_on_a_fresh_snapshot():
    """Existence bodies and heads are compiled on first use: threads racing to it agree."""
    import threading

    policy = """
    allow(u, "read", d) if d.owner = u.name or member(u, d.team);
    member(u, t) if m in t.members and m = u.name and cut;
    """
    results = []
    for _ in range(5):
        oso = make(policy)
        team = {"members": ["a", "b"]}
        cases = [({"name": "a"}, {"owner": "x", "team": team}, True),
                 ({"name": "c"}, {"owner": "x", "team": team}, False),
                 ({"name": "x"}, {"owner": "x", "team": team}, True)]
        start = threading.Barrier(8)
        errors = []

        def run():
            start.wait()
            try:
                results.append(all(oso.is_allowed(u, "read", d) is want for u, d, want in cases * 20))
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(e)
        threads = [threading.Thread(target=run) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
    assert results == [True] * 40
