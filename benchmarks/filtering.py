"""Data-filtering benchmark: `authorized_query` on SQLAlchemy, against hand SQL and legacy oso.

    python -m benchmarks --filtering                 # 1k, 10k, 100k repos; SQLite + PostgreSQL
    python -m benchmarks --filtering --quick         # 1k repos, short measurements
    python -m benchmarks --filtering --write-docs    # also replace the table in docs/performance.md

For the GITHUB policy of tests/filter_scenarios.py on the SQLAlchemy models of the proof tests
(see benchmarks/filtering_data.py), with generated data of each size loaded into a fresh SQLite
file and a fresh PostgreSQL schema, and for one user with a few org and repo roles, this
measures for "read" on Repo and "read" on Issue:

1. the filter build time: `oso.authorized_query(user, action, Model)`, which returns an ORM
   `Query` without running SQL (median of many calls, µs); also `build_filter_plan` alone;
2. the generated query's run time: `query.all()` (ORM objects, empty identity map each run)
   and the same query fetching only the ids (median of several runs, ms);
3. the same filter written by hand in SQL (EXISTS / IN over the role tables), ids only;
4. the number of SQL statements of `authorized_query` + `query.all()` (must be 1);
5. legacy oso 0.27.3 on the same database, in a subprocess of an interpreter that has it
   (this one, if `import oso` works; else $OSO_LEGACY_PYTHON or /tmp/legacy/bin/python; or
   --legacy-python): its build time and `query.all()` time, and whether its ids are right.

Before anything is timed, the generated query's ids are compared with the hand SQL's, and the
hand SQL's with the answer computed in Python from the generated rows; a difference, or a
statement count other than 1, is reported and the run exits 1. Legacy oso's wrong answers
are reported in the table, not as a failure: that is a finding about legacy.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import json
import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from time import perf_counter_ns
from typing import Any, Optional

from . import filtering_data as fd
from .report import SKIPPED, exit_status, format_number, replace_between_markers

REPO_ROOT = fd.REPO_ROOT
DOCS_PATH = os.path.join(REPO_ROOT, "docs", "performance.md")
BEGIN_MARKER = "<!-- filtering table -->"
END_MARKER = "<!-- end filtering table -->"
DEFAULT_SIZES = (1_000, 10_000, 100_000)
BACKENDS = ("sqlite", "postgresql")
LEGACY_FALLBACK_PYTHON = "/tmp/legacy/bin/python"


@dataclass
class FilterSettings:
    build_min_runs: int = 50          # filter builds: at least this many calls ...
    build_budget_ns: int = 1_500_000_000   # ... and about this long per request
    build_max_runs: int = 2_000
    query_min_runs: int = 5           # query runs: at least this many ...
    query_budget_ns: int = 2_000_000_000   # ... and about this long per request and database
    query_max_runs: int = 200


QUICK = FilterSettings(build_min_runs=5, build_budget_ns=100_000_000, build_max_runs=200,
                       query_min_runs=3, query_budget_ns=150_000_000, query_max_runs=50)


@dataclass
class Result:
    backend: str
    repos: int
    action: str
    type_name: str
    rows: int = 0                           # ids the filter selects
    values: dict = field(default_factory=dict)  # measurement -> ns
    statements: Optional[int] = None        # SQL statements of authorized_query + .all()
    sql: str = ""                           # the generated SQL (literal binds)
    legacy: Optional[dict] = None           # the legacy subprocess's answer for this case
    jit: Optional[dict] = None              # PostgreSQL: EXPLAIN ANALYZE figures (postgres_jit)

    @property
    def label(self) -> str:
        return f'"{self.action}" {self.type_name}'


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# Timing
# ---------------------------------------------------------------------------------------------

def interleaved_medians(calls: dict, min_runs: int, budget_ns: int, max_runs: int) -> dict:
    """Median ns of each call (name -> (fn, setup or None)), run in turn so that a slow period
    of the machine or the database hits all of them alike. One untimed call of each first."""
    for fn, setup in calls.values():
        if setup is not None:
            setup()
        fn()
    samples: dict = {name: [] for name in calls}
    start = perf_counter_ns()
    for run in range(max_runs):
        for name, (fn, setup) in calls.items():
            if setup is not None:
                setup()
            t0 = perf_counter_ns()
            fn()
            samples[name].append(perf_counter_ns() - t0)
        if run + 1 >= min_runs and perf_counter_ns() - start >= budget_ns:
            break
    return {name: statistics.median(values) for name, values in samples.items()}


# ---------------------------------------------------------------------------------------------
# oso_core side
# ---------------------------------------------------------------------------------------------

def new_oso(session):
    from oso_core import Oso
    from oso_core.data.adapter.sqlalchemy_adapter import SqlAlchemyAdapter

    oso = Oso()
    oso.set_data_filtering_adapter(SqlAlchemyAdapter(session))
    oso.register_class(fd.User)
    for model in fd.MODELS.values():
        oso.register_class(model)
    oso.load_str(fd.github_policy())
    return oso


def measure_oso_core(db: fd.Database, repos: int, rows: dict, settings: FilterSettings,
                     problems: list) -> list:
    """One Result per case: answers checked, then timed."""
    from sqlalchemy import event, text
    from sqlalchemy.orm import Session

    from oso_core.filtering import build_filter_plan

    results = []
    engine = db.engine()
    statements: list = []
    event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    try:
        with Session(engine) as session:
            oso = new_oso(session)
            user = fd.User(fd.BENCH_USER_ID)
            for action, type_name in fd.CASES:
                model = fd.MODELS[type_name]
                result = Result(db.backend, repos, action, type_name)
                results.append(result)
                where = f"{db.backend}, {repos:,} repos, {result.label}"

                # 1. Answers and statement count, strictly checked.
                statements.clear()
                query = oso.authorized_query(user, action, model)
                built_statements = len(statements)
                generated = sorted(obj.id for obj in query.all())
                result.statements = len(statements)
                result.sql = str(query.statement.compile(
                    engine, compile_kwargs={"literal_binds": True}))
                if built_statements:
                    problems.append(f"{where}: authorized_query ran {built_statements} SQL "
                                    f"statement(s) before the query was executed")
                if result.statements != 1:
                    problems.append(f"{where}: authorized_query + query.all() ran "
                                    f"{result.statements} SQL statements, expected 1:\n"
                                    + "\n".join(statements))
                hand = fd.hand_ids(session, action, type_name)
                expected = fd.expected_ids(rows, action, type_name)
                if hand != expected:
                    problems.append(f"{where}: the hand-written SQL selects {len(hand)} ids, the "
                                    f"data has {len(expected)} (the hand SQL is wrong)")
                if generated != hand:
                    problems.append(
                        f"{where}: the generated query selects {len(generated)} ids, the hand "
                        f"SQL {len(hand)} ({len(set(hand) - set(generated))} missing, "
                        f"{len(set(generated) - set(hand))} extra)\n--- generated SQL ---\n"
                        f"{result.sql}")
                result.rows = len(hand)
                session.expunge_all()

                # 2. Timing: filter build, then the three queries interleaved.
                # The plan cache (filtering/plan_cache.py) serves every repeat, so "build"
                # (a first call: partial evaluation, plan, SQLAlchemy construction) is timed
                # without it, and "repeat" is `authorized_query` for other users of the class.
                cached = sorted(obj.id for obj in oso.authorized_query(fd.User(fd.BENCH_USER_ID), action, model))
                hand_built = sorted(obj.id for obj in fd.hand_query(session, action, type_name).all())
                session.expunge_all()
                if cached != hand or hand_built != hand:
                    problems.append(f"{where}: the cached query selects {len(cached)} ids, the "
                                    f"hand-built query {len(hand_built)}, the hand SQL {len(hand)}")
                adapter = oso.host.adapter
                others = [fd.User(fd.BENCH_USER_ID + i) for i in range(8)]
                turn = iter(range(10**9))
                builds = interleaved_medians(
                    {"build": (lambda: adapter.build_query_from_plan(
                        build_filter_plan(oso, user, action, model)), None),
                     "plan": (lambda: build_filter_plan(oso, user, action, model), None),
                     "repeat": (lambda: oso.authorized_query(others[next(turn) % 8], action, model), None),
                     "hand_build": (lambda: fd.hand_query(session, action, type_name), None)},
                    settings.build_min_runs, settings.build_budget_ns, settings.build_max_runs)
                # Generated and hand SQL both run as SQL text on the same connection, so the
                # ratio compares the queries, not SQLAlchemy's per-execution work (cache key,
                # parameter processing), which the `.all()` column includes.
                ids_stmt = query.with_entities(model.id).statement
                conn = session.connection()
                ids_sql = literal_sql(ids_stmt, engine)
                hand_sql = literal_sql(text(fd.HAND_SQL[action, type_name]).bindparams(
                    user_id=fd.BENCH_USER_ID), engine)
                run_ids = lambda: conn.exec_driver_sql(ids_sql).scalars().all()  # noqa: E731
                runs = interleaved_medians(
                    {"all": (query.all, session.expunge_all),
                     "ids": (run_ids, None),
                     "hand": (lambda: conn.exec_driver_sql(hand_sql).scalars().all(), None)},
                    settings.query_min_runs, settings.query_budget_ns, settings.query_max_runs)
                session.expunge_all()
                result.values.update(builds)
                result.values.update(runs)
                if db.backend == "postgresql":
                    result.jit = postgres_jit(session, ids_stmt, run_ids, settings)
                    result.values["ids_nojit"] = result.jit.pop("ids_nojit")
                nojit = (f" (JIT off {result.values['ids_nojit'] / 1e6:.2f} ms)"
                         if "ids_nojit" in result.values else "")
                log(f"  {where}: {result.rows} rows; build {builds['build'] / 1e3:,.0f} µs "
                    f"(plan {builds['plan'] / 1e3:,.0f} µs), repeat {builds['repeat'] / 1e3:,.0f} µs, "
                    f"hand build {builds['hand_build'] / 1e3:,.0f} µs; .all() {runs['all'] / 1e6:.2f} ms, "
                    f"ids {runs['ids'] / 1e6:.2f} ms{nojit}, hand SQL "
                    f"{runs['hand'] / 1e6:.2f} ms; {result.statements} statement(s)")
    finally:
        engine.dispose()
    return results


def literal_sql(statement, engine) -> str:
    """`statement` as SQL text with its parameters inlined (as the database receives it)."""
    return str(statement.compile(engine, compile_kwargs={"literal_binds": True}))


def postgres_jit(session, ids_stmt, run_ids, settings: FilterSettings) -> dict:
    """PostgreSQL compiles a query to machine code (JIT) when the planner's cost estimate is
    above `jit_above_cost`. The generated query's correlated EXISTS get high estimates, so this
    returns its estimate, the JIT time of one EXPLAIN ANALYZE run, and its median run time with
    `SET jit = off` (key "ids_nojit", ns)."""
    from sqlalchemy import text

    sql = str(ids_stmt.compile(session.get_bind(),
                                          compile_kwargs={"literal_binds": True}))
    explain = session.execute(text("EXPLAIN (ANALYZE, FORMAT JSON) " + sql)).scalar()
    explain = (json.loads(explain) if isinstance(explain, str) else explain)[0]
    out = {"cost": explain["Plan"]["Total Cost"],
           "jit_above_cost": float(session.execute(text("SHOW jit_above_cost")).scalar()),
           "jit_enabled": session.execute(text("SHOW jit")).scalar(),
           "execution_ms": explain["Execution Time"],
           "jit_ms": explain.get("JIT", {}).get("Timing", {}).get("Total")}
    session.execute(text("SET jit = off"))
    try:
        out["ids_nojit"] = interleaved_medians(
            {"ids": (run_ids, None)}, settings.query_min_runs,
            settings.query_budget_ns // 2, settings.query_max_runs)["ids"]
    finally:
        session.execute(text("RESET jit"))
    return out


# ---------------------------------------------------------------------------------------------
# Legacy side (a subprocess)
# ---------------------------------------------------------------------------------------------

def find_legacy_python(requested: Optional[str]) -> tuple:
    """(interpreter or None, reason when None)."""
    if requested:
        return (None, "not requested (--legacy-python none)") if requested == "none" \
            else (requested, None)
    if os.environ.get("OSO_LEGACY_PYTHON"):
        return os.environ["OSO_LEGACY_PYTHON"], None
    if importlib.util.find_spec("oso") is not None and importlib.util.find_spec("polar"):
        return sys.executable, None
    if os.path.exists(LEGACY_FALLBACK_PYTHON):
        return LEGACY_FALLBACK_PYTHON, None
    return None, ("no interpreter with legacy oso found (`import oso` fails here, "
                  f"$OSO_LEGACY_PYTHON is unset, {LEGACY_FALLBACK_PYTHON} does not exist)")


def run_legacy(python: str, db: fd.Database, settings: FilterSettings) -> dict:
    job = {"database": db.to_json(), "cases": fd.CASES, "settings": asdict(settings)}
    env = dict(os.environ)
    env["PYTHONPATH"] = REPO_ROOT + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    proc = subprocess.run([python, "-m", "benchmarks.filtering_legacy", json.dumps(job)],
                          cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=1800)
    if proc.returncode != 0:
        raise RuntimeError(f"the legacy subprocess ({python}) failed:\n{proc.stderr.strip()}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------------------------------
# One database of one size
# ---------------------------------------------------------------------------------------------

def run_one(backend: str, repos: int, settings: FilterSettings, problems: list, notes: list,
            legacy_python: Optional[str] = None, postgres_url: str = fd.DEFAULT_POSTGRES_URL,
            sqlite_dir: Optional[str] = None, rows: Optional[dict] = None) -> list:
    """Create and load one database, measure oso_core (and legacy), drop the database."""
    sizes = fd.Sizes(repos)
    rows = rows if rows is not None else fd.generate_rows(sizes)
    db = fd.create_database(backend, str(repos), sqlite_dir=sqlite_dir, postgres_url=postgres_url)
    try:
        t0 = perf_counter_ns()
        fd.load(db, rows)
        load_s = (perf_counter_ns() - t0) / 1e9
        log(f" {backend}, {sizes.describe()}: loaded in {load_s:.1f} s")
        notes.append(f"{backend}, {repos:,} repos: {sizes.describe()}; bulk load + indexes + "
                     f"ANALYZE {load_s:.1f} s")
        results = measure_oso_core(db, repos, rows, settings, problems)
        if legacy_python is not None:
            try:
                legacy = run_legacy(legacy_python, db, settings)
            except Exception as error:  # noqa: BLE001 -- the legacy column reads ERROR
                legacy = {"failed": str(error)}
                notes.append(f"legacy on {backend}, {repos:,} repos: {error}")
            for result in results:
                case = legacy.get("cases", {}).get(f"{result.action} {result.type_name}")
                result.legacy = dict(case or {"error": legacy.get("failed", "no result")},
                                     version=legacy.get("version"), driver=legacy.get("driver"))
                log(f"  legacy {backend}, {repos:,} repos, {result.label}: "
                    + _legacy_summary(result.legacy))
        return results
    finally:
        fd.drop_database(db)


def _legacy_summary(case: dict) -> str:
    parts = []
    if "build_ns" in case:
        parts.append(f"build {case['build_ns'] / 1e3:,.0f} µs")
    if "all_ns" in case:
        parts.append(f".all() {case['all_ns'] / 1e6:.2f} ms")
    if "ids" in case:
        parts.append(f"{case['ids']} ids, {'right' if case['same_ids'] else 'WRONG'}")
    if "error" in case:
        parts.append(f"error: {case['error']}")
    return "; ".join(parts)


# ---------------------------------------------------------------------------------------------
# Reporting
# ---------------------------------------------------------------------------------------------


def _us(ns: Any) -> str:
    return SKIPPED if ns is None else format_number(ns / 1e3)


def _ms(ns: Any) -> str:
    return SKIPPED if ns is None else format_number(ns / 1e6)


def _legacy_cells(result: Result) -> tuple:
    case = result.legacy
    if case is None:
        return SKIPPED, SKIPPED
    build = _us(case.get("build_ns")) if "build_ns" in case else "ERROR"
    if "all_ns" in case:
        query = _ms(case["all_ns"])
        if not case.get("same_ids"):
            query += f" (**wrong**: {case['ids']:,} of {case['hand_ids']:,} ids)"
    else:
        query = "ERROR"
    return build, query


def render(results: list, notes: list, legacy_note: Optional[str], versions: dict) -> str:
    out = [environment_line(versions), ""]
    out.append("| database | repos | request | rows | oso_core build (µs) | plan only (µs) "
               "| repeat, cached (µs) | hand-built query (µs) | repeat/hand | legacy build (µs) "
               "| legacy/oso_core build | generated `.all()` (ms) "
               "| generated ids (ms) | generated ids, JIT off (ms) | hand SQL ids (ms) "
               "| generated/hand | legacy `.all()` (ms) | SQL statements |")
    out.append("| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: "
               "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in results:
        legacy_build, legacy_query = _legacy_cells(r)
        core = r.values.get("build")
        lb = (r.legacy or {}).get("build_ns")
        speedup = f"{format_number(lb / core)}x" if core and lb else SKIPPED
        ratio = r.values.get("ids", 0) / r.values["hand"] if r.values.get("hand") else None
        repeat, hand_build = r.values.get("repeat"), r.values.get("hand_build")
        repeat_ratio = f"{format_number(repeat / hand_build)}x" if repeat and hand_build else SKIPPED
        statements = str(r.statements) if r.statements is not None else SKIPPED
        if r.legacy is not None and "statements" in r.legacy:
            statements += f" (legacy {r.legacy['statements']})"
        out.append(
            f"| {'SQLite' if r.backend == 'sqlite' else 'PostgreSQL'} | {r.repos:,} | {r.label} "
            f"| {r.rows:,} | {_us(core)} | {_us(r.values.get('plan'))} | {_us(repeat)} "
            f"| {_us(hand_build)} | {repeat_ratio} | {legacy_build} "
            f"| {speedup} | {_ms(r.values.get('all'))} | {_ms(r.values.get('ids'))} "
            f"| {_ms(r.values.get('ids_nojit'))} "
            f"| {_ms(r.values.get('hand'))} | {SKIPPED if ratio is None else format_number(ratio) + 'x'} "
            f"| {legacy_query} | {statements} |")
    out.append("")
    out.append("Build: median µs of a first `authorized_query` (partial evaluation, plan, "
               "SQLAlchemy `Query`; no SQL runs), without the plan cache; \"plan only\" is "
               "`oso_core.filtering.build_filter_plan`; \"repeat\" is `authorized_query` with the "
               "plan cache warm, for users of the same class in turn (binds the user's id into the "
               "prepared clause); \"hand-built\" builds the hand-written filter as an ORM `Query` "
               "with SQLAlchemy expressions. Queries: median ms, "
               "runs of the generated query (`.all()`: through the ORM, ORM objects, empty "
               "identity map; ids: the same query selecting only the ids, as SQL text on the "
               "connection) and of the hand-written SQL (also SQL text on the connection) "
               "interleaved; generated/hand compares the two SQL texts. "
               "Rows: ids selected (generated = hand SQL = computed in Python, checked "
               "before timing). SQL statements: of `authorized_query` + `query.all()`. "
               "JIT off: PostgreSQL only, the generated ids query with `SET jit = off` (see "
               "the JIT notes).")
    jit_notes = [r for r in results if r.jit and r.jit.get("jit_ms")]
    if jit_notes:
        out.append("")
        out.append("PostgreSQL JIT (one `EXPLAIN ANALYZE` of the generated ids query; JIT "
                   "compiles a query whose estimated cost is above `jit_above_cost`):")
        for r in jit_notes:
            j = r.jit
            out.append(f"- {r.repos:,} repos, {r.label}: estimated cost {j['cost']:,.0f} "
                       f"(jit_above_cost {j['jit_above_cost']:,.0f}); JIT compilation "
                       f"{j['jit_ms']:,.0f} ms of {j['execution_ms']:,.0f} ms")
    if legacy_note:
        out.append("")
        out.append(f"Legacy columns skipped: {legacy_note}")
    legacy_errors = sorted({(r.label, r.legacy["error"]) for r in results
                            if r.legacy and "error" in r.legacy})
    if legacy_errors:
        out.append("")
        out.append("Legacy oso errors:")
        out.extend(f"- {label}: `{error}`" for label, error in legacy_errors)
    if notes:
        out.append("")
        out.append("Data:")
        out.extend(f"- {note}" for note in notes)
    out.append("")
    dialect = results[0].backend if results else "sqlite"
    out.append(f"Generated SQL ({'SQLite' if dialect == 'sqlite' else 'PostgreSQL'} dialect, "
               f"the same at every size):")
    shown = set()
    for r in results:
        if r.backend != dialect or r.label in shown or not r.sql:
            continue
        shown.add(r.label)
        out.append("")
        out.append(f"- oso_core, {r.label}:")
        out.append("")
        out.append("  ```sql")
        out.extend("  " + line for line in r.sql.splitlines())
        out.append("  ```")
        if r.legacy and r.legacy.get("sql"):
            out.append("")
            out.append(f"- legacy oso, {r.label}:")
            out.append("")
            out.append("  ```sql")
            out.extend("  " + line for line in r.legacy["sql"].splitlines())
            out.append("  ```")
    return "\n".join(out)


def environment_line(versions: dict) -> str:
    import sqlalchemy
    parts = [f"Measured {datetime.date.today().isoformat()} on {platform.machine()} "
             f"{platform.system()}, {os.cpu_count()} cores, {platform.python_implementation()} "
             f"{platform.python_version()}, SQLAlchemy {sqlalchemy.__version__}"]
    parts.append(f"SQLite {sqlite3.sqlite_version}")
    if versions.get("postgresql"):
        parts.append(f"PostgreSQL {versions['postgresql']} (psycopg {versions.get('psycopg')}, "
                     f"on the same machine)")
    if versions.get("legacy"):
        parts.append(f"legacy oso {versions['legacy']} ({versions.get('legacy_driver')})")
    return "; ".join(parts) + "."


def postgres_versions(url: str) -> dict:
    from sqlalchemy import create_engine, text
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            server = conn.execute(text("SHOW server_version")).scalar()
    finally:
        engine.dispose()
    import psycopg
    return {"postgresql": server.split()[0], "psycopg": psycopg.__version__}


def write_docs(block: str, path: str = DOCS_PATH) -> None:
    """Replace the table between the markers; without them, append a "Data filtering" section."""
    replace_between_markers(path, BEGIN_MARKER, END_MARKER, block, new_section=(
        "## Data filtering\n\n`python -m benchmarks --filtering --write-docs` replaces this table."))


# ---------------------------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------------------------

def main(argv: Optional[list] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks --filtering", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="1k repos only (unless --sizes), short measurements")
    parser.add_argument("--write-docs", action="store_true",
                        help=f"replace the data-filtering table in "
                             f"{os.path.relpath(DOCS_PATH, REPO_ROOT)}")
    parser.add_argument("--sizes", help="comma-separated repo counts (default 1000,10000,100000)")
    parser.add_argument("--backends", default=",".join(BACKENDS),
                        help="comma-separated subset of sqlite,postgresql")
    parser.add_argument("--legacy-python", help="interpreter with legacy oso 0.27.3 installed "
                        "('none' to skip legacy)")
    parser.add_argument("--postgres-url",
                        default=os.environ.get("OSO_TEST_POSTGRES_URL", fd.DEFAULT_POSTGRES_URL),
                        help="SQLAlchemy URL of the PostgreSQL server (a schema is created in it)")
    parser.add_argument("--sqlite-dir", default=tempfile.gettempdir(),
                        help="directory for the SQLite database files")
    args = parser.parse_args(argv)

    settings = QUICK if args.quick else FilterSettings()
    if args.sizes:
        sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    else:
        sizes = [1_000] if args.quick else list(DEFAULT_SIZES)
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    unknown = [b for b in backends if b not in BACKENDS]
    if unknown:
        parser.error(f"unknown backend(s): {', '.join(unknown)}")

    notes: list = []
    versions: dict = {}
    if "postgresql" in backends:
        try:
            versions.update(postgres_versions(args.postgres_url))
        except Exception as error:  # noqa: BLE001 -- skip the backend with the reason
            log(f"note: PostgreSQL skipped: {error}")
            notes.append(f"PostgreSQL skipped: cannot connect to {args.postgres_url}: "
                         f"{str(error).splitlines()[0]}")
            backends.remove("postgresql")
    legacy_python, legacy_note = find_legacy_python(args.legacy_python)
    if legacy_note:
        log(f"note: legacy skipped: {legacy_note}")

    problems: list = []
    results: list = []
    for repos in sizes:
        rows = fd.generate_rows(fd.Sizes(repos))
        for backend in backends:
            results += run_one(backend, repos, settings, problems, notes,
                               legacy_python=legacy_python, postgres_url=args.postgres_url,
                               sqlite_dir=args.sqlite_dir, rows=rows)
    for r in results:
        if r.legacy and r.legacy.get("version"):
            versions["legacy"] = r.legacy["version"]
            versions["legacy_driver"] = ", ".join(sorted({
                x.legacy.get("driver") for x in results
                if x.legacy and x.legacy.get("driver")}))
            break

    order = {b: i for i, b in enumerate(BACKENDS)}
    results.sort(key=lambda r: (order[r.backend], r.repos))
    block = render(results, notes, legacy_note, versions)
    print(block)
    if args.write_docs:
        write_docs(block)
        log(f"wrote the data-filtering table into {DOCS_PATH}")
    return exit_status(problems, "CHECK FAILED -- the generated query disagrees with the hand SQL, or ran "
                                 "more than one statement")


if __name__ == "__main__":
    sys.exit(main())
