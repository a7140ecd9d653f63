"""`GET /metrics`: the server's counters in the Prometheus text exposition format 0.0.4.

    oso_server_requests_total{method,route,status}            counter
    oso_server_request_duration_seconds{method,route}         histogram (_bucket{le}, _sum, _count)
    oso_server_decisions_total{decision}                      counter: allow, deny, list, error
    oso_server_policy_version{environment}                    gauge (environments opened so far)
    oso_server_start_time_seconds                             gauge

Fed by an observer of every finished request (`ServerState.observers`); `route` is the route's
template (`/access/v1/evaluation`), never the raw path, so the label set stays bounded. The
route takes no key unless `ServerConfig.metrics_key_required` (`serve --metrics-key-required`):
the figures name routes and environments, never keys, facts or subjects.

Decisions are counted from the request's decision record: one `allow` or `deny` per yes/no
decision (each evaluation of a batch), one `list` per search or list, one `error` for a
decision request that failed.
"""

from __future__ import annotations

import bisect
import math
import threading
from collections.abc import Iterable

from starlette.responses import Response

from .endpoint import Call, RequestRecord, RouteSpec, ServerState

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
#: Upper bounds (seconds) of the latency buckets: a decision takes well under a millisecond.
DURATION_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
                    2.5, 5.0)


class _Histogram:
    __slots__ = ("counts", "total", "count")

    def __init__(self) -> None:
        self.counts = [0] * len(DURATION_BUCKETS)  # per bucket, not cumulative (summed when written)
        self.total = 0.0
        self.count = 0

    def add(self, seconds: float) -> None:
        i = bisect.bisect_left(DURATION_BUCKETS, seconds)  # the first bound >= seconds
        if i < len(DURATION_BUCKETS):  # past the last bound: counted in +Inf only
            self.counts[i] += 1
        self.total += seconds
        self.count += 1


class Metrics:
    """The counters of one server; `observe` may be called from any thread."""

    def __init__(self, state: ServerState) -> None:
        self._state = state
        self._lock = threading.Lock()
        self._requests: dict[tuple[str, str, str], int] = {}
        self._durations: dict[tuple[str, str], _Histogram] = {}
        self._decisions: dict[str, int] = {}

    def observe(self, record: RequestRecord) -> None:
        """Count one finished request."""
        decisions = decision_kinds(record)
        with self._lock:
            key = (record.method, record.route, str(record.status))
            self._requests[key] = self._requests.get(key, 0) + 1
            histogram = self._durations.get((record.method, record.route))
            if histogram is None:
                histogram = self._durations[(record.method, record.route)] = _Histogram()
            histogram.add(record.seconds)
            for kind in decisions:
                self._decisions[kind] = self._decisions.get(kind, 0) + 1

    def exposition(self) -> str:
        """Every metric, in the text format (a snapshot taken under the lock)."""
        with self._lock:
            requests = sorted(self._requests.items())
            durations = sorted((key, list(h.counts), h.total, h.count) for key, h in self._durations.items())
            decisions = sorted(self._decisions.items())
        versions = sorted((store.environment, store.policy_version) for store in self._state.environments.opened())
        lines: list[str] = []
        _family(lines, "oso_server_requests_total", "counter", "Requests served, by method, route and status.",
                ((_labels(method=m, route=r, status=s), n) for (m, r, s), n in requests))
        _family(lines, "oso_server_request_duration_seconds", "histogram",
                "Time from receiving a request to its response, by method and route.",
                _histogram_samples(durations))
        _family(lines, "oso_server_decisions_total", "counter",
                "Authorization decisions: allow and deny (each yes/no decision), list (each search or list), "
                "error (each failed decision request).",
                ((_labels(decision=kind), n) for kind, n in decisions))
        _family(lines, "oso_server_policy_version", "gauge",
                "The version of the policy serving each environment opened so far (0: none).",
                ((_labels(environment=env), version) for env, version in versions))
        _family(lines, "oso_server_start_time_seconds", "gauge", "When the server started (Unix time).",
                [("", self._state.started)])
        return "\n".join(lines) + "\n"


def decision_kinds(record: RequestRecord) -> list[str]:
    """The decisions a request made, by kind (see the module docstring)."""
    decision = record.decision
    if not decision:
        return []
    if "evaluations" in decision:
        return ["allow" if item.get("allowed") else "deny" for item in decision["evaluations"]]
    if "allowed" in decision:
        return ["allow" if decision["allowed"] else "deny"]
    if "results" in decision:
        return ["list"]
    return ["error"]


def _histogram_samples(durations: list) -> Iterable[tuple[str, float]]:
    for (method, route), counts, total, count in durations:
        cumulative = 0
        for bound, n in zip(DURATION_BUCKETS, counts):
            cumulative += n
            yield _labels(method=method, route=route, le=_number(bound)), cumulative
        yield _labels(method=method, route=route, le="+Inf"), count
        yield "_sum" + _labels(method=method, route=route), total
        yield "_count" + _labels(method=method, route=route), count


def _family(lines: list[str], name: str, kind: str, help_text: str, samples: Iterable[tuple[str, float]]) -> None:
    lines.append(f"# HELP {name} {_escape_help(help_text)}")
    lines.append(f"# TYPE {name} {kind}")
    for suffix_and_labels, value in samples:
        if kind == "histogram" and not suffix_and_labels.startswith("_"):
            suffix_and_labels = "_bucket" + suffix_and_labels
        lines.append(f"{name}{suffix_and_labels} {_number(value)}")


def _labels(**labels: str) -> str:
    inner = ",".join(f'{key}="{_escape_label(str(value))}"' for key, value in labels.items())
    return "{" + inner + "}"


def _escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _number(value: float) -> str:
    if isinstance(value, int):
        return str(value)
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if math.isnan(value):
        return "NaN"
    return repr(float(value))


def routes(state: ServerState) -> list[RouteSpec]:
    """The `/metrics` route, and the observer that feeds it (registered here, once per state)."""
    metrics = Metrics(state)
    state.observers.append(metrics.observe)

    def scrape(call: Call) -> Response:
        return Response(metrics.exposition(), media_type=None, headers={"Content-Type": CONTENT_TYPE})

    return [RouteSpec("GET", "/metrics", scrape, auth=state.config.metrics_key_required, body=False, inline=True)]
