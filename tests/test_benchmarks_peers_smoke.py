"""The benchmark peers (cedarpy, casbin) answer every benchmark request like oso_core (no timing).

``python -m benchmarks`` times Cedar and casbin translations of its scenarios
(``benchmarks/peer_cedar.py``, ``benchmarks/peer_casbin.py``); a translation that answers
differently would compare different work. Each request is answered once by each peer and by
oso_core. Without cedarpy or casbin installed the peer's tests skip, except under CI=true
(which installs them with the ``dev`` extra), where they fail.
"""

from __future__ import annotations

import importlib
import os
import sys

import pytest

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

from benchmarks import engines, runner, scenarios  # noqa: E402

PEERS = {"cedarpy": "cedarpy", "casbin": "casbin"}  # engine -> module it needs
SCENARIOS = scenarios.decision_scenarios()
CASES = [(scenario, request) for scenario in SCENARIOS for request in scenario.requests]
_built: dict = {}


def require(engine: str) -> None:
    """Skip (fail under CI=true) unless the peer's package imports."""
    try:
        importlib.import_module(PEERS[engine])
    except ImportError as error:
        reason = f"{PEERS[engine]} is not importable ({error}); `pip install -e '.[dev]'` installs it"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{engine} is required under CI=true: {reason}")
        pytest.skip(reason)


def scenario_named(key: str):
    """The scenario of SCENARIOS (whose objects the cached peer translations were built from)."""
    return next(scenario for scenario in SCENARIOS if scenario.key == key)


def built(engine: str, scenario):
    key = (engine, scenario.key)
    if key not in _built:
        _built[key] = engines.build(engine, scenario)
    return _built[key]


@pytest.mark.parametrize("engine", list(PEERS))
def test_peer_is_available(engine):
    require(engine)
    assert engines.availability(engine) is None


@pytest.mark.parametrize("engine", list(PEERS))
@pytest.mark.parametrize("scenario,request_", CASES, ids=[f"{s.key}: {r.label}" for s, r in CASES])
def test_peer_answers_like_oso_core(engine, scenario, request_):
    require(engine)
    expected = engines.answer("oso_core", built("oso_core", scenario), request_)
    assert expected == request_.expected
    assert engines.answer(engine, built(engine, scenario), request_) == expected


@pytest.mark.parametrize("engine", list(PEERS))
def test_peer_github_translation_agrees_on_every_user_action_and_resource(engine):
    """Beyond the benchmark's four requests: every user of the GitHub scenario, every resource
    its objects reach and every permission of that resource's block (and one the block does
    not have), through is_allowed and authorized_actions."""
    require(engine)
    from benchmarks import peer_world

    scenario = scenario_named("github")
    world = peer_world.github_world(scenario)
    core, peer = built("oso_core", scenario), built(engine, scenario)
    checked = 0
    for user in world.users:
        for resource in world.orgs + world.repos + world.issues:
            for action in [*peer_world.permissions_of(resource), "delete_everything"]:
                request = scenarios.Request("any", "is_allowed", (user, action, resource), None, None)
                assert engines.answer(engine, peer, request) == engines.answer("oso_core", core, request), \
                    (user.name, action, resource)
                checked += 1
            request = scenarios.Request("any", "authorized_actions", (user, resource), None, None)
            assert engines.answer(engine, peer, request) == engines.answer("oso_core", core, request)
    assert checked > 300


@pytest.mark.parametrize("engine", list(PEERS))
def test_peer_manager_translation_agrees_on_every_pair(engine):
    require(engine)
    from benchmarks import peer_world

    scenario = scenario_named("manager")
    users, employees = peer_world.manager_chain(scenario)
    core, peer = built("oso_core", scenario), built(engine, scenario)
    for user in users:
        for employee in employees:
            request = scenarios.Request("any", "is_allowed", (user, "read", employee), None, None)
            assert engines.answer(engine, peer, request) == engines.answer("oso_core", core, request)


def test_casbin_needs_the_raised_hierarchy_limit(monkeypatch):
    """With casbin's default limit of 10 hops, depth 20 of the manager chain is denied: the
    raised limit is what makes casbin's answer right, not a coincidence."""
    require("casbin")
    from benchmarks import peer_casbin

    monkeypatch.setattr(peer_casbin, "MAX_HIERARCHY_LEVEL", 10)
    scenario = scenarios.manager_scenario()
    request = next(r for r in scenario.requests if r.label == "allowed, depth 20")
    assert engines.answer("casbin", engines.build("casbin", scenario), request) is False


def test_render_shows_peer_ratios_geomeans_and_rows_slower_than_cedarpy():
    rows = [runner.Row("decision", "fast", "k", "a",
                       {"oso_core": 2e3, "legacy": 200e3, "cedarpy": 8e3, "casbin": 20e3, "floor": 1e3}),
            runner.Row("decision", "slow", "k", "b",
                       {"oso_core": 8e3, "legacy": 80e3, "cedarpy": 2e3, "casbin": "-", "floor": 1e3})]
    block = runner.render(rows, list(engines.ENGINES), [], {})
    assert "| fast | 2.00 µs | 200 µs | 8.00 µs | 20.0 µs | 1.00 µs | 100.0x | 4.00x | 10.0x | 2.00x |" in block
    assert "| slow | 8.00 µs | 80.0 µs | 2.00 µs | - | 1.00 µs | 10.0x | 0.25x | - | 8.00x |" in block
    assert "- legacy/oso_core: 31.6x (2 rows)" in block
    assert "- cedarpy/oso_core: 1.00x (2 rows)" in block
    assert "- casbin/oso_core: 10.0x (1 rows)" in block
    assert "Decisions where oso_core is slower than cedarpy: slow (4.00x cedarpy's time)." in block
