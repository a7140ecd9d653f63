"""Server benchmark (issue 14's bar): a real `python -m oso_server serve` process over 1M facts,
driven over loopback HTTP by a cheap load generator (benchmarks/http_load.py), then by the
real oso-cloud 2.6.0 client. docs/server-performance.md explains the method and the numbers.

    python -m benchmarks.server_load                      # 1M role facts on PostgreSQL
    python -m benchmarks.server_load --quick --backend sqlite
    python -m benchmarks.server_load --write-docs         # the table into docs/server-performance.md

Steps: a fresh database; the server on it with the GitHub-like policy of
benchmarks/facts_policy.py; the seeded dataset of benchmarks/facts_dataset.py bulk-loaded
THROUGH the HTTP API (`POST /api/batch`, several requests in parallel); then
1. authorize, closed loop: 64 keep-alive connections back to back (throughput);
2. authorize, open loop at fixed rates (2,000/s, and half the closed-loop throughput): latency
   measured from each request's scheduled start;
3. list(user, "read", "Repo") one at a time, for users with many repos and with one;
4. the closed-loop authorize again through the oso-cloud client (threads, one `Oso` each).
Every answer is checked against the dataset; a wrong answer or a failed request is a problem
and the run exits 1. Targets are reported as met or not, never as a failure.
"""

from __future__ import annotations

import argparse
import itertools
import os
import platform
import random
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Optional

from oso_server.keys import DEV_TEST_KEY

from . import facts_dataset as fd
from . import facts_policy as fp
from .facts_decisions import authorize_requests
from . import http_load
from . import server_harness as sh
from . import server_requests as sr
from .report import exit_status, format_number, replace_between_markers
from .server_report import Cpu, LoadFigures, Measurement, table, targets

DOCS_PATH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs",
                         "server-performance.md")
BEGIN_MARKER = "<!-- server benchmark table -->"
END_MARKER = "<!-- end server benchmark table -->"


@dataclass
class Settings:
    scale: float = 1.0
    clients: int = 64
    authorize_requests: int = 4000          # distinct prebuilt requests (cycled)
    closed_requests: int = 100_000
    closed_seconds: float = 20.0
    open_rates: tuple = (2000.0, "half")    # "half": half the closed-loop throughput
    open_seconds: float = 15.0
    list_requests: int = 400                # per kind
    list_seconds: float = 10.0
    client_threads: int = 64
    client_requests: int = 40_000
    client_seconds: float = 20.0
    batch_facts: int = sr.BATCH_FACTS
    load_parallel: int = 2
    warmup: int = 500
    workers: int = 1                        # serve's defaults: 1 process, 4 handler threads
    threads: Optional[int] = None


QUICK = Settings(scale=0.001, authorize_requests=200, closed_requests=600, closed_seconds=3.0,
                 open_rates=(200.0,), open_seconds=2.0, list_requests=20, list_seconds=2.0,
                 client_threads=4, client_requests=200, client_seconds=3.0, batch_facts=300, warmup=50,
                 workers=1)


@dataclass
class Result:
    backend: str
    sizes: fd.Sizes
    settings: Settings
    load: Optional[LoadFigures] = None
    measurements: list = field(default_factory=list)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class CpuMeter:
    """CPU used by the server, PostgreSQL, this process and the machine between start/stop."""

    def __init__(self, server: sh.Server) -> None:
        self.server = server
        self._start = self._read()

    def _read(self) -> tuple:
        return (self.server.cpu_seconds(), sh.postgres_cpu_by_process(), time.process_time(),
                sh.machine_busy_seconds())

    def stop(self) -> Cpu:
        end = self._read()

        def diff(i: int) -> Optional[float]:
            if i == 1:
                return sh.postgres_cpu_between(self._start[1], end[1])
            return None if self._start[i] is None or end[i] is None else end[i] - self._start[i]

        machine = None if self._start[3] is None or end[3] is None else \
            (end[3][0] - self._start[3][0], end[3][1] - self._start[3][1])
        return Cpu(diff(0), diff(1), diff(2), machine[0] if machine else None, machine[1] if machine else None)


def _check(run: http_load.LoadRun, decisions: list, answer: Callable, problems: list,
           name: str, mode: str, cpu: Cpu, offered: Optional[float] = None) -> Measurement:
    """The measurement of a driver run, every answer compared with the dataset's."""
    m = Measurement(name, mode, list(run.latencies_ns), run.seconds, cpu=cpu, offered_rate=offered)
    m.failed = len(run.errors)
    for index, status, body in zip(run.indexes, run.statuses, run.bodies):
        decision = decisions[index % len(decisions)]
        got = answer(status, body)
        if got is None:
            m.failed += 1
            if m.failed <= 3:
                problems.append(f"{name} ({mode}): {decision.label}: status {status}: {body[:200]!r}")
        elif got != decision.expected:
            m.wrong += 1
            if m.wrong <= 3:
                problems.append(f"{name} ({mode}): {decision.label}: got {got!r:.80}, expected "
                                f"{decision.expected!r:.80}")
        else:
            m.ok += 1
            m.allowed += got is True
        m.expected_allowed += decision.expected is True
    problems += [f"{name} ({mode}): {e}" for e in run.errors[:3]]
    return m


def bulk_load(server: sh.Server, encoder: sr.Encoder, data: fd.Dataset, settings: Settings,
              problems: list) -> LoadFigures:
    """The whole dataset through `POST /api/batch`, `load_parallel` requests at a time."""
    batches = encoder.batches(data.facts(), settings.batch_facts)
    facts = data.fact_count
    log(f"loading {facts:,} facts in {len(batches)} batches, {settings.load_parallel} at a time")
    run = http_load.closed_loop(server.host, server.port, batches, settings.load_parallel, len(batches),
                                http_load.MAX_SECONDS)
    failed = len(run.errors) + sum(1 for s in run.statuses if s != 200)
    if run.count != len(batches) or failed:
        bad = [(s, b[:200]) for s, b in zip(run.statuses, run.bodies) if s != 200][:3]
        problems.append(f"bulk load: {run.count}/{len(batches)} batches answered, {failed} failed: "
                        f"{bad} {run.errors[:3]}")
    figures = LoadFigures(facts, len(batches), settings.load_parallel, run.seconds, failed)
    log(f"loaded in {run.seconds:.1f} s ({figures.rate:,.0f} facts/s)")
    return figures


def authorize_runs(server: sh.Server, decisions: list, settings: Settings, problems: list) -> list[Measurement]:
    """Closed loop at `clients`, then open loop at each rate."""
    requests = [d.request for d in decisions]
    out = []
    http_load.closed_loop(server.host, server.port, requests, settings.clients, settings.warmup, 60)
    meter = CpuMeter(server)
    run = http_load.closed_loop(server.host, server.port, requests, settings.clients, settings.closed_requests,
                                settings.closed_seconds)
    closed = _check(run, decisions, sr.authorize_answer, problems, "authorize",
                    f"closed, {settings.clients} clients", meter.stop())
    out.append(closed)
    log(f"authorize closed loop: {closed.throughput:,.0f}/s, p50 {closed.ms(0.5):.2f} ms")
    for rate in settings.open_rates:
        offered = max(10.0, round(closed.throughput / 2, -1)) if rate == "half" else float(rate)
        meter = CpuMeter(server)
        run = http_load.open_loop(server.host, server.port, requests, offered, settings.clients,
                                  int(offered * settings.open_seconds), settings.open_seconds)
        m = _check(run, decisions, sr.authorize_answer, problems, "authorize",
                   f"open, {format_number(offered)}/s offered", meter.stop(), offered)
        out.append(m)
        log(f"authorize open loop at {offered:,.0f}/s: {m.throughput:,.0f}/s, p50 {m.ms(0.5):.2f} ms, "
            f"p99 {m.ms(0.99):.2f} ms")
    return out


def list_runs(server: sh.Server, encoder: sr.Encoder, data: fd.Dataset, settings: Settings,
              problems: list) -> list[Measurement]:
    """One client, request after request, for each kind of user."""
    out = []
    for name, users in (("list (many repos)", data.heavy), ("list (one repo)", data.light)):
        decisions = sr.list_decisions(encoder, data, users, settings.list_requests)
        requests = [d.request for d in decisions]
        http_load.closed_loop(server.host, server.port, requests, 1, min(20, len(requests)), 30)
        meter = CpuMeter(server)
        run = http_load.closed_loop(server.host, server.port, requests, 1, settings.list_requests,
                                    settings.list_seconds)
        m = _check(run, decisions, sr.list_answer, problems, name, "closed, 1 client", meter.stop())
        out.append(m)
        log(f"{name}: p50 {m.ms(0.5):.2f} ms, p99 {m.ms(0.99):.2f} ms")
    return out


def client_run(server: sh.Server, authorize_args: list, settings: Settings,
               problems: list) -> Measurement:
    """The closed-loop authorize through the oso-cloud 2.6.0 client: `client_threads` threads,
    one `Oso` each (its `requests.Session` keeps the connection alive)."""
    from oso_cloud import Oso

    clock = time.perf_counter_ns
    counter = itertools.count()
    records: list = []
    errors: list = []
    deadline = clock() + int(settings.client_seconds * 1e9)
    clients = [Oso(url=server.url, api_key=DEV_TEST_KEY) for _ in range(settings.client_threads)]
    for oso in clients[:4]:   # warm the server's path for the client's headers
        actor, resource, _ = authorize_args[0]
        oso.authorize(actor, "read", resource)

    def worker(oso) -> None:
        while clock() < deadline:
            index = next(counter)
            if index >= settings.client_requests:
                return
            actor, resource, _ = authorize_args[index % len(authorize_args)]
            started = clock()
            try:
                allowed = oso.authorize(actor, "read", resource)
            except Exception as error:  # noqa: BLE001 -- every failure is counted and reported
                errors.append(f"{type(error).__name__}: {error}"[:200])
                continue
            records.append((clock() - started, index, allowed))

    meter = CpuMeter(server)
    began = clock()
    threads = [threading.Thread(target=worker, args=(oso,)) for oso in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = (clock() - began) / 1e9
    m = Measurement("authorize via oso-cloud client", f"closed, {settings.client_threads} threads",
                    [r[0] for r in records], seconds, cpu=meter.stop())
    m.failed = len(errors)
    problems += [f"oso-cloud client: {e}" for e in errors[:3]]
    for _, index, allowed in records:
        expected = authorize_args[index % len(authorize_args)][2]
        if allowed == expected:
            m.ok += 1
            m.allowed += allowed
        else:
            m.wrong += 1
        m.expected_allowed += expected
    if m.wrong:
        problems.append(f"oso-cloud client: {m.wrong} wrong answers")
    log(f"oso-cloud client: {m.throughput:,.0f}/s, p50 {m.ms(0.5):.2f} ms")
    return m


def run(backend: str, settings: Settings, problems: list, postgres_url: str = fd.DEFAULT_POSTGRES_URL,
        with_client: bool = True) -> Result:
    """The whole benchmark on one backend; the database is dropped afterwards."""
    sizes = fd.Sizes(settings.scale)
    result = Result(backend, sizes, settings)
    log(f"{backend}: generating {sizes.describe()}")
    data = fd.generate(sizes)
    database = sh.ServerDatabase(backend, postgres_url)
    server = None
    try:
        policy_file = database.data_dir / "github.polar"
        policy_file.write_text(fp.POLICY)
        server = sh.Server(database, policy_file, workers=settings.workers, threads=settings.threads)
        encoder = sr.Encoder(server.host, server.port, DEV_TEST_KEY)
        result.load = bulk_load(server, encoder, data, settings, problems)
        result.load.analyze_seconds = database.analyze()
        log(f"ANALYZE: {result.load.analyze_seconds:.1f} s")
        decisions = sr.authorize_decisions(encoder, data, settings.authorize_requests)
        result.measurements += authorize_runs(server, decisions, settings, problems)
        result.measurements += list_runs(server, encoder, data, settings, problems)
        if with_client:
            # The same requests as the generator's (same seed), as client arguments.
            args = [(a, r, e) for a, r, e, _ in authorize_requests(data, settings.authorize_requests,
                                                                    random.Random(7))]
            result.measurements.append(client_run(server, args, settings, problems))
    finally:
        if server is not None:
            server.stop()
        database.drop()
    return result


def render(result: Result) -> str:
    """The docs block: machine, sizes, load, the table, the targets."""
    s = result.settings
    load = result.load
    lines = [f"Run of {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}: {result.backend}, "
             f"{result.sizes.describe()}; server `--workers {s.workers}"
             f"{f' --threads {s.threads}`' if s.threads is not None else '` (4 handler threads)'}; {platform.python_implementation()} "
             f"{platform.python_version()}, {os.cpu_count()} CPUs, {platform.machine()}.", ""]
    if load is not None:
        lines += [f"Bulk load through `POST /api/batch`: {load.facts:,} facts in {load.batches} requests of "
                  f"{s.batch_facts:,} facts, {load.parallel} in parallel: **{format_number(load.seconds)} s**, "
                  f"{load.rate:,.0f} facts/s; then `ANALYZE` of the fact tables: "
                  f"{format_number(load.analyze_seconds)} s.", ""]
    lines += [table(result.measurements), ""]
    lines += [f"* {line}" for line in targets(result.measurements, load)]
    return "\n".join(lines)


def parse_args(argv: Optional[list] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.server_load", description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--quick", action="store_true", help="a tiny dataset and runs of a few seconds")
    parser.add_argument("--scale", type=float, default=None, help="dataset scale (1.0 = 1M role facts)")
    parser.add_argument("--workers", type=int, default=None, help="server processes (default 1)")
    parser.add_argument("--threads", type=int, default=None, help="handler threads per server process")
    parser.add_argument("--load-parallel", type=int, default=None, help="batch requests in flight at once")
    parser.add_argument("--no-client", action="store_true", help="skip the oso-cloud client run")
    parser.add_argument("--postgres-url", default=fd.DEFAULT_POSTGRES_URL)
    parser.add_argument("--write-docs", action="store_true", help=f"write the table into {DOCS_PATH}")
    return parser.parse_args(argv)


def settings_from(args: argparse.Namespace) -> Settings:
    base = QUICK if args.quick else Settings()
    changes = {name: value for name, value in (("scale", args.scale), ("workers", args.workers),
                                                ("threads", args.threads), ("load_parallel", args.load_parallel))
               if value is not None}
    return Settings(**{**base.__dict__, **changes})


def main(argv: Optional[list] = None) -> int:
    args = parse_args(argv)
    settings = settings_from(args)
    if args.backend == "postgresql" and (why := fd.postgres_available(args.postgres_url)):
        log(f"PostgreSQL is not available ({why})")
        return 2
    problems: list = []
    result = run(args.backend, settings, problems, args.postgres_url, with_client=not args.no_client)
    block = render(result)
    print(block)
    if args.write_docs:
        replace_between_markers(DOCS_PATH, BEGIN_MARKER, END_MARKER, block)
        log(f"wrote {DOCS_PATH}")
    return exit_status(problems, "server benchmark")


if __name__ == "__main__":
    sys.exit(main())
