"""One cold policy load, run in a fresh process by the runner.

    python -m benchmarks.cold_load ENGINE CASE

ENGINE is ``oso_core`` or ``legacy``; CASE a key of :func:`benchmarks.scenarios.load_cases`.
Prints one JSON object: the engine import time, ``Oso()`` + ``register_class`` time and the
time of the first ``load_str`` of the process, in milliseconds. Nothing is warmed up: no parse
made earlier in this process can be reused (an on-disk parser-table cache, if the engine keeps
one, is used as it is -- the runner also measures a run with an empty cache directory).
"""

from __future__ import annotations

import importlib
import json
import sys
from time import perf_counter_ns


def main(argv: list) -> int:
    engine, key = argv
    from benchmarks.engines import MODULES
    from benchmarks.scenarios import load_case

    case = load_case(key)
    t0 = perf_counter_ns()
    module = importlib.import_module(MODULES[engine])
    t1 = perf_counter_ns()
    oso = module.Oso()
    for name, cls in case.classes:
        oso.register_class(cls, name=name)
    t2 = perf_counter_ns()
    oso.load_str(case.policy)
    t3 = perf_counter_ns()
    print(json.dumps({"import_ms": (t1 - t0) / 1e6, "setup_ms": (t2 - t1) / 1e6,
                      "load_ms": (t3 - t2) / 1e6}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
