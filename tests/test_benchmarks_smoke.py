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


def test_warm_load_rows_skip_the_floor_and_report_failures(capsys):
    """`run_warm_loads`: a row per load case, a number per engine, `-` for the floor; an engine
    that raises gets ERROR and one line in `problems`, which `exit_status` lists (status 1)."""
    from benchmarks import runner
    from benchmarks.report import exit_status
    from benchmarks.timing import QUICK

    problems: list = []
    rows = runner.run_warm_loads(["oso_core", "floor", "no_such_engine"], QUICK, problems)
    assert [row.key for row in rows] == [case.key for case in scenarios.load_cases()]
    for row in rows:
        assert row.kind == "load" and row.label == "warm" and row.values["oso_core"] > 0 and row.values["floor"] == "-"
        assert row.values["no_such_engine"] == runner.ERROR
    assert len(problems) == len(rows)
    assert problems[0].startswith("no_such_engine: load_str of the resource-block policy raised KeyError")
    capsys.readouterr()   # the progress log
    assert exit_status([], "CHECK FAILED") == 0
    assert exit_status(problems, "CHECK FAILED") == 1
    err = capsys.readouterr().err
    assert err.startswith("\nCHECK FAILED:\n\n* no_such_engine: load_str of the ")
