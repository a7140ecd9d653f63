"""Compile rule and query ASTs into closures the solver runs.

A compiled value is `(CONST, value)`, `(SLOT, index)` or `(FUNC, fn)` with `fn(q, env) -> term`,
so goals can specialise on constants and plain variables. A compiled goal is `(DET, fn)` with
`fn(q, env) -> bool` for goals with at most one solution, or `(GEN, fn)` with `fn(q, env)` a
generator yielding once per solution. Bindings are undone by the code that made them: a goal
leaves the trail as it found it when it fails or finishes.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Callable, Iterator, Optional

import oso_core.exceptions as exc
from ..expression import Expression, Pattern
from ..frontend.source import Span
from ..frontend.syntax import CallTerm, DictTerm, ListTerm, Op, PatternTerm, Sym, Value
from .errors import Fail, application_error, runtime_error, type_error, unsupported, where
from .operations import (
    add_constraint, arithmetic, bind, compare, construct, lookup, matches, member, to_polar, undo, unify,
)
from .terms import PRIMITIVES, SPECIAL
from .scope import Scope
from .terms import UNBOUND, RestList, Var, deref, render_term
from .callargs import call_function
from .fused import fuse_attributes, fuse_compare, fuse_unify
from .conjunction import DET, GEN, chain, fresh_member, make_negation, to_gen

CONST, SLOT, FUNC = 0, 1, 2
# Types an attribute read must hand to the general `lookup` (everything else is a host object).
_NOT_PLAIN_HOST = frozenset(PRIMITIVES | SPECIAL)

_ARITH_OPS = ("Add", "Sub", "Mul", "Div", "Mod", "Rem")
_COMPARISONS = ("Eq", "Neq", "Lt", "Leq", "Gt", "Geq")


def _det_test(test: Callable, left: Callable, right: Callable) -> tuple:
    """A deterministic goal `test(q, left value, right value)` that fails where a value fails."""
    def goal(q: Any, env: list) -> bool:
        try:
            return test(q, left(q, env), right(q, env))
        except Fail:
            return False
    return (DET, goal)


def _slot_reader(i: int, name: str) -> Callable:
    def read(q: Any, env: list) -> Any:
        t = env[i]
        if t is UNBOUND:
            t = env[i] = q.new_var(name)
        return t
    return read


class BodyCompiler:
    """Compiles the goals and values of one rule (or query) over its Scope."""

    def __init__(self, scope: Scope, linker: Any, rule_name: Optional[str]) -> None:
        self.scope = scope
        self.linker = linker          # resolves predicates: linker.predicate(name, arity)
        self.rule_name = rule_name    # None for a query
        # Tracing: legacy indents a rule call by its depth in legacy's query stack, which grows
        # with every enclosing connective; it is static, so it is counted here (see CallSite).
        self.level = 0
        self.isolated = False
        # An instrumented snapshot (explain, step debugging) reports goals and lookups to
        # `q.tracer`; ordinary snapshots compile no hooks at all.
        self.instrumented = getattr(linker, "instrumented", False)

    # Values --------------------------------------------------------------------------------

    def value(self, node: Any) -> tuple:
        if isinstance(node, Value):
            return (CONST, node.value)
        if isinstance(node, Sym):
            if node.name != "_" and node.name in self.scope.constants:
                return (CONST, self.scope.constants[node.name])
            slot = self.scope.anonymous_slot() if node.name == "_" else self.scope.slots[node.name]
            return (SLOT, slot)
        if isinstance(node, ListTerm):
            items = [self.value(i) for i in node.items]
            rest = self.value(node.rest) if node.rest is not None else None
            if rest is None and all(k == CONST for k, _ in items):
                return (CONST, [v for _, v in items])
            fns = [self.fn(i) for i in items]
            if rest is None:
                return (FUNC, lambda q, env: [f(q, env) for f in fns])
            rest_fn = self.fn(rest)
            return (FUNC, lambda q, env: RestList([f(q, env) for f in fns], rest_fn(q, env)))
        if isinstance(node, DictTerm):
            fields = {k: self.value(v) for k, v in node.fields.items()}
            if all(k == CONST for k, _ in fields.values()):
                return (CONST, {k: v for k, (_, v) in fields.items()})
            fns = {k: self.fn(v) for k, v in fields.items()}
            return (FUNC, lambda q, env: {k: f(q, env) for k, f in fns.items()})
        if isinstance(node, PatternTerm):
            return self.pattern(node)
        if isinstance(node, Op):
            return (FUNC, self.op_value(node))
        if isinstance(node, CallTerm):
            # Only reachable through operator-call forms; a call is not a value.
            raise runtime_error(f"Invalid state: a rule call cannot be a value: {node}", node.span,
                                exc.OperationalError)
        raise runtime_error(f"Invalid state: unexpected term {node!r}", None, exc.OperationalError)

    def fn(self, compiled: tuple) -> Callable:
        kind, x = compiled
        if kind == CONST:
            return lambda q, env: x
        if kind == SLOT:
            return _slot_reader(x, self.scope.names[x])
        return x

    def pattern(self, node: PatternTerm) -> tuple:
        fields = {k: self.pattern_field(v) for k, v in node.fields.items()}
        if all(k == CONST for k, _ in fields.values()):
            return (CONST, Pattern(node.tag, {k: v for k, (_, v) in fields.items()}))
        fns = {k: self.fn(v) for k, v in fields.items()}
        tag = node.tag
        return (FUNC, lambda q, env: Pattern(tag, {k: f(q, env) for k, f in fns.items()}))

    def pattern_field(self, node: Any) -> tuple:
        if isinstance(node, PatternTerm):
            return self.pattern(node)
        if isinstance(node, ListTerm):
            return self.value(node)
        return self.value(node)

    def spec_pattern(self, node: Any) -> tuple:
        """A specializer or `matches` right side: patterns, or plain terms (unified)."""
        if isinstance(node, PatternTerm):
            return self.pattern(node)
        if isinstance(node, ListTerm) and node.rest is None and any(isinstance(i, PatternTerm) for i in node.items):
            items = [self.spec_pattern(i) for i in node.items]
            fns = [self.fn(i) for i in items]
            return (FUNC, lambda q, env: [f(q, env) for f in fns])
        return self.value(node)

    def op_value(self, node: Op) -> Callable:
        op = node.op
        span = node.span
        if op == "Dot":
            return self.dot_value(node)
        if op in _ARITH_OPS:
            left = self.fn(self.value(node.args[0]))
            right = self.fn(self.value(node.args[1]))

            def arith(q: Any, env: list) -> Any:
                return arithmetic(q, op, left(q, env), right(q, env), span)
            return arith
        if op == "New":
            call = node.args[0]
            args = [self.fn(self.value(a)) for a in call.args]
            kwargs = {k: self.fn(self.value(v)) for k, v in (call.kwargs or {}).items()} or None
            name = call.name

            def new(q: Any, env: list) -> Any:
                return construct(q, name, [a(q, env) for a in args],
                                 {k: f(q, env) for k, f in kwargs.items()} if kwargs else None, span)
            return new
        # A logical operator in value position: the parser rejects these; keep a clear error.
        raise runtime_error(f"Invalid state: {node} is not a value", span, exc.OperationalError)

    def dot_value(self, node: Op) -> Callable:
        get = self._dot_value(node)
        if self.instrumented:
            from .tracing import observed_lookup
            return observed_lookup(get, node)
        return get

    def _dot_value(self, node: Op) -> Callable:
        base = self.fn(self.value(node.args[0]))
        field = node.args[1]
        span = node.span
        if isinstance(field, CallTerm):
            name = field.name
            args = [self.fn(self.value(a)) for a in field.args]
            kwargs = {k: self.fn(self.value(v)) for k, v in (field.kwargs or {}).items()} or None

            def call(q: Any, env: list) -> Any:
                return lookup(q, base(q, env), name, [a(q, env) for a in args],
                              {k: f(q, env) for k, f in kwargs.items()} if kwargs else None, span)
            return call
        if isinstance(field, Value) and any(field.value in rels for rels in self.linker.relation_fields.values()):
            name = field.value

            def relation_attr(q: Any, env: list) -> Any:
                # Possibly a declared Relation field: `lookup` reads those through the adapter.
                return lookup(q, base(q, env), name, None, None, span)
            return relation_attr
        if isinstance(field, Value):
            name = field.value

            def attr(q: Any, env: list) -> Any:
                obj = base(q, env)
                t = type(obj)
                if t is dict:
                    try:
                        return obj[name]
                    except KeyError:
                        raise Fail from None
                if t in _NOT_PLAIN_HOST:
                    return lookup(q, obj, name, None, None, span)
                # A plain host object: read the attribute (the hot path of most policies).
                try:
                    v = getattr(obj, name)
                    if q.awaiter is not None:  # an async query: await an awaitable value
                        v = q.awaiter(v)
                except AttributeError as e:
                    raise application_error(str(e), span) from None
                tv = type(v)
                if tv is dict or tv is int:
                    return to_polar(v)
                return v
            return attr
        key = self.fn(self.value(field))

        def keyed(q: Any, env: list) -> Any:
            k = deref(key(q, env))
            if type(k) is Var:
                raise Fail  # enumeration of keys is handled by the Dot-with-variable goal
            return lookup(q, base(q, env), k, None, None, span)
        return keyed

    # Goals ---------------------------------------------------------------------------------

    def goal(self, node: Any) -> tuple:
        compiled = self._goal(node)
        if self.instrumented and not (type(node) is Op and node.op == "And"):
            from .tracing import observed_goal
            return (GEN, observed_goal(to_gen(compiled), node, self.scope, self.level, self.isolated))
        return compiled

    def _goal(self, node: Any) -> tuple:
        if isinstance(node, Op):
            if node.op not in _CONNECTIVES:
                keyed = _keyed_dots(node, self.scope)
                if keyed:
                    return self.enumerating(keyed, self.op_goal(node))
            return self.op_goal(node)
        if isinstance(node, CallTerm):
            return self.call_goal(node)
        if isinstance(node, Value):
            v = node.value
            span = node.span
            if v is True:
                return (DET, lambda q, env: True)
            if v is False:
                return (DET, lambda q, env: False)

            def not_condition(q: Any, env: list) -> bool:
                raise type_error(f"{render_term(v)} isn't something that is true or false so can't be a condition", span)
            return (DET, not_condition)
        if isinstance(node, Sym):
            return (DET, self.truthy_goal(self.fn(self.value(node)), node.span))
        return (DET, self.truthy_goal(self.fn(self.value(node)), getattr(node, "span", None)))

    def truthy_goal(self, get: Callable, span: Optional[Span]) -> Callable:
        """A value used as a goal: true succeeds, false fails, unbound becomes true, else an error."""
        def truthy(q: Any, env: list) -> bool:
            try:
                v = deref(get(q, env))
            except Fail:
                return False
            if v is True:
                return True
            if v is False:
                return False
            tv = type(v)
            if tv is Var:
                return bind(q, v, True)
            if tv is Expression:
                add_constraint(q, Expression("Unify", [True, v]))
                return True
            raise type_error(f"{render_term(v)} isn't something that is true or false so can't be a condition", span)
        return truthy

    def op_goal(self, node: Op) -> tuple:
        op = node.op
        args = node.args
        span = node.span
        if op == "And":
            return self.conjunction(args)
        if op == "Or":
            return self.disjunction(node)
        if op == "Not":
            return self.negation(node)
        if op == "ForAll":
            return self.forall(node)
        if op == "Unify":
            return self.unify_goal(args[0], args[1], span)
        if op == "Assign":
            return self.assign_goal(args[0], args[1], span)
        if op in _COMPARISONS:
            left = self.fn(self.value(args[0]))
            right_value = self.value(args[1])
            right = self.fn(right_value)

            def cmp(q: Any, env: list) -> bool:
                try:
                    return compare(q, op, left(q, env), right(q, env), span)
                except Fail:
                    return False
            return (DET, fuse_compare(self, op, args[0], right_value, cmp))
        if op == "In":
            return self.in_goal(args[0], args[1], span)
        if op == "Isa":
            return _det_test(matches, self.fn(self.value(args[0])),
                             self.fn(self.spec_pattern(args[1])))
        if op == "Cut":
            def cut(q: Any, env: list) -> bool:
                if q.partial:
                    raise unsupported("cannot use cut with partial evaluation", span)
                env[0] += 1
                return True
            return (DET, cut)
        if op == "Print":
            fns = [self.fn(self.value(a)) for a in args]

            def do_print(q: Any, env: list) -> bool:
                q.emit(", ".join(q.render(f(q, env)) for f in fns))
                return True
            return (DET, do_print)
        if op == "Debug":
            fns = [self.fn(self.value(a)) for a in args]
            names = self.scope.names

            def do_debug(q: Any, env: list) -> bool:
                q.debug([f(q, env) for f in fns], span, env, names)
                return True
            return (DET, do_debug)
        if op == "Dot":
            if len(args) == 3:  # `.(obj, field, result)`
                return _det_test(unify, self.dot_value(Op("Dot", args[:2], span)),
                                 self.fn(self.value(args[2])))
            return (DET, self.truthy_goal(self.dot_value(node), span))
        if op == "New":
            get = self.op_value(node)
            if len(args) == 2:
                result = self.fn(self.value(args[1]))
                return (DET, lambda q, env: unify(q, get(q, env), result(q, env)))
            return (DET, self.truthy_goal(get, span))
        if op in _ARITH_OPS:
            if len(args) == 3:
                get = self.op_value(Op(op, args[:2], span))
                result = self.fn(self.value(args[2]))
                return (DET, lambda q, env: unify(q, get(q, env), result(q, env)))
            return (DET, self.truthy_goal(self.op_value(node), span))
        raise runtime_error(f"Invalid state: unknown operator {op}", span, exc.OperationalError)

    def unify_goal(self, left_node: Any, right_node: Any, span: Optional[Span]) -> tuple:
        # `x = expr` with a fresh x: store the value, no variable needed (see scope.py).
        for var_node, other in ((left_node, right_node), (right_node, left_node)):
            if self.scope.is_first(var_node) and var_node.name != "_":
                slot = self.scope.slots[var_node.name]
                get = self.fn(self.value(other))

                def assign_fresh(q: Any, env: list) -> bool:
                    try:
                        env[slot] = deref(get(q, env))
                    except Fail:
                        return False
                    return True
                return (DET, assign_fresh)
        left = self.value(left_node)
        right = self.value(right_node)
        lf = self.fn(left)
        if right[0] == CONST:
            const = right[1]

            def unify_const(q: Any, env: list) -> bool:
                try:
                    return unify(q, lf(q, env), const)
                except Fail:
                    return False
            return fuse_unify(self, left_node, right, (DET, unify_const))
        if right[0] == SLOT:
            slot = right[1]
            read_slot = self.fn(right)

            def unify_with_slot(q: Any, env: list) -> bool:
                r = env[slot]
                if r is UNBOUND:
                    r = read_slot(q, env)
                try:
                    return unify(q, lf(q, env), r)
                except Fail:
                    return False
            return fuse_unify(self, left_node, right, (DET, unify_with_slot))
        return fuse_attributes(self, left_node, right_node, _det_test(unify, lf, self.fn(right)))

    def assign_goal(self, var_node: Any, value_node: Any, span: Optional[Span]) -> tuple:
        var = self.fn(self.value(var_node))
        get = self.fn(self.value(value_node))
        name = str(var_node)

        def assign(q: Any, env: list) -> bool:
            v = deref(var(q, env))
            if type(v) is not Var or v.cons or v.aliased:
                raise type_error(f"Can only assign to unbound variables, {name} is not unbound.", span)
            try:
                return unify(q, v, get(q, env))
            except Fail:
                return False
        return (DET, assign)

    def in_goal(self, item_node: Any, coll_node: Any, span: Optional[Span]) -> tuple:
        coll = self.fn(self.value(coll_node))
        if self.scope.is_first(item_node) and item_node.name != "_":
            return (GEN, fresh_member(coll, self.scope.slots[item_node.name], item_node.name, span))
        item = self.fn(self.value(item_node))

        def each(q: Any, env: list) -> Any:
            try:
                i = item(q, env)
                c = coll(q, env)
            except Fail:
                return
            yield from member(q, i, c, span)
        return (GEN, each)

    def enumerating(self, dots: list, goal: tuple) -> tuple:
        """A goal containing `d.(k)` with k unbound: bind k to each key of d, then run it."""
        inner = to_gen(goal)
        for dot in reversed(dots):
            inner = self._enumerate_keys(dot, inner)
        return (GEN, inner)

    def _enumerate_keys(self, dot: Op, inner: Callable) -> Callable:
        base = self.fn(self.value(dot.args[0]))
        key = self.fn(self.value(dot.args[1]))
        key_node = dot.args[1]

        def each_key(q: Any, env: list) -> Any:
            k = deref(key(q, env))
            if type(k) is not Var:
                yield from inner(q, env)
                return
            obj = deref(base(q, env))
            if type(obj) is not dict:
                raise type_error(f'cannot look up field Variable(Symbol("{key_node}")) on an external instance',
                                 key_node.span)
            for name in sorted(obj):
                mark = len(q.trail)
                if bind(q, k, name):
                    yield from inner(q, env)
                undo(q, mark)
        return each_key

    def call_goal(self, node: CallTerm) -> tuple:
        span = node.span
        if node.kwargs:
            text = str(node)

            def kwargs_call(q: Any, env: list) -> bool:
                raise runtime_error(f"Invalid state: query_for_predicate: unexpected kwargs: {text}", span,
                                    exc.OperationalError)
            return (DET, kwargs_call)
        pred = self.linker.predicate(node.name, len(node.args))
        # Legacy wraps a call whose arguments it rewrites (lookups, arithmetic, `new`) in an `and`.
        level = self.level + 1 + any(_has_hoistable(a) for a in node.args)
        site = CallSite(node, self.rule_name, level, self.isolated)
        # `solve` runs `_solve` when the query has no tracer and no tabling: called directly.
        untraced = None if pred.undefined else pred._solve
        return (GEN, call_function(self, node.args, pred.solve, site, _no_solutions, untraced))

    # Connectives -----------------------------------------------------------------------------

    def conjunction(self, nodes: list) -> tuple:
        self.level += 1
        goals = [self.goal(n) for n in nodes]
        self.level -= 1
        return chain(goals)

    def disjunction(self, node: Op) -> tuple:
        self.level += 1
        branches = [to_gen(self.goal(b)) for b in node.args]
        self.level -= 1
        resets = self.scope.resets.get(id(node), ())

        def alternatives(q: Any, env: list) -> Any:
            c = env[0]
            for branch in branches:
                for s in resets:
                    env[s] = UNBOUND
                yield from branch(q, env)
                if env[0] != c:
                    return
        return (GEN, alternatives)

    def negation(self, node: Op) -> tuple:
        # Legacy runs a negated goal in a fresh inner query, whose trace restarts at depth 1.
        with self._isolated(0):
            inner = to_gen(self.goal(node.args[0]))
        resets = self.scope.resets.get(id(node), ())
        return (DET, make_negation(inner, resets))

    def forall(self, node: Op) -> tuple:
        # Traced like legacy's `not (C and not A)`: C inside an inner query's `and`, A in another.
        with self._isolated(1):
            cond = to_gen(self.goal(node.args[0]))
        with self._isolated(0):
            action = to_gen(self.goal(node.args[1]))
        resets = self.scope.resets.get(id(node), ())
        # forall(C, A) is `not (C and not A)`.
        not_action = make_negation(action, ())
        body = to_gen(chain([(GEN, cond), (DET, not_action)]))
        return (DET, make_negation(body, resets))


    @contextmanager
    def _isolated(self, level: int) -> Iterator[None]:
        saved = self.level, self.isolated
        self.level, self.isolated = level, True
        try:
            yield
        finally:
            self.level, self.isolated = saved


_CONNECTIVES = ("And", "Or", "Not", "ForAll")


def _no_solutions() -> Iterator[None]:
    return iter(())


def _has_hoistable(node: Any) -> bool:
    """Does a value term contain a lookup, arithmetic or `new` (which legacy lifts out)?"""
    if isinstance(node, Op):
        if node.op in _ARITH_OPS or node.op == "New" or node.op == "Dot" and len(node.args) == 2:
            return True
        return any(_has_hoistable(a) for a in node.args)
    if isinstance(node, ListTerm):
        return any(_has_hoistable(i) for i in node.items)
    if isinstance(node, (DictTerm, PatternTerm)):
        return any(_has_hoistable(v) for v in node.fields.values())
    if isinstance(node, CallTerm):
        return any(_has_hoistable(a) for a in node.args)
    return False


def _keyed_dots(node: Any, scope: Scope) -> list:
    """`a.(k)` lookups with a variable key inside a value term, innermost last."""
    if not isinstance(node, Op):
        if isinstance(node, (ListTerm,)):
            return [d for i in node.items for d in _keyed_dots(i, scope)]
        if isinstance(node, DictTerm):
            return [d for v in node.fields.values() for d in _keyed_dots(v, scope)]
        if isinstance(node, CallTerm):
            return [d for a in node.args for d in _keyed_dots(a, scope)]
        return []
    if node.op in _CONNECTIVES:
        return []
    found = [d for a in node.args for d in _keyed_dots(a, scope)]
    if node.op == "Dot" and len(node.args) == 2 and isinstance(node.args[1], Sym) and scope.is_variable(node.args[1]):
        found.append(node)
    return found


class CallSite:
    """Where a rule call is written: for stack traces, tracing and the debugger.

    `level` is the call's trace depth relative to its caller's (or, when `isolated`, to the
    inner query legacy runs a `not`/`forall` in).
    """

    __slots__ = ("text", "where", "span", "level", "isolated")

    def __init__(self, node: Any, rule_name: Optional[str], level: int = 1, isolated: bool = False) -> None:
        self.text = str(node)
        self.span = node.span
        self.where = where(node.span, rule_name)
        self.level = level
        self.isolated = isolated
