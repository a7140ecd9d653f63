"""Running queries: compile a query (text, AST or predicate) against a snapshot and turn its
solutions into legacy-shaped results, mapping internal errors to the public exceptions."""

from __future__ import annotations

from typing import Any, Callable, Iterator, Optional

import oso_core.exceptions as exc
from ..expression import Expression, Pattern
from ..frontend.syntax import CallTerm, DictTerm, ListTerm, Op, PatternTerm, Sym
from ..partial import TypeConstraint
from ..predicate import Predicate
from ..variable import Variable
from .compiler import BodyCompiler, to_gen
from .errors import STACK_OVERFLOW, EvalError, where
from .knowledge import KnowledgeBase
from .operations import I64_MAX, I64_MIN, add_constraint, serialization_error, unify
from .scope import Scope
from .solver import ClassNames, Query, check_unhandled_partials, result_bindings
from .terms import UNBOUND, Var, deref, render_term
from .knowledge import instrumented_kb

# Argument types that must be converted to terms before solving (the rest are terms as they are).
NEEDS_CONVERSION = (Variable, list, dict, Predicate, Expression, TypeConstraint, Pattern, int)


class PreparedQuery:
    """A query ready to run: the goal to solve and its named variables.

    `call` is `(name, argument terms)` for a rule queried directly (`query_rule`): error traces
    show it with legacy's rendering of host values, made only when an error needs it."""

    def __init__(self, kb: KnowledgeBase, run: Callable[[Query], Iterator[None]], qvars: dict[str, Var],
                 text: Optional[str], span: Any = None, call: Optional[tuple[str, list]] = None) -> None:
        self.kb = kb
        self.run = run
        self.qvars = qvars
        self.text = text
        self.span = span
        self.call = call

    def trace_frame(self) -> tuple[Optional[str], Optional[str]]:
        """The query's frame in an error trace: its text, and where it is (None for a rule
        queried from Python, which legacy prints without a location)."""
        if self.call is None:
            return self.text, where(self.span, None)
        name, terms = self.call
        names = ClassNames(self.kb.host, None)
        return f"{name}(" + ", ".join(render_term(t, names) for t in terms) + ")", None


def prepare_term(kb: KnowledgeBase, node: Any) -> PreparedQuery:
    """A parsed query term (from `query("...")` or an inline query)."""
    names: list[str] = []
    _collect_vars(node, kb.constants, names)
    qvars = {n: Var(n) for n in names}
    scope = Scope(kb.constants, fixed=names)
    scope.visit_goal(node)
    goal = to_gen(BodyCompiler(scope, kb, None).goal(node))
    size = scope.size
    slots = [(scope.slots[n], qvars[n]) for n in names]

    def run(q: Query) -> Iterator[None]:
        env = [0] + [UNBOUND] * (size - 1)
        for slot, v in slots:
            env[slot] = v
        return goal(q, env)
    return PreparedQuery(kb, run, qvars, str(node) if node.span is None else node.span.text, node.span)


def prepare_predicate(kb: KnowledgeBase, name: str, args: list) -> PreparedQuery:
    qvars: dict[str, Var] = {}
    terms = [to_term(a, qvars) for a in args]
    pred = kb.predicate(name, len(terms))

    def run(q: Query) -> Iterator[None]:
        return pred.solve(q, [deref(t) for t in terms], None)
    text = f"{name}(" + ", ".join(repr(a) if not isinstance(a, str) else f'"{a}"' for a in args) + ")"
    return PreparedQuery(kb, run, qvars, text, call=(name, terms))


def to_term(value: Any, qvars: dict[str, Var]) -> Any:
    """A Python value as a term; `Variable`s become the query's named variables."""
    t = type(value)
    if t is int:
        if not (I64_MIN <= value <= I64_MAX):
            raise serialization_error(value).to_public()
        return value
    if t is Variable:
        name = str.__str__(value)
        v = qvars.get(name)
        if v is None:
            v = qvars[name] = Var(name)
        return v
    if t is list:
        return [to_term(x, qvars) for x in value]
    if t is dict:
        return {str(k): to_term(x, qvars) for k, x in value.items()}
    if t is Predicate:
        return Predicate(value.name, [to_term(x, qvars) for x in value.args])
    if isinstance(value, Expression):
        return Expression(value.operator, [to_term(x, qvars) for x in value.args])
    if t is Pattern:
        return Pattern(value.tag, {k: to_term(x, qvars) for k, x in value.fields.items()})
    return value


def apply_bindings(q: Query, prepared: PreparedQuery, bindings: Optional[dict]) -> None:
    """Pre-bind query variables; an Expression value makes the variable partial."""
    if not bindings:
        return
    for key, value in bindings.items():
        name = str.__str__(key) if isinstance(key, Variable) else str(key)
        v = prepared.qvars.get(name)
        if v is None:
            v = prepared.qvars[name] = Var(name)
        if isinstance(value, Expression):
            q.partial = True
            v.aliased = True
            expr = to_term(value, prepared.qvars)
            for conjunct in (expr.args if expr.operator == "And" else [expr]):
                add_constraint(q, conjunct)
        else:
            unify(q, v, to_term(value, prepared.qvars))


def run_query(prepared: PreparedQuery, *, bindings: Optional[dict] = None,
              accept_expression: bool = False, observer: Any = None) -> Iterator[dict]:
    """Each result of a prepared query as `{"bindings": {...}, "trace": None}`.

    `observer` (a `tracing.Observer`: debugger, recorder) watches the query, beside any
    `POLAR_LOG` tracer."""
    q = Query(prepared.kb)
    if observer is not None:
        from .tracing import attach
        attach(q, observer)
    try:
        apply_bindings(q, prepared, bindings)
        for _ in prepared.run(q):
            bindings = result_bindings(q, prepared.qvars, accept_expression)
            if q.tracer is not None:
                q.tracer.result(q, bindings)
            yield {"bindings": bindings, "trace": None}
    except EvalError as e:
        raise public_error(e, prepared) from None
    except RecursionError:
        raise exc.StackOverflowError(STACK_OVERFLOW) from None


def first_solution(kb: KnowledgeBase, name: str, args: list) -> bool:
    """Does `name(args)` hold? The hot path of `is_allowed`: no result conversion."""
    q = Query(kb)
    if q.tracer is not None and q.tracer.goals:  # POLAR_LOG=trace: goal lines need the hooks
        kb = q.kb = instrumented_kb(kb)
    try:
        pred = kb.predicate(name, len(args))
        if q.tracer is None:
            # Existence only (exists.py): the same search as `solve` without generators.
            if not pred.holds(q, args, None):
                return False
            if q.constrained:
                check_unhandled_partials(q, {})
            return True
        for _ in pred.solve(q, args, None):
            if q.constrained:
                check_unhandled_partials(q, {})
            return True
        return False
    except EvalError as e:
        raise public_error(e, None) from None
    except RecursionError:
        raise exc.StackOverflowError(STACK_OVERFLOW) from None


def public_error(e: EvalError, prepared: Optional[PreparedQuery]) -> exc.OsoError:
    if prepared is not None:
        text, location = prepared.trace_frame()
        if text is not None:
            e.add_frame(text, location)
    return e.to_public()


def _collect_vars(node: Any, constants: dict, out: list) -> None:
    if isinstance(node, Sym):
        if node.name != "_" and node.name not in constants and node.name not in out:
            out.append(node.name)
    elif isinstance(node, ListTerm):
        for i in node.items:
            _collect_vars(i, constants, out)
        if node.rest is not None:
            _collect_vars(node.rest, constants, out)
    elif isinstance(node, (DictTerm, PatternTerm)):
        for v in node.fields.values():
            _collect_vars(v, constants, out)
    elif isinstance(node, CallTerm):
        for a in node.args:
            _collect_vars(a, constants, out)
        for v in (node.kwargs or {}).values():
            _collect_vars(v, constants, out)
    elif isinstance(node, Op):
        for a in node.args:
            _collect_vars(a, constants, out)
