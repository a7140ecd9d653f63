"""Why was a decision allowed or denied?

`explain_query(polar, query)` (and `Oso.explain(actor, action, resource)`) runs the query once
more on an instrumented copy of the policy (`runtime.tracing.instrumented_kb`) with a recorder
attached, and returns an `Explanation`:

* allowed: the chain of rules that proved it, each with its location, the goals of its body,
  the attribute reads and method calls they made (`user.role = "admin"`) and the rule calls
  they made, recursively;
* denied: every rule of each call that was tried, in order, and where each failed: its head did
  not match the arguments, or the first body goal that failed, with its location, the values
  it read and its variables' values, and the rule calls inside that goal, recursively.

Decisions themselves never run instrumented: explaining costs only the explaining query.
Like `is_allowed`, the explanation stops at the first result; host methods the policy calls
are called again (so an explanation can differ from a decision only if they are not pure).

Command line: `python -m oso_core explain POLICY.polar... [--module M]... QUERY` (see `main`).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..exceptions import OsoError, StackOverflowError
from ..frontend.syntax import render_body
from ..predicate import Predicate
from ..runtime.driver import (
    apply_bindings,
    prepare_predicate,
    prepare_term,
    public_error,
)
from ..runtime.errors import STACK_OVERFLOW, EvalError
from ..runtime.solver import Query, check_unhandled_partials
from ..runtime.knowledge import instrumented_kb
from ..runtime.tracing import GoalInfo, Observer, display_term

# Bounds on what one explanation keeps, so a policy looping over big collections stays cheap.
_MAX_FACTS = 20
_MAX_DEPTH = 40


# Public result ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Location:
    """A position in a policy source (file is None for `load_str` text)."""

    file: str | None
    line: int
    column: int

    def __str__(self) -> str:
        if self.file:
            return f"{self.file}:{self.line}:{self.column}"
        return f"line {self.line}, column {self.column}"


@dataclass(frozen=True)
class Fact:
    """An attribute read or method call a goal made, and its value (rendered as Polar shows it)."""

    expression: str
    value: str

    def __str__(self) -> str:
        return f"{self.expression} = {self.value}"


@dataclass(frozen=True)
class GoalTrace:
    """One goal of a rule body (or of the query): whether it held, what it read, the values of
    its variables, the rule calls it made and, for `or`/`not`/`forall`, its inner goals."""

    text: str
    location: Location | None
    succeeded: bool
    facts: tuple[Fact, ...] = ()
    bindings: Mapping[str, str] = field(default_factory=dict)
    calls: tuple[CallTrace, ...] = ()
    goals: tuple[GoalTrace, ...] = ()


@dataclass(frozen=True)
class RuleTrace:
    """One rule tried for a call.

    `outcome` is "succeeded", "failed", "not applicable" (its parameters cannot match the
    arguments: it was not run) or "error". For "succeeded", `goals` are the goals that proved
    it; for "failed", the first goal that failed (empty if the head did not match: see
    `reason`); `failures` counts the goal failures met while trying it.
    """

    rule: str
    head: str
    location: Location | None
    outcome: str
    generated: bool = False
    reason: str | None = None
    goals: tuple[GoalTrace, ...] = ()
    failures: int = 0
    source_line: str | None = None  # the line it was written on (a resource block's shorthand)


@dataclass(frozen=True)
class CallTrace:
    """A rule call, with the rules tried for it in order (then the ones that did not apply)."""

    call: str
    location: Location | None
    succeeded: bool
    rules: tuple[RuleTrace, ...] = ()
    error: str | None = None

    @property
    def deciding_rule(self) -> RuleTrace | None:
        """The rule that proved the call, if it held."""
        return next((r for r in self.rules if r.outcome == "succeeded"), None)


@dataclass(frozen=True)
class Explanation:
    """Why a query (usually `allow(actor, action, resource)`) had a result or not.

    `calls` are the query's own rule calls; `goals` its goals when it is not a single call
    (as in `explain_query(oso, 'x = new User("a") and allow(x, "read", r)')`).
    """

    query: str
    allowed: bool
    calls: tuple[CallTrace, ...] = ()
    goals: tuple[GoalTrace, ...] = ()
    error: str | None = None

    @property
    def proof(self) -> list[RuleTrace]:
        """Allowed: the rules that proved it, outermost first (depth-first). Denied: empty."""
        if not self.allowed:
            return []
        out: list[RuleTrace] = []
        for call in self._top_calls():
            _collect_proof(call, out)
        return out

    @property
    def facts(self) -> list[Fact]:
        """Allowed: every attribute read and method call the proof used, in order."""
        out: list[Fact] = []
        for rule in self.proof:
            for goal in rule.goals:
                _collect_facts(goal, out)
        for goal in self.goals:
            _collect_facts(goal, out)
        return out

    def _top_calls(self) -> list[CallTrace]:
        calls = list(self.calls)
        for goal in self.goals:
            calls.extend(_goal_calls(goal))
        return calls

    def __str__(self) -> str:
        return render(self)


def _collect_proof(call: CallTrace, out: list) -> None:
    rule = call.deciding_rule
    if rule is None:
        return
    out.append(rule)
    for goal in rule.goals:
        for inner in _goal_calls(goal):
            _collect_proof(inner, out)


def _goal_calls(goal: GoalTrace) -> list[CallTrace]:
    calls = list(goal.calls)
    for inner in goal.goals:
        calls.extend(_goal_calls(inner))
    return calls


def _collect_facts(goal: GoalTrace, out: list) -> None:
    out.extend(goal.facts)
    for inner in goal.goals:
        _collect_facts(inner, out)


# Running -----------------------------------------------------------------------------------------


def explain_rule(polar: Any, name: str, *args: Any) -> Explanation:
    """Explain the rule call `name(*args)` (arguments are Python values)."""
    return explain_query(polar, Predicate(name, list(args)))


def explain_query(polar: Any, query: str | Predicate, *, bindings: dict | None = None) -> Explanation:
    """Explain a query (Polar text or a Predicate) on `polar`'s loaded policy."""
    kb = instrumented_kb(polar._current_kb())
    if isinstance(query, str):
        from ..frontend.parser import parse_query
        prepared = prepare_term(kb, parse_query(query, kb.dialect == "cloud"))
    else:
        prepared = prepare_predicate(kb, query.name, list(query.args))
    recorder = Recorder(prepared.span.source if prepared.span is not None else None)
    q = Query(kb)
    q.tracer = recorder  # replaces any POLAR_LOG tracer: explaining is not tracing
    text = _query_text(prepared)
    error: OsoError | None = None
    try:
        apply_bindings(q, prepared, bindings)
        for _ in prepared.run(q):
            if q.constrained:
                check_unhandled_partials(q, prepared.qvars)
            # Stop at the first result, like `is_allowed`, reading the proof while it holds.
            return recorder.explanation(text, True, None)
    except EvalError as e:
        error = public_error(e, prepared)
    except RecursionError:
        error = StackOverflowError(STACK_OVERFLOW)
    except OsoError as e:
        error = e
    message = None
    if error is not None:
        message = f"{type(error).__name__}: {getattr(error, 'message', None) or error}"
    return recorder.explanation(text, False, message)


def _query_text(prepared: Any) -> str:
    if prepared.span is not None:
        return prepared.span.text
    return prepared.text or ""


# Recording ---------------------------------------------------------------------------------------


class _Call:
    __slots__ = ("attempts", "current", "error", "pred", "skipped", "solutions", "span", "text")

    def __init__(self, pred: Any, text: str, span: Any) -> None:
        self.pred = pred
        self.text = text
        self.span = span
        self.attempts: list[_Attempt] = []
        self.current: _Attempt | None = None
        self.solutions = 0
        self.error: str | None = None
        self.skipped: list[tuple[Any, str]] = []  # (rule, why it does not apply)


class _Owner:
    """Something goals belong to (a rule attempt, an `or`/`not` goal, the query): its live goals
    (running or holding) and the first one that failed."""

    __slots__ = ("failure", "failures", "goals")

    def __init__(self) -> None:
        self.goals: list[_Goal] = []
        self.failure: _Goal | None = None
        self.failures = 0

    def finished(self, goal: _Goal, failed: bool) -> None:
        if failed:
            self.failures += 1
            if self.failure is None:
                self.failure = goal
                return
        if goal in self.goals and goal is not self.failure:
            self.goals.remove(goal)


class _Attempt(_Owner):
    __slots__ = ("matched", "rule", "succeeded")

    def __init__(self, rule: Any, matched: bool) -> None:
        super().__init__()
        self.rule = rule
        self.matched = matched
        self.succeeded = False


class _Goal(_Owner):
    __slots__ = ("bindings", "calls", "facts", "info", "owner", "state")

    def __init__(self, info: GoalInfo, owner: _Owner) -> None:
        super().__init__()
        self.info = info
        self.owner = owner
        self.calls: list[_Call] = []
        self.facts: list[Fact] = []
        self.state = "running"
        self.bindings: dict = {}


class Recorder(Observer):
    """Records rule calls, rules tried, goals and lookups of one instrumented query."""

    def __init__(self, query_source: Any = None) -> None:
        self.query_source = query_source  # where the query's own text is (not a policy)
        self.stack: list[Any] = []      # active _Call and _Goal records, innermost last
        self.root = _Owner()            # the query's own goals
        self.root_calls: list[_Call] = []

    def enter(self, q: Any, pred: Any, args: list, site: Any, selected: list) -> Any:
        call = _Call(pred, f"{pred.name}(" + ", ".join(_shorten(display_term(a), 60) for a in args) + ")",
                     site.span if site is not None else None)
        chosen = {id(rule) for rule, _, _ in selected}
        for rule in pred.rules or ():
            if id(rule) not in chosen:
                call.skipped.append((rule, _mismatch(q, rule, args)))
        parent = self.stack[-1] if self.stack else None
        if isinstance(parent, _Goal):
            parent.calls.append(call)
        elif parent is None:
            self.root_calls.append(call)
        self.stack.append(call)
        return call

    def solution(self, q: Any, pred: Any, token: Any) -> None:
        token.solutions += 1
        if token.current is not None:
            token.current.succeeded = True
        self.stack.pop()

    def retry(self, q: Any, pred: Any, token: Any) -> None:
        self.stack.append(token)

    def exit(self, q: Any, pred: Any, token: Any, active: bool) -> None:
        if active:
            self.stack.pop()

    def error(self, q: Any, pred: Any, token: Any, error: Exception) -> None:
        if token.error is None:
            token.error = getattr(error, "message", None) or str(error)

    def rule(self, q: Any, pred: Any, rule: Any, env: list, matched: bool) -> None:
        call = self.stack[-1] if self.stack else None
        if isinstance(call, _Call) and call.pred is pred:
            attempt = _Attempt(rule, matched)
            call.attempts.append(attempt)
            call.current = attempt

    def goal(self, q: Any, goal: GoalInfo, env: list) -> Any:
        parent = self.stack[-1] if self.stack else None
        if isinstance(parent, _Call):
            owner: _Owner = parent.current if parent.current is not None else _Owner()
        elif isinstance(parent, _Goal):
            owner = parent
        else:
            owner = self.root
        record = _Goal(goal, owner)
        owner.goals.append(record)
        self.stack.append(record)
        return record

    def goal_solution(self, q: Any, goal: GoalInfo, env: list, token: Any) -> None:
        token.state = "held"
        token.bindings = goal.bindings(q, env)
        self.stack.pop()

    def goal_retry(self, q: Any, goal: GoalInfo, env: list, token: Any) -> None:
        token.state = "running"
        self.stack.append(token)

    def goal_exit(self, q: Any, goal: GoalInfo, env: list, token: Any, found: bool, active: bool) -> None:
        if active:
            self.stack.pop()
        if not active and token.state == "held":
            return  # dropped while holding (the query stopped at its first result)
        if found:
            token.state = "done"
        else:
            token.state = "failed"
            token.bindings = goal.bindings(q, env)
        token.owner.finished(token, not found)

    def lookup(self, q: Any, text: str, value: Any) -> None:
        top = self.stack[-1] if self.stack else None
        if isinstance(top, _Goal) and len(top.facts) < _MAX_FACTS:
            top.facts.append(Fact(text, _shorten(display_term(value))))

    # Building the result ------------------------------------------------------------------

    def explanation(self, query: str, allowed: bool, error: str | None) -> Explanation:
        """The explanation of what was recorded (`allowed`: the query is holding a result)."""
        goals = tuple(self._goal_view(g, allowed, 0) for g in self._owner_goals(self.root, allowed))
        calls = tuple(self._call_view(c, 0) for c in self.root_calls)
        return Explanation(query, allowed, calls, goals, error)

    def _owner_goals(self, owner: _Owner, proved: bool) -> list:
        if proved:
            return [g for g in owner.goals if g.state == "held"]
        return [owner.failure] if owner.failure is not None else []

    def _goal_view(self, goal: _Goal, proved: bool, depth: int) -> GoalTrace:
        held = goal.state == "held"
        calls: tuple = ()
        inner: tuple = ()
        if depth < _MAX_DEPTH:
            calls = tuple(self._call_view(c, depth + 1) for c in goal.calls
                          if not held or c.solutions > 0 or c.error is not None)
            # Inner goals (of `or`, `not`, `forall`): a goal that held shows those that made it
            # hold, else (`not X`) the failure of X; a goal that failed shows the first inner
            # failure, else (`not X`) what held inside it.
            held_inner = [g for g in goal.goals if g.state == "held"]
            failed_inner = [goal.failure] if goal.failure is not None else []
            chosen = (held_inner or failed_inner) if held else (failed_inner or held_inner)
            inner = tuple(self._goal_view(g, g.state == "held", depth + 1) for g in chosen)
        return GoalTrace(goal.info.text, self._location(goal.info.span), held, tuple(goal.facts),
                         dict(goal.bindings), calls, inner)

    def _location(self, span: Any) -> Location | None:
        # Positions in the query text itself would read as policy positions: leave them out.
        if span is None or span.source is self.query_source:
            return None
        return _location(span)

    def _call_view(self, call: _Call, depth: int) -> CallTrace:
        rules = []
        for attempt in call.attempts:
            rules.append(self._attempt_view(call, attempt, depth))
        for rule, reason in call.skipped:
            rules.append(_rule_trace(rule.rule, "not applicable", reason=reason))
        return CallTrace(call.text, self._location(call.span), call.solutions > 0, tuple(rules), call.error)

    def _attempt_view(self, call: _Call, attempt: _Attempt, depth: int) -> RuleTrace:
        rule = attempt.rule.rule
        if not attempt.matched:
            return _rule_trace(rule, "failed", reason="its parameters do not match the arguments")
        # The current attempt of a call that has held is the one that proved it (the query
        # stops at its first result, so it is still holding).
        if attempt.succeeded and attempt is call.current:
            goals = tuple(self._goal_view(g, True, depth + 1) for g in self._owner_goals(attempt, True))
            return _rule_trace(rule, "succeeded", goals=goals)
        if call.error is not None and attempt is call.current:
            return _rule_trace(rule, "error", reason=call.error)
        goals = tuple(self._goal_view(g, False, depth + 1) for g in self._owner_goals(attempt, False))
        return _rule_trace(rule, "failed", goals=goals, failures=attempt.failures)


def _shorten(text: str, limit: int = 200) -> str:
    """`text`, cut to `limit` characters with `...` if longer."""
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _rule_trace(rule: Any, outcome: str, *, reason: str | None = None, goals: tuple = (),
                failures: int = 0) -> RuleTrace:
    source_line = None
    if rule.span is not None:
        line, _ = rule.span.source.line_col(rule.span.start)
        source_line = rule.span.source.line_text(line).strip() or None
    return RuleTrace(rule_text(rule), rule.head_str(), _location(rule.span), outcome, rule.generated,
                     reason, goals, failures, source_line)


def rule_text(rule: Any) -> str:
    """The rule as written: its head's source text (if known) and its body."""
    head = rule.span.text if rule.span is not None and not rule.generated else rule.head_str()
    if not rule.body.args:
        return head + ";"
    return f"{head} if {render_body(rule.body)};"


def _location(span: Any) -> Location | None:
    if span is None:
        return None
    line, column = span.source.line_col(span.start)
    return Location(span.source.filename, line, column)


def _mismatch(q: Any, rule: Any, args: list) -> str:
    """Why a rule's parameters cannot match the arguments (for a rule selection left out)."""
    from ..runtime.predicates import LITERAL
    from ..runtime.terms import Var, deref
    for i, (pi, arg) in enumerate(zip(rule.params, args), 1):
        arg = deref(arg)
        if type(arg) is Var:
            continue
        if pi.kind == LITERAL and type(arg) in (str, int, float, bool) and not _same_literal(pi.value, arg):
            return f"argument {i} is {display_term(arg)}, the rule expects {display_term(pi.value)}"
        if pi.spec_kind in ("class", "union") and pi.tag is not None:
            try:
                ok = q.isa_class(arg, pi.tag)
            except EvalError:  # an unregistered class: reported as a plain mismatch below
                continue
            if not ok:
                return f"argument {i} ({display_term(arg)}) is not an instance of {pi.tag}"
    return "its parameters do not match the arguments"


def _same_literal(a: Any, b: Any) -> bool:
    if type(a) is bool or type(b) is bool:
        return type(a) is type(b) and a == b
    return a == b


# Text ----------------------------------------------------------------------------------------------


def render(explanation: Explanation) -> str:
    """The multi-line text of an explanation (what `str()` gives)."""
    verdict = "ALLOWED" if explanation.allowed else "DENIED"
    lines = [f"{verdict}: {explanation.query}"]
    if explanation.error is not None:
        lines.append(f"  error: {_indent_rest(explanation.error, '  ')}")
    for goal in explanation.goals:
        _render_goal(goal, lines, 1)
    for call in explanation.calls:
        _render_call(call, lines, 1)
    if explanation.allowed:
        facts = explanation.facts
        if facts:
            lines.append("")
            lines.append("Facts used:")
            lines.extend(f"  {fact}" for fact in facts)
    return "\n".join(lines)


def _render_call(call: CallTrace, lines: list, depth: int) -> None:
    pad = "  " * depth
    where = f"  [called at {call.location}]" if call.location is not None else ""
    if call.succeeded:
        lines.append(f"{pad}{call.call} holds{where}")
    elif call.error is not None:
        lines.append(f"{pad}{call.call} raised an error{where}: {call.error}")
    elif not call.rules:
        lines.append(f"{pad}{call.call} fails: no rule is defined for it{where}")
    elif all(r.outcome == "not applicable" for r in call.rules):
        lines.append(f"{pad}{call.call} fails: no rule applies{where}")
    else:
        lines.append(f"{pad}{call.call} fails{where}")
    skipped = 0
    for rule in call.rules:
        # A call that held shows the rule that proved it (the others stay in `rules`).
        if call.succeeded and rule.outcome != "succeeded":
            continue
        if rule.outcome == "not applicable" and depth > 1:
            # Below the query, rules for other roles and permissions are mostly noise.
            skipped += 1
            if skipped > _SHOWN_NOT_APPLICABLE:
                continue
        _render_rule(rule, lines, depth + 1)
    if skipped > _SHOWN_NOT_APPLICABLE:
        lines.append(f"{'  ' * (depth + 1)}(and {skipped - _SHOWN_NOT_APPLICABLE} more rules that do not apply)")


_SHOWN_NOT_APPLICABLE = 2


def _render_rule(rule: RuleTrace, lines: list, depth: int) -> None:
    pad = "  " * depth
    origin = ""
    if rule.location is not None:
        origin = f"  [{rule.location}"
        if rule.generated and rule.source_line:
            origin += f": resource block rule {rule.source_line}"
        origin += "]"
    if rule.outcome == "not applicable":
        lines.append(f"{pad}not applicable: {rule.head}{origin}: {rule.reason}")
        return
    label = {"succeeded": "proved by", "failed": "failed", "error": "error in"}[rule.outcome]
    lines.append(f"{pad}{label}: {rule.rule}{origin}")
    if rule.reason is not None:
        lines.append(f"{pad}  because {rule.reason}")
    for goal in rule.goals:
        _render_goal(goal, lines, depth + 1)
    if rule.outcome == "failed" and rule.failures > 1:
        lines.append(f"{pad}  ({rule.failures} goal failures in all; the first is shown)")


def _render_goal(goal: GoalTrace, lines: list, depth: int) -> None:
    pad = "  " * depth
    if len(goal.calls) == 1 and not goal.facts and not goal.goals and goal.calls[0].location == goal.location:
        _render_call(goal.calls[0], lines, depth)  # the goal is the call: show it once
        return
    where = f"  [{goal.location}]" if goal.location is not None else ""
    status = "holds" if goal.succeeded else "FAILS"
    lines.append(f"{pad}{status}: {goal.text}{where}")
    details = [str(f) for f in goal.facts]
    if not goal.goals and not goal.calls:
        # The values a comparison or test saw: what it read, then its variables (all of them
        # where it failed; short ones where it held, the facts being what matter there).
        mentioned = {f.expression for f in goal.facts}
        limit = 80 if not goal.succeeded else 40
        details += [f"{name} = {_shorten(value, 80)}" for name, value in goal.bindings.items()
                    if name not in mentioned and (not goal.succeeded or len(value) <= limit)]
    if details:
        lines.append(f"{pad}  with {', '.join(details)}")
    for inner in goal.goals:
        _render_goal(inner, lines, depth + 1)
    for call in goal.calls:
        _render_call(call, lines, depth + 1)


def _indent_rest(text: str, pad: str) -> str:
    return text.replace("\n", "\n" + pad)


# Command line --------------------------------------------------------------------------------------


USAGE_EXAMPLES = """\
examples:
  python -m oso_core explain policy.polar --module app.models \\
      'allow(new User("alice"), "read", new Repo("anvils"))'
  python -m oso_core explain policy.polar -m app.models --json \\
      'x = new User("bob") and allow(x, "delete", new Repo("anvils"))'

The query is Polar: build host objects with `new` (classes come from --module: every class a
module defines is registered under its own name, as with `python -m oso_core --module M`).
Exit status: 0 if the query had a result (allowed), 1 if not (denied), 2 on errors."""


def main(argv: list) -> int:
    """`python -m oso_core explain`: print the explanation of one query."""
    from ..oso import Oso
    from .repl_cli import register_module_classes

    parser = argparse.ArgumentParser(
        prog="python -m oso_core explain", description="Explain why a query (a decision) holds or not.",
        epilog=USAGE_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="+", metavar="POLICY", help="policy files (.polar) to load")
    parser.add_argument("query", help='the query, e.g. \'allow(new User("alice"), "read", new Repo("x"))\'')
    parser.add_argument("--module", "-m", action="append", default=[], metavar="MODULE",
                        help="import MODULE and register the classes it defines (repeatable)")
    parser.add_argument("--json", action="store_true", help="print the explanation as JSON")
    options = parser.parse_args(argv)
    if options.query.endswith(".polar"):
        parser.error("the last argument must be the query to explain (got a policy file)")
    oso = Oso()
    sys.path.insert(0, "")  # like `python -m`, find --module modules in the working directory
    try:
        for module_name in options.module:
            register_module_classes(oso, importlib.import_module(module_name))
        oso.load_files(options.files)
        explanation = explain_query(oso, options.query.strip().rstrip(";"))
    except (OsoError, ImportError) as e:
        print(f"error: {getattr(e, 'message', None) or e}", file=sys.stderr)
        return 2
    if options.json:
        import json
        print(json.dumps(to_dict(explanation), indent=2))
    else:
        print(explanation)
    if explanation.error is not None:
        return 2
    return 0 if explanation.allowed else 1


def to_dict(value: Any) -> Any:
    """An explanation (or part of one) as plain JSON-ready data."""
    from dataclasses import fields, is_dataclass
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_dict(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, (tuple, list)):
        return [to_dict(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): to_dict(v) for k, v in value.items()}
    return value


def iter_rules(explanation: Explanation) -> Iterator[RuleTrace]:
    """Every rule trace in an explanation, depth-first in evaluation order (for tools and tests)."""
    for goal in explanation.goals:
        yield from _goal_rules(goal)
    for call in explanation.calls:
        yield from _call_rules(call)


def _call_rules(call: CallTrace) -> Iterator[RuleTrace]:
    for rule in call.rules:
        yield rule
        for goal in rule.goals:
            yield from _goal_rules(goal)


def _goal_rules(goal: GoalTrace) -> Iterator[RuleTrace]:
    for inner in goal.goals:
        yield from _goal_rules(inner)
    for call in goal.calls:
        yield from _call_rules(call)
