"""Watching a query run: the observer hooks, when `POLAR_LOG` traces, and instrumented snapshots.
(The `POLAR_LOG` output itself is `polar_log.Tracer`, loaded only when tracing is on.)

A query's observer lives in `Query.tracer` (None on the decision path, so the engine pays one
`is not None` check per rule call and per rule tried). The engine reports to it:

* rule calls (`enter`, `solution`, `retry`, `exit`, `error`), when `observes_calls` is true,
  from `CompiledPredicate._solve_observed`;
* each rule tried (`rule`), after its head was matched against the arguments;
* each top-level result of `run_query` (`result`) and each `debug(...)` goal (`breakpoint`);
* on an *instrumented* snapshot only (`instrumented_kb`, used by explain and step debugging):
  each goal (`goal`, `goal_solution`, `goal_retry`, `goal_exit`) and each attribute read or
  method call (`lookup`). Ordinary snapshots compile no goal hooks at all.

Calls and goals run as nested generators, so their events nest: between `enter` and `exit`, a
call is *active* except between a `solution` and the following `retry` (it is suspended while
its caller goes on). Observers that keep a stack of active calls push on `enter`/`retry` and pop
on `solution` and on `exit` when `active` is true (an `exit` with `active` false means the
caller dropped the suspended call).

`POLAR_LOG` levels (legacy): unset, empty, `0` or `off` -> none; containing `trace` -> TRACE;
containing `debug` -> DEBUG; anything else -> INFO. `now` sends lines to stderr instead of stdout.
TRACE adds goal-by-goal lines; it needs the goal hooks, so its queries run on the instrumented
snapshot (`traced_kb`) and the snapshot decisions run on stays free of hooks.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

from ..exceptions import OsoError
from .terms import UNBOUND, Var, deref

# os.environ.get costs about 1 µs, too much for every decision; the underlying mapping is read
# directly where CPython exposes it (it stays in sync with os.environ and putenv-through-environ).
_ENV_DATA = getattr(os.environ, "_data", None)
_KEY = os.environ.encodekey("POLAR_LOG") if hasattr(os.environ, "encodekey") else None


def polar_log_setting() -> str | None:
    if _ENV_DATA is not None and _KEY is not None:
        raw = _ENV_DATA.get(_KEY)
        if raw is None:
            return None
        return os.environ.decodevalue(raw) if hasattr(os.environ, "decodevalue") else raw.decode()
    return os.environ.get("POLAR_LOG")


def traces_goals() -> bool:
    """Does `POLAR_LOG` ask for TRACE, whose goal lines need an instrumented snapshot?"""
    setting = polar_log_setting()
    return bool(setting) and "trace" in setting.lower()


# Observers -----------------------------------------------------------------------------------


class Observer:
    """Base observer: every hook does nothing (see the module docstring for the protocol)."""

    #: Route rule calls through `enter`/`solution`/`retry`/`exit` (costs a generator per call).
    observes_calls = True
    #: Stops at `debug(...)` goals (a debugger); otherwise one is attached when one is reached.
    handles_breakpoints = False

    def enter(self, q: Any, pred: Any, args: list, site: Any, selected: list) -> Any:
        return None

    def solution(self, q: Any, pred: Any, token: Any) -> None:
        pass

    def retry(self, q: Any, pred: Any, token: Any) -> None:
        pass

    def exit(self, q: Any, pred: Any, token: Any, active: bool) -> None:
        pass

    def error(self, q: Any, pred: Any, token: Any, error: Exception) -> None:
        pass

    def rule(self, q: Any, pred: Any, rule: Any, env: list, matched: bool) -> None:
        pass

    def goal(self, q: Any, goal: GoalInfo, env: list) -> Any:
        return None

    def goal_solution(self, q: Any, goal: GoalInfo, env: list, token: Any) -> None:
        pass

    def goal_retry(self, q: Any, goal: GoalInfo, env: list, token: Any) -> None:
        pass

    def goal_exit(self, q: Any, goal: GoalInfo, env: list, token: Any, found: bool, active: bool) -> None:
        pass

    def lookup(self, q: Any, text: str, value: Any) -> None:
        pass

    def result(self, q: Any, bindings: dict) -> None:
        pass

    def breakpoint(self, q: Any, args: list, span: Any, env: list | None, names: list | None) -> None:
        pass


class Observers(Observer):
    """Several observers on one query (say `POLAR_LOG` and a debugger), in order."""

    def __init__(self, members: list) -> None:
        self.members = members
        self.observes_calls = any(m.observes_calls for m in members)
        self.handles_breakpoints = any(m.handles_breakpoints for m in members)

    def enter(self, q: Any, pred: Any, args: list, site: Any, selected: list) -> Any:
        return [m.enter(q, pred, args, site, selected) for m in self.members]

    def solution(self, q: Any, pred: Any, token: Any) -> None:
        for m, t in zip(self.members, token):
            m.solution(q, pred, t)

    def retry(self, q: Any, pred: Any, token: Any) -> None:
        for m, t in zip(self.members, token):
            m.retry(q, pred, t)

    def exit(self, q: Any, pred: Any, token: Any, active: bool) -> None:
        for m, t in zip(self.members, token):
            m.exit(q, pred, t, active)

    def error(self, q: Any, pred: Any, token: Any, error: Exception) -> None:
        for m, t in zip(self.members, token):
            m.error(q, pred, t, error)

    def rule(self, q: Any, pred: Any, rule: Any, env: list, matched: bool) -> None:
        for m in self.members:
            m.rule(q, pred, rule, env, matched)

    def goal(self, q: Any, goal: GoalInfo, env: list) -> Any:
        return [m.goal(q, goal, env) for m in self.members]

    def goal_solution(self, q: Any, goal: GoalInfo, env: list, token: Any) -> None:
        for m, t in zip(self.members, token):
            m.goal_solution(q, goal, env, t)

    def goal_retry(self, q: Any, goal: GoalInfo, env: list, token: Any) -> None:
        for m, t in zip(self.members, token):
            m.goal_retry(q, goal, env, t)

    def goal_exit(self, q: Any, goal: GoalInfo, env: list, token: Any, found: bool, active: bool) -> None:
        for m, t in zip(self.members, token):
            m.goal_exit(q, goal, env, t, found, active)

    def lookup(self, q: Any, text: str, value: Any) -> None:
        for m in self.members:
            m.lookup(q, text, value)

    def result(self, q: Any, bindings: dict) -> None:
        for m in self.members:
            m.result(q, bindings)

    def breakpoint(self, q: Any, args: list, span: Any, env: list | None, names: list | None) -> None:
        for m in self.members:
            if m.handles_breakpoints:
                m.breakpoint(q, args, span, env, names)


def attach(q: Any, observer: Observer) -> None:
    """Add `observer` to the query's observers."""
    current = q.tracer
    if current is None:
        q.tracer = observer
    elif isinstance(current, Observers):
        q.tracer = Observers(current.members + [observer])
    else:
        q.tracer = Observers([current, observer])


def detach(q: Any, observer: Observer) -> None:
    """Remove `observer` from the query's observers (calls already entered stay observed)."""
    current = q.tracer
    if current is observer:
        q.tracer = None
    elif isinstance(current, Observers) and observer in current.members:
        rest = [m for m in current.members if m is not observer]
        q.tracer = rest[0] if len(rest) == 1 else Observers(rest)


# The debugger a `debug(...)` goal attaches when the query runs without one. The debugger is a
# tool (oso_core.tooling.debugger), above the runtime: the tooling layer plugs its factory in
# here (oso_core/tool_plugins.py) so the runtime never imports it.
_on_demand_debugger: Callable[[], Observer] | None = None


def set_on_demand_debugger(factory: Callable[[], Observer] | None) -> None:
    """Install the factory of the debugger `debug(...)` attaches on demand (None removes it)."""
    global _on_demand_debugger
    _on_demand_debugger = factory


def breakpoint_hit(q: Any, args: list, span: Any, env: list | None, names: list | None) -> None:
    """A `debug(...)` goal ran: stop in the query's debugger, attaching one (on stdin) if needed."""
    observer = q.tracer
    if observer is None or not observer.handles_breakpoints:
        if _on_demand_debugger is None:
            raise OsoError("debug() needs a debugger and none is installed (import oso_core.tool_plugins)")
        observer = _on_demand_debugger()
        attach(q, observer)
    q.tracer.breakpoint(q, args, span, env, names)


# Instrumented snapshots ------------------------------------------------------------------------


class GoalInfo:
    """A goal as an instrumented snapshot reports it: its syntax node, source text, the env
    slots of the variables it mentions, and the names of all the env's slots."""

    __slots__ = ("isolated", "level", "names", "node", "span", "text", "variables")

    def __init__(self, node: Any, scope: Any, level: int = 0, isolated: bool = False) -> None:
        self.node = node
        self.names = scope.names
        # Trace depth relative to the rule call it runs in (absolute when `isolated`, inside
        # `not`/`forall`), counted like `CallSite.level`.
        self.level = level
        self.isolated = isolated
        self.span = getattr(node, "span", None)
        self.text = self.span.text if self.span is not None else str(node)
        names: list[str] = []
        _variable_names(node, names)
        self.variables = tuple((n, scope.slots[n]) for n in names if n in scope.slots)

    def bindings(self, q: Any, env: list, names: Any = None) -> dict:
        """Rendered values of the goal's variables that have one (unbound ones are left out);
        host values get their ``TYPE `Name` `` when `names` is given (see `display_term`)."""
        return env_bindings(q, env, self.variables, names)


def env_bindings(q: Any, env: list, variables: Any, names: Any = None) -> dict:
    """`{name: rendered value}` for `(name, slot)` pairs whose slot holds a value."""
    out = {}
    for name, slot in variables:
        if slot >= len(env):
            continue
        t = env[slot]
        if t is UNBOUND:
            continue
        t = deref(t)
        if type(t) is Var and not t.cons:
            continue
        out[name] = display_term(t, names=names)
    return out


def display_term(t: Any, depth: int = 0, names: Any = None) -> str:
    """A term for people: Polar syntax; host objects as their `repr`, followed by
    ``TYPE `Name` `` as legacy's messages and debugger show them when `names` (the query's
    `class_names()`) is given. Nesting past 20 levels (a cyclic term such as `x = [x]`) shows
    as `...`."""
    from ..variable import Variable
    from .terms import render_term
    if depth > 20:
        return "..."
    t = deref(t)
    tt = type(t)
    if tt is list:
        return "[" + ", ".join(display_term(x, depth + 1, names) for x in t) + "]"
    if tt is dict:
        return "{" + ", ".join(f"{k}: {display_term(t[k], depth + 1, names)}" for k in sorted(t)) + "}"
    if tt in _POLAR_TERMS or isinstance(t, Variable):
        try:
            return render_term(t, names)
        except RecursionError:
            return "..."
    return repr(t) if names is None else render_term(t, names)


def _polar_terms() -> tuple:
    from ..expression import Expression, Pattern
    from ..predicate import Predicate
    from .terms import RestList
    return (bool, int, float, str, Var, RestList, Expression, Pattern, Predicate)


_POLAR_TERMS = _polar_terms()


def _variable_names(node: Any, out: list) -> None:
    from ..frontend.syntax import CallTerm, DictTerm, ListTerm, Op, PatternTerm, Sym
    if isinstance(node, Sym):
        if node.name != "_" and node.name not in out:
            out.append(node.name)
    elif isinstance(node, Op):
        for a in node.args:
            _variable_names(a, out)
    elif isinstance(node, CallTerm):
        for a in node.args:
            _variable_names(a, out)
        for v in (node.kwargs or {}).values():
            _variable_names(v, out)
    elif isinstance(node, ListTerm):
        for i in node.items:
            _variable_names(i, out)
        if node.rest is not None:
            _variable_names(node.rest, out)
    elif isinstance(node, (DictTerm, PatternTerm)):
        for v in node.fields.values():
            _variable_names(v, out)


def observed_goal(gen: Callable, node: Any, scope: Any, level: int = 0, isolated: bool = False) -> Callable:
    """The compiled goal `gen` (a generator function) reporting itself to `q.tracer`."""
    info = GoalInfo(node, scope, level, isolated)

    def observed(q: Any, env: list) -> Iterator[None]:
        obs = q.tracer
        if obs is None:
            yield from gen(q, env)
            return
        token = obs.goal(q, info, env)
        found = False
        active = True
        try:
            for _ in gen(q, env):
                found = True
                obs.goal_solution(q, info, env, token)
                active = False
                yield
                active = True
                obs.goal_retry(q, info, env, token)
        finally:
            obs.goal_exit(q, info, env, token, found, active)
    return observed


def observed_lookup(get: Callable, node: Any) -> Callable:
    """The compiled lookup `get` (`a.b`, `a.m(...)`) reporting its value to `q.tracer`."""
    span = getattr(node, "span", None)
    text = span.text if span is not None else str(node)

    def read(q: Any, env: list) -> Any:
        value = get(q, env)
        obs = q.tracer
        if obs is not None:
            obs.lookup(q, text, value)
        return value
    return read
