"""Start-up cost in fresh processes: `import`, then the first load of the resource-block policy.

    python -m benchmarks.startup                 # 15 fresh processes per engine
    python -m benchmarks.startup --runs 5 --importtime
    python -m benchmarks.startup --importtime --write-docs   # replace the table in docs/performance.md

For oso_core and legacy oso 0.27.3 (and, for context, the peers): each fresh process imports the
engine, creates it (``Oso()`` + ``register_class`` of the scenario's classes; for the peers
nothing), and makes its first load of the GitHub resource-block policy (``load_str``; cedarpy:
``PolicySet.from_str`` of the Cedar translation; casbin: the enforcer with the model, policy and
grouping rules of its translation). Also the wall time of a whole ``python -c "import X"``
process, next to ``python -c pass``. Median of ``--runs`` processes of each kind after one
priming round, the engines taking turns, bytecode caches as an installed package has them. ``--importtime`` lists the modules whose own
import time is largest in ``import oso_core; oso_core.Oso()`` (``python -X importtime``; the
first ``Oso()`` imports the parser, which ``import oso_core`` defers).

Legacy oso is run by this interpreter if it imports ``oso``, else by ``$OSO_LEGACY_PYTHON``;
without either its row says so.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
from time import perf_counter_ns
from typing import Optional

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCS_PATH = os.path.join(REPO_ROOT, "docs", "performance.md")
BEGIN_MARKER, END_MARKER = "<!-- startup table -->", "<!-- end startup table -->"
ENGINES = ("oso_core", "legacy", "cedarpy", "casbin")
MODULE = {"oso_core": "oso_core", "legacy": "oso", "cedarpy": "cedarpy", "casbin": "casbin"}


def child(engine: str) -> dict:
    """In the fresh process: the times of import, set-up and first load, in ms."""
    t0 = perf_counter_ns()
    module = importlib.import_module(MODULE[engine])
    t1 = perf_counter_ns()
    # After the engine's import, so that the modules it shares with the scenarios count for it.
    from benchmarks import scenarios as sc

    t1b = perf_counter_ns()  # set-up is timed from here
    if engine in ("oso_core", "legacy"):
        oso = module.Oso()
        for name, cls in sc.GITHUB_CLASSES:
            oso.register_class(cls, name=name)
        t2 = perf_counter_ns()
        oso.load_str(sc.GITHUB_POLICY)
    elif engine == "cedarpy":
        from benchmarks import peer_cedar

        t2 = perf_counter_ns()
        module.PolicySet.from_str(peer_cedar.github_policy())
    else:
        from benchmarks import peer_casbin

        t2 = perf_counter_ns()
        peer_casbin.build(sc.github_scenario())
    t3 = perf_counter_ns()
    return {"import_ms": (t1 - t0) / 1e6, "setup_ms": (t2 - t1b) / 1e6, "load_ms": (t3 - t2) / 1e6}


def _env() -> dict:
    env = dict(os.environ)
    # Installed packages import from bytecode caches; some shells turn writing them off.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPATH"] = REPO_ROOT + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def run(python: str, args: list) -> subprocess.CompletedProcess:
    proc = subprocess.run([python, *args], cwd=REPO_ROOT, env=_env(), capture_output=True, text=True,
                          timeout=300)
    if proc.returncode != 0:
        raise RuntimeError(f"{python} {' '.join(args)} failed:\n{proc.stderr.strip()}")
    return proc


def wall_ms(python: str, code: str) -> float:
    t0 = perf_counter_ns()
    run(python, ["-c", code])
    return (perf_counter_ns() - t0) / 1e6


def measure(pythons: dict, runs: int) -> dict:
    """engine -> medians over `runs` fresh processes of each kind, after one priming process
    of each; the engines take turns within each run, so that a busy moment of the machine hits
    them alike."""
    def child_run(python: str, engine: str) -> dict:
        return json.loads(run(python, ["-m", "benchmarks.startup", "--child", engine]).stdout)

    samples: dict = {engine: [] for engine in pythons}
    for number in range(runs + 1):
        for engine, python in pythons.items():
            sample = child_run(python, engine)
            sample["wall_ms"] = wall_ms(python, f"import {MODULE[engine]}")
            sample["bare_ms"] = wall_ms(python, "pass")
            if number > 0:  # run 0 primes the OS file cache and the bytecode caches
                samples[engine].append(sample)
    return {engine: {key: statistics.median(s[key] for s in rows) for key in rows[0]}
            for engine, rows in samples.items()}


def interpreter_for(engine: str) -> tuple:
    """(python or None, why not)."""
    if engine != "legacy":
        found = importlib.util.find_spec(MODULE[engine]) is not None
        return (sys.executable, None) if found else (None, f"`{MODULE[engine]}` is not importable here")
    if importlib.util.find_spec("oso") is not None and importlib.util.find_spec("polar") is not None:
        return sys.executable, None
    if os.environ.get("OSO_LEGACY_PYTHON"):
        return os.environ["OSO_LEGACY_PYTHON"], None
    return None, "`import oso` fails here and $OSO_LEGACY_PYTHON is unset (`pip install oso==0.27.3`)"


IMPORTTIME_CODE = "import oso_core; oso_core.Oso()"


def importtime_top(python: str, count: int, runs: int) -> list:
    """The `count` modules with the largest own import time in `import oso_core; Oso()` (``Oso()``
    imports the parser): (median µs over `runs` processes, name)."""
    own: dict = {}
    for _ in range(runs):
        proc = run(python, ["-X", "importtime", "-c", IMPORTTIME_CODE])
        for line in proc.stderr.splitlines():
            if not line.startswith("import time:") or "self [us]" in line:
                continue
            self_us, _cumulative, name = (part.strip() for part in line[len("import time:"):].split("|"))
            own.setdefault(name, []).append(int(self_us))
    medians = [(statistics.median(values), name) for name, values in own.items()]
    return sorted(medians, reverse=True)[:count]


def render(results: dict, notes: dict, runs: int, top: Optional[list]) -> str:
    from benchmarks.runner import environment_line

    out = [environment_line(), "", f"Fresh processes, median of {runs} (after one priming round), ms; "
           f"the resource-block policy (`benchmarks/scenarios.py` `GITHUB_POLICY`).", "",
           "| engine | `python -c \"import X\"` | ... minus `python -c pass` | import | "
           "engine set-up | first policy load | import + set-up + first load |",
           "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for engine in ENGINES:
        if engine not in results:
            out.append(f"| {engine} | - | - | - | - | - | - |")
            continue
        r = results[engine]
        total = r["import_ms"] + r["setup_ms"] + r["load_ms"]
        out.append(f"| {engine} | {r['wall_ms']:.1f} | {r['wall_ms'] - r['bare_ms']:.1f} | "
                   f"{r['import_ms']:.1f} | {r['setup_ms']:.2f} | {r['load_ms']:.2f} | {total:.1f} |")
    for engine, reason in notes.items():
        out += ["", f"{engine}: not measured, {reason}."]
    if top:
        out += ["", f"Largest own import times in `{IMPORTTIME_CODE}` (`-X importtime`, median of "
                f"{runs} processes, µs):", ""]
        out += [f"- {name}: {own:,.0f}" for own, name in top]
    return "\n".join(out)


def main(argv: Optional[list] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.startup", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=15, help="fresh processes per engine")
    parser.add_argument("--importtime", action="store_true", help="list oso_core's slowest imports")
    parser.add_argument("--write-docs", action="store_true",
                        help=f"replace the table in {os.path.relpath(DOCS_PATH, REPO_ROOT)}")
    parser.add_argument("--child", choices=ENGINES, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child)))
        return 0
    pythons, notes = {}, {}
    for engine in ENGINES:
        python, reason = interpreter_for(engine)
        if python is None:
            notes[engine] = reason
        else:
            pythons[engine] = python
            print(f"{engine}: {python}", file=sys.stderr, flush=True)
    results = measure(pythons, args.runs)
    top = importtime_top(sys.executable, 12, args.runs) if args.importtime else None
    block = render(results, notes, args.runs, top)
    print(block)
    if args.write_docs:
        from benchmarks.report import replace_between_markers

        replace_between_markers(DOCS_PATH, BEGIN_MARKER, END_MARKER, block)
    return 0


if __name__ == "__main__":
    sys.exit(main())
