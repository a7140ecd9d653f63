"""Rule bodies compiled for *existence*: does the body have a solution? (the `is_allowed` path).

`is_allowed` needs only the first solution of `allow`, and nothing runs after it is found. A
goal in the last position of a body run that way needs only its own first solution too, so it
can be a plain function returning a bool instead of a generator: a rule call there becomes a
nested function call (`CompiledPredicate.holds`), with no generator per call, no `yield from`
chain to pass the solution up through and no suspended frames. Only goals followed by other
goals keep their generators, because the goals after them may fail and ask for their next
solution.

The search is the generator form's, step for step: the same goals in the same order, the same
rules in the same order with the same selection, the same host reads and calls, the same cut,
errors and limits, and on success the same bindings and constraints in place (the caller reads
the trail for unhandled partials). Existence functions return True leaving their bindings, or
False with the trail as they found it. They are used only without a tracer (POLAR_LOG, explain
and the debugger run the generator form on an instrumented snapshot) and without tabling.
"""

from __future__ import annotations

from typing import Any, Callable

from ..frontend.syntax import CallTerm, Op
from .callargs import call_function
from .compiler import CallSite, _has_hoistable
from .conjunction import DET
from .errors import Fail, application_error
from .fused import GENERAL, unify_read
from .operations import member, undo
from .terms import UNBOUND, deref


def exists_goal(bc: Any, node: Any, top: bool = False) -> Callable:
    """`fn(q, env) -> bool`: whether `node` has a solution (bindings left on True).

    `top`: the whole body of a rule, whose caller (`holds`) undoes the trail after a failed
    body itself, so the body need not."""
    if type(node) is Op:
        if node.op == "And":
            return _conjunction(bc, node.args, top)
        if node.op == "Or":
            return _disjunction(bc, node)
    elif type(node) is CallTerm and not node.kwargs:
        return _call(bc, node)
    kind, f = bc.goal(node)
    if kind == DET:
        return f if top else _det(f)
    return _first(f)


def _det(f: Callable) -> Callable:
    def det(q: Any, env: list) -> bool:
        trail = q.trail
        mark = len(trail)
        if f(q, env):
            return True
        if len(trail) > mark:
            undo(q, mark)
        return False
    return det


def _first(g: Callable) -> Callable:
    def first(q: Any, env: list) -> bool:
        mark = len(q.trail)
        for _ in g(q, env):
            return True
        undo(q, mark)
        return False
    return first


def _call(bc: Any, node: CallTerm) -> Callable:
    """A rule call in last position: the arguments as `call_goal` evaluates them, then `holds`."""
    pred = bc.linker.predicate(node.name, len(node.args))
    level = bc.level + 1 + any(_has_hoistable(a) for a in node.args)
    site = CallSite(node, bc.rule_name, level, bc.isolated)
    return call_function(bc, node.args, pred.holds, site, _false)


def _false() -> bool:
    return False


def _disjunction(bc: Any, node: Op) -> Callable:
    bc.level += 1
    branches = [exists_goal(bc, b) for b in node.args]
    bc.level -= 1
    resets = bc.scope.resets.get(id(node), ())

    def alternatives(q: Any, env: list) -> bool:
        c = env[0]
        for branch in branches:
            for s in resets:
                env[s] = UNBOUND
            if branch(q, env):
                return True
            if env[0] != c:
                return False
        return False
    return alternatives


def _conjunction(bc: Any, nodes: list, top: bool = False) -> Callable:
    if not nodes:
        return lambda q, env: True
    bc.level += 1
    goals = [bc.goal(n) for n in nodes[:-1]]
    last_node = nodes[-1]
    if type(last_node) is CallTerm and not last_node.kwargs or type(last_node) is Op and last_node.op in ("And", "Or"):
        last = exists_goal(bc, last_node)
    else:
        kind, f = bc.goal(last_node)
        goals.append((kind, f))
        last = None if kind == DET else _first(f)
        if last is not None:
            goals.pop()
    bc.level -= 1
    if top and all(k == DET for k, _ in goals):
        if last is None:
            return _all_of(goals)
        if not goals:
            return last
        if len(goals) == 1:   # `e.manager != nil and manages(m, e.manager)`
            f0 = goals[0][1]
            return lambda q, env: f0(q, env) and last(q, env)
    return _sequence(goals, last)


def _sequence(goals: list, last: Any) -> Callable:
    """`goals and last`: deterministic goals in a loop; from the first generator on, each of
    its solutions tries the rest. `last` is an existence function or None."""
    split = next((i for i, (k, _) in enumerate(goals) if k != DET), len(goals))
    prefix = [f for _, f in goals[:split]]
    if split == len(goals):
        return _all_then(prefix, last)
    gen = goals[split][1]
    rest = _sequence(goals[split + 1:], last)
    scan = getattr(gen, "fresh_in", None)
    if scan is not None:
        tail = goals[split + 1:]
        if last is None and len(tail) in (1, 2) and all(k == DET for k, _ in tail):
            return _scan_tests(prefix, scan, [f for _, f in tail])
        return _scan(prefix, scan, rest)

    def then(q: Any, env: list) -> bool:
        trail = q.trail
        mark = len(trail)
        for f in prefix:
            if not f(q, env):
                if len(trail) > mark:
                    undo(q, mark)
                return False
        c = env[0]
        for _ in gen(q, env):
            if rest(q, env):
                return True
            if env[0] != c:
                break
        undo(q, mark)
        return False
    return then


def _all_of(goals: list) -> Callable:
    """Deterministic goals only, as a rule's whole body (no undo: `holds` does it)."""
    fns = [f for _, f in goals]
    if len(fns) == 1:
        return fns[0]
    if len(fns) == 2:
        f0, f1 = fns
        return lambda q, env: f0(q, env) and f1(q, env)

    def all_of(q: Any, env: list) -> bool:
        for f in fns:
            if not f(q, env):
                return False
        return True
    return all_of


def _all_then(prefix: list, last: Any) -> Callable:
    if last is None and len(prefix) == 1:
        return _det(prefix[0])
    if last is None and len(prefix) == 2:
        f0, f1 = prefix

        def both(q: Any, env: list) -> bool:
            trail = q.trail
            mark = len(trail)
            if f0(q, env) and f1(q, env):
                return True
            if len(trail) > mark:
                undo(q, mark)
            return False
        return both
    if last is not None and len(prefix) == 1:
        f0 = prefix[0]

        def one_then(q: Any, env: list) -> bool:
            trail = q.trail
            mark = len(trail)
            if f0(q, env) and last(q, env):
                return True
            if len(trail) > mark:
                undo(q, mark)
            return False
        return one_then
    if last is not None and not prefix:
        return last

    def all_then(q: Any, env: list) -> bool:
        trail = q.trail
        mark = len(trail)
        for f in prefix:
            if not f(q, env):
                if len(trail) > mark:
                    undo(q, mark)
                return False
        if last is None or last(q, env):
            return True
        if len(trail) > mark:
            undo(q, mark)
        return False
    return all_then


def _scan(prefix: list, scan: tuple, rest: Callable) -> Callable:
    """`prefix and x in coll and rest` with a fresh `x` (see conjunction.fresh_member)."""
    coll, slot, name, span = scan

    def scan_exists(q: Any, env: list) -> bool:
        trail = q.trail
        mark = len(trail)
        for f in prefix:
            if not f(q, env):
                if len(trail) > mark:
                    undo(q, mark)
                return False
        c = env[0]
        try:
            items = deref(coll(q, env))
        except Fail:
            undo(q, mark)
            return False
        if type(items) is list:
            for x in items:
                env[slot] = x
                if rest(q, env):
                    return True
                if env[0] != c:
                    break
        else:
            v = env[slot] = q.new_var(name)
            for _ in member(q, v, items, span):
                if rest(q, env):
                    return True
                if env[0] != c:
                    break
        undo(q, mark)
        return False
    return scan_exists



def _scan_tests(prefix: list, scan: tuple, tests: list) -> Callable:
    """`prefix and x in coll and t1 [and t2]` with deterministic tests: `_scan` with the tests
    called in the loop (the role scan of `has_role`)."""
    coll, slot, name, span = scan
    t0 = tests[0]
    t1 = tests[1] if len(tests) == 2 else None
    fused = getattr(t0, "fused", None)
    if fused is not None and fused[0] == slot:
        return _scan_attribute(prefix, scan, t0, fused, t1)

    def scan_tests(q: Any, env: list) -> bool:
        trail = q.trail
        mark = len(trail)
        for f in prefix:
            if not f(q, env):
                if len(trail) > mark:
                    undo(q, mark)
                return False
        c = env[0]
        try:
            items = deref(coll(q, env))
        except Fail:
            undo(q, mark)
            return False
        if type(items) is list:
            for x in items:
                env[slot] = x
                m2 = len(trail)
                if t0(q, env) and (t1 is None or t1(q, env)):
                    return True
                if len(trail) > m2:
                    undo(q, m2)
                if env[0] != c:   # a test was `cut`
                    break
        else:
            v = env[slot] = q.new_var(name)
            for _ in member(q, v, items, span):
                m2 = len(trail)
                if t0(q, env) and (t1 is None or t1(q, env)):
                    return True
                if len(trail) > m2:
                    undo(q, m2)
                if env[0] != c:   # a test was `cut`
                    break
        undo(q, mark)
        return False
    return scan_tests


def _scan_attribute(prefix: list, scan: tuple, t0: Callable, fused: tuple, t1: Any) -> Callable:
    """`_scan_tests` whose first test is `x.f = y` on the scanned element (`role.name = name`):
    that test's plain case (fused.attr_is_slot) is written into the loop."""
    coll, slot, name, span = scan
    _, attr, attr_span, rslot = fused

    def scan_attribute(q: Any, env: list) -> bool:
        trail = q.trail
        mark = len(trail)
        for f in prefix:
            if not f(q, env):
                if len(trail) > mark:
                    undo(q, mark)
                return False
        c = env[0]
        try:
            items = deref(coll(q, env))
        except Fail:
            undo(q, mark)
            return False
        if type(items) is not list:
            v = env[slot] = q.new_var(name)
            for _ in member(q, v, items, span):
                m2 = len(trail)
                if t0(q, env) and (t1 is None or t1(q, env)):
                    return True
                if len(trail) > m2:
                    undo(q, m2)
                if env[0] != c:
                    break
            undo(q, mark)
            return False
        # Each element starts from this trail length (a failed element is undone to it).
        m2 = len(trail)
        awaiter = q.awaiter
        for x in items:
            env[slot] = x
            r = env[rslot]
            if r is UNBOUND or type(x) in GENERAL:
                ok = t0(q, env)
            else:
                try:
                    v = getattr(x, attr)
                    if awaiter is not None:  # an async query: await an awaitable value
                        v = awaiter(v)
                except AttributeError as e:
                    raise application_error(str(e), attr_span) from None
                if type(v) is str and type(r) is str:
                    if v != r:
                        continue   # nothing bound, no cut: the next element
                    ok = True
                else:
                    ok = unify_read(q, v, r)
            if ok and (t1 is None or t1(q, env)):
                return True
            if len(trail) > m2:
                undo(q, m2)
            if env[0] != c:
                break
        undo(q, mark)
        return False
    return scan_attribute
