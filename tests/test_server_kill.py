"""Killing a server in the middle of a batch (SIGKILL, no shutdown) loses nothing that was
acknowledged and leaves nothing half-written: after a restart on the same database (a SQLite
file, a PostgreSQL schema) every acknowledged batch is wholly there and the killed one wholly
there or wholly absent. The kill lands at several points of a 50k-insert batch's handling,
first as soon as the batch's transaction is seen writing (PostgreSQL: the server's backend has a
transaction id; SQLite: the WAL file changed), then timed from how long an acknowledged batch
of the same size took."""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")

from fixtures.databases import postgres_schema, postgres_url, schema_connect_args
from fixtures.server_http import POLICY, call, role_fact
from fixtures.server_process import ServerProcess, postgres_server_url
from oso_core.facts import FactStore

BIG = 50_000
SMALL = 100
#: When each kill lands: once the write is seen in progress, then at fractions of the duration of
#: the acknowledged batch.
KILL_POINTS = ("writing", 0.5, 0.9)


def _batch(tag: str, size: int) -> list:
    return [{"inserts": [role_fact(f"u{i}", "member", f"{tag}-{i}") for i in range(size)]}]


def _file_stamp(path):
    try:
        status = path.stat()
        return status.st_mtime_ns, status.st_size
    except FileNotFoundError:
        return None


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, tmp_path):
    """(server arguments, a function opening a FactStore on the same database, a function making
    a probe: called before a batch is sent, it returns `writing()`, true once that batch's
    transaction has written something)."""
    from sqlalchemy import create_engine, text

    if request.param == "sqlite":
        path = tmp_path / "facts.sqlite3"
        wal = tmp_path / "facts.sqlite3-wal"

        def sqlite_probe():
            before = _file_stamp(wal)
            return lambda: _file_stamp(wal) != before
        yield ["--database", str(path)], lambda: FactStore(path), sqlite_probe
        return
    with postgres_schema() as schema:
        engines = [create_engine(postgres_url())]
        name = f"killtest-{schema}"
        writing = text("SELECT count(*) FROM pg_stat_activity WHERE application_name = :name "
                       "AND backend_xid IS NOT NULL")

        def postgres_probe():
            def probe():
                with engines[0].connect() as conn:
                    return conn.execute(writing, {"name": name}).scalar() > 0
            return probe

        def open_store():
            engines.append(create_engine(postgres_url(), connect_args=schema_connect_args(schema)))
            return FactStore(engines[-1])
        yield ["--database", f"{postgres_server_url(schema)}&application_name={name}"], open_store, postgres_probe
        for engine in engines:
            engine.dispose()


def _counts(open_store) -> Counter:
    store = open_store()
    try:
        return Counter(fact[3].id.rsplit("-", 1)[0] for fact in store.get(("has_role", None, None, None)))
    finally:
        store.close()


def test_kill_in_the_middle_of_a_batch(tmp_path, database):
    args, open_store, make_probe = database
    policy = tmp_path / "policy.polar"
    policy.write_text(POLICY % ("member", "member"))
    server = ServerProcess([*args, "--policy", str(policy)], tmp_path / "run0")
    acknowledged: dict[str, int] = {}
    killed: dict[str, bool] = {}  # tag -> whether the killed batch was acknowledged anyway
    seen_writing = False
    try:
        started = time.monotonic()
        assert call(server.url, "POST", "/api/batch", _batch("ack-big", BIG), timeout=300)[0] == 200
        big_seconds = time.monotonic() - started
        acknowledged["ack-big"] = BIG
        for n, point in enumerate(KILL_POINTS):
            tag = f"ack-small{n}"
            assert call(server.url, "POST", "/api/batch", _batch(tag, SMALL))[0] == 200
            acknowledged[tag] = SMALL
            outcome: list = []
            body = _batch(f"killed{n}", BIG)

            def send(body=body, outcome=outcome, url=server.url):
                try:
                    outcome.append(call(url, "POST", "/api/batch", body, timeout=300)[0])
                except OSError as error:  # the connection died with the server
                    outcome.append(error)
            sender = threading.Thread(target=send)
            writing = make_probe()
            sender.start()
            if point == "writing":
                deadline = time.monotonic() + 2 * big_seconds
                while not writing() and time.monotonic() < deadline:
                    time.sleep(0.005)
                seen_writing = writing()
            else:
                time.sleep(big_seconds * point)
            server.kill()
            sender.join(60)
            killed[f"killed{n}"] = outcome == [200]
            server = ServerProcess([*args], tmp_path / f"run{n + 1}")  # restart: the policy is stored
    finally:
        server.stop()
    counts = _counts(open_store)
    print(f"acknowledged batch: {big_seconds:.2f} s; first kill with the write seen in progress: {seen_writing}; "
          "killed batches: "
          + ", ".join(f"{tag}: {counts[tag]} facts, acknowledged {ack}" for tag, ack in killed.items()))
    for tag, size in acknowledged.items():
        assert counts[tag] == size, f"acknowledged batch {tag} has {counts[tag]} of {size} facts"
    for tag, was_acknowledged in killed.items():
        assert counts[tag] in ((BIG,) if was_acknowledged else (0, BIG)), f"{tag} is half-written: {counts[tag]}"
