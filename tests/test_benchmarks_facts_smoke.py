"""The fact-store benchmark runs and checks its answers at a tiny scale (no timing assertions).

`python -m benchmarks.facts_decisions` times FactStore authorize/list over 1M facts against
hand-written SQL; this runs the same code on ~550 facts, on SQLite and (where the server is
available, tests/fixtures/databases.py) PostgreSQL, so that a change making the engine disagree
with the hand SQL -- or the hand SQL with the data -- fails the suite.
"""

from __future__ import annotations

import os
import random
import sys

import pytest

pytest.importorskip("sqlalchemy")

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

from benchmarks import facts_dataset as fd  # noqa: E402
from benchmarks import facts_decisions as bench  # noqa: E402
from benchmarks import facts_policy as fp  # noqa: E402
from benchmarks import facts_timing as ft  # noqa: E402
from oso_core import Oso  # noqa: E402
from oso_core.runtime.memory_facts import MemoryFacts  # noqa: E402
from tests.fixtures.databases import postgres_url, require_postgres  # noqa: E402

TINY_SCALE = 0.0005
TINY = bench.Settings(authorize_requests=80, list_requests=8, budget_s=2.0, memory_batch=10)


def _run(backend: str, url: str = fd.DEFAULT_POSTGRES_URL):
    problems: list = []
    notes: list = []
    result = bench.run_one(backend, fd.Sizes(TINY_SCALE), TINY, problems, notes, postgres_url=url)
    return result, problems, notes


def _assert_checked_run(result, problems, notes) -> None:
    assert problems == []
    implementations = {"engine", "hand", "autocommit", "raw"}
    for case in ("authorize", "list (many repos)", "list (one repo)"):
        assert {name for c, name in result.timings if c == case} == implementations
        assert len(result.timings[case, "hand"].times) > 0
    answers = result.timings["authorize", "hand"].answers
    assert True in answers and False in answers         # allowed and denied requests
    assert result.batch_facts == 100 and result.batch_s is not None
    assert result.memory_bytes is not None and result.plans
    assert [full for *_, full in result.plans] == [[]] * len(result.plans)   # no full scans
    block = bench.render([result], notes)
    assert "| authorize |" in block and "list (many repos)" in block


def test_dataset_is_deterministic_and_sized():
    sizes = fd.Sizes(TINY_SCALE)
    first, second = fd.generate(sizes), fd.generate(sizes)
    assert fd.rows(first) == fd.rows(second)
    assert first.fact_count == sizes.role_facts + sizes.repos
    assert all(first.readable(u) for u in first.heavy + first.light)
    assert len(first.readable(first.heavy[0])) > len(first.readable(first.light[0])) == 1


def test_policy_on_memory_facts_means_what_the_dataset_says():
    """The policy text (on today's engine, over MemoryFacts) and the dataset's `can_read`, which
    checks the hand SQL, agree on every (user, repo) of a small dataset, and on push/delete."""
    data = fd.generate(fd.Sizes(TINY_SCALE))
    oso = Oso()
    oso.load_str(fp.POLICY)
    oso.attach_facts(MemoryFacts(list(data.facts())))
    rng = random.Random(3)
    users = rng.sample(range(data.sizes.users), 12) + data.heavy + data.light
    for u in users:
        for r in range(data.sizes.repos):
            assert oso.is_allowed(fd.user(u), "read", fd.repo(r)) == data.can_read(u, r), (u, r)
    admin_of_org = next((u, o) for u, orgs in data.org_roles.items() for o, roles in orgs.items()
                        if "admin" in roles)
    u, o = admin_of_org
    r = data.repos_of_org[o][0]
    assert oso.is_allowed(fd.user(u), "delete", fd.repo(r)) and oso.is_allowed(fd.user(u), "push", fd.repo(r))


def test_a_difference_from_the_hand_sql_is_a_problem():
    timed = {"hand": ft.Samples(answers=[True, False]), "raw": ft.Samples(answers=[True, False]),
             "engine": ft.Samples(answers=[True, True])}
    problems: list = []
    bench._check("authorize", "here", [True, False], timed, problems)
    assert len(problems) == 1 and "engine differs from the hand SQL in 1 of 2" in problems[0]
    problems.clear()
    bench._check("authorize", "here", [False, False], timed, problems)
    assert any("the hand SQL is wrong" in p for p in problems)


def test_explain_flags_a_full_scan_of_the_facts_table():
    db = fd.create_database("sqlite")
    try:
        fd.load(db, *fd.rows(fd.generate(fd.Sizes(TINY_SCALE))))
        _, full = ft.explain(db.engine, "SELECT count(*) FROM oso_facts f WHERE f.a3 = ?", (0,))
        assert full
        run, params = ft.raw_caller(db.engine, fp.HAND_AUTHORIZE_READ)
        run.close()
        _, full = ft.explain(db.engine, str(fp.HAND_AUTHORIZE_READ.compile(db.engine)),
                             params(fp.authorize_params(fd.user(1), fd.repo(1))))
        assert full == []
    finally:
        db.drop()


def test_benchmark_on_sqlite():
    _assert_checked_run(*_run("sqlite"))


def test_benchmark_on_postgresql():
    require_postgres()
    url = postgres_url()
    _assert_checked_run(*_run("postgresql", url))


def test_an_engine_answering_differently_fails_the_run(monkeypatch):
    """Without the parent-org rules the store denies what the hand SQL allows: a problem."""
    kept = [line for line in fp.POLICY.splitlines() if 'has_relation(r, "parent", o)' not in line]
    monkeypatch.setattr(fp, "POLICY", "\n".join(kept))
    _, problems, _ = _run("sqlite")
    assert any("engine differs from the hand SQL" in p and p.startswith("sqlite") for p in problems)
