"""The data-filtering API: errors, the legacy adapter protocol, oso 0.25 registrations,
relation fields read through the adapter, and the shapes of filter plans."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import warnings

import pytest

sa = pytest.importorskip("sqlalchemy")

from sqlalchemy import create_engine, event  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from filter_scenarios import User  # noqa: E402
from filter_sqlalchemy_models import Base, Issue, Org, OrgRole, Repo, RepoRole  # noqa: E402
from oso_core import Oso, exceptions  # noqa: E402
from oso_core.data import Condition, DataAdapter, DataFilter, Projection  # noqa: E402
from oso_core.data import Relation as JoinRelation  # noqa: E402
from oso_core.data.adapter.sqlalchemy_adapter import SqlAlchemyAdapter  # noqa: E402
from oso_core.data_filtering import Relation  # noqa: E402
from oso_core.filtering import build_filter_plan  # noqa: E402
from oso_core.filtering.plan import render_condition  # noqa: E402


@pytest.fixture
def session():
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with Session(engine) as s:
        s.add_all([Org(id=1, name="acme"), Org(id=2, name="globex")])
        s.flush()
        s.add_all([Repo(id=i, name=f"r{i}", org_id=1 + i % 2, parent_id=None if i == 1 else i - 1,
                        owner_id=i % 3 or None, is_public=i % 4 == 0, is_archived=False) for i in range(1, 9)])
        s.flush()
        s.add_all([Issue(id=i, repo_id=1 + i % 8, creator_id=1, title="bug", closed=i % 2 == 0) for i in range(1, 11)])
        s.add_all([RepoRole(id=1, user_id=1, repo_id=3, name="reader"), OrgRole(id=1, user_id=1, org_id=2, name="member")])
        s.commit()
        yield s
    engine.dispose()  # closes the in-memory database now, not at garbage collection


def make_oso(policy: str, adapter=None) -> Oso:
    oso = Oso()
    if adapter is not None:
        oso.set_data_filtering_adapter(adapter)
    oso.register_class(User)
    for model in (Org, Repo, Issue, OrgRole, RepoRole):
        oso.register_class(model)
    oso.load_str(policy)
    return oso


def ids(rows) -> list:
    return sorted(r.id for r in rows)


# Errors ---------------------------------------------------------------------------------------

def test_no_adapter_is_a_clear_error():
    oso = make_oso('allow(_, "read", _: Repo);')
    for method in (oso.authorized_query, oso.authorized_resources):
        with pytest.raises(exceptions.OsoError, match=r"set_data_filtering_adapter"):
            method(User(1), "read", Repo)


def test_oso_025_query_functions_without_adapter_explain_the_move():
    oso = Oso()
    oso.register_class(User)
    oso.register_class(Repo, build_query=lambda c: None, exec_query=lambda q: [], combine_query=lambda a, b: a)
    oso.load_str('allow(_, "read", _: Repo);')
    with pytest.raises(exceptions.OsoError) as e:
        oso.authorized_resources(User(1), "read", Repo)
    assert "0.25" in str(e.value) and "set_data_filtering_adapter" in str(e.value)


def test_oso_025_query_functions_with_adapter_are_ignored_with_a_warning(session):
    oso = Oso()
    oso.set_data_filtering_adapter(SqlAlchemyAdapter(session))
    oso.register_class(User)
    oso.register_class(Repo, build_query=lambda c: None, exec_query=lambda q: [], combine_query=lambda a, b: a)
    oso.load_str('allow(_, "read", r: Repo) if r.id < 3;')
    with pytest.warns(DeprecationWarning, match="ignored"):
        assert ids(oso.authorized_resources(User(1), "read", Repo)) == [1, 2]


def test_unregistered_class_is_named():
    oso = make_oso('allow(_, "read", _: Repo);', adapter=DataAdapter())

    class Other:
        pass
    with pytest.raises(exceptions.UnregisteredClassError, match="register_class"):
        oso.authorized_query(User(1), "read", Other)


@pytest.mark.parametrize("body,construct", [
    ("r.id * 2 = 4", "Mul/3"),
    ("r.id + 1 > 2", "Add/3"),
])
def test_untranslatable_constructs_name_the_policy_line(session, tmp_path, body, construct):
    policy = tmp_path / "p.polar"
    policy.write_text(f'allow(_, "read", r: Repo) if\n  {body};\n')
    oso = make_oso("", SqlAlchemyAdapter(session))
    oso.load_files([str(policy)])
    with pytest.raises(exceptions.UnsupportedError) as e:
        oso.authorized_query(User(1), "read", Repo)
    text = str(e.value)
    assert construct in text and "line 2" in text and str(policy) in text


def test_method_call_on_the_resource_fails_with_its_location(session):
    oso = make_oso('allow(_, "read", r: Repo) if\n  r.visible_to(1);', SqlAlchemyAdapter(session))
    with pytest.raises(exceptions.UnsupportedError, match=r"cannot call method on unbound variable[\s\S]*line 2"):
        oso.authorized_resources(User(1), "read", Repo)


def test_field_of_a_non_relation_is_unregistered(session):
    oso = make_oso('allow(_, "read", r: Repo) if r.name.first = 1;', SqlAlchemyAdapter(session))
    with pytest.raises(exceptions.UnsupportedError, match=r"Unregistered field or relation: Repo.name"):
        oso.authorized_query(User(1), "read", Repo)


def test_to_many_relation_inside_a_path_is_refused(session):
    oso = make_oso('allow(_, "read", r: Repo) if r.issues.title = "bug";', SqlAlchemyAdapter(session))
    with pytest.raises(exceptions.UnsupportedError, match=r"to-many relation Repo.issues"):
        oso.authorized_query(User(1), "read", Repo)


def test_path_through_a_field_of_another_type_makes_the_rule_inapplicable(session):
    # `r.org` is an Org: the Repo rule cannot apply to it (legacy's isa_with_path).
    oso = make_oso('allow(_, "read", r: Repo) if f(r.org);\nf(_: Repo);\nf(o: Org) if o.id = 2;',
                   SqlAlchemyAdapter(session))
    assert ids(oso.authorized_resources(User(1), "read", Repo)) == [1, 3, 5, 7]


# Results ----------------------------------------------------------------------------------------

def test_double_equals_is_translated(session):
    # Legacy refused `==` on resources ("Unsupported operation: Eq/2"): fixed.
    oso = make_oso('allow(_, "read", r: Repo) if r.id == 3;', SqlAlchemyAdapter(session))
    assert ids(oso.authorized_resources(User(1), "read", Repo)) == [3]


def test_rule_bound_to_concrete_objects_filters_by_primary_key(session):
    repos = [session.get(Repo, 2), session.get(Repo, 5)]

    class Member:
        def __init__(self, repos):
            self.repos = repos
    oso = Oso()
    oso.set_data_filtering_adapter(SqlAlchemyAdapter(session))
    oso.register_class(Member)
    oso.register_class(Repo)
    oso.load_str('allow(m: Member, "read", r: Repo) if r in m.repos;')
    assert ids(oso.authorized_resources(Member(repos), "read", Repo)) == [2, 5]


def test_relation_compared_with_an_orm_object(session):
    org = session.get(Org, 2)

    class Member:
        def __init__(self, org):
            self.org = org
    oso = Oso()
    oso.set_data_filtering_adapter(SqlAlchemyAdapter(session))
    oso.register_class(Member)
    oso.register_class(Repo)
    oso.register_class(Org)
    oso.load_str('allow(m: Member, "read", r: Repo) if r.org = m.org;')
    assert ids(oso.authorized_resources(Member(org), "read", Repo)) == [1, 3, 5, 7]


def test_no_applicable_rule_selects_nothing(session):
    oso = make_oso('allow(_, "read", _: Org);', SqlAlchemyAdapter(session))
    assert oso.authorized_resources(User(1), "read", Repo) == []


def test_statement_adapter_returns_a_select(session):
    oso = make_oso('allow(_, "read", r: Repo) if r.is_public;', SqlAlchemyAdapter(session, statement=True))
    stmt = oso.authorized_query(User(1), "read", Repo)
    assert isinstance(stmt, sa.Select)
    assert ids(session.scalars(stmt)) == [4, 8]


def test_recursion_through_a_relation_is_a_recursive_set(session):
    oso = make_oso('allow(u: User, "read", r: Repo) if r.owner_id = u.id;\n'
                   'allow(u: User, "read", r: Repo) if allow(u, "read", r.parent);', SqlAlchemyAdapter(session))
    plan = build_filter_plan(oso, User(2), "read", Repo)
    assert len(plan.sets) == 1 and list(plan.sets.values())[0].steps
    statements = []
    event.listen(session.get_bind(), "before_cursor_execute", lambda *a: statements.append(a[2]))
    assert ids(oso.authorized_resources(User(2), "read", Repo)) == [2, 3, 4, 5, 6, 7, 8]
    assert len(statements) == 1 and "RECURSIVE" in statements[0].upper()


def test_plan_of_negated_existential_is_not_exists(session):
    oso = make_oso('allow(_, "open", r: Repo) if not (i in r.issues and i.closed = false);',
                   SqlAlchemyAdapter(session))
    text = render_condition(build_filter_plan(oso, User(1), "open", Repo).condition)
    assert text.startswith("not exists") and "closed = False" in text


def test_equalities_on_one_column_merge_into_in(session):
    oso = make_oso('allow(_, "read", r: Repo) if r.id in [1, 2] or r.id = 5;', SqlAlchemyAdapter(session))
    assert render_condition(build_filter_plan(oso, User(1), "read", Repo).condition) == "repo.id in [1, 2, 5]"


def test_partial_query_returns_the_constraints(session):
    oso = make_oso('allow(_, "read", r: Repo) if r.id = 3;')
    (result,) = oso.partial_query(User(1), "read", Repo)
    assert repr(result["bindings"]["resource"]) == (
        "Expression(And, [Expression(Isa, [Variable('_this'), Pattern(Repo, {})]), "
        "Expression(Unify, [3, Expression(Dot, [Variable('_this'), 'id'])])])")


def test_polar_explain_prints_the_plan(tmp_path):
    script = tmp_path / "explain.py"
    script.write_text(textwrap.dedent("""
        from oso_core import Oso
        from oso_core.data import DataAdapter
        class Repo: pass
        class A(DataAdapter):
            def build_query(self, f): return f
        oso = Oso()
        oso.set_data_filtering_adapter(A())
        oso.register_class(Repo, fields={"id": int})
        oso.load_str('allow(_, "read", r: Repo) if r.id = 3;')
        oso.authorized_query(1, "read", Repo)
    """))
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60,
                          env={"POLAR_EXPLAIN": "1", "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr
    assert "query Repo as repo\nwhere repo.id = 3" in proc.stderr


# The legacy adapter protocol ------------------------------------------------------------------

class Foo:
    def __init__(self, id, bar_id, is_fooey, parent_id=None):
        self.id, self.bar_id, self.is_fooey, self.parent_id = id, bar_id, is_fooey, parent_id


class Bar:
    def __init__(self, id, is_cool):
        self.id, self.is_cool = id, is_cool


BARS = [Bar("b1", True), Bar("b2", False)]
FOOS = [Foo("f1", "b1", True), Foo("f2", "b2", True), Foo("f3", "b1", False)]


class ListAdapter(DataAdapter):
    """A user adapter over Python lists, written against the legacy protocol only."""

    def __init__(self):
        self.filters = []

    def build_query(self, f: DataFilter):
        self.filters.append(f)
        return f

    def execute_query(self, f: DataFilter) -> list:
        rows = {Foo: FOOS, Bar: BARS}
        out = []
        for foo in rows[f.model]:
            joined = {f.model: foo}
            for rel in f.relations:
                r = f.types[rel.left].fields[rel.name]
                left = joined[rel.left]
                joined[rel.right] = next(x for x in rows[rel.right] if getattr(x, r.other_field) == getattr(left, r.my_field))

            def side(s):
                if isinstance(s, Projection):
                    return getattr(joined[s.source], s.field or "id")
                return s
            ops = {"Eq": lambda a, b: a == b, "Neq": lambda a, b: a != b, "In": lambda a, b: a in b,
                   "Nin": lambda a, b: a not in b}
            if any(all(ops[c.cmp](side(c.left), side(c.right)) for c in conj) for conj in f.conditions):
                out.append(foo)
        return out


def legacy_oso(policy: str, adapter: ListAdapter) -> Oso:
    oso = Oso()
    oso.set_data_filtering_adapter(adapter)
    oso.register_class(Bar, fields={"id": str, "is_cool": bool})
    oso.register_class(Foo, fields={"id": str, "bar_id": str, "is_fooey": bool,
                                    "bar": Relation(kind="one", other_type="Bar", my_field="bar_id", other_field="id"),
                                    "parent": Relation(kind="one", other_type="Foo", my_field="parent_id",
                                                       other_field="id")})
    oso.load_str(policy)
    return oso


def test_legacy_adapter_receives_a_data_filter():
    adapter = ListAdapter()
    oso = legacy_oso('allow(_, "get", foo: Foo) if foo.bar.is_cool = true or foo.id = "f2";', adapter)
    assert [f.id for f in oso.authorized_resources("u", "get", Foo)] == ["f1", "f2", "f3"]
    (f,) = adapter.filters
    assert f.model is Foo and f.relations == [JoinRelation(Foo, "bar", Bar)]
    assert f.conditions == [[Condition(Projection(Bar, "is_cool"), "Eq", True)],
                            [Condition(Projection(Foo, "id"), "Eq", "f2")]]


def test_legacy_adapter_filters():
    adapter = ListAdapter()
    oso = legacy_oso('allow(_, "get", foo: Foo) if foo.is_fooey = true and foo.bar_id in ["b1"];\n'
                     'allow(_, "none", _: Bar) if false;', adapter)
    assert [f.id for f in oso.authorized_resources("u", "get", Foo)] == ["f1"]
    assert oso.authorized_resources("u", "none", Bar) == []
    assert adapter.filters[-1].conditions == [[Condition(True, "Eq", False)]]


def test_legacy_adapter_cannot_take_a_recursive_policy():
    oso = legacy_oso('allow(_, "get", foo: Foo) if foo.id = "f1";\n'
                     'allow(u, "get", foo: Foo) if allow(u, "get", foo.parent);', ListAdapter())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(exceptions.UnsupportedError, match="build_query_from_plan"):
            oso.authorized_query("u", "get", Foo)


def test_data_filter_parse_reads_legacy_json():
    oso = legacy_oso('allow(_, "get", _: Foo);', ListAdapter())
    f = DataFilter.parse(oso, {"root": "Foo", "relations": [["Foo", "bar", "Bar"]],
                               "conditions": [[[{"Field": ["Bar", "is_cool"]}, "Eq", {"Immediate": True}]]]})
    assert f.model is Foo and f.relations == [JoinRelation(Foo, "bar", Bar)]
    assert f.conditions == [[Condition(Projection(Bar, "is_cool"), "Eq", True)]]


# Relation fields outside data filtering ----------------------------------------------------------

def test_declared_relation_field_is_read_through_the_adapter():
    adapter = ListAdapter()
    oso = legacy_oso('allow(_, "get", foo: Foo) if foo.bar.is_cool = true;', adapter)
    assert oso.is_allowed("u", "get", FOOS[0]) and not oso.is_allowed("u", "get", FOOS[1])
    assert adapter.filters[0].conditions == [[Condition(Projection(Bar, "id"), "Eq", "b1")]]


def test_declared_relation_field_without_adapter_is_a_clear_error():
    oso = Oso()
    oso.register_class(Bar, fields={"id": str})
    oso.register_class(Foo, fields={"bar": Relation("one", "Bar", "bar_id", "id")})
    oso.load_str('allow(_, "get", foo: Foo) if foo.bar.id = "b1";')
    with pytest.raises(exceptions.PolarRuntimeError, match=r"Foo.bar is declared as a Relation field[\s\S]*set_data_filtering_adapter"):
        oso.is_allowed("u", "get", FOOS[0])


def test_relation_provider_comes_before_the_adapter(session):
    """Integrations expose ORM relationships through `Host.set_relation_provider`."""
    oso = Oso()
    oso.set_data_filtering_adapter(SqlAlchemyAdapter(session))
    from_adapter = oso.host.discovered_relations(Repo)
    assert from_adapter["org"][0] == "one"
    provided = {"org": ("one", Org, "org_id", "id"), "owner": ("one", Org, "owner_id", "id")}
    oso.host.set_relation_provider(lambda cls: provided if cls is Repo else {})
    found = oso.host.discovered_relations(Repo)
    assert found["owner"] == provided["owner"] and found["org"] == provided["org"]
    assert "repo_roles" in found                    # still from the adapter
    oso.host.set_relation_provider(None)
    assert "owner" not in oso.host.discovered_relations(Repo)
