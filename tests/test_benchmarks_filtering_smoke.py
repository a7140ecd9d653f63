"""The data-filtering benchmark runs and checks its answers (tiny data, SQLite only, no timing
assertions, no legacy oso).

``python -m benchmarks --filtering`` times oso_core's `authorized_query` on SQLAlchemy against
hand-written SQL; this runs the same code path on 200 repos so that a change breaking the
benchmark (or making the generated query disagree with the hand SQL, or run more than one
statement) fails the test suite rather than the next benchmark run.
"""

from __future__ import annotations

import os
import sys

import pytest

pytest.importorskip("sqlalchemy")

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

from benchmarks import filtering, filtering_data  # noqa: E402

TINY = filtering.FilterSettings(build_min_runs=2, build_budget_ns=0, build_max_runs=2,
                                query_min_runs=1, query_budget_ns=0, query_max_runs=1)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    problems: list = []
    notes: list = []
    results = filtering.run_one("sqlite", 200, TINY, problems, notes, legacy_python=None,
                                sqlite_dir=str(tmp_path_factory.mktemp("filtering")))
    return results, problems, notes


def test_generated_queries_match_hand_sql_in_one_statement(tiny_run):
    results, problems, _ = tiny_run
    assert problems == []
    assert [(r.action, r.type_name) for r in results] == filtering_data.CASES
    for result in results:
        assert result.statements == 1, result.label
        assert result.rows > 0, result.label   # the measured user must see something
        assert set(result.values) == {"build", "plan", "repeat", "hand_build", "all", "ids", "hand"}


def test_hand_sql_matches_the_data_in_python():
    rows = filtering_data.generate_rows(filtering_data.Sizes(200))
    repo_ids = filtering_data.expected_ids(rows, "read", "Repo")
    issue_ids = filtering_data.expected_ids(rows, "read", "Issue")
    public = {r[0] for r in rows["repos"] if r[5]}
    assert public <= set(repo_ids) and set(repo_ids) - public   # public and role-granted repos
    assert issue_ids


def test_render_and_write_docs(tiny_run, tmp_path):
    results, _, notes = tiny_run
    block = filtering.render(results, notes, "not requested", {})
    assert block.count("| SQLite | 200 |") == 2
    docs = tmp_path / "performance.md"
    docs.write_text("# Performance\n\n## Results\n\nkept\n", encoding="utf-8")
    filtering.write_docs(block, str(docs))          # appends the section
    filtering.write_docs("replaced", str(docs))     # replaces the table only
    text = docs.read_text(encoding="utf-8")
    assert text.startswith("# Performance\n\n## Results\n\nkept\n")
    assert text.count("## Data filtering") == 1
    assert "replaced" in text and "| SQLite | 200 |" not in text
