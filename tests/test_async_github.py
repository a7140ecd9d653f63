"""The GitHub-like example domain (tests/filter_scenarios.py: GITHUB and the other scenarios, over
`random_rows`) with every attribute read awaitable: `is_allowed_async` gives the same decision
as `is_allowed` for every user, action and resource; hundreds of decisions run concurrently on
one event loop, with awaits of random duration, without interfering; and the loop keeps running
other tasks during a long decision.
"""

from __future__ import annotations

import asyncio

import pytest

pytest.importorskip("greenlet")
pytest.importorskip("pytest_asyncio")

from engine_under_test import LEGACY  # noqa: E402
from filter_scenarios import GITHUB, SCENARIOS, random_rows  # noqa: E402
from oso_core import Oso  # noqa: E402
from test_async import AWAITS, DELAY, AsyncRecord, Record, classes  # noqa: E402

pytestmark = pytest.mark.skipif(LEGACY, reason="async decisions are an oso_core API")

NAMES = ("User", "Org", "Repo", "Issue", "OrgRole", "RepoRole")


def build(rows: dict, base: type) -> dict:
    """The object graph of `rows` (relations as attributes) with classes derived from `base`."""
    C = classes(base, NAMES)
    orgs = {r["id"]: dict(r, org_roles=[]) for r in rows["orgs"]}
    repos = {r["id"]: dict(r, issues=[], repo_roles=[]) for r in rows["repos"]}
    issues = {r["id"]: dict(r) for r in rows["issues"]}
    objects: dict = {"Org": {}, "Repo": {}, "Issue": {}}
    for i, fields in orgs.items():
        objects["Org"][i] = C["Org"](**fields)
    for i, fields in repos.items():
        objects["Repo"][i] = C["Repo"](**fields)
    for i, fields in issues.items():
        objects["Issue"][i] = C["Issue"](**fields)

    def set_field(obj, name, value):
        (obj._fields if base is AsyncRecord else obj.__dict__)[name] = value

    def get_field(obj, name):
        return (obj._fields if base is AsyncRecord else obj.__dict__)[name]

    for repo in objects["Repo"].values():
        set_field(repo, "org", objects["Org"][get_field(repo, "org_id")])
        parent = get_field(repo, "parent_id")
        set_field(repo, "parent", objects["Repo"][parent] if parent is not None else None)
    for issue in objects["Issue"].values():
        repo = objects["Repo"][get_field(issue, "repo_id")]
        set_field(issue, "repo", repo)
        get_field(repo, "issues").append(issue)
    for r in rows["org_roles"]:
        org = objects["Org"][r["org_id"]]
        get_field(org, "org_roles").append(C["OrgRole"](**r, org=org))
    for r in rows["repo_roles"]:
        repo = objects["Repo"][r["repo_id"]]
        get_field(repo, "repo_roles").append(C["RepoRole"](**r, repo=repo))
    users = [C["User"](id=i) for i in range(1, 7)]
    return {"classes": C, "objects": objects, "users": users}


def make_oso(world: dict, policy: str) -> Oso:
    oso = Oso()
    for name, cls in world["classes"].items():
        oso.register_class(cls, name=name)
    oso.load_str(policy)
    return oso


def requests(scenario_checks, sync_world, async_world):
    """(sync args, async args) of every decision: each user, checked action, resource."""
    out = []
    for user_index in range(6):
        for action, type_name in scenario_checks:
            for key in sorted(sync_world["objects"][type_name]):
                out.append(((sync_world["users"][user_index], action, sync_world["objects"][type_name][key]),
                            (async_world["users"][user_index], action, async_world["objects"][type_name][key])))
    return out


@pytest.mark.asyncio
@pytest.mark.parametrize("data_seed", [1, 2])
@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
async def test_async_decisions_equal_sync(scenario, data_seed):
    rows = random_rows(data_seed)
    sync_world, async_world = build(rows, Record), build(rows, AsyncRecord)
    sync_oso, async_oso = make_oso(sync_world, scenario.policy), make_oso(async_world, scenario.policy)
    AWAITS["count"] = 0
    allowed = 0
    pairs = requests(scenario.checks, sync_world, async_world)
    for sync_args, async_args in pairs:
        expected = sync_oso.is_allowed(*sync_args)
        assert await async_oso.is_allowed_async(*async_args) is expected, (scenario.name, sync_args)
        allowed += expected
    assert 0 < allowed < len(pairs)
    assert AWAITS["count"] >= len(pairs)   # decisions read attributes asynchronously
    # authorized_actions too, for one resource of each checked type per user.
    for user_index in range(6):
        for _, type_name in scenario.checks:
            key = min(sync_world["objects"][type_name])
            assert (await async_oso.authorized_actions_async(async_world["users"][user_index],
                                                             async_world["objects"][type_name][key])
                    == sync_oso.authorized_actions(sync_world["users"][user_index],
                                                   sync_world["objects"][type_name][key]))


@pytest.fixture
def random_delays():
    DELAY["max"] = 0.002
    yield
    DELAY["max"] = 0.0


@pytest.mark.asyncio
async def test_hundreds_of_concurrent_decisions_do_not_interfere(random_delays):
    github = next(s for s in SCENARIOS if s.policy is GITHUB)
    rows = random_rows(3)
    sync_world, async_world = build(rows, Record), build(rows, AsyncRecord)
    sync_oso, async_oso = make_oso(sync_world, GITHUB), make_oso(async_world, GITHUB)
    pairs = requests(github.checks, sync_world, async_world)
    assert len(pairs) > 1000
    expected = [sync_oso.is_allowed(*sync_args) for sync_args, _ in pairs]
    AWAITS["count"] = 0
    in_flight = {"now": 0, "max": 0}

    async def decide(args):
        in_flight["now"] += 1
        in_flight["max"] = max(in_flight["max"], in_flight["now"])
        try:
            return await async_oso.is_allowed_async(*args)
        finally:
            in_flight["now"] -= 1
    # Interleave sync decisions on the same Oso too: sync and async share the compiled policy.
    results = await asyncio.gather(*[decide(async_args) for _, async_args in pairs])
    assert list(results) == expected
    assert [sync_oso.is_allowed(*s) for s, _ in pairs] == expected
    # The awaits overlapped: every decision was suspended at once at some point (no timing:
    # a time limit fails on a busy machine and proves nothing more).
    assert in_flight["max"] == len(pairs)


@pytest.mark.asyncio
async def test_the_loop_runs_during_a_long_decision(random_delays):
    """A decision awaiting hundreds of attribute reads (each up to 2 ms) leaves the loop free:
    a ticker task gets a turn at its awaits while it runs."""
    github = next(s for s in SCENARIOS if s.policy is GITHUB)
    rows = random_rows(4, repos=12, issues=10)
    async_world = build(rows, AsyncRecord)
    oso = make_oso(async_world, github.policy)
    ticks = {"count": 0}
    done = asyncio.Event()

    async def ticker():
        while not done.is_set():
            ticks["count"] += 1
            await asyncio.sleep(0)

    ticking = asyncio.ensure_future(ticker())
    await asyncio.sleep(0)
    AWAITS["count"] = 0
    ticks["count"] = 0
    # authorized_actions on every repo: every path of the policy is tried.
    for repo in async_world["objects"]["Repo"].values():
        await oso.authorized_actions_async(async_world["users"][5], repo)
    done.set()
    await ticking
    assert AWAITS["count"] > 300
    # The loop ran other tasks while the decisions awaited: the ticker gets a turn at every
    # await that really suspends (counted, not timed: a busy machine cannot fail it).
    assert ticks["count"] >= AWAITS["count"] / 2, (ticks["count"], AWAITS["count"])
