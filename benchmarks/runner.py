"""Run every scenario through oso_core, legacy oso, the peers (cedarpy, casbin) and the
hand-written floor; print Markdown.

    python -m benchmarks                # full run (well under 2 minutes on 2 cores)
    python -m benchmarks --quick        # a few seconds, rough numbers
    python -m benchmarks --write-docs   # also replace the table in docs/performance.md

Before timing anything, every request is answered by every engine and the answers are compared
with oso_core's and with the answer expected by construction; any difference or exception is
reported and the run exits 1 (the wrong cell reads WRONG / ERROR and is not timed).
Exit status 2: oso_core itself cannot be imported or cannot load a trivial policy.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Optional

from . import engines as eng
from . import scenarios as sc
from .report import SKIPPED, exit_status, format_number, replace_between_markers
from .timing import QUICK, Interleaved, Settings, median_ns_of

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCS_PATH = os.path.join(REPO_ROOT, "docs", "performance.md")
BEGIN_MARKER = "<!-- benchmark table -->"
END_MARKER = "<!-- end benchmark table -->"

# Targets.
LEGACY_SPEEDUP_TARGET = 10.0   # decisions >= 10x faster than legacy
FLOOR_RATIO_TARGET = 20.0      # decisions within 20x of the floor
SCALING_TARGET = 1.5           # 1000-rule decision within 1.5x of the 20-rule one
WRONG, ERROR = "WRONG", "ERROR"


@dataclass
class Row:
    kind: str           # "decision" | "load"
    name: str           # shown in the first column
    key: str            # scenario key / load case key
    label: str          # request label / "warm" / "cold"
    values: dict = field(default_factory=dict)  # engine -> ns (float) | WRONG | ERROR | SKIPPED


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def fmt_answer(value: Any) -> str:
    if isinstance(value, set):
        return "{" + ", ".join(repr(v) for v in sorted(value, key=repr)) + "}"
    return repr(value)


# ---------------------------------------------------------------------------------------------
# Running
# ---------------------------------------------------------------------------------------------

def run_decisions(engines: list, settings: Settings, problems: list) -> list:
    rows, timers = [], []
    for scenario in sc.decision_scenarios():
        built = {}
        for engine in engines:
            try:
                built[engine] = eng.build(engine, scenario)
            except Exception as error:  # noqa: BLE001
                built[engine] = error
                problems.append(f"{engine}: loading the policy of scenario '{scenario.title}' "
                                f"failed: {type(error).__name__}: {error}\n"
                                f"--- policy ---\n{scenario.policy}--------------")
        for request in scenario.requests:
            row = Row("decision", f"{scenario.title}: {request.label}", scenario.key, request.label)
            rows.append(row)
            # 1. Answers, strictly checked.
            answers = {}
            for engine in engines:
                if isinstance(built[engine], Exception):
                    row.values[engine] = ERROR
                    continue
                try:
                    answers[engine] = eng.answer(engine, built[engine], request)
                except Exception as error:  # noqa: BLE001
                    row.values[engine] = ERROR
                    problems.append(
                        f"{engine}: {request.kind}{_args_text(request)} raised "
                        f"{type(error).__name__}: {error}\n  scenario: {scenario.title} "
                        f"({request.label})\n--- policy ---\n{scenario.policy}--------------")
            for engine, value in answers.items():
                if value != request.expected or ("oso_core" in answers and value != answers["oso_core"]):
                    row.values[engine] = WRONG
                    problems.append(
                        f"{engine}: {request.kind}{_args_text(request)} answered "
                        f"{fmt_answer(value)}, expected {fmt_answer(request.expected)} "
                        f"(floor: {fmt_answer(answers.get('floor'))})\n  scenario: "
                        f"{scenario.title} ({request.label})\n--- policy ---\n"
                        f"{scenario.policy}--------------")
            # 2. Timing (below) of the engines that answered right.
            calls = {engine: eng.decider(engine, built[engine], request)
                     for engine in engines if engine not in row.values}
            timers.append((row, Interleaved(calls, settings)))

    # Rounds over the whole suite; each cell keeps its best (lowest) round median, the estimate
    # least disturbed by whatever else the machine was doing.
    for number in range(1, settings.rounds + 1):
        log(f" round {number}/{settings.rounds}")
        for row, timer in timers:
            for engine, ns in timer.round().items():
                best = row.values.get(engine)
                row.values[engine] = ns if best is None else min(best, ns)
            if number == settings.rounds:
                log(f"  {row.name}: " + ", ".join(
                    f"{e}={_cell(row.values.get(e), 1e3)}" for e in engines))
    return rows


def _args_text(request) -> str:
    parts = []
    for arg in request.args:
        if isinstance(arg, str):
            parts.append(repr(arg))
        else:
            attrs = ", ".join(f"{k}={_short(v)}" for k, v in vars(arg).items())
            parts.append(f"{type(arg).__name__}({attrs})")
    return "(" + ", ".join(parts) + ")"


def _short(value: Any) -> str:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return repr(value)
    if isinstance(value, list):
        return f"[{len(value)} items]"
    name = getattr(value, "name", None) or getattr(value, "title", None)
    return f"{type(value).__name__}({name!r})" if name is not None else type(value).__name__


def _load_rows(engines: list, problems: list, kind: str, name: str, measure: Callable[[str, Any], float],
               failure: str) -> list:
    """One row per load case, `name` formatted with the case's title: `measure(engine, case)`
    (nanoseconds) for every engine but the floor. An engine that raises gets ERROR, and `failure`
    (formatted with engine, title, error_type, error) goes into `problems`."""
    rows = []
    for case in sc.load_cases():
        row = Row("load", name.format(title=case.title), case.key, kind)
        rows.append(row)
        for engine in engines:
            if engine == "floor" or engine in eng.PEERS:  # loads compare the two Polar engines
                row.values[engine] = SKIPPED
                continue
            try:
                row.values[engine] = measure(engine, case)
            except Exception as error:  # noqa: BLE001
                row.values[engine] = ERROR
                problems.append(failure.format(engine=engine, title=case.title,
                                               error_type=type(error).__name__, error=error))
        log(f"  {row.name}: " + ", ".join(
            f"{e}={_cell(row.values.get(e), 1e6)}" for e in engines))
    return rows


def run_warm_loads(engines: list, settings: Settings, problems: list) -> list:
    def measure(engine: str, case: Any) -> float:
        # One untimed load first: "warm" means after the first load in this process.
        eng.new_oso(engine, case.classes).load_str(case.policy)
        return median_ns_of(lambda: eng.new_oso(engine, case.classes),
                            lambda oso: oso.load_str(case.policy), settings)

    return _load_rows(engines, problems, "warm", "load_str {title} (warm, ms)", measure,
                      "{engine}: load_str of the {title} raised {error_type}: {error}")


def cold_load(engine: str, key: str, cache_dir: Optional[str] = None) -> dict:
    env = dict(os.environ)
    # Measure what an installed package sees: imports from bytecode caches (pip writes them at
    # install time). Some shells set PYTHONDONTWRITEBYTECODE, which would recompile every module.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPATH"] = REPO_ROOT + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    if cache_dir is not None:
        env["XDG_CACHE_HOME"] = cache_dir
    proc = subprocess.run([sys.executable, "-m", "benchmarks.cold_load", engine, key],
                          cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        raise RuntimeError(f"cold load subprocess failed:\n{proc.stderr.strip()}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run_cold_loads(engines: list, settings: Settings, problems: list, notes: list) -> list:
    def measure(engine: str, case: Any) -> float:
        cold_load(engine, case.key)  # priming: OS file cache, on-disk caches as usual
        runs = [cold_load(engine, case.key) for _ in range(settings.cold_runs)]
        load_ns = statistics.median(r["load_ms"] for r in runs) * 1e6
        notes.append(
            f"cold {case.key}, {eng.LABELS[engine]}: import "
            f"{statistics.median(r['import_ms'] for r in runs):.0f} ms, Oso() + "
            f"register_class {statistics.median(r['setup_ms'] for r in runs):.1f} ms, "
            f"first load_str {load_ns / 1e6:.1f} ms")
        if engine == "oso_core":
            with tempfile.TemporaryDirectory() as empty:
                first = cold_load(engine, case.key, cache_dir=empty)
            notes.append(
                f"cold {case.key}, oso_core with an empty user cache directory "
                f"($XDG_CACHE_HOME; the parser table ships in the package): "
                f"import {first['import_ms']:.0f} ms, first load_str "
                f"{first['load_ms']:.1f} ms")
        return load_ns

    return _load_rows(engines, problems, "cold", "load_str {title} (cold: first load in a fresh process, ms)",
                      measure, "{engine}: cold load of the {title} failed: {error}")


# ---------------------------------------------------------------------------------------------
# Reporting
# ---------------------------------------------------------------------------------------------


def _cell(value: Any, scale: float) -> str:
    if value is None:
        return SKIPPED
    if isinstance(value, str):
        return value
    return format_number(value / scale)


def _with_unit(value: Any, scale: float, unit: str) -> str:
    text = _cell(value, scale)
    return f"{text} {unit}" if isinstance(value, (int, float)) else text


def _ratio(a: Any, b: Any) -> Optional[float]:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and b > 0:
        return a / b
    return None


def _ratio_text(r: Optional[float]) -> str:
    return SKIPPED if r is None else (f"{r:.1f}x" if r >= 10 else f"{r:.2f}x")


def _yes(ok: bool) -> str:
    return "yes" if ok else "**no**"


PEER_COLUMNS = ("legacy", "cedarpy", "casbin")   # the "x faster" ratio columns, peer / oso_core


def _geomean(values: list) -> Optional[float]:
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else None


def render(rows: list, engines: list, notes: list, skipped: dict) -> str:
    """The Markdown block: the decision and load table, the scaling table, the geometric means,
    the rows where oso_core is slower than cedarpy, the targets and the cold-load notes.
    `skipped`: engine -> why its column is empty."""
    has_legacy = "legacy" in engines
    out = [environment_line(), ""]
    heads = [eng.LABELS[e] if e != "legacy" else "legacy 0.27.3" for e in eng.ENGINES]
    out.append("| scenario | " + " | ".join(heads) + " | legacy/oso_core | cedarpy/oso_core "
               "| casbin/oso_core | oso_core/floor | targets |")
    out.append("| --- |" + " ---: |" * (len(heads) + 4) + " --- |")
    speed_ok, floor_ok, load_ok = [], [], []
    ratios: dict = {name: [] for name in (*PEER_COLUMNS, "floor")}
    slower_than_cedar = []
    for row in rows:
        scale = 1e3 if row.kind == "decision" else 1e6
        core = row.values.get("oso_core")
        speedups = {peer: _ratio(row.values.get(peer), core) for peer in PEER_COLUMNS}
        vs_floor = _ratio(core, row.values.get("floor")) if row.kind == "decision" else None
        targets = []
        if row.kind == "decision":
            for name, value in (*speedups.items(), ("floor", vs_floor)):
                if value is not None:
                    ratios[name].append(value)
            if speedups["cedarpy"] is not None and speedups["cedarpy"] < 1:
                slower_than_cedar.append(f"{row.name} ({1 / speedups['cedarpy']:.2f}x cedarpy's time)")
            if speedups["legacy"] is not None:
                ok = speedups["legacy"] >= LEGACY_SPEEDUP_TARGET
                speed_ok.append(ok)
                targets.append(f"≥{LEGACY_SPEEDUP_TARGET:g}x legacy: {_yes(ok)}")
            if vs_floor is not None:
                ok = vs_floor <= FLOOR_RATIO_TARGET
                floor_ok.append(ok)
                targets.append(f"≤{FLOOR_RATIO_TARGET:g}x floor: {_yes(ok)}")
        elif speedups["legacy"] is not None:
            ok = speedups["legacy"] >= 1.0
            load_ok.append(ok)
            targets.append(f"≤ legacy: {_yes(ok)}")
        unit = "µs" if row.kind == "decision" else "ms"
        cells = [_with_unit(row.values.get(e), scale, unit) for e in eng.ENGINES]
        cells += [_ratio_text(speedups[p]) for p in PEER_COLUMNS] + [_ratio_text(vs_floor)]
        out.append(f"| {row.name} | " + " | ".join(cells) + f" | {'; '.join(targets) or SKIPPED} |")
    out.append("")
    out.append("Decisions: µs per call; after a warm-up, the median of interleaved batches of "
               "all the engines, best of several rounds over the suite. Loads: median ms of "
               "`load_str` into a fresh `Oso` with the classes already registered (the Polar "
               "engines only). peer/oso_core: how many times faster oso_core is (below 1x: "
               "slower); `-`: not measured.")
    for engine, reason in skipped.items():
        out += ["", f"{eng.LABELS[engine]} column skipped: {reason}"]

    out += ["", "Geometric mean over the decision rows measured by both:"]
    for name in PEER_COLUMNS:
        mean = _geomean(ratios[name])
        out.append(f"- {name}/oso_core: " + (SKIPPED if mean is None else
                                             f"{_ratio_text(mean)} ({len(ratios[name])} rows)"))
    mean = _geomean(ratios["floor"])
    out.append("- oso_core/floor: " + (SKIPPED if mean is None else f"{_ratio_text(mean)} ({len(ratios['floor'])} rows)"))
    if "cedarpy" in engines:
        out += ["", "Decisions where oso_core is slower than cedarpy: "
                + ("; ".join(slower_than_cedar) if slower_than_cedar else "none") + "."]

    # Scaling with unrelated rules.
    scaling_ok = None
    out.append("")
    out.append("| 1000-rule / 20-rule decision time | " + " | ".join(heads) + " | target (oso_core) |")
    out.append("| --- |" + " ---: |" * len(heads) + " --- |")
    by_key = {(r.key, r.label): r for r in rows if r.kind == "decision"}
    for label in ("allowed", "denied"):
        small, big = by_key.get(("rules20", label)), by_key.get(("rules1000", label))
        if small is None or big is None:
            continue
        growth = {e: _ratio(big.values.get(e), small.values.get(e)) for e in eng.ENGINES}
        core = growth["oso_core"]
        if core is not None:
            ok = core <= SCALING_TARGET
            scaling_ok = ok if scaling_ok is None else (scaling_ok and ok)
        target = f"≤{SCALING_TARGET:g}x: {_yes(core <= SCALING_TARGET)}" if core is not None else SKIPPED
        out.append(f"| {label} | " + " | ".join(_ratio_text(growth[e]) for e in eng.ENGINES) + f" | {target} |")

    out.append("")
    out.append("Targets:")
    out.append(_summary(f"decisions ≥{LEGACY_SPEEDUP_TARGET:g}x faster than legacy", speed_ok,
                        has_legacy))
    out.append(_summary(f"decisions within {FLOOR_RATIO_TARGET:g}x of the floor", floor_ok, True))
    out.append(f"- 1000-rule decision within {SCALING_TARGET:g}x of the 20-rule one: "
               + (SKIPPED if scaling_ok is None else _yes(scaling_ok)))
    out.append(_summary("policy loads no slower than legacy", load_ok, has_legacy))
    if notes:
        out += ["", "Cold loads (median of fresh processes, after one priming process):", *(f"- {n}" for n in notes)]
    return "\n".join(out)


def _summary(text: str, oks: list, applicable: bool) -> str:
    if not applicable or not oks:
        return f"- {text}: {SKIPPED} (not measured)"
    met = sum(oks)
    return f"- {text}: {'met' if met == len(oks) else '**not met**'} ({met}/{len(oks)} rows)"


def environment_line() -> str:
    from importlib.metadata import PackageNotFoundError, version

    def installed(package: str) -> str:
        try:
            return version(package)
        except PackageNotFoundError:
            return "not installed"

    return (f"Measured {datetime.date.today().isoformat()} on {platform.machine()} "
            f"{platform.system()}, {os.cpu_count()} cores, {platform.python_implementation()} "
            f"{platform.python_version()}; legacy oso {installed('oso')}, cedarpy "
            f"{installed('cedarpy')}, casbin {installed('casbin')}.")


def write_docs(block: str, path: str = DOCS_PATH) -> None:
    replace_between_markers(path, BEGIN_MARKER, END_MARKER, block)


# ---------------------------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------------------------

def main(argv: Optional[list] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="short batches, rough numbers")
    parser.add_argument("--write-docs", action="store_true",
                        help=f"replace the table in {os.path.relpath(DOCS_PATH, REPO_ROOT)}")
    parser.add_argument("--engines", default=",".join(eng.ENGINES),
                        help=f"comma-separated subset of {','.join(eng.ENGINES)}")
    parser.add_argument("--no-cold", action="store_true", help="skip the cold-load subprocesses")
    args = parser.parse_args(argv)

    settings = QUICK if args.quick else Settings()
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    unknown = [e for e in engines if e not in eng.ENGINES]
    if unknown:
        parser.error(f"unknown engine(s): {', '.join(unknown)}")
    if "floor" not in engines:
        engines.append("floor")

    if "oso_core" in engines:
        reason = eng.availability("oso_core")
        if reason is not None:
            print(f"error: oso_core cannot run a trivial policy ({reason}); nothing to benchmark.\n"
                  f"(Use --engines legacy,floor to exercise the harness without it.)",
                  file=sys.stderr)
            return 2
    skipped = {}
    for engine, install in (("legacy", "oso==0.27.3"), ("cedarpy", "'cedarpy>=4.12'"), ("casbin", "casbin")):
        if engine not in engines:
            skipped[engine] = "not requested (--engines)."
            continue
        reason = eng.availability(engine)
        if reason is not None:
            skipped[engine] = (f"{eng.LABELS[engine]} cannot decide a trivial request ({reason}); "
                               f"`pip install {install}` to compare against it.")
            engines.remove(engine)
            log(f"note: {skipped[engine]}")
    engines = [e for e in eng.ENGINES if e in engines]

    problems: list = []
    notes: list = []
    log("decisions ...")
    rows = run_decisions(engines, settings, problems)
    log("warm loads ...")
    rows += run_warm_loads(engines, settings, problems)
    if not args.no_cold:
        log("cold loads ...")
        rows += run_cold_loads(engines, settings, problems, notes)

    block = render(rows, engines, notes, skipped)
    print(block)
    if args.write_docs:
        write_docs(block)
        log(f"wrote the table into {DOCS_PATH}")
    return exit_status(problems, "ANSWER CHECK FAILED -- the engines disagree or raised")
