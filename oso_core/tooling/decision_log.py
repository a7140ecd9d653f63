"""Decision logs: a record of every authorization decision an `Oso` makes.

    oso.set_decision_logger(JsonLinesDecisionLogger("decisions.jsonl"))

Each call of `is_allowed`, `authorize`, `authorize_request`, `authorize_field`,
`authorized_actions` (and `get_allowed_actions`) or `authorized_fields` then hands a `Decision`
to the logger: who, what, on what, the outcome, how long it took and which top-level rules
allowed it (`allow(...)` rules, with their file and line).

Only while a logger is set do decisions run through here: the rule that decided is noted by
a light observer (one hook per rule tried; no goal-level instrumentation), and the decision is
otherwise computed exactly as without a logger. Without a logger, decision methods pay one
attribute check.

Errors: a logger that raises makes the decision raise that error (fail closed: an allow is
never returned without having been logged, and a deny stays a deny) unless the logger was set
with `raise_errors=False`, in which case the error goes to the `oso_core.decisions` logger of
the `logging` module and the decision is returned. A decision that fails with an error (a
policy error) is logged with `error` set, then the error propagates.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from ..exceptions import StackOverflowError
from ..runtime.driver import NEEDS_CONVERSION, prepare_predicate, public_error, run_query
from ..runtime.errors import STACK_OVERFLOW, EvalError
from ..runtime.solver import Query, check_unhandled_partials
from ..runtime.knowledge import traced_kb
from ..runtime.tracing import Observer, attach
from ..variable import Variable

if TYPE_CHECKING:
    from typing_extensions import Self

_LOG = logging.getLogger("oso_core.decisions")


@dataclass(frozen=True)
class RuleRef:
    """A rule that decided: its head as written, and where it is."""

    name: str
    head: str
    file: str | None
    line: int | None
    column: int | None

    def __str__(self) -> str:
        where = ""
        if self.line is not None:
            where = f" at {self.file}:{self.line}" if self.file else f" at line {self.line}"
        return f"{self.head}{where}"

    @classmethod
    def of(cls, rule: Any) -> RuleRef:
        """The reference of a syntax `Rule`."""
        span = rule.span
        if span is None:
            return cls(rule.name, rule.head_str(), None, None, None)
        line, column = span.source.line_col(span.start)
        head = rule.head_str() if rule.generated else span.text
        return cls(rule.name, head, span.source.filename, line, column)


@dataclass(slots=True)  # not frozen: a frozen dataclass costs more to build than a decision
class Decision:
    """One decision made through `Oso`.

    * `method`: the `Oso` method called (`"is_allowed"`, `"authorize"`, ...).
    * `actor`, `action`, `resource`: its arguments (`action` is None for `authorize_request`,
      whose `resource` is the request; `authorized_actions` has no action either).
    * `field`: `authorize_field`'s field; None otherwise.
    * `allowed`: True if access was granted (for `authorized_*`: if anything was).
    * `result`: what the method returned: a bool for `is_allowed`; `"allowed"`, `"forbidden"`
      or `"not_found"` for the `authorize*` methods; the sorted list of actions or fields for
      `authorized_*`.
    * `elapsed`: seconds the decision took (with the recording; without the logging).
    * `rules`: the top-level rules (`allow`, `allow_request`, `allow_field`) that succeeded,
      one per result, without repeats; empty for a deny.
    * `error`: `"ExceptionClass: message"` if the decision failed with an error, else None.
    * `time`: when it was made (seconds since the epoch).
    """

    method: str
    actor: Any
    action: Any
    resource: Any
    allowed: bool
    result: Any
    elapsed: float
    rules: tuple[RuleRef, ...] = ()
    field: Any = None
    error: str | None = None
    time: float = dataclass_field(default_factory=time.time)


class _DecidingRules(Observer):
    """Notes the rule of the top-level call that produced each result (nothing else)."""

    observes_calls = False  # rule calls run as usual: only `rule` and `result` are needed

    def __init__(self) -> None:
        self.current: Any = None
        self.rules: list[Any] = []

    def rule(self, q: Any, pred: Any, rule: Any, env: list, matched: bool) -> None:
        if matched and q.depth == 1:
            self.current = rule

    def result(self, q: Any, bindings: dict) -> None:
        if self.current is not None and not any(r is self.current for r in self.rules):
            self.rules.append(self.current)


class DecisionLog:
    """The logging versions of `Oso`'s decision methods (installed by `set_decision_logger`)."""

    def __init__(self, oso: Any, logger: Callable[[Decision], Any], raise_errors: bool = True) -> None:
        self.oso = oso
        self.logger = logger
        self.raise_errors = raise_errors
        self._refs: dict = {}  # syntax Rule -> RuleRef (computing one costs more than a decision)

    # Decision methods (same semantics as Oso's) ------------------------------------------

    def is_allowed(self, actor: Any, action: Any, resource: Any) -> bool:
        return self._decide("is_allowed", actor, action, resource, None,
                            lambda rec: self._holds(rec, "allow", [actor, action, resource]),
                            lambda allowed: (allowed, allowed))

    def authorize(self, actor: Any, action: Any, resource: Any, check_read: bool) -> None:
        oso = self.oso
        denial = self._decide(
            "authorize", actor, action, resource, None,
            lambda rec: oso._denial(self._first_recorded(rec), actor, action, resource, check_read),
            lambda d: (d is None, self._denial_name(d)))
        if denial is not None:
            raise denial()

    def authorize_request(self, actor: Any, request: Any) -> None:
        allowed = self._decide("authorize_request", actor, None, request, None,
                               lambda rec: self._holds(rec, "allow_request", [actor, request]),
                               lambda ok: (ok, "allowed" if ok else "forbidden"))
        if not allowed:
            raise self.oso.forbidden_error()

    def authorize_field(self, actor: Any, action: Any, resource: Any, field: Any) -> None:
        allowed = self._decide("authorize_field", actor, action, resource, field,
                               lambda rec: self._holds(rec, "allow_field", [actor, action, resource, field]),
                               lambda ok: (ok, "allowed" if ok else "forbidden"))
        if not allowed:
            raise self.oso.forbidden_error()

    def authorized_actions(self, actor: Any, resource: Any, allow_wildcard: bool) -> set:
        args = [actor, Variable("action"), resource]
        return self._decide(
            "authorized_actions", actor, None, resource, None,
            lambda rec: self.oso._collect("allow", args, "action", allow_wildcard, "authorized_actions",
                                          self._results(rec, "allow", args)),
            lambda found: (bool(found), _sorted(found)))

    def authorized_fields(self, actor: Any, action: Any, resource: Any, allow_wildcard: bool) -> set:
        args = [actor, action, resource, Variable("field")]
        return self._decide(
            "authorized_fields", actor, action, resource, None,
            lambda rec: self.oso._collect("allow_field", args, "field", allow_wildcard, "authorized_fields",
                                          self._results(rec, "allow_field", args)),
            lambda found: (bool(found), _sorted(found)))

    # Running and logging -----------------------------------------------------------------

    def _decide(self, method: str, actor: Any, action: Any, resource: Any, field: Any,
                run: Callable[[_DecidingRules], Any], verdict: Callable[[Any], tuple]) -> Any:
        recorder = _DecidingRules()
        start = time.perf_counter()
        try:
            value = run(recorder)
        except Exception as e:
            elapsed = time.perf_counter() - start
            self._log(Decision(method, actor, action, resource, False, None, elapsed, (), field,
                               f"{type(e).__name__}: {getattr(e, 'message', None) or e}"))
            raise
        elapsed = time.perf_counter() - start
        allowed, result = verdict(value)
        rules = tuple(self._ref(r.rule) for r in recorder.rules) if allowed else ()
        self._log(Decision(method, actor, action, resource, allowed, result, elapsed, rules, field))
        return value

    def _ref(self, rule: Any) -> RuleRef:
        ref = self._refs.get(rule)
        if ref is None:
            if len(self._refs) > 10_000:  # rules of policies since replaced
                self._refs.clear()
            ref = self._refs[rule] = RuleRef.of(rule)
        return ref

    def _log(self, decision: Decision) -> None:
        try:
            self.logger(decision)
        except Exception:
            if self.raise_errors:
                raise
            _LOG.exception("decision logger %r failed", self.logger)

    def _holds(self, recorder: _DecidingRules, name: str, args: list) -> bool:
        """`Polar._holds` with the deciding rule recorded."""
        kb = traced_kb(self.oso._current_kb())
        if any(type(a) in NEEDS_CONVERSION for a in args):
            prepared = prepare_predicate(kb, name, args)
            return next(run_query(prepared, observer=recorder), None) is not None
        # As `driver.first_solution` (the decision path), with the recorder attached.
        q = Query(kb)
        attach(q, recorder)
        try:
            for _ in kb.predicate(name, len(args)).solve(q, args, None):
                if q.constrained:
                    check_unhandled_partials(q, {})
                recorder.result(q, {})
                return True
            return False
        except EvalError as e:
            raise public_error(e, None) from None
        except RecursionError:
            raise StackOverflowError(STACK_OVERFLOW) from None

    def _first_recorded(self, recorder: _DecidingRules) -> Callable[[str, list], bool]:
        """A `holds` recording its first query only (authorize's read check decides nothing)."""
        calls = [0]

        def holds(name: str, args: list) -> bool:
            calls[0] += 1
            if calls[0] == 1:
                return self._holds(recorder, name, args)
            return self.oso._holds(name, args)
        return holds

    def _results(self, recorder: _DecidingRules, name: str, args: list) -> Iterator[dict]:
        prepared = prepare_predicate(traced_kb(self.oso._current_kb()), name, args)
        return run_query(prepared, observer=recorder)

    def _denial_name(self, denial: Any) -> str:
        if denial is None:
            return "allowed"
        return "not_found" if denial is self.oso.not_found_error else "forbidden"


def _sorted(values: Any) -> list:
    try:
        return sorted(values)
    except TypeError:  # mixed types: keep them, in a stable order
        return sorted(values, key=repr)


# JSON lines ------------------------------------------------------------------------------------


class JsonLinesDecisionLogger:
    """A decision logger writing one JSON object per decision and line.

    `target` is a path (appended to, created if needed) or an open text stream. `render`
    turns actors, resources and other non-JSON values into strings (default: `repr`).
    Lines look like (one line each):

        {"time": "2024-05-01T12:00:00.123456Z", "method": "is_allowed", "actor": "User('alice')",
         "action": "read", "resource": "Repo('anvil')", "allowed": true, "result": true,
         "elapsed_ms": 0.031, "rules": [{"rule": "allow(user: User, \\"read\\", repo: Repo)",
         "file": "policy.polar", "line": 3}]}

    `field` appears for `authorize_field`, `error` for failed decisions. Writes are serialized
    with a lock and flushed, so one logger can serve several threads.
    """

    def __init__(self, target: str | Path | IO[str], *, render: Callable[[Any], str] = repr) -> None:
        self.render = render
        self._lock = threading.Lock()
        if isinstance(target, (str, Path)):
            # Kept open for the logger's lifetime (see close()), not a with-block's.
            self._stream: IO[str] = open(target, "a", encoding="utf-8")  # noqa: SIM115
            self._owned = True
        else:
            self._stream = target
            self._owned = False

    def __call__(self, decision: Decision) -> None:
        line = json.dumps(self.record(decision), ensure_ascii=False, default=self.render)
        with self._lock:
            self._stream.write(line + "\n")
            self._stream.flush()

    def record(self, decision: Decision) -> dict:
        """The JSON object written for a decision."""
        out: dict = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(decision.time))
                    + f".{int(decision.time % 1 * 1_000_000):06d}Z",
            "method": decision.method,
            "actor": self.render(decision.actor),
            "action": self._value(decision.action),
            "resource": self.render(decision.resource),
            "allowed": decision.allowed,
            "result": self._value(decision.result),
            "elapsed_ms": round(decision.elapsed * 1000, 3),
            "rules": [{"rule": r.head, "file": r.file, "line": r.line} for r in decision.rules],
        }
        if decision.field is not None:
            out["field"] = self._value(decision.field)
        if decision.error is not None:
            out["error"] = decision.error
        return out

    def _value(self, value: Any) -> Any:
        """JSON scalars and lists of them as they are; anything else rendered."""
        if value is None or isinstance(value, (str, bool, int, float)):
            return value
        if isinstance(value, list):
            return [self._value(v) for v in value]
        return self.render(value)

    def close(self) -> None:
        """Close the file if this logger opened it."""
        if self._owned:
            self._stream.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
