"""The benchmark scenarios give the right answers on oso_core (no timing, ever).

Every request of every scenario in ``benchmarks/scenarios.py`` is answered by oso_core and by the
hand-written floor; both must equal the answer expected by construction. The load cases must
load. This keeps ``python -m benchmarks`` honest: it only times engines that answer right.
"""

from __future__ import annotations

import os
import sys

import pytest

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

from benchmarks import engines, scenarios  # noqa: E402

SCENARIOS = scenarios.decision_scenarios()
CASES = [(scenario, request) for scenario in SCENARIOS for request in scenario.requests]

_built: dict = {}


def built(scenario):
    if scenario.key not in _built:
        _built[scenario.key] = engines.build("oso_core", scenario)
    return _built[scenario.key]


@pytest.mark.parametrize("scenario,request_", CASES,
                         ids=[f"{s.key}: {r.label}" for s, r in CASES])
def test_oso_core_answers_like_the_floor(scenario, request_):
    floor = engines.answer("floor", None, request_)
    assert floor == request_.expected, "the hand-written floor itself is wrong"
    answer = engines.answer("oso_core", built(scenario), request_)
    assert answer == floor


@pytest.mark.parametrize("case", scenarios.load_cases(), ids=lambda case: case.key)
def test_load_cases_load(case):
    oso = engines.new_oso("oso_core", case.classes)
    oso.load_str(case.policy)
    oso.clear_rules()


def test_rule_policies_share_the_measured_rule():
    # Scenario 4 measures one class/action present in every size.
    rule = 'allow(u: User, "act0", r: Res0) if r.owner0 = u.name;'
    for n in scenarios.RULE_SIZES:
        policy = scenarios.rules_policy(n)
        assert policy.count("\n") == n
        assert rule in policy
