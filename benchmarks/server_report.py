"""The server benchmark's figures: one `Measurement` per run (latency percentiles, throughput,
answers checked, CPU used), the markdown table, and the issue-14 targets met or not."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from .facts_timing import percentile
from .report import format_number

TARGET_P50_MS = 1.0
TARGET_P99_MS = 5.0
TARGET_THROUGHPUT = 2000.0
TARGET_LIST_P99_MS = 25.0
TARGET_LOAD_S = 60.0


@dataclass
class Cpu:
    """CPU seconds used during a run, by whom (None: not measurable here)."""

    server: Optional[float] = None
    postgres: Optional[float] = None
    generator: Optional[float] = None
    machine_busy: Optional[float] = None
    machine_total: Optional[float] = None


@dataclass
class Measurement:
    """One run of requests: what was sent, what came back, how fast."""

    name: str
    mode: str                         # "closed, 64 clients" / "open, 2,000/s" / ...
    latencies_ns: list = field(default_factory=list)
    seconds: float = 0.0
    ok: int = 0                       # answered 200 with the expected answer
    wrong: int = 0                    # answered, but not what the dataset says
    failed: int = 0                   # non-200 or connection errors
    allowed: int = 0                  # authorize: allowed answers (right ones)
    expected_allowed: int = 0
    cpu: Cpu = field(default_factory=Cpu)
    offered_rate: Optional[float] = None

    @property
    def count(self) -> int:
        return len(self.latencies_ns)

    @property
    def throughput(self) -> float:
        return self.count / self.seconds if self.seconds > 0 else 0.0

    def ms(self, q: float) -> float:
        return percentile(self.latencies_ns, q) / 1e6 if self.latencies_ns else float("nan")

    def per_request_ms(self, seconds: Optional[float]) -> Optional[float]:
        return None if seconds is None or not self.count else seconds / self.count * 1000


@dataclass
class LoadFigures:
    """The bulk load through `POST /api/batch`."""

    facts: int
    batches: int
    parallel: int
    seconds: float
    failed: int = 0
    #: The ANALYZE run after the load (not part of `seconds`), as autovacuum would soon after.
    analyze_seconds: float = 0.0

    @property
    def rate(self) -> float:
        return self.facts / self.seconds if self.seconds > 0 else 0.0


def _cell(value: Optional[float]) -> str:
    return "-" if value is None else format_number(value)


def table(measurements: list[Measurement]) -> str:
    """The markdown table of the runs."""
    lines = ["| run | load | answered | right / wrong / failed | decisions/s | p50 (ms) | p90 (ms) | "
             "p99 (ms) | max (ms) | server CPU (ms/req) | PostgreSQL CPU (ms/req) | generator CPU (ms/req) | "
             "machine busy |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for m in measurements:
        cpu = m.cpu
        busy = "-"
        if cpu.machine_busy is not None and cpu.machine_total:
            busy = f"{100 * cpu.machine_busy / cpu.machine_total:.0f}%"
        lines.append(
            f"| {m.name} | {m.mode} | {m.count:,} | {m.ok:,} / {m.wrong:,} / {m.failed:,} | "
            f"{format_number(m.throughput)} | {format_number(m.ms(0.50))} | {format_number(m.ms(0.90))} | "
            f"{format_number(m.ms(0.99))} | {format_number(max(m.latencies_ns) / 1e6 if m.latencies_ns else 0)} | "
            f"{_cell(m.per_request_ms(cpu.server))} | {_cell(m.per_request_ms(cpu.postgres))} | "
            f"{_cell(m.per_request_ms(cpu.generator))} | {busy} |")
    return "\n".join(lines)


def _met(ok: bool) -> str:
    return "met" if ok else "**not met**"


def targets(measurements: list[Measurement], load: Optional[LoadFigures]) -> list[str]:
    """One line per target of the issue's bar, with the number that decides it."""
    lines = []
    closed = [m for m in measurements if m.name == "authorize" and m.mode.startswith("closed")]
    opened = [m for m in measurements if m.name == "authorize" and m.mode.startswith("open")
              and m.offered_rate == TARGET_THROUGHPUT]
    if closed:
        m = closed[0]
        lines.append(f"authorize throughput at 64 concurrent clients (closed loop): {format_number(m.throughput)}/s "
                     f">= {TARGET_THROUGHPUT:,.0f}/s: {_met(m.throughput >= TARGET_THROUGHPUT)}")
    if opened:
        m = opened[0]
        sustained = m.throughput >= 0.95 * TARGET_THROUGHPUT and m.failed == 0
        lines.append(f"authorize at {TARGET_THROUGHPUT:,.0f}/s offered (open loop, 64 connections): "
                     f"{format_number(m.throughput)}/s answered, {_met(sustained)} as a rate; "
                     f"p50 {format_number(m.ms(0.5))} ms <= {TARGET_P50_MS:g}: {_met(m.ms(0.5) <= TARGET_P50_MS)}; "
                     f"p99 {format_number(m.ms(0.99))} ms <= {TARGET_P99_MS:g}: {_met(m.ms(0.99) <= TARGET_P99_MS)}")
    for m in measurements:
        if m.name.startswith("list"):
            lines.append(f"{m.name} p99 {format_number(m.ms(0.99))} ms <= {TARGET_LIST_P99_MS:g}: "
                         f"{_met(m.ms(0.99) <= TARGET_LIST_P99_MS)}")
    if load is not None:
        lines.append(f"bulk load of {load.facts:,} facts through POST /api/batch: {format_number(load.seconds)} s "
                     f"<= {TARGET_LOAD_S:g} s: {_met(load.seconds <= TARGET_LOAD_S and not load.failed)}")
    return lines
