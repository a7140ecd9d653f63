"""Fact-store benchmark: FactStore authorize / list over 1M facts against one hand-written SQL
statement each, on PostgreSQL and SQLite.

    python -m benchmarks.facts_decisions                  # scale 1.0: 1M role facts, both databases
    python -m benchmarks.facts_decisions --quick --scale 0.01
    python -m benchmarks.facts_decisions --backends sqlite --scale 0.001

For each database: a fresh database (SQLite file in a temp dir; PostgreSQL schema
`oso_bench_<random>` in database `test`, dropped at the end), a `FactStore` on it with the
policy of benchmarks/facts_policy.py, the seeded dataset of benchmarks/facts_dataset.py
bulk-loaded into the store's tables (load time reported), then:

1. authorize(user, "read", repo): allowed and denied requests (prebuilt, shuffled), each timed
   alone through `FactStore.authorize`, the hand SQL through SQLAlchemy on the same engine
   (`engine.connect()` per call, as the store does; the ratio is against this), the hand SQL
   on autocommit connections of that engine, and the hand SQL on one held raw DBAPI cursor
   (the floor); median and p99 of each;
2. list(user, "read", "Repo"): users with many repos and users with one, the same way;
3. the memory check: tracemalloc peak during a batch of decisions (loading the fact table into
   Python would be hundreds of MB at scale 1);
4. the plans of the engine's statements (PostgreSQL: EXPLAIN (ANALYZE, BUFFERS); SQLite:
   EXPLAIN QUERY PLAN), flagging any full scan of oso_facts;
5. a batch insert of 100k new facts (x scale) through `store.batch()`.

Every answer of the hand SQL is checked against the dataset's own meaning of the policy, and
every engine answer against the hand SQL: a difference is a problem, and the run exits 1.
Targets (issue 13) are reported as met or not, never a failure.
"""

from __future__ import annotations

import argparse
import functools
import os
import platform
import random
import re
import sys
from dataclasses import dataclass, field
from time import perf_counter
from typing import Optional

from oso_core.facts import FactStore
from oso_core.values import Value

from . import facts_dataset as fd
from . import facts_policy as fp
from . import facts_timing as ft
from .report import exit_status, format_number, replace_between_markers

DOCS_PATH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs",
                         "facts-performance.md")
BEGIN_MARKER = "<!-- facts benchmark table -->"
END_MARKER = "<!-- end facts benchmark table -->"
BACKENDS = ("postgresql", "sqlite")
MEMORY_LIMIT = 16 * 1024 * 1024   # a decision batch may allocate this much at most


@dataclass
class Settings:
    authorize_requests: int = 4000     # half allowed, half denied
    list_requests: int = 400           # half many-repo users, half one-repo users
    budget_s: float = 60.0             # per measurement (authorize; each list kind)
    memory_batch: int = 200
    batch_facts: int = 100_000         # x scale
    explain: bool = True


QUICK = Settings(authorize_requests=400, list_requests=60, budget_s=5.0, memory_batch=50)


@dataclass
class Result:
    backend: str
    sizes: fd.Sizes
    facts: int = 0
    load_s: float = 0.0
    timings: dict = field(default_factory=dict)   # (case, implementation) -> Samples
    memory_bytes: Optional[int] = None
    batch_s: Optional[float] = None
    batch_facts: int = 0
    plans: list = field(default_factory=list)     # (label, plan text, full scans)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# Requests (built outside every timed loop)
# ---------------------------------------------------------------------------------------------

def authorize_requests(data: fd.Dataset, count: int, rng: random.Random) -> list:
    """(actor, repo, expected, hand params) tuples: half allowed, half denied, shuffled."""
    sizes = data.sizes
    allowed, denied = [], []
    while len(allowed) < count // 2:
        u = rng.randrange(sizes.users)
        readable = data.readable(u)
        if readable:
            allowed.append((u, rng.choice(sorted(readable))))
    while len(denied) < count - count // 2:
        u, r = rng.randrange(sizes.users), rng.randrange(sizes.repos)
        if not data.can_read(u, r):
            denied.append((u, r))
    pairs = allowed + denied
    rng.shuffle(pairs)
    return [(fd.user(u), fd.repo(r), data.can_read(u, r), fp.authorize_params(fd.user(u), fd.repo(r)))
            for u, r in pairs]


def list_requests(data: fd.Dataset, users: list, count: int) -> list:
    """(actor, expected ids, hand params) for `count` requests cycling over `users`."""
    built = []
    for i in range(count):
        u = users[i % len(users)]
        expected = sorted(fd.repo(r).id for r in data.readable(u))
        built.append((fd.user(u), expected, fp.list_params(fd.user(u))))
    return built


# ---------------------------------------------------------------------------------------------
# One database
# ---------------------------------------------------------------------------------------------

@functools.lru_cache(maxsize=1)
def _dataset(sizes: fd.Sizes) -> fd.Dataset:
    # Generated once per run for both databases (seconds at scale 1).
    return fd.generate(sizes)


def run_one(backend: str, sizes: fd.Sizes, settings: Settings, problems: list, notes: list,
            postgres_url: str = fd.DEFAULT_POSTGRES_URL) -> Result:
    """Everything for one backend: load, check, time; the database is dropped afterwards."""
    result = Result(backend, sizes)
    data = _dataset(sizes)
    value_rows, fact_rows = fd.rows(data)
    result.facts = len(fact_rows)
    db = fd.create_database(backend, postgres_url)
    try:
        store = FactStore(db.engine)
        store.policy(fp.POLICY, "github.polar", dialect="legacy")
        log(f"{backend}: loading {len(fact_rows):,} facts, {len(value_rows):,} values")
        result.load_s = fd.load(db, value_rows, fact_rows)
        log(f"{backend}: loaded in {result.load_s:.1f} s")
        del value_rows, fact_rows
        _decisions(store, db, data, settings, result, problems)
        _batch_insert(store, db, sizes, settings, result, problems)
    finally:
        db.drop()
    return result


def _decisions(store: FactStore, db: fd.Database, data: fd.Dataset, settings: Settings, result: Result,
               problems: list) -> None:
    rng = random.Random(29)
    where = f"{result.backend}, {result.facts:,} facts"
    engine = db.engine
    auth = authorize_requests(data, settings.authorize_requests, rng)
    lists = {"list (many repos)": list_requests(data, data.heavy, settings.list_requests // 2),
             "list (one repo)": list_requests(data, data.light, settings.list_requests // 2)}

    def hand_auth(req):
        with engine.connect() as conn:
            return fp.hand_authorize(conn, req[3])

    def hand_list(req):
        with engine.connect() as conn:
            return fp.hand_list(conn, req[2])

    # The same, on autocommit connections: no BEGIN/ROLLBACK round trips, and psycopg keeps its
    # prepared statements (it drops them all on every ROLLBACK, which a pool checkin sends).
    autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")

    def hand_auth_autocommit(req):
        with autocommit.connect() as conn:
            return fp.hand_authorize(conn, req[3])

    def hand_list_autocommit(req):
        with autocommit.connect() as conn:
            return fp.hand_list(conn, req[2])

    raw_auth, auth_params = ft.raw_caller(engine, fp.HAND_AUTHORIZE_READ)
    raw_list, list_params = ft.raw_caller(engine, fp.HAND_LIST_READ)
    try:
        raw_auth_requests = [(a, r, e, p, auth_params(p)) for a, r, e, p in auth]
        auth_calls = {"engine": lambda req: store.authorize(req[0], "read", req[1]),
                      "hand": hand_auth, "autocommit": hand_auth_autocommit,
                      "raw": lambda req: raw_auth(req[4])[0][0] == 1}
        list_calls = {"engine": lambda req: store.list(req[0], "read", "Repo"),
                      "hand": hand_list, "autocommit": hand_list_autocommit,
                      "raw": lambda req: sorted(row[0] for row in raw_list(req[3]))}
        # Warm up every path (statement compilation, prepared statements, caches): untimed.
        ft.time_interleaved(auth_calls, raw_auth_requests[:50], 0)
        budget = int(settings.budget_s * 1e9)
        log(f"{result.backend}: authorize x {len(auth):,}")
        timed = ft.time_interleaved(auth_calls, raw_auth_requests, budget)
        _check("authorize", where, [req[2] for req in auth], timed, problems)
        for name, samples in timed.items():
            result.timings["authorize", name] = samples
        for case, requests in lists.items():
            raw_requests = [(a, e, p, list_params(p)) for a, e, p in requests]
            ft.time_interleaved(list_calls, raw_requests[:5], 0)
            log(f"{result.backend}: {case} x {len(requests):,}")
            timed = ft.time_interleaved(list_calls, raw_requests, budget, min_calls=5)
            _check(case, where, [req[1] for req in requests], timed, problems)
            for name, samples in timed.items():
                result.timings[case, name] = samples
    finally:
        raw_auth.close()
        raw_list.close()
    _memory(store, auth, lists, settings, result)
    if settings.explain:
        _plans(store, engine, auth, lists, result)


def _check(case: str, where: str, expected: list, timed: dict, problems: list) -> None:
    """Hand SQL (both ways) against the dataset; the engine against the hand SQL."""
    hand = timed["hand"].answers
    wrong = [i for i, (h, e) in enumerate(zip(hand, expected)) if h != e]
    if wrong:
        problems.append(f"{where}, {case}: the hand SQL differs from the data in {len(wrong)} of "
                        f"{len(hand)} requests (the hand SQL is wrong), first request #{wrong[0]}")
    for name in ("autocommit", "raw", "engine"):
        if name not in timed:
            continue
        wrong = [i for i, (a, h) in enumerate(zip(timed[name].answers, hand)) if a != h]
        if wrong:
            i = wrong[0]
            problems.append(f"{where}, {case}: {name} differs from the hand SQL in {len(wrong)} of "
                            f"{len(hand)} requests; first #{i}: {name} {timed[name].answers[i]!r}, "
                            f"hand SQL {hand[i]!r}")


def _memory(store, auth: list, lists: dict, settings: Settings, result: Result) -> None:
    batch = auth[:settings.memory_batch]
    many = lists["list (many repos)"][:max(1, settings.memory_batch // 20)]

    def decisions() -> None:
        for actor, resource, _, _ in batch:
            store.authorize(actor, "read", resource)
        for actor, _, _ in many:
            store.list(actor, "read", "Repo")

    result.memory_bytes = ft.peak_memory_bytes(decisions)


def _plans(store, engine, auth: list, lists: dict, result: Result) -> None:
    allowed = next(req for req in auth if req[2])
    denied = next(req for req in auth if not req[2])
    cases = [("authorize (allowed)", lambda: store.authorize(allowed[0], "read", allowed[1])),
             ("authorize (denied)", lambda: store.authorize(denied[0], "read", denied[1])),
             ("list (many repos)", lambda: store.list(lists["list (many repos)"][0][0], "read", "Repo"))]
    for label, call in cases:
        with ft.StatementLog(engine) as statements:
            call()
        for statement, parameters in ft.selects(statements):
            plan, full = ft.explain(engine, statement, parameters)
            result.plans.append((label, statement, plan, full))


def _batch_insert(store, db: fd.Database, sizes: fd.Sizes, settings: Settings, result: Result,
                  problems: list) -> None:
    count = max(100, round(settings.batch_facts * sizes.scale))
    facts = [("has_role", Value("User", f"batch-user-{i}"), "reader", fd.repo(i % sizes.repos))
             for i in range(count)]
    log(f"{result.backend}: batch insert of {count:,} facts")
    start = perf_counter()
    with store.batch() as tx:
        for fact in facts:
            tx.insert(fact)
    result.batch_s = perf_counter() - start
    result.batch_facts = count
    with db.engine.connect() as conn:
        last = facts[-1]
        if not fp.hand_authorize(conn, fp.authorize_params(last[1], last[3])):
            problems.append(f"{result.backend}: a fact of the batch insert is not in the database")


# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------

LABELS = {"postgresql": "PostgreSQL", "sqlite": "SQLite"}
TARGETS = "authorize median <= 300 µs, p99 <= 2 ms, <= 3x hand SQL; list <= 3x hand SQL and <= 20 ms"


def _verdict(ok: bool) -> str:
    return "met" if ok else "**not met**"


def render(results: list, notes: list) -> str:
    """The results as Markdown: the timing table, loads, memory, batch, targets, plans flags."""
    lines = ["| database | facts | decision | engine median / p99 (µs) | hand SQL median / p99 (µs) "
             "| hand SQL, autocommit (µs) | raw DBAPI median / p99 (µs) | engine / hand | engine / raw | calls |",
             "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|"]
    verdicts = []
    for r in results:
        cases = sorted({case for case, _ in r.timings}, key=["authorize", "list (many repos)",
                                                              "list (one repo)"].index)
        for case in cases:
            hand, raw = r.timings[case, "hand"], r.timings[case, "raw"]
            autocommit = r.timings[case, "autocommit"]
            engine = r.timings[case, "engine"]
            eng = f"{format_number(engine.median_us)} / {format_number(engine.p99_us)}"
            ratio = f"{engine.median_us / hand.median_us:.2f}x"
            lines.append(f"| {LABELS[r.backend]} | {r.facts:,} | {case} | {eng} | "
                         f"{format_number(hand.median_us)} / {format_number(hand.p99_us)} | "
                         f"{format_number(autocommit.median_us)} | "
                         f"{format_number(raw.median_us)} / {format_number(raw.p99_us)} | "
                         f"{ratio} | {engine.median_us / raw.median_us:.2f}x | {len(hand.times):,} |")
            if case == "authorize":
                verdicts.append(f"{LABELS[r.backend]} authorize: median {format_number(engine.median_us)} µs "
                                f"<= 300: {_verdict(engine.median_us <= 300)}; p99 "
                                f"{format_number(engine.p99_us)} µs <= 2,000: {_verdict(engine.p99_us <= 2000)}; "
                                f"{engine.median_us / hand.median_us:.2f}x hand <= 3x: "
                                f"{_verdict(engine.median_us <= 3 * hand.median_us)}")
            else:
                verdicts.append(f"{LABELS[r.backend]} {case}: median {format_number(engine.median_us / 1000)} ms "
                                f"<= 20: {_verdict(engine.median_us <= 20_000)}; "
                                f"{engine.median_us / hand.median_us:.2f}x hand <= 3x: "
                                f"{_verdict(engine.median_us <= 3 * hand.median_us)}")
    lines.append("")
    for r in results:
        memory = f"{r.memory_bytes / 1024:,.0f} kB"
        scans = sum(len(full) for *_, full in r.plans)
        planned = "-" if not r.plans else (f"{scans} full scan(s) of oso_facts in {len(r.plans)} plans"
                                           if scans else f"no full scan of oso_facts ({len(r.plans)} plans)")
        batch = "-" if r.batch_s is None else f"{r.batch_facts:,} facts in {r.batch_s:.2f} s"
        lines.append(f"* {LABELS[r.backend]} ({r.sizes.describe()}): bulk load + ANALYZE "
                     f"{r.load_s:.1f} s; batch insert {batch}; tracemalloc peak of a decision batch "
                     f"{memory}; plans: {planned}{_plan_times(r.plans)}.")
        if r.backend == "postgresql" and r.batch_s is not None and r.batch_facts >= 100_000:
            verdicts.append(f"PostgreSQL batch of {r.batch_facts:,} facts {r.batch_s:.2f} s <= 5 s: "
                            f"{_verdict(r.batch_s <= 5)}")
        if r.memory_bytes is not None:
            verdicts.append(f"{LABELS[r.backend]} decision batch peak {r.memory_bytes / 1024:,.0f} kB <= "
                            f"{MEMORY_LIMIT // 1024:,} kB: {_verdict(r.memory_bytes <= MEMORY_LIMIT)}")
    lines.append("")
    lines.append(f"Targets ({TARGETS}; batch of 100k facts <= 5 s on PostgreSQL):")
    lines.append("")
    lines.extend(f"* {v}" for v in verdicts)
    lines.extend(f"* note: {n}" for n in notes)
    return "\n".join(lines)


def _plan_times(plans: list) -> str:
    """PostgreSQL's planning and execution times of the captured statements, from EXPLAIN."""
    parts = []
    for label, _, plan, _ in plans:
        planning = re.search(r"Planning Time: ([0-9.]+) ms", plan)
        execution = re.search(r"Execution Time: ([0-9.]+) ms", plan)
        if planning and execution:
            parts.append(f"{label} planned in {planning.group(1)} ms, executed in {execution.group(1)} ms")
    return f" ({'; '.join(parts)})" if parts else ""


def print_plans(results: list) -> None:
    for r in results:
        for label, statement, plan, full in r.plans:
            flag = ("FULL SCAN OF oso_facts: " + "; ".join(full)) if full else "no full scan of oso_facts"
            print(f"\n### {LABELS[r.backend]}: {label}: {flag}\n\n{statement}\n\n{plan}")


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.facts_decisions", description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 = 1M role facts (default)")
    parser.add_argument("--quick", action="store_true", help="fewer requests, 5 s per measurement")
    parser.add_argument("--backends", default=",".join(BACKENDS), help="comma-separated: postgresql,sqlite")
    parser.add_argument("--no-explain", action="store_true", help="skip the query plans")
    parser.add_argument("--write-docs", action="store_true", help=f"replace the table in {DOCS_PATH}")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    settings = QUICK if args.quick else Settings()
    settings.explain = not args.no_explain
    sizes = fd.Sizes(args.scale)
    problems: list = []
    notes: list = []
    results = []
    for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
        if backend == "postgresql" and (why := fd.postgres_available()) is not None:
            notes.append(f"PostgreSQL skipped: {why}")
            continue
        results.append(run_one(backend, sizes, settings, problems, notes))
    block = render(results, notes)
    print(f"Python {platform.python_version()}, {platform.machine()}, scale {args.scale}\n")
    print(block)
    print_plans(results)
    if args.write_docs:
        replace_between_markers(DOCS_PATH, BEGIN_MARKER, END_MARKER, block)
    return exit_status(problems, "fact-store benchmark problems")


if __name__ == "__main__":
    sys.exit(main())
