"""The Polar debugger: `debug()` in a policy, or `Polar.query(..., debug=True)`, stops the query
and reads commands at a `debug> ` prompt (end of input continues).

It is a `runtime.tracing.Observer` on the running query. Where it stops:

* at every `debug(...)` goal (the first one attaches a debugger on stdin/stdout to the query);
* after a stepping command, at the next *event*: a rule call (`QUERY:`), a rule being applied
  once its head matched (`RULE:`), an error, and, in a query started with `debug=True` (which
  runs on an instrumented copy of the policy), each goal of a rule body (`QUERY:`).

The chain of active rule calls is read off the Python stack (the engine runs each active call
in a `CompiledPredicate._solve` frame), so a query pays nothing for the debugger until one is
attached, and `debug()` can show the whole stack even though nothing watched the query before.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable
from typing import Any, TextIO

from ..runtime.terms import UNBOUND, Var, deref
from ..runtime.knowledge import instrumented_kb
from ..runtime.tracing import GoalInfo, Observer, detach, display_term

PROMPT = "debug> "

HELP = """\
Debugger commands
  c[ontinue] | q[uit]   Go on until the next debug() (end of input does the same).
  s[tep] | into         Stop at the next event: rule call, rule applied, goal, error.
  n[ext] | over         Stop at the next event at this depth or above (skip over rule calls).
  o[ut]                 Stop at the next event after the current rule returns to its caller.
  g[oal]                Same as step.
  r[ule]                Stop when the next rule is applied.
  e[rror]               Stop at the next error.
  l[ine] [<n>]          Show the current source line with <n> lines around it.
  query [<i>]           Show the current goal, or the rule call <i> levels up the stack.
  stack | trace         Show the active rule calls, outermost first, with their locations.
  goals                 Show the body of each active rule, marking the goal being run.
  bindings              Show every variable of the current rule (or query) and its value.
  var [<name> ...]      List the current rule's variables, or show the values of some.
  h[elp]                Show this help."""

_ALIASES = {
    "c": "continue", "continue": "continue", "q": "continue", "quit": "continue",
    "s": "step", "step": "step", "into": "step", "g": "step", "goal": "step",
    "n": "over", "next": "over", "over": "over", "o": "out", "out": "out",
    "r": "rule", "rule": "rule", "e": "error", "error": "error",
    "l": "line", "line": "line", "query": "query", "stack": "stack", "trace": "stack",
    "goals": "goals", "bindings": "bindings", "var": "var", "h": "help", "help": "help",
}
_RESUMING = ("continue", "step", "over", "out", "rule", "error")


class CallFrame:
    """One active rule call: the predicate, its arguments, where it was called from, and the
    rule being applied (with its variables) if one is."""

    __slots__ = ("args", "env", "pred", "rule", "site")

    def __init__(self, pred: Any, args: list, site: Any, rule: Any, env: list | None) -> None:
        self.pred = pred
        self.args = args
        self.site = site
        self.rule = rule
        self.env = env


def active_calls(frame: Any = None) -> list[CallFrame]:
    """The rule calls running right now, outermost first (read off the Python stack)."""
    from ..runtime.predicates import CompiledPredicate
    code = CompiledPredicate._solve.__code__
    f = frame if frame is not None else sys._getframe(1)
    calls = []
    while f is not None:
        if f.f_code is code:
            local = f.f_locals
            calls.append(CallFrame(local.get("self"), local.get("args") or [], local.get("site"),
                                   local.get("rule"), local.get("env")))
        f = f.f_back
    calls.reverse()
    return calls


class _Stop:
    """Where the query is stopped: what is about to run, where, and whose variables apply."""

    def __init__(self, q: Any, kind: str, text: str, span: Any, env: list | None,
                 names: list | None, calls: list[CallFrame], error: str | None = None) -> None:
        self.q = q
        self.kind = kind
        self.text = text
        self.span = span
        self.env = env
        self.names = names
        self.calls = calls
        self.error = error


class Debugger(Observer):
    """An interactive debugger for one query.

    `input(prompt)` returns the next command line and raises EOFError at the end (default:
    the built-in `input`); `output` receives everything the debugger prints (default:
    `sys.stdout` at the time of printing). With `stop_at_start`, the first event stops.
    """

    handles_breakpoints = True

    def __init__(self, input: Callable[[str], str] | None = None, output: TextIO | None = None, *,
                 stop_at_start: bool = False) -> None:
        self._input = input
        self._output = output
        self.mode = "step" if stop_at_start else "continue"
        self.mark = 0                       # call depth when `over`/`out` was given
        self.query_vars: dict | None = None   # the query's own variables, when known
        self.attached_on_demand = False     # made by a debug() goal: leaves on `continue`
        self._last_error: Any = None
        self._goal_span: Any = None          # the goal just stopped at (a call is not shown twice)

    # Observer hooks -----------------------------------------------------------------------

    def breakpoint(self, q: Any, args: list, span: Any, env: list | None, names: list | None) -> None:
        text = span.text if span is not None else "debug(" + ", ".join(display_term(a, names=q.class_names()) for a in args) + ")"
        self._stop(_Stop(q, "debug", text, span, env, names, active_calls()))

    def enter(self, q: Any, pred: Any, args: list, site: Any, selected: list) -> Any:
        goal_span, self._goal_span = self._goal_span, None
        if site is not None and site.span is not None and site.span is goal_span:
            return None  # just stopped at this call as a goal
        if self.mode in _EVENT_MODES:
            calls = active_calls()
            if self._wants(len(calls), "call"):
                text = site.text if site is not None else _call_text(q, pred, args)
                self._stop(_Stop(q, "call", text, site.span if site is not None else None, None, None, calls))
        return None

    def rule(self, q: Any, pred: Any, rule: Any, env: list, matched: bool) -> None:
        if matched and self.mode in _EVENT_MODES:
            calls = active_calls()
            if self._wants(len(calls), "rule"):
                text = str(rule.rule).rstrip(";")
                self._stop(_Stop(q, "rule", text, rule.rule.span, env, rule.names, calls))

    def goal(self, q: Any, goal: GoalInfo, env: list) -> Any:
        if self.mode in _EVENT_MODES and self.mode != "rule":
            calls = active_calls()
            if self._wants(len(calls), "goal"):
                self._stop(_Stop(q, "goal", goal.text, goal.span, env, goal.names, calls))
                self._goal_span = goal.span
        return None

    def error(self, q: Any, pred: Any, token: Any, error: Exception) -> None:
        # The same error passes every active call on its way out: stop for it once.
        if error is self._last_error or self.mode not in ("step", "error"):
            return
        self._last_error = error
        message = getattr(error, "prefix", "") + (getattr(error, "message", None) or str(error))
        span = getattr(error, "span", None)
        calls = active_calls()
        self._stop(_Stop(q, "error", span.text if span is not None else pred.name, span, None, None, calls, message))

    # Stopping -----------------------------------------------------------------------------

    def _wants(self, depth: int, kind: str) -> bool:
        mode = self.mode
        if mode == "step":
            return True
        if mode == "over":
            return depth <= self.mark
        if mode == "out":
            return depth < self.mark
        return mode == "rule" and kind == "rule"

    def _stop(self, stop: _Stop) -> None:
        self._show_position(stop)
        while True:
            try:
                line = self._read(PROMPT)
            except (EOFError, KeyboardInterrupt):
                self._resume(stop, "continue")
                return
            words = line.split()
            if not words:
                continue
            command = _ALIASES.get(words[0])
            if command in _RESUMING:
                self._resume(stop, command)
                return
            if command is None:
                self._print(f"Unknown command `{words[0]}`. Type `help` for the list of commands.")
            else:
                getattr(self, f"_cmd_{command}")(stop, words[1:])

    def _resume(self, stop: _Stop, mode: str) -> None:
        self.mode = mode
        depth = len(stop.calls)
        # `over`/`out` are relative to where the stop is: a call or a rule being entered
        # belongs to the level that makes the call.
        self.mark = depth - 1 if stop.kind == "rule" else depth
        # Timeouts count running time: the time spent at the prompt does not count.
        stop.q.started = time.monotonic()
        if mode == "continue" and self.attached_on_demand:
            detach(stop.q, self)

    # Commands ----------------------------------------------------------------------------

    def _cmd_help(self, stop: _Stop, args: list) -> None:
        self._print(HELP)

    def _cmd_line(self, stop: _Stop, args: list) -> None:
        context = _int_arg(args, 0)
        if context is None:
            self._print("Usage: line [<number of lines around>]")
            return
        self._print(source_listing(stop.span, context, context) or "No source position here.")

    def _cmd_query(self, stop: _Stop, args: list) -> None:
        level = _int_arg(args, 0)
        if level is None:
            self._print("Usage: query [<level>]")
        elif level == 0:
            self._print(self._describe(stop))
        elif level <= len(stop.calls):
            frame = stop.calls[len(stop.calls) - level]
            self._print(_frame_text(stop.q, frame))
        else:
            self._print(f"Level {level} is out of range: the stack has {len(stop.calls)} rule call(s).")

    def _cmd_stack(self, stop: _Stop, args: list) -> None:
        q = stop.q
        lines = ["Active rule calls, outermost first (level, call, rule being applied):"]
        n = len(stop.calls)
        for i, frame in enumerate(stop.calls):
            lines.append(f"  {n - i:3}: {_frame_text(q, frame)}")
            if frame.rule is not None:
                lines.append(f"         in rule {frame.rule.rule.head_str()}{_where(frame.rule.rule.span)}")
        lines.append(f"  {0:3}: {stop.text}{_where(stop.span)}")
        self._print("\n".join(lines))

    def _cmd_goals(self, stop: _Stop, args: list) -> None:
        lines = []
        inner_span = stop.span
        for frame in reversed(stop.calls):
            if frame.rule is None:
                continue
            rule = frame.rule.rule
            lines.append(f"{rule.head_str()}{_where(rule.span)}:")
            goals = rule.body.args
            current = _containing(goals, inner_span)
            if not goals:
                lines.append("      (no body)")
            for i, g in enumerate(goals):
                lines.append(("   -> " if i == current else "      ") + _goal_text(g))
            inner_span = frame.site.span if frame.site is not None else None
        self._print("\n".join(lines) if lines else "No rule is being applied (this is the query itself).")

    def _cmd_bindings(self, stop: _Stop, args: list) -> None:
        values = self._variables(stop)
        if not values:
            self._print("No variables here.")
            return
        # Like legacy, a rule's variables print under their renamed form `name_N` (legacy
        # renames each rule application's variables apart); `var` takes the names as written.
        frame = stop.calls[-1] if stop.calls else None
        suffix = f"_{len(stop.calls)}" if frame is not None and frame.rule is not None else ""
        self._print("\n".join(f"{name}{suffix} = {value}" for name, value in values.items()))

    def _cmd_var(self, stop: _Stop, args: list) -> None:
        values = self._variables(stop)
        if not args:
            self._print(", ".join(values) if values else "No variables here.")
            return
        for name in args:
            if name in values:
                self._print(f"{name} = {values[name]}")
            else:
                self._print(f"{name}: no such variable here")

    # Helpers -----------------------------------------------------------------------------

    def _variables(self, stop: _Stop) -> dict:
        """`{name: rendered value or <unbound>}` of the current rule's (or query's) variables."""
        env, names = stop.env, stop.names
        if env is None:
            frame = stop.calls[-1] if stop.calls else None
            if frame is not None and frame.rule is not None and frame.env is not None:
                env, names = frame.env, frame.rule.names
        q = stop.q
        if env is not None and names is not None:
            out = {}
            for slot, name in enumerate(names):
                if slot == 0 or name == "_" or slot >= len(env) or name in out:
                    continue
                out[name] = _value_text(q, env[slot])
            return out
        if self.query_vars:
            return {name: _value_text(q, v) for name, v in self.query_vars.items() if not name.startswith("_")}
        return {}

    def _describe(self, stop: _Stop) -> str:
        if stop.kind == "error":
            return f"ERROR: {stop.error}"
        label = "RULE" if stop.kind == "rule" else "QUERY"
        values = {k: v for k, v in self._variables(stop).items() if v != "<unbound>"}
        if stop.kind != "rule" and stop.span is not None:
            mentioned = _mentioned_names(stop.span.text)
            values = {k: v for k, v in values.items() if k in mentioned}
        shown = ", ".join(f"{k} = {v}" for k, v in values.items())
        return f"{label}: {stop.text}, BINDINGS: {{{shown}}}"

    def _show_position(self, stop: _Stop) -> None:
        text = self._describe(stop)
        listing = source_listing(stop.span, 1, 1)
        self._print(text + ("\n\n" + listing + "\n" if listing else ""))

    def _read(self, prompt: str) -> str:
        if self._input is not None:
            return self._input(prompt)
        if self._output is not None:
            self._output.write(prompt)
            self._output.flush()
            line = sys.stdin.readline()
            if not line:
                raise EOFError
            return line
        return input(prompt)

    def _print(self, text: str) -> None:
        print(text, file=self._output if self._output is not None else sys.stdout)


_EVENT_MODES = ("step", "over", "out", "rule")


def start_debugging(kb: Any, debug: Any) -> tuple[Any, Debugger]:
    """For `Polar.query(..., debug=...)`: the instrumented snapshot to run on and the debugger
    (`debug` is True for one on stdin/stdout, or a `Debugger`), set to stop at the first event."""
    debugger = debug if isinstance(debug, Debugger) else Debugger()
    debugger.mode = "step"
    return instrumented_kb(kb), debugger


def source_listing(span: Any, before: int = 1, after: int = 1) -> str:
    """Numbered source lines around a position, with a caret under it (legacy's layout)."""
    if span is None:
        return ""
    source = span.source
    line, column = source.line_col(span.start)
    lines = source.text.split("\n")
    out = []
    for n in range(max(1, line - before), min(len(lines), line + after) + 1):
        out.append(f"{n:03}: {lines[n - 1]}")
        if n == line:
            out.append(" " * (5 + column - 1) + "^")
    return "\n".join(out)


def _where(span: Any) -> str:
    if span is None:
        return ""
    line, column = span.source.line_col(span.start)
    file = f" of file {span.source.filename}" if span.source.filename else ""
    return f" at line {line}, column {column}{file}"


def _frame_text(q: Any, frame: CallFrame) -> str:
    call = _call_text(q, frame.pred, frame.args)
    if frame.site is not None:
        return f"{call}   (called as {frame.site.text}{_where(frame.site.span)})"
    return call


def _call_text(q: Any, pred: Any, args: Iterable) -> str:
    name = pred.name if pred is not None else "?"
    names = q.class_names()
    return f"{name}(" + ", ".join(display_term(a, names=names) for a in args) + ")"


def _value_text(q: Any, t: Any) -> str:
    if t is UNBOUND:
        return "<unbound>"
    t = deref(t)
    if type(t) is Var and not t.cons:
        return "<unbound>"
    return display_term(t, names=q.class_names())


def _goal_text(node: Any) -> str:
    span = getattr(node, "span", None)
    return span.text if span is not None else str(node)


def _containing(goals: list, span: Any) -> int | None:
    """Index of the goal whose source range contains `span`."""
    if span is None:
        return None
    for i, g in enumerate(goals):
        gs = getattr(g, "span", None)
        if gs is not None and gs.source is span.source and gs.start <= span.start and span.end <= gs.end:
            return i
    return None


def _mentioned_names(text: str) -> set:
    import re
    return set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text))


def _int_arg(args: list, default: int) -> int | None:
    if not args:
        return default
    try:
        return int(args[0])
    except ValueError:
        return None
