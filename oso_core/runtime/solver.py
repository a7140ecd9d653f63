"""The state of one running query and the operations that need it: fresh variables, limits,
class tests, negation, output, and turning solutions into result bindings."""

from __future__ import annotations

import os
import time
from typing import Any, Callable, Optional

import oso_core.exceptions as exc
from .entities import value_isa
from ..expression import Expression, Pattern
from ..predicate import Predicate
from ..values import Value
from ..variable import Variable
from .errors import EvalError, runtime_error
from .async_context import ASYNC_AWAITER
from .knowledge import KnowledgeBase
from .operations import add_constraint, free_vars, undo
from .polar_log import tracer_from_env
from .terms import SERIALS, UNBOUND, RestList, Var, deref, render_term

DEFAULT_TIMEOUT_MS = 30_000
_NEGATED = {"Unify": "Neq", "Eq": "Neq", "Neq": "Unify", "Lt": "Geq", "Leq": "Gt", "Gt": "Leq", "Geq": "Lt"}


def max_depth() -> int:
    """Deepest rule-call nesting: generators nest Python frames, so stay below the recursion limit."""
    import sys
    return max(64, (sys.getrecursionlimit() - 200) // 4)


class Query:
    """One evaluation: trail, counters and the snapshot it runs against."""

    __slots__ = ("kb", "host", "trail", "calls", "depth", "max_depth", "started", "timeout_ms",
                 "partial", "counter", "tracer", "constrained", "built", "tabling", "origins", "awaiter")

    def __init__(self, kb: KnowledgeBase, partial: bool = False) -> None:
        self.kb = kb
        self.host = kb.host
        self.trail: list = []
        self.calls = 0
        self.depth = 0
        self.max_depth = _MAX_DEPTH
        self.started = time.monotonic()
        self.timeout_ms: Optional[int] = None
        self.partial = partial
        self.counter = 0
        self.tracer = tracer_from_env()
        self.constrained = False
        self.built: Optional[dict] = None   # id -> (instance, `new` text) for messages
        self.tabling: Any = None             # data filtering: recursive calls become row sets
        self.origins: Optional[dict] = None  # data filtering: id(constraint) -> (it, source span)
        # Async mode (runtime/async_bridge.py): a function awaiting a host value if it is
        # awaitable, for a query created inside an async call; None for a synchronous query.
        awaiter = _async_awaiter()
        self.awaiter: Optional[Callable[[Any], Any]] = None if awaiter is None else awaiter()

    # Variables -------------------------------------------------------------------------------

    def new_var(self, name: str) -> Var:
        self.counter += 1
        return Var(f"_{name}_{self.counter}")

    def fresh_name(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}_{self.counter}"

    def fresh_var(self, prefix: str) -> Var:
        return Var(self.fresh_name(prefix))

    # Limits ----------------------------------------------------------------------------------

    def refresh_max_depth(self) -> int:
        """Re-read the recursion limit (an application may have raised it since import)."""
        global _MAX_DEPTH
        _MAX_DEPTH = self.max_depth = max_depth()
        return self.max_depth

    def check_time(self) -> None:
        if self.timeout_ms is None:
            raw = os.environ.get("POLAR_TIMEOUT_MS")
            try:
                self.timeout_ms = int(raw) if raw not in (None, "") else DEFAULT_TIMEOUT_MS
            except ValueError:
                self.timeout_ms = DEFAULT_TIMEOUT_MS
        if self.timeout_ms <= 0:
            return
        elapsed = int((time.monotonic() - self.started) * 1000)
        if elapsed > self.timeout_ms:
            raise runtime_error(
                f"Query timeout: Query running for {elapsed}ms, which exceeds the timeout of "
                f"{self.timeout_ms}ms. To disable timeouts, set the POLAR_TIMEOUT_MS environment "
                f"variable to 0.")

    # Classes ---------------------------------------------------------------------------------

    def host_class(self, name: str, span: Any) -> type:
        cls = self.kb.lookup_class(name)
        if cls is None:
            raise EvalError(exc.UnregisteredClassError, name)
        return cls

    def union_members(self, tag: str) -> tuple:
        return self.kb.unions.get(tag, ())

    def isa_class(self, value: Any, tag: str) -> bool:
        if type(value) is Value:   # a fact entity: its type names the class
            return value_isa(self.kb, value, tag)
        kb = self.kb
        members = kb.unions.get(tag) if tag in ("Actor", "Resource") else None
        if members is not None and tag not in kb.constants:
            return any(isinstance(value, self.host_class(m, None)) for m in members)
        cls = kb.class_cache.get(tag)   # `host_class`'s cache, read first (a specializer check)
        return isinstance(value, cls if cls is not None else self.host_class(tag, None))

    def compatible_tags(self, a: str, b: str) -> bool:
        """Two type constraints on one unbound term can both hold (one class derives from the other)."""
        if a == b:
            return True
        if a in ("Actor", "Resource") or b in ("Actor", "Resource"):
            return True
        if self.kb.is_entity_type(a) or self.kb.is_entity_type(b):
            return False   # distinct fact entity types never overlap
        ca = self.host_class(a, None)
        cb = self.host_class(b, None)
        return issubclass(ca, cb) or issubclass(cb, ca)

    # Negation --------------------------------------------------------------------------------

    def negate(self, inner: Callable, env: list) -> bool:
        """`not G`: fail if G holds outright; succeed if it never holds; if it holds only under
        constraints on variables that were already partial, succeed adding their negation."""
        trail = self.trail
        mark = len(trail)
        newest = next(SERIALS)
        alternatives = []
        for _ in inner(self, env):
            changes = self._partial_changes(mark, newest)
            if not changes:
                undo(self, mark)
                return False
            alternatives.append(changes)
        undo(self, mark)
        for changes in alternatives:
            if _has_local_vars(changes, newest):
                # G introduced variables (`x in r.items and x.a = 1`): they are existential
                # inside the negation, so it must stay one `not (... and ...)` to mean NOT EXISTS.
                add_constraint(self, Expression("Not", [Expression("And", changes)]))
            elif len(changes) == 1:
                add_constraint(self, negated(changes[0]))
            else:
                add_constraint(self, Expression("Or", [negated(c) for c in changes]))
        return True

    def _partial_changes(self, mark: int, newest: int) -> list:
        changes: list = []
        seen: set = set()
        for e in self.trail[mark:]:
            if type(e) is Var:
                if e.serial <= newest and (e.aliased or e.cons):
                    value = deref(e.ref)
                    if type(value) is Var and value.serial > newest:
                        continue
                    changes.append(Expression("Unify", [e, value]))
            else:
                v, old = e
                if v.serial > newest or id(v) in seen:
                    continue
                seen.add(id(v))
                before = old or ()
                if not before and not v.aliased:
                    continue
                for c in v.cons or ():
                    if not any(c is b for b in before) and not any(c is x for x in changes):
                        changes.append(c)
        _add_local_constraints(changes, newest)
        return changes

    # Output ----------------------------------------------------------------------------------

    def render(self, t: Any) -> str:
        return render_term(t, self.class_names())

    def class_names(self) -> ClassNames:
        """How this query's messages name host values (`<repr> TYPE `Name``, `Name(args)`)."""
        return ClassNames(self.host, self.built)

    def constructed(self, instance: Any, class_name: str, args: list, kwargs: Optional[dict]) -> None:
        """Remember how `new` built an instance: messages show `Name(args)` like legacy."""
        parts = [self.render(a) for a in args] + [f"{k}: {self.render(v)}" for k, v in (kwargs or {}).items()]
        if self.built is None:
            self.built = {}
        self.built[id(instance)] = (instance, f"{class_name}({', '.join(parts)})")

    def emit(self, text: str) -> None:
        print(text)

    def debug(self, args: list, span: Any, env: Optional[list] = None, names: Optional[list] = None) -> None:
        """`debug(args)` in a policy: stop in the debugger (one is attached if none is)."""
        from .tracing import breakpoint_hit
        breakpoint_hit(self, args, span, env, names)


class ClassNames:
    """Registered name of a host object's class, for `<repr> TYPE `Name`` rendering."""

    __slots__ = ("host", "built")

    def __init__(self, host: Any, built: Optional[dict]) -> None:
        self.host = host
        self.built = built

    def get(self, cls: Any, default: Any = None) -> Any:
        return self.host.class_name(cls) or default

    def constructor_text(self, value: Any) -> Optional[str]:
        entry = self.built.get(id(value)) if self.built else None
        return entry[1] if entry is not None and entry[0] is value else None


def _add_local_constraints(changes: list, newest: int) -> None:
    """Append the constraints of variables created inside a negation that the changes mention."""
    i = 0
    while i < len(changes):
        for w in free_vars(changes[i]):
            if w.serial > newest:
                for c in w.cons or ():
                    if not any(c is x for x in changes):
                        changes.append(c)
        i += 1


def _has_local_vars(changes: list, newest: int) -> bool:
    return any(w.serial > newest for c in changes for w in free_vars(c))


def negated(c: Expression) -> Expression:
    op = c.operator
    flipped = _NEGATED.get(op)
    if flipped is not None:
        return Expression(flipped, list(c.args))
    if op == "Not":
        return c.args[0]
    if op == "And":
        return Expression("Or", [negated(a) for a in c.args])
    if op == "Or":
        return Expression("And", [negated(a) for a in c.args])
    return Expression("Not", [c])


_MAX_DEPTH = max_depth()

_async_awaiter = ASYNC_AWAITER.get


# Results -------------------------------------------------------------------------------------

UNHANDLED_PARTIAL = (
    "Found an unhandled partial in the query result: {var}\n\nThis can happen when there is a "
    "variable used inside a rule\nwhich is not related to any of the query inputs.\n\nFor example: "
    "f(_x) if y.a = 1 and y.b = 2;\n\nIn this example, the variable `y` is constrained by `a = 1 "
    "and b = 2`,\nbut we cannot resolve these constraints without further information.\n\nThe "
    "unhandled partial is for variable {var}.\nThe expression is: {expr}\n")


def result_bindings(q: Query, qvars: dict[str, Var], accept_expression: bool) -> dict:
    """The bindings of one solution, as Python values (legacy result shape)."""
    out: dict[str, Any] = {}
    check_unhandled_partials(q, qvars)
    reps: dict[int, list[str]] = {}
    for name, v in qvars.items():
        t = deref(v)
        if type(t) is Var:
            reps.setdefault(id(t), []).append(name)
    for name, v in qvars.items():
        if name.startswith("_"):
            continue
        t = deref(v)
        if type(t) is Var:
            if t.cons:
                group = reps.get(id(t), ())
                expr = (aliased_constraint_expression(q, name, t, [qvars[n] for n in group])
                        if len(group) > 1 else constraint_expression(t, q))
                if not accept_expression:
                    raise exc.UnexpectedPolarTypeError(exc.UNEXPECTED_EXPRESSION_MESSAGE)
                out[name] = expr
                continue
            others = [n for n in reps.get(id(t), ()) if n != name]
            if t is not v:
                out[name] = Variable(t.name if t.name in qvars else (others[0] if others else name))
            elif others:
                out[name] = Variable(others[0])
            elif v.aliased:
                out[name] = Variable(name)
            continue
        out[name] = to_python_value(t, accept_expression)
    return out


def aliased_constraint_expression(q: Query, name: str, rep: Var, group: list) -> Expression:
    """Legacy's form for query variables aliased to each other and constrained (`x = y and
    y > 1`): the aliasing stays visible as `Unify` constraints between the named variables, and
    every other constraint is written on the variable it was first placed on, e.g. for `x`:
    `y = _this and y > 1`; for `y`: `_this = x and _this > 1`.

    Legacy binds aliased unbound variables in a cycle and writes the cycle out, starting at the
    variable being constrained, when the first constraint arrives; an alias made after that is
    a constraint of its own, in order. The trail gives the same order here.
    """
    members = {id(v) for v in group}
    named = [v for v in group if not v.name.startswith("_")] or group
    events = _group_events(q, rep, members)
    canonical: Any = None
    pending = False
    ordered: list = []
    for kind, item in events:
        if kind == "alias":
            if canonical is None:
                pending = True
            else:
                ordered.append(("unify", item))
            continue
        if canonical is None:
            canonical = _literal_member(item, members) or named[0]
            if id(canonical) not in {id(v) for v in named}:
                canonical = named[0]   # a temporary: written as the first named variable
            if pending:
                chain = [canonical] + [v for v in reversed(named) if v is not canonical]
                ordered.extend(("unify", (a, b)) for a, b in zip(chain, chain[1:]))
        ordered.append(("constraint", item))
    this = Variable("_this")
    own = next(v for v in group if v.name == name) if any(v.name == name for v in group) else None

    def write(v: Var) -> Any:
        return this if v is own else Variable(v.name)

    out: list = []
    for kind, item in ordered:
        if kind == "unify":
            a, b = item
            if id(a) in members and id(b) in members and a.name.startswith("_") != b.name.startswith("_"):
                continue
            out.append(Expression("Unify", [write(a), write(b)]))
        else:
            out.append(_write_aliased(item, rep, members, canonical, write))
    return Expression("And", out)


def _group_events(q: Query, rep: Var, members: set) -> list:
    """("alias", (var, target)) and ("constraint", c) events for `rep`'s alias group, in order."""
    component = constraint_component(rep, q)
    wanted = {id(c) for c in component}
    events: list = []
    seen: set = set()
    later: dict = {}   # id(var) -> constraints it holds now, for the last trail entry of each var
    entries = [e for e in q.trail]
    for i, e in enumerate(entries):
        if type(e) is Var:
            if id(e) in members and type(e.ref) is Var:
                events.append(("alias", (e, e.ref)))
            continue
        v, old = e
        nxt = next((f[1] for f in entries[i + 1:] if type(f) is not Var and f[0] is v), None)
        now = nxt if nxt is not None else later.setdefault(id(v), v.cons or ())
        for c in now or ():
            if id(c) in wanted and id(c) not in seen and not any(c is o for o in old or ()):
                seen.add(id(c))
                events.append(("constraint", c))
    events.extend(("constraint", c) for c in component if id(c) not in seen)
    return events


def _literal_member(t: Any, members: set) -> Optional[Var]:
    """The first group variable written in `t` (not dereferenced)."""
    tt = type(t)
    if tt is Var:
        if id(t) in members:
            return t
        return None if t.ref is UNBOUND else _literal_member(t.ref, members)
    if tt is Expression:
        for a in t.args:
            found = _literal_member(a, members)
            if found is not None:
                return found
    return None


def _write_aliased(t: Any, rep: Var, members: set, canonical: Var, write: Callable[[Var], Any]) -> Any:
    tt = type(t)
    if tt is Var and (id(t) in members or deref(t) is rep):
        return write(canonical)
    t = deref(t)
    tt = type(t)
    if tt is Var:
        return Variable(t.name)
    if tt is Expression:
        return Expression(t.operator, [_write_aliased(a, rep, members, canonical, write) for a in t.args])
    if tt is Pattern:
        return Pattern(t.tag, {k: _write_aliased(x, rep, members, canonical, write) for k, x in t.fields.items()})
    if tt is list:
        return [_write_aliased(x, rep, members, canonical, write) for x in t]
    if tt is dict:
        return {k: _write_aliased(x, rep, members, canonical, write) for k, x in t.items()}
    return t


def constraint_expression(v: Var, q: Optional[Query] = None) -> Expression:
    """`And` of the constraints on `v` and on every unbound variable linked to it through a
    shared constraint, in the order they were made, with `v` written as `_this`."""
    this = Variable("_this")
    return Expression("And", [substitute(c, v, this) for c in constraint_component(v, q)])


def constraint_component(v: Var, q: Optional[Query] = None) -> list:
    """The constraints of `v` and of every unbound variable linked to it, in creation order."""
    component = [v]
    members = {id(v)}
    constraints: list = []
    seen: set = set()
    i = 0
    while i < len(component):
        for c in component[i].cons or ():
            if id(c) in seen:
                continue
            seen.add(id(c))
            constraints.append(c)
            for w in free_vars(c):
                if id(w) not in members and w.cons:
                    members.add(id(w))
                    component.append(w)
        i += 1
    if len(component) > 1 and q is not None:
        order = _creation_order(q)
        constraints.sort(key=lambda c: order.get(id(c), len(order)))
    return constraints


def _creation_order(q: Query) -> dict:
    """Position of each constraint in the order it was attached (read off the trail)."""
    order: dict = {}
    for e in q.trail:
        if type(e) is not Var:
            for c in e[0].cons or ():
                if id(c) not in order:
                    order[id(c)] = len(order)
    return order


def substitute(t: Any, v: Var, this: Any) -> Any:
    t = deref(t)
    tt = type(t)
    if t is v:
        return this
    if tt is Var:
        return Variable(t.name)
    if tt is Expression:
        return Expression(t.operator, [substitute(a, v, this) for a in t.args])
    if tt is Pattern:
        return Pattern(t.tag, {k: substitute(x, v, this) for k, x in t.fields.items()})
    if tt is list:
        return [substitute(x, v, this) for x in t]
    if tt is dict:
        return {k: substitute(x, v, this) for k, x in t.items()}
    return t


def to_python_value(t: Any, accept_expression: bool) -> Any:
    t = deref(t)
    tt = type(t)
    if tt is list:
        return [to_python_value(x, accept_expression) for x in t]
    if tt is dict:
        return {k: to_python_value(t[k], accept_expression) for k in sorted(t)}
    if tt is Var:
        if t.cons:
            if not accept_expression:
                raise exc.UnexpectedPolarTypeError(exc.UNEXPECTED_EXPRESSION_MESSAGE)
            return constraint_expression(t)
        return Variable(t.name)
    if tt is RestList:
        return [to_python_value(x, accept_expression) for x in t.items]
    if tt is Expression:
        if not accept_expression:
            raise exc.UnexpectedPolarTypeError(exc.UNEXPECTED_EXPRESSION_MESSAGE)
        return Expression(t.operator, [to_python_value(a, True) for a in t.args])
    if tt is Predicate:
        return Predicate(t.name, [to_python_value(a, accept_expression) for a in t.args])
    return t


def check_unhandled_partials(q: Query, qvars: dict[str, Var]) -> None:
    """Constraints left on rule-local variables that no query variable can reach are an error."""
    if not q.constrained:
        return
    constrained = [e[0] for e in q.trail if type(e) is not Var]
    if not constrained:
        return
    reachable: set[int] = set()
    frontier = [deref(v) for v in qvars.values()]
    while frontier:
        t = frontier.pop()
        for v in free_vars(t):
            if id(v) in reachable:
                continue
            reachable.add(id(v))
            for c in v.cons or ():
                frontier.extend(free_vars(c))
    for v in constrained:
        v = deref(v)
        if type(v) is not Var or not v.cons or id(v) in reachable:
            continue
        expr = Expression("And", list(v.cons))
        raise runtime_error(UNHANDLED_PARTIAL.format(var=v.name, expr=render_term(expr)))
