"""The filter-plan cache (`oso_core.filtering.plan_cache`): a repeat `authorized_query` for an
actor of the same class binds the actor's values into a template, and never serves one actor's
values to another. Every check compares rows with `is_allowed` on the same data."""

from __future__ import annotations

import re
import threading

import pytest

sa = pytest.importorskip("sqlalchemy")

from sqlalchemy import create_engine  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

import oso_core.filtering as filtering  # noqa: E402
from filter_scenarios import GITHUB, SCENARIOS, User, random_rows  # noqa: E402
from filter_sqlalchemy_models import MODELS, TABLES, Base, Issue, Org, OrgRole, Repo, RepoRole  # noqa: E402
from oso_core import Oso  # noqa: E402
from oso_core.data.adapter.sqlalchemy_adapter import SqlAlchemyAdapter, build_select  # noqa: E402
from oso_core.filtering import build_filter_plan  # noqa: E402
from oso_core.filtering.plan_cache import (  # noqa: E402
    CACHE_KEY, VALUE_DEPENDENT, Template, bind_plan, build_template,
)


class Member(User):
    """A second actor class: its own cache key, its own rules."""


class FlagUser(User):
    def __init__(self, id, is_admin=False, roles=()) -> None:
        super().__init__(id)
        self.is_admin = is_admin
        self.roles = list(roles)


class PlanOnlyAdapter(SqlAlchemyAdapter):
    """An adapter without `prepare_plan` (like the Django adapter): plan-level binding."""

    prepare_plan = None


@pytest.fixture
def session():
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with Session(engine) as s:
        for table, model in TABLES:
            s.add_all(model(**r) for r in random_rows(1)[table])
            s.flush()
        s.commit()
        yield s
    engine.dispose()


def make_oso(session, policy, adapter_class=SqlAlchemyAdapter, actors=(User,)):
    oso = Oso()
    oso.set_data_filtering_adapter(adapter_class(session))
    for cls in actors:
        oso.register_class(cls)
    for model in (Org, Repo, Issue, OrgRole, RepoRole):
        oso.register_class(model)
    oso.load_str(policy)
    return oso


def ids(oso, user, action, model):
    return sorted(r.id for r in oso.authorized_resources(user, action, model))


def allowed(oso, session, user, action, model):
    return sorted(r.id for r in session.scalars(sa.select(model)) if oso.is_allowed(user, action, r))


def entries(oso):
    return oso._current_kb().derived.get(CACHE_KEY, {})


def no_partial_evaluation(monkeypatch):
    """Make any partial evaluation fail: a cache hit must not need one."""
    def fail(*args, **kwargs):
        raise AssertionError("partial evaluation ran on a cache hit")
    monkeypatch.setattr(filtering, "build_rule_plan", fail)
    monkeypatch.setattr("oso_core.filtering.plan_cache.evaluate_rule_for_class", fail)


@pytest.mark.parametrize("adapter_class", [SqlAlchemyAdapter, PlanOnlyAdapter])
def test_two_actors_of_one_class_get_their_own_rows(session, adapter_class, monkeypatch):
    oso = make_oso(session, GITHUB, adapter_class)
    first = ids(oso, User(1), "read", Repo)     # builds the plan and the template
    (entry,) = entries(oso).values()
    assert isinstance(entry, Template) and entry.fields == ("id",)
    no_partial_evaluation(monkeypatch)
    seen = set()
    for user_id in range(1, 7):
        got = ids(oso, User(user_id), "read", Repo)
        assert got == allowed(oso, session, User(user_id), "read", Repo), user_id
        seen.add(tuple(got))
    assert first == ids(oso, User(1), "read", Repo)
    assert len(seen) > 1   # the data gives users different rows


def test_bound_template_is_the_concrete_plan(session):
    """For every scenario, binding an actor into the template gives the plan and SQL the
    concrete build gives (so cached queries are the snapshot-tested ones)."""
    compared = 0
    for scenario in SCENARIOS:
        oso = make_oso(session, scenario.policy)
        kb = oso._current_kb()
        for action, type_name in scenario.checks:
            model = MODELS[type_name]
            template = build_template(oso, kb, User(1), action, model)
            assert isinstance(template, Template), (scenario.name, action)
            for user_id in (2, 5):
                concrete = build_filter_plan(oso, User(user_id), action, model)
                bound = bind_plan(template.plan, {"id": user_id} if template.fields else {})
                assert without_set_descriptions(bound) == without_set_descriptions(concrete)
                assert literal(build_select(bound)) == literal(build_select(concrete))
                compared += 1
    assert compared == 2 * sum(len(s.checks) for s in SCENARIOS)


def without_set_descriptions(plan) -> str:
    # A row set's description names the rule call it stands for, with the template's actor
    # variable or the concrete actor: text for explanations, not part of the query.
    return re.sub(r" \(\w+\(.*\)\):$", ":", plan.describe(), flags=re.MULTILINE)


def literal(statement) -> str:
    return str(statement.compile(compile_kwargs={"literal_binds": True}))


def test_changed_attribute_values_are_read_again(session):
    oso = make_oso(session, GITHUB)
    user = User(1)
    ids(oso, user, "read", Issue)
    for user_id in (2, 3, 1):
        user.id = user_id
        assert ids(oso, user, "read", Issue) == allowed(oso, session, user, "read", Issue)


def test_an_unbindable_value_is_built_concretely(session):
    """`id = None` (IS NULL in SQL) is not bound into a template built for ints."""
    oso = make_oso(session, GITHUB)
    ids(oso, User(1), "read", Repo)
    for odd in (None,):
        user = User(odd)
        assert ids(oso, user, "read", Repo) == allowed(oso, session, user, "read", Repo)


@pytest.mark.parametrize("change", ["reload_str", "clear_rules", "register_class",
                                    "set_data_filtering_adapter"])
def test_policy_changes_drop_the_cache(session, change):
    oso = make_oso(session, GITHUB)
    ids(oso, User(1), "read", Repo)
    assert entries(oso)
    if change == "reload_str":
        oso.reload_str('allow(user: User, "read", repo: Repo) if repo.owner_id = user.id;')
        assert not entries(oso)
        for user_id in (1, 2):
            got = ids(oso, User(user_id), "read", Repo)
            assert got == sorted(r.id for r in session.scalars(sa.select(Repo)) if r.owner_id == user_id)
        return
    if change == "clear_rules":
        oso.clear_rules()
    elif change == "register_class":
        oso.register_class(Member)
    else:
        oso.set_data_filtering_adapter(SqlAlchemyAdapter(session))
    assert not entries(oso)


def test_actor_subclass_has_its_own_key(session):
    policy = GITHUB + '\nallow(_m: Member, "read", repo: Repo) if repo.is_archived = true;\n'
    oso = make_oso(session, policy, actors=(User, Member))
    for actor in (User(2), Member(2), User(3), Member(3)):
        assert ids(oso, actor, "read", Repo) == allowed(oso, session, actor, "read", Repo), actor
    assert {key[3] for key in entries(oso)} == {User, Member}


VALUE_DEPENDENT_POLICIES = {
    "branch on a flag": """
        allow(user: FlagUser, "read", repo: Repo) if user.is_admin = true and repo.is_public = false;
        allow(user: FlagUser, "read", repo: Repo) if repo.owner_id = user.id;""",
    "iterate a list": """
        allow(user: FlagUser, "read", repo: Repo) if role in user.roles and repo.name = role;""",
    "compare with a constant": """
        allow(user: FlagUser, "read", repo: Repo) if user.id = 2 and repo.owner_id = user.id;
        allow(user: FlagUser, "read", repo: Repo) if user.id > 3 and repo.is_public = true;""",
    "the actor itself": """
        allow(user: FlagUser, "read", repo: Repo) if user = user and repo.owner_id = user.id;""",
}


@pytest.mark.parametrize("name", list(VALUE_DEPENDENT_POLICIES))
def test_value_dependent_plans_are_not_shared(session, name):
    oso = make_oso(session, VALUE_DEPENDENT_POLICIES[name], actors=(FlagUser,))
    actors = [FlagUser(1, is_admin=True, roles=["repo3", "repo4"]), FlagUser(2, roles=["repo5"]),
              FlagUser(4), FlagUser(2, is_admin=True, roles=[])]
    rows = set()
    for actor in actors + actors:
        got = ids(oso, actor, "read", Repo)
        assert got == allowed(oso, session, actor, "read", Repo), (name, vars(actor))
        rows.add(tuple(got))
    assert len(rows) > 1
    if name != "the actor itself":   # `user = user` is true without looking at values
        assert list(entries(oso).values()) == [VALUE_DEPENDENT]


def test_concurrent_threads_never_see_each_others_values(session):
    oso = make_oso(session, GITHUB)
    expected = {u: allowed(oso, session, User(u), "read", Issue) for u in range(1, 7)}
    assert len({tuple(v) for v in expected.values()}) > 1
    built: dict = {u: [] for u in expected}
    start = threading.Barrier(len(expected))

    def work(user_id: int) -> None:
        start.wait()
        for _ in range(30):
            built[user_id].append(oso.authorized_query(User(user_id), "read", Issue))

    threads = [threading.Thread(target=work, args=(u,)) for u in expected]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for user_id, queries in built.items():
        assert len(queries) == 30
        for query in queries:   # run here: the session is not shared between threads
            assert sorted(r.id for r in query.all()) == expected[user_id], user_id


@pytest.mark.asyncio
@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
async def test_async_sessions_bind_each_actor(tmp_path, scenario):
    """`authorized_resources_async` over an `AsyncSession` (`Select` statements, whose bound
    parameters are set with `.params`): repeats for other actors select their own rows."""
    pytest.importorskip("aiosqlite")
    pytest.importorskip("greenlet")
    from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

    path = tmp_path / "cache.db"
    engine = create_engine(f"sqlite:///{path}")
    Base.metadata.create_all(engine)
    async_engine = create_async_engine(f"sqlite+aiosqlite:///{path}")
    try:
        with Session(engine) as session:
            rows = random_rows(2)
            for table, model in TABLES:
                session.add_all(model(**r) for r in rows[table])
                session.flush()
            session.commit()
            sync_oso = make_oso(session, scenario.policy)
            async with async_sessionmaker(async_engine, expire_on_commit=False)() as async_session:
                oso = make_oso(async_session, scenario.policy)
                for _round in range(2):
                    for user_id in range(1, 7):
                        for action, type_name in scenario.checks:
                            model = MODELS[type_name]
                            got = sorted(r.id for r in await oso.authorized_resources_async(
                                User(user_id), action, model))
                            assert got == allowed(sync_oso, session, User(user_id), action, model)
                assert all(isinstance(e, Template) for e in entries(oso).values())
    finally:
        await async_engine.dispose()
        engine.dispose()


class NamedUser(User):
    def __init__(self, id) -> None:
        super().__init__(id)
        self.name = f"repo{id}"


FIELD_POLICIES = {   # policy -> whether a template serves it (else: built concretely each time)
    'allow(u: NamedUser, "read", r: Repo) if x = u.id and r.owner_id = x;': True,
    'allow(u: NamedUser, "read", r: Repo) if r.name = u.name;': True,
    # A list holding an actor value: no prepared SQL (the list compiles to literals), the plan
    # is bound instead.
    'allow(u: NamedUser, "read", r: Repo) if r.owner_id in [u.id, 3];': True,
    # Arithmetic on the actor's value is evaluated by the solver: value-dependent.
    'allow(u: NamedUser, "read", r: Repo) if r.owner_id = u.id + 1;': False,
}


@pytest.mark.parametrize("policy", list(FIELD_POLICIES))
def test_actor_fields_in_other_positions(session, policy):
    oso = make_oso(session, policy, actors=(NamedUser,))
    for user_id in (1, 2, 3, 1, 4):
        user = NamedUser(user_id)
        assert ids(oso, user, "read", Repo) == allowed(oso, session, user, "read", Repo), user_id
    (entry,) = entries(oso).values()
    assert isinstance(entry, Template) is FIELD_POLICIES[policy]
