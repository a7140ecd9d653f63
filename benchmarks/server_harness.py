"""The server under test: a real `python -m oso_server serve` process on a free loopback port,
over a fresh database (a SQLite file in a temp dir, or a PostgreSQL schema dropped at the
end), and what it cost in CPU (read from /proc, Linux only)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional, Sequence
from urllib.parse import quote

from oso_server import testing
from oso_server.config import SQLITE_FILE

from . import facts_dataset as fd

ROOT = Path(__file__).resolve().parents[1]
START_TIMEOUT = 60.0
#: Set to a file path to run the server under cProfile (one process: `--workers 1`); the
#: profile is written there when the server stops.
PROFILE_VARIABLE = "OSO_BENCH_PROFILE"


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    return testing.free_port()


class ServerDatabase:
    """The database a benchmark server runs on; `url` is what `--database` gets (None:
    the server's default SQLite file in `data_dir`)."""

    def __init__(self, backend: str, postgres_url: str = fd.DEFAULT_POSTGRES_URL) -> None:
        self.backend = backend
        self.data_dir = Path(tempfile.mkdtemp(prefix="oso_srvbench_"))
        self._pg: Optional[fd.Database] = None
        self.url: Optional[str] = None
        if backend == "postgresql":
            self._pg = fd.create_database("postgresql", postgres_url)
            separator = "&" if "?" in postgres_url else "?"
            options = quote(f"-csearch_path={self._pg.schema_name}")
            self.url = f"{postgres_url}{separator}options={options}"
        elif backend != "sqlite":
            raise ValueError(f"backend is sqlite or postgresql, got {backend!r}")

    def analyze(self) -> float:
        """VACUUM ANALYZE the fact tables and CHECKPOINT (PostgreSQL; SQLite: ANALYZE), as an
        operator does after a bulk load: the planner learns their sizes, and neither autovacuum
        (which 1.1M new rows would start) nor a checkpoint of the load's WAL runs during the
        measurement; the seconds it took."""
        started = time.perf_counter()
        if self._pg is not None:
            raw = self._pg.engine.raw_connection()
            try:
                for table in ("oso_values", "oso_facts"):
                    fd._analyze_postgres(raw, table)  # retries a deadlock with autovacuum
                raw.driver_connection.autocommit = True   # VACUUM runs outside a transaction
                for table in ("oso_values", "oso_facts"):
                    raw.driver_connection.execute(f"VACUUM {table}")
                # The bulk load's WAL written out now, not by a checkpoint in the middle of a run.
                raw.driver_connection.execute("CHECKPOINT")
            finally:
                raw.close()
        else:
            import sqlite3

            with contextlib.closing(sqlite3.connect(self.data_dir / SQLITE_FILE)) as connection:
                connection.execute("ANALYZE")
                connection.commit()
        return time.perf_counter() - started

    def drop(self) -> None:
        if self._pg is not None:
            self._pg.drop()
        shutil.rmtree(self.data_dir, ignore_errors=True)


class Server:
    """A running server process; `stop()` ends it (SIGTERM, SIGKILL after 10 s)."""

    def __init__(self, database: ServerDatabase, policy_file: Path, workers: int = 1,
                 threads: Optional[int] = None, extra: Sequence[str] = ()) -> None:
        self.host = "127.0.0.1"
        self.port = free_port()
        self.url = f"http://{self.host}:{self.port}"
        profile = os.environ.get(PROFILE_VARIABLE)
        runner = ["-m", "cProfile", "-o", profile] if profile else []
        self.profiled = bool(profile)
        command = [sys.executable, *runner, "-m", "oso_server", "serve", "--host", self.host, "--port", str(self.port),
                   "--data-dir", str(database.data_dir), "--policy", str(policy_file),
                   "--log-level", "warning", "--workers", str(workers), *extra]
        if threads is not None:
            command += ["--threads", str(threads)]
        if database.url is not None:
            command += ["--database", database.url]
        self.log_path = database.data_dir / f"server-{self.port}.log"
        self._log = open(self.log_path, "wb")
        # Its own process group, so that stop() reaches uvicorn's worker processes too.
        self.process = subprocess.Popen(command, cwd=ROOT, stdout=self._log, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        self._wait_healthy()

    def _wait_healthy(self) -> None:
        try:
            testing.wait_healthy(self.url, self.process, START_TIMEOUT, 0.2)
        except (testing.ServerStartError, TimeoutError) as error:
            self.stop()
            raise testing.ServerStartError(f"{error}:\n{self.log()}") from None

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def pids(self) -> list[int]:
        """The server process and its descendants (uvicorn's workers)."""
        found, todo = [], [self.process.pid]
        while todo:
            pid = todo.pop()
            found.append(pid)
            try:
                with open(f"/proc/{pid}/task/{pid}/children") as f:
                    todo += [int(p) for p in f.read().split()]
            except OSError:
                continue
        return found

    def cpu_seconds(self) -> Optional[float]:
        """User + system CPU seconds used so far by the server's processes (None off Linux)."""
        return processes_cpu_seconds(self.pids())

    def stop(self) -> None:
        # uvicorn re-raises the signal it stopped on; cProfile writes its file on the
        # KeyboardInterrupt of a SIGINT, but a re-raised SIGTERM ends the process first.
        testing.stop_process_group(self.process, 10, signal.SIGINT if self.profiled else signal.SIGTERM)
        self._log.close()


def _process_cpu(pid: int, ticks: int) -> Optional[float]:
    """utime + stime of one process, from /proc/PID/stat; None if it is gone (or no /proc)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / ticks    # utime, stime (fields 14 and 15)


def processes_cpu_seconds(pids: Sequence[int]) -> Optional[float]:
    """utime + stime of the processes, from /proc/PID/stat; None where /proc is missing."""
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    found = [cpu for cpu in (_process_cpu(pid, ticks) for pid in pids) if cpu is not None]
    return sum(found) if found else None


def postgres_cpu_by_process() -> Optional[dict[int, float]]:
    """CPU seconds of every `postgres` process on the machine, by pid (other users of the
    same database server are counted too); None off Linux."""
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    try:
        entries = os.listdir("/proc")
    except OSError:
        return None
    found = {}
    for entry in entries:
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/comm") as f:
                    if f.read().strip() != "postgres":
                        continue
            except OSError:
                continue
            cpu = _process_cpu(int(entry), ticks)
            if cpu is not None:
                found[int(entry)] = cpu
    return found or None


def postgres_cpu_between(start: Optional[dict[int, float]], end: Optional[dict[int, float]]) -> Optional[float]:
    """PostgreSQL CPU seconds between two `postgres_cpu_by_process` readings: per process that
    is still there (a backend that ended in between took its figure with it: it is left out,
    rather than counted negative), plus the whole figure of each backend started since."""
    if start is None or end is None:
        return None
    return sum(cpu - start.get(pid, 0.0) for pid, cpu in end.items())


def machine_busy_seconds() -> Optional[tuple[float, float]]:
    """(busy, total) CPU seconds of the whole machine since boot, from /proc/stat."""
    try:
        with open("/proc/stat") as f:
            values = [int(v) for v in f.readline().split()[1:]]
    except OSError:
        return None
    ticks = os.sysconf("SC_CLK_TCK")
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return (sum(values) - idle) / ticks, sum(values) / ticks
