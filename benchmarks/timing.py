"""Timing helpers: warm up, calibrate a batch size, report the median of several batches."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from time import perf_counter_ns


@dataclass
class Settings:
    warmup_ns: int = 60_000_000      # keep calling for this long before measuring
    batch_ns: int = 20_000_000       # aim for batches this long
    batches: int = 9                 # a round's result is the median of this many batches
    rounds: int = 3                  # rounds over the whole suite; the best round's median wins
    load_reps: int = 15              # warm load_str repetitions
    load_budget_ns: int = 5_000_000_000  # ... but stop earlier once this much time is spent
    cold_runs: int = 3               # fresh processes per cold load


QUICK = Settings(warmup_ns=5_000_000, batch_ns=5_000_000, batches=3, rounds=1, load_reps=3,
                 load_budget_ns=1_000_000_000, cold_runs=1)


def _warm_up(fn, args, settings: Settings) -> int:
    """Call ``fn(*args)`` for a while; return the batch size that takes about batch_ns."""
    calls = 0
    start = perf_counter_ns()
    while True:
        fn(*args)
        calls += 1
        elapsed = perf_counter_ns() - start
        if calls >= 3 and elapsed >= settings.warmup_ns:
            break
    per_call = max(elapsed / calls, 1.0)
    return max(1, int(settings.batch_ns / per_call))


def _batch(fn, args, loop) -> int:
    t0 = perf_counter_ns()
    for _ in loop:
        fn(*args)
    return perf_counter_ns() - t0


class Interleaved:
    """Times several calls (name -> (fn, args)) that answer the same request.

    ``__init__`` warms each up and picks its batch size; each ``round()`` then runs ``batches``
    batches of every call, interleaved (one batch of each, then again), so that a slow period of
    the machine hits all of them alike, and returns each call's median ns per call.
    """

    def __init__(self, calls: dict, settings: Settings):
        self.calls = calls
        self.settings = settings
        self.loops = {name: range(_warm_up(fn, args, settings)) for name, (fn, args) in calls.items()}

    def round(self) -> dict:
        samples: dict = {name: [] for name in self.calls}
        for _ in range(self.settings.batches):
            for name, (fn, args) in self.calls.items():
                loop = self.loops[name]
                samples[name].append(_batch(fn, args, loop) / len(loop))
        return {name: statistics.median(values) for name, values in samples.items()}


def median_ns_of(setup, action, settings: Settings) -> float:
    """Median time of ``action(setup())`` (only ``action`` is timed), repeated a few times."""
    samples = []
    budget_start = perf_counter_ns()
    for _ in range(settings.load_reps):
        state = setup()
        t0 = perf_counter_ns()
        action(state)
        samples.append(perf_counter_ns() - t0)
        if perf_counter_ns() - budget_start > settings.load_budget_ns and len(samples) >= 3:
            break
    return statistics.median(samples)
