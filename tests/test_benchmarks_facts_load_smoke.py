"""The fact store batch-load benchmark runs and checks its own answer (tiny data, no timing
assertions): `python -m benchmarks.facts_load` inserts 100k facts on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import sys

import pytest

pytest.importorskip("sqlalchemy")

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

from benchmarks import facts_load  # noqa: E402
from fixtures.databases import require_postgres  # noqa: E402
from oso_core.facts.pg_copy import COPY_THRESHOLD  # noqa: E402


def test_make_facts_gives_distinct_facts_of_the_policy():
    facts = facts_load.make_facts(500)
    assert len(facts) == len(set(facts)) == 500
    assert {f[0] for f in facts} == {"has_relation", "has_role"}


def test_sqlite_run_stores_every_fact(tmp_path):
    results = facts_load.run(300, ["sqlite"], sqlite_dir=str(tmp_path))
    assert set(results) == {"sqlite"} and results["sqlite"] > 0


def test_preloaded_run_inserts_new_facts_next_to_the_dataset(tmp_path):
    results = facts_load.run(300, ["sqlite"], sqlite_dir=str(tmp_path), preload=0.001)
    assert results["sqlite"] > 0
    with pytest.raises(SystemExit):
        facts_load.main(["--preload", "2", "--backends", "sqlite"])


def test_postgresql_run_stores_every_fact_through_copy():
    require_postgres()
    # Above the COPY threshold, so the COPY path is the one run.
    results = facts_load.run(COPY_THRESHOLD + 10, ["postgresql"])
    assert results["postgresql"] > 0


def test_main_prints_seconds(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(facts_load.tempfile, "tempdir", str(tmp_path))
    assert facts_load.main(["--facts", "50", "--backends", "sqlite"]) == 0
    out = capsys.readouterr().out
    assert "sqlite" in out and "50 facts in one batch" in out and " s " in out


def test_main_refuses_unknown_backends_and_unbounded_runs():
    with pytest.raises(SystemExit):
        facts_load.main(["--backends", "oracle"])
    with pytest.raises(SystemExit):
        facts_load.main(["--facts", str(facts_load.MAX_FACTS + 1), "--backends", "sqlite"])
