"""Per-call timing, query plans and the memory check of the fact-store benchmark."""

from __future__ import annotations

import re
import statistics
import tracemalloc
from dataclasses import dataclass, field
from time import perf_counter_ns
from typing import Callable, Optional, Sequence

from sqlalchemy import Engine, event


@dataclass
class Samples:
    """One implementation's per-call times (ns) and answers, in request order."""

    times: list = field(default_factory=list)
    answers: list = field(default_factory=list)

    @property
    def median_us(self) -> float:
        return statistics.median(self.times) / 1000

    @property
    def p99_us(self) -> float:
        return percentile(self.times, 0.99) / 1000


def percentile(values: Sequence[float], q: float) -> float:
    """The q-quantile (nearest rank) of the values."""
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, int(round(q * len(ordered) + 0.5)) - 1))
    return ordered[rank]


def time_interleaved(calls: dict, requests: Sequence, budget_ns: int, min_calls: int = 20) -> dict:
    """Call every implementation (name -> fn(request)) on each request in turn, timing each call
    alone, so that a slow period of the machine hits all alike. Stops after the requests or
    once `budget_ns` is spent (after at least `min_calls` requests). Name -> Samples."""
    results = {name: Samples() for name in calls}
    start = perf_counter_ns()
    for done, request in enumerate(requests):
        for name, fn in calls.items():
            t0 = perf_counter_ns()
            answer = fn(request)
            results[name].times.append(perf_counter_ns() - t0)
            results[name].answers.append(answer)
        if done + 1 >= min_calls and perf_counter_ns() - start > budget_ns:
            break
    return results


def peak_memory_bytes(action: Callable[[], None]) -> int:
    """The tracemalloc peak (bytes above the start) while `action()` runs."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base, _ = tracemalloc.get_traced_memory()
        action()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak - base


class StatementLog:
    """The SQL statements (with their parameters) an engine runs while the log is open."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.statements: list = []

    def _record(self, conn, cursor, statement, parameters, context, executemany) -> None:
        self.statements.append((statement, parameters))

    def __enter__(self) -> "StatementLog":
        event.listen(self.engine, "before_cursor_execute", self._record)
        return self

    def __exit__(self, *exc) -> None:
        event.remove(self.engine, "before_cursor_execute", self._record)


_ALIAS = re.compile(r"\boso_facts\b(?:\s+AS)?\s+\"?(\w+)", re.IGNORECASE)
_SQLITE_SCAN = re.compile(r"^SCAN (\w+)")


def explain(engine: Engine, statement: str, parameters) -> tuple[str, list]:
    """The plan of one captured statement (PostgreSQL: EXPLAIN (ANALYZE, BUFFERS); SQLite:
    EXPLAIN QUERY PLAN) and the plan lines that read all of oso_facts."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            lines = [row[0] for row in conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)]
        full = [line.strip() for line in lines if "Seq Scan on oso_facts" in line]
        return "\n".join(lines), full
    with engine.connect() as conn:
        rows = list(conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters))
    names = {"oso_facts"} | {m.group(1) for m in _ALIAS.finditer(statement)} - {"WHERE", "ON", "JOIN"}
    details = [str(row[-1]) for row in rows]
    full = [d for d in details if (m := _SQLITE_SCAN.match(d)) and m.group(1) in names]
    return "\n".join(details), full


def selects(log: StatementLog) -> list:
    """The SELECT statements of a log (the decisions; not pool pings or transaction control)."""
    return [(s, p) for s, p in log.statements if s.lstrip().upper().startswith(("SELECT", "WITH"))]


def raw_caller(engine: Engine, statement) -> tuple[Callable, Callable[[dict], object]]:
    """A DBAPI-level runner of a SQLAlchemy `text()` statement on one held connection (the
    floor: no SQLAlchemy per call) and the function turning bind dicts into driver params."""
    compiled = statement.compile(dialect=engine.dialect)
    sql = compiled.string
    order: Optional[tuple] = compiled.positiontup if compiled.positional else None

    def params(binds: dict):
        return tuple(binds[name] for name in order) if order is not None else binds

    raw = engine.raw_connection()
    cursor = raw.cursor()

    def run(driver_params):
        cursor.execute(sql, driver_params)
        return cursor.fetchall()

    run.close = raw.close  # type: ignore[attr-defined]
    return run, params
