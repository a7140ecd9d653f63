"""`POLAR_LOG` output: the observer that writes a query's trace in legacy oso's format, and
the `logging` logger its lines go through (see docs/debugging.md).

`tracer_from_env` (called for every new query) builds the tracer only when `POLAR_LOG` asks
for tracing, so `logging` is not loaded otherwise.
"""

from __future__ import annotations

import sys
import threading
from typing import Any

from .tracing import GoalInfo, Observer, display_term, env_bindings, polar_log_setting

#: Level number of TRACE lines in the `logging` module (below DEBUG, which is 10).
TRACE = 5
_INFO = 20  # logging.INFO
LOGGER_NAME = "oso_core.polar_log"
_polar_log: Any = None
_SETUP_LOCK = threading.Lock()


def tracer_from_env() -> Observer | None:
    """The `POLAR_LOG` tracer a new query starts with, or None when tracing is off."""
    setting = polar_log_setting()
    if not setting or setting in ("0", "off"):
        return None
    lowered = setting.lower()
    level = "trace" if "trace" in lowered else "debug" if "debug" in lowered else "info"
    return Tracer(level, "now" in lowered)


def polar_log() -> Any:
    """The `logging.Logger` `POLAR_LOG` lines go through (`oso_core.polar_log`), set up on
    first use, so `import oso_core` does not load `logging`.

    A logger with no handlers of its own gets one printing as legacy oso does (the bare line
    on stdout, on stderr for `POLAR_LOG=...,now`) and stops propagating; handlers configured
    before the first traced query receive the records (levels INFO and TRACE) instead."""
    global _polar_log
    if _polar_log is not None:
        return _polar_log
    with _SETUP_LOCK:  # queries traced at once in several threads set it up once
        if _polar_log is not None:
            return _polar_log
        import logging

        class LegacyOutput(logging.Handler):
            """Prints records as legacy does; the stream is looked up for each line, so
            redirections of `sys.stdout`/`sys.stderr` apply. A failing `print` raises, as the
            plain `print` legacy uses does."""

            def emit(self, record: logging.LogRecord) -> None:
                stream = sys.stderr if getattr(record, "polar_log_now", False) else sys.stdout
                print(record.getMessage(), file=stream)

        logging.addLevelName(TRACE, "TRACE")
        logger = logging.getLogger(LOGGER_NAME)
        if logger.level == logging.NOTSET:
            logger.setLevel(TRACE)
        if not logger.handlers:
            logger.addHandler(LegacyOutput())
            logger.propagate = False
        _polar_log = logger
        return logger


class Tracer(Observer):
    """`POLAR_LOG` output for one query, in legacy's format, through the `polar_log` logger.

    A line is `[oso][<level>] ` + two spaces per level + message, where `<level>` is the line's
    own level (`info` for rule calls and results even under TRACE, as legacy prints them). A rule
    call's level is its depth in legacy's query stack (every enclosing `and`/`or`/`not` counts:
    see `CallSite.level`); its applicable rules and `RULE:` lines are one level deeper; results
    are at level 1. Under TRACE a goal is at the same depth, counted from the rule call it runs
    in (`GoalInfo.level`), and what it does (lookups, bindings, `BACKTRACK`) one level deeper.
    """

    def __init__(self, level: str, to_stderr: bool) -> None:
        self.level = level
        self.to_stderr = to_stderr
        self.logger = polar_log()
        self.goals = level == "trace"
        self.levels: list[int] = []  # trace level of each active rule call, innermost last
        self.goal_levels: list[int] = []  # TRACE: level of each active goal, innermost last
        self.pending: Any = None  # TRACE: a goal's `QUERY:` line not logged yet (see `goal`)
        # A rule queried directly (`is_allowed`) found a solution: `result` logs it, or, on the
        # decision path, which reports no results, the end of the call does.
        self.unreported = False

    def log(self, message: str, level: int, kind: str = "info") -> None:
        if self.pending is not None:
            self.flush(self.pending)
        indent = "  " * level
        prefix = f"[oso][{kind}] "
        text = "\n".join(prefix + indent + line for line in message.split("\n"))
        self.logger.log(_INFO if kind == "info" else TRACE, text, extra={"polar_log_now": self.to_stderr})

    def call_level(self) -> int:
        return self.levels[-1] if self.levels else 0

    def inner_level(self) -> int:
        """Level of what the innermost active goal (or call) does."""
        return (self.goal_levels[-1] if self.goal_levels else self.call_level()) + 1

    # Rule calls ---------------------------------------------------------------------------

    def enter(self, q: Any, pred: Any, args: list, site: Any, selected: list) -> Any:
        self.report_pending()
        if site is None:
            level = self.call_level() + 1
        elif site.isolated:
            level = site.level
        else:
            level = self.call_level() + site.level
        self.levels.append(level)
        call = f"{pred.name}(" + ", ".join(q.render(a) for a in args) + ")"
        pending, self.pending = self.pending, None
        if pending is not None and site is not None and pending[0] is site.span:
            # TRACE, a call written in a goal: as legacy, the call as written and the
            # bindings of its variables.
            self.log(f"QUERY RULE: {site.text}, BINDINGS: {{{pending[1]}}}", level)
        else:
            self.flush(pending)
            self.log(f"QUERY RULE: {call}" + (", BINDINGS: {}" if self.goals else ""), level)
        applicable = [rule for rule, fast, _ in selected if fast or len(selected) > 1 or _head_matches(q, rule, args)]
        if not applicable:
            self.log("No matching rules found", level + 1)
        else:
            self.log("APPLICABLE_RULES:", level + 1)
            for rule in applicable:
                self.log(f"{rule.rule.head_str()}{rule_location(rule.rule)}", level + 2)
        return (level, site is None and len(self.levels) == 1, call if site is None else None)

    def solution(self, q: Any, pred: Any, token: Any) -> None:
        level = self.levels.pop()
        if self.goals and token[2] is not None:  # a call from a goal: the goal's line says it
            self.log(f"PopQuery({token[2]})", level + 1, "trace")
        self.unreported = token[1]

    def retry(self, q: Any, pred: Any, token: Any) -> None:
        self.unreported = False
        self.levels.append(token[0])

    def exit(self, q: Any, pred: Any, token: Any, active: bool) -> None:
        if active:
            self.levels.pop()
        self.report_pending()

    def rule(self, q: Any, pred: Any, rule: Any, env: list, matched: bool) -> None:
        if matched:
            level = self.call_level() + 1
            self.log(f"RULE: {rule.rule}", level)
            if self.goals:
                self.log_head(q, rule, env, level)

    # Goals (TRACE) ------------------------------------------------------------------------

    def goal(self, q: Any, goal: GoalInfo, env: list) -> Any:
        if not self.goals:
            return None
        self.flush(self.pending)
        level = goal.level + 1 + (0 if goal.isolated else self.call_level())
        self.goal_levels.append(level)
        values = goal.bindings(q, env, q.class_names())
        shown = ", ".join(f"{name} => {value}" for name, value in values.items())
        # Legacy logs a rule call as `QUERY RULE:` only: a goal's `QUERY:` line waits for the
        # next event, which is the call's `enter` when the goal is a rule call.
        self.pending = (goal.span, shown, f"QUERY: {goal.text}, BINDINGS: {{{shown}}}", level)
        unbound = [(name, slot) for name, slot in goal.variables if name not in values]
        return (level, unbound)

    def flush(self, pending: Any) -> None:
        """Log a goal's deferred `QUERY:` line (see `goal`)."""
        if pending is not None:
            self.pending = None
            self.log(pending[2], pending[3], "trace")

    def goal_solution(self, q: Any, goal: GoalInfo, env: list, token: Any) -> None:
        if token is None:
            return
        level, unbound = token
        self.log_bindings(q, env, unbound, level + 1)
        self.log(f"PopQuery({goal.text})", level + 1, "trace")
        self.goal_levels.pop()

    def goal_retry(self, q: Any, goal: GoalInfo, env: list, token: Any) -> None:
        if token is not None:
            self.goal_levels.append(token[0])

    def goal_exit(self, q: Any, goal: GoalInfo, env: list, token: Any, found: bool, active: bool) -> None:
        if token is None or not active:
            return
        if not found:
            self.log("BACKTRACK", token[0] + 1, "trace")
        self.goal_levels.pop()

    def lookup(self, q: Any, text: str, value: Any) -> None:
        if self.goals:
            level = self.inner_level()
            self.log(f"LOOKUP: {text}", level, "trace")
            self.log(f"=> {display_term(value, names=q.class_names())}", level, "trace")

    def log_head(self, q: Any, rule: Any, env: list, level: int) -> None:
        """A matched head, parameter by parameter, as legacy: `⇒ bind: x ← value` for each
        parameter variable, and `MATCHES: x matches Spec{}, ...` for each specialized one."""
        from ..frontend.syntax import Sym
        slots = {name: slot for slot, name in enumerate(rule.names)}
        params = [(p.term.name, p.specializer) for p in rule.rule.params
                  if type(p.term) is Sym and p.term.name != "_" and p.term.name in slots]
        values = env_bindings(q, env, [(name, slots[name]) for name, _ in params], q.class_names())
        for name, specializer in params:
            if name not in values:
                continue
            self.log(f"⇒ bind: {name} ← {values[name]}", level, "trace")
            if specializer is not None:
                self.log(f"MATCHES: {name} matches {specializer}, BINDINGS: {{{name} => {values[name]}}}",
                         level, "trace")

    def log_bindings(self, q: Any, env: list, variables: list, level: int) -> None:
        """`⇒ bind: name ← value` for each `(name, slot)` of `variables` that has a value."""
        for name, value in env_bindings(q, env, variables, q.class_names()).items():
            self.log(f"⇒ bind: {name} ← {value}", level, "trace")

    # Results ------------------------------------------------------------------------------

    def result(self, q: Any, bindings: dict) -> None:
        self.unreported = False
        self.log(result_text(bindings), 1)

    def report_pending(self) -> None:
        if self.unreported:
            self.unreported = False
            self.log(result_text({}), 1)


def _head_matches(q: Any, rule: Any, args: list) -> bool:
    """Would the rule's head accept these arguments? (Legacy lists only rules that would.)"""
    from .operations import undo
    env = rule.template.copy()
    mark = len(q.trail)
    try:
        return bool(rule.full_head(q, env, args))
    finally:
        undo(q, mark)


def result_text(bindings: dict) -> str:
    """`RESULT: SUCCESS`, or `RESULT: {` + one `  name: value` line per binding + `}`."""
    if not bindings:
        return "RESULT: SUCCESS"
    from ..variable import Variable
    from .terms import render_term
    lines = "\n".join(f"  {k}: {render_term(v) if not isinstance(v, Variable) else str.__str__(v)}"
                      for k, v in bindings.items())
    return "RESULT: {\n" + lines + "\n}"


def rule_location(rule: Any) -> str:
    """` at line L, column C[ of file F]` for a rule with a source position, else ``."""
    if rule.span is None:
        return ""
    return rule.span.source.short_context(rule.span.start)
