"""The server benchmark runs end to end at a tiny scale and checks its answers (never its times).

`python -m benchmarks.server_load` drives a real `python -m oso_server serve` process over
loopback HTTP; here the same code runs on ~1,100 facts, on SQLite and (where the server is
available, tests/fixtures/databases.py) PostgreSQL, so that a server answering differently from
the dataset -- or a load generator miscounting -- fails the suite.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys

import pytest

pytest.importorskip("sqlalchemy")
pytest.importorskip("uvicorn")
pytest.importorskip("oso_cloud")

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

from benchmarks import facts_dataset as fd  # noqa: E402
from benchmarks import facts_policy as fp  # noqa: E402
from benchmarks import http_load  # noqa: E402
from benchmarks import server_load as bench  # noqa: E402
from benchmarks import server_requests as sr  # noqa: E402
from tests.fixtures.databases import postgres_url, require_postgres  # noqa: E402

TINY = dataclasses.replace(bench.QUICK, closed_requests=300, closed_seconds=10.0, open_rates=(100.0,),
                           open_seconds=1.0, list_requests=10, list_seconds=5.0, client_threads=3,
                           client_requests=60, client_seconds=10.0, warmup=20)


def _assert_checked_run(result: bench.Result, problems: list) -> None:
    assert problems == []
    data = fd.generate(fd.Sizes(TINY.scale))
    assert result.load is not None
    assert result.load.facts == data.fact_count and result.load.failed == 0
    assert result.load.batches == -(-data.fact_count // TINY.batch_facts)
    names = [(m.name, m.mode) for m in result.measurements]
    assert names == [("authorize", "closed, 64 clients"), ("authorize", "open, 100/s offered"),
                     ("list (many repos)", "closed, 1 client"), ("list (one repo)", "closed, 1 client"),
                     ("authorize via oso-cloud client", "closed, 3 threads")]
    closed, opened = result.measurements[0], result.measurements[1]
    assert closed.count == TINY.closed_requests          # bounded by count, all answered
    assert opened.count == int(100.0 * TINY.open_seconds)
    for m in result.measurements:
        assert m.ok == m.count > 0 and m.wrong == 0 and m.failed == 0, m
        assert len(m.latencies_ns) == m.count and min(m.latencies_ns) > 0
    for m in (closed, opened, result.measurements[-1]):
        # Half of the prebuilt requests are allowed: the right answers include both kinds.
        assert m.allowed == m.expected_allowed and 0 < m.allowed < m.count
    block = bench.render(result)
    for row in ("| authorize | closed, 64 clients |", "| authorize | open, 100/s offered |",
                "| list (many repos) |", "| list (one repo) |", "| authorize via oso-cloud client |"):
        assert row in block
    assert "Bulk load through `POST /api/batch`" in block and "bulk load of" in block


def test_benchmark_on_sqlite_with_handlers_on_the_event_loop():
    problems: list = []
    result = bench.run("sqlite", dataclasses.replace(TINY, threads=0), problems)
    _assert_checked_run(result, problems)


def test_benchmark_on_postgresql_with_two_worker_processes():
    require_postgres()
    problems: list = []
    result = bench.run("postgresql", dataclasses.replace(TINY, workers=2), problems, postgres_url())
    _assert_checked_run(result, problems)


def test_a_server_answering_differently_fails_the_run(monkeypatch):
    """Without the parent-org rules the server denies what the dataset allows: problems."""
    kept = [line for line in fp.POLICY.splitlines() if 'has_relation(r, "parent", o)' not in line]
    monkeypatch.setattr(fp, "POLICY", "\n".join(kept))
    problems: list = []
    settings = dataclasses.replace(TINY, open_rates=(), client_requests=20)
    result = bench.run("sqlite", settings, problems)
    assert any("authorize (closed, 64 clients)" in p and "expected True" in p for p in problems)
    assert any(p.startswith("oso-cloud client:") and "wrong answers" in p for p in problems)
    assert result.measurements[0].wrong > 0


def test_batches_stay_under_the_body_limit_and_keep_every_fact():
    data = fd.generate(fd.Sizes(0.002))
    encoder = sr.Encoder("127.0.0.1", 1, "key")
    requests = encoder.batches(data.facts(), 1000)
    assert len(requests) == -(-data.fact_count // 1000)
    bodies = [r.split(b"\r\n\r\n", 1)[1] for r in requests]
    inserted = [f for body in bodies for changeset in json.loads(body) for f in changeset["inserts"]]
    assert inserted == [sr.wire_fact(f) for f in data.facts()]
    assert max(len(r) for r in requests) < 10 * 1024 * 1024


def test_a_response_without_content_length_is_a_protocol_error():
    with pytest.raises(http_load.ProtocolError):
        http_load._parse_head(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked")
    assert http_load._parse_head(b"HTTP/1.1 404 Not Found\r\ncontent-length: 12") == (404, 12)
