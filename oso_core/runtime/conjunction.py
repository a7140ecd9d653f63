"""Compiled connectives: conjunctions of goals, `x in coll` with a fresh `x`, and negation.

A compiled goal is `(DET, fn)` with `fn(q, env) -> bool` for goals with at most one solution,
or `(GEN, fn)` with `fn(q, env)` a generator yielding once per solution (see compiler.py).

The commonest conjunction in real policies is a scan, `role in user.roles and role.name = name
and ...`: a fresh variable iterating a host list, then deterministic tests. It runs as one loop
here, without a generator per element; every value is read, and every test run, exactly as the
general form does it.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

from .errors import Fail, application_error
from .fused import GENERAL, unify_read
from .operations import member, undo
from .terms import UNBOUND, deref

DET, GEN = 0, 1


def to_gen(goal: tuple) -> Callable:
    kind, f = goal
    if kind == GEN:
        return f

    def once(q: Any, env: list) -> Any:
        mark = len(q.trail)
        if f(q, env):
            yield
        undo(q, mark)
    return once


def fresh_member(coll: Callable, slot: int, name: str, span: Any) -> Callable:
    """The goal `x in coll` for a first occurrence of `x` (stored in `slot`)."""
    def each_fresh(q: Any, env: list) -> Any:
        try:
            c = deref(coll(q, env))
        except Fail:
            return
        if type(c) is list:
            for x in c:
                env[slot] = x
                yield
            return
        v = env[slot] = q.new_var(name)
        yield from member(q, v, c, span)
    # Read by `chain`, which runs `x in coll and rest` as one loop.
    each_fresh.fresh_in = (coll, slot, name, span)  # type: ignore[attr-defined]
    return each_fresh


def chain(goals: list) -> tuple:
    """The conjunction of compiled goals: deterministic runs are plain loops, and only goals
    with several solutions become generators."""
    if not goals:
        return (DET, lambda q, env: True)
    split = next((i for i, (k, _) in enumerate(goals) if k == GEN), len(goals))
    prefix = [f for _, f in goals[:split]]
    if split == len(goals):
        return (DET, _all_of(prefix))
    first = goals[split][1]
    rest_kind, rest = chain(goals[split + 1:]) if split + 1 < len(goals) else (None, None)
    # The generators below each spell out the loop over the deterministic prefix: a shared
    # helper would cost a call per conjunction on the `is_allowed` path.

    if rest is None:
        if not prefix:
            return (GEN, first)

        def prefix_then_last(q: Any, env: list) -> Any:
            mark = len(q.trail)
            for f in prefix:
                if not f(q, env):
                    undo(q, mark)
                    return
            yield from first(q, env)
            undo(q, mark)
        return (GEN, prefix_then_last)

    scan = getattr(first, "fresh_in", None)
    if scan is not None:
        tail = goals[split + 1:]
        if len(tail) in (1, 2) and all(k == DET for k, _ in tail):
            return (GEN, _scan_tests(prefix, scan, [f for _, f in tail]))
        return (GEN, _scan(prefix, scan, rest_kind == DET, rest))

    if rest_kind == DET:
        def then_det(q: Any, env: list) -> Any:
            trail = q.trail
            mark = len(trail)
            for f in prefix:
                if not f(q, env):
                    undo(q, mark)
                    return
            c = env[0]
            for _ in first(q, env):
                m2 = len(trail)
                if rest(q, env):
                    yield
                undo(q, m2)
                if env[0] != c:
                    break
            undo(q, mark)
        return (GEN, then_det)

    def then_gen(q: Any, env: list) -> Any:
        mark = len(q.trail)
        for f in prefix:
            if not f(q, env):
                undo(q, mark)
                return
        c = env[0]
        for _ in first(q, env):
            yield from rest(q, env)
            if env[0] != c:
                break
        undo(q, mark)
    return (GEN, then_gen)


def _all_of(prefix: list) -> Callable:
    if len(prefix) == 1:
        return prefix[0]
    if len(prefix) == 2:
        f0, f1 = prefix

        def both(q: Any, env: list) -> bool:
            if f0(q, env) and f1(q, env):
                return True
            return False
        return both

    def all_of(q: Any, env: list) -> bool:
        for f in prefix:
            if not f(q, env):
                return False
        return True
    return all_of


def _scan(prefix: list, scan: tuple, rest_det: bool, rest: Callable) -> Callable:
    """`prefix and x in coll and rest` with a fresh `x`: a host list is iterated in place (the
    same element reads, tests and bindings as `fresh_member` followed by `rest`); any other
    collection goes through `member` as there."""
    coll, slot, name, span = scan

    def scan_then_det(q: Any, env: list) -> Any:
        trail = q.trail
        mark = len(trail)
        for f in prefix:
            if not f(q, env):
                undo(q, mark)
                return
        c = env[0]
        try:
            items: Optional[Any] = deref(coll(q, env))
        except Fail:
            undo(q, mark)
            return
        if type(items) is list:
            for x in items:
                env[slot] = x
                m2 = len(trail)
                if rest(q, env):
                    yield
                if len(trail) > m2:
                    undo(q, m2)
                if env[0] != c:
                    break
        else:
            v = env[slot] = q.new_var(name)
            for _ in member(q, v, items, span):
                m2 = len(trail)
                if rest(q, env):
                    yield
                undo(q, m2)
                if env[0] != c:
                    break
        undo(q, mark)

    def scan_then_gen(q: Any, env: list) -> Any:
        mark = len(q.trail)
        for f in prefix:
            if not f(q, env):
                undo(q, mark)
                return
        c = env[0]
        try:
            items: Optional[Any] = deref(coll(q, env))
        except Fail:
            undo(q, mark)
            return
        if type(items) is list:
            for x in items:
                env[slot] = x
                yield from rest(q, env)
                if env[0] != c:
                    break
        else:
            v = env[slot] = q.new_var(name)
            for _ in member(q, v, items, span):
                yield from rest(q, env)
                if env[0] != c:
                    break
        undo(q, mark)
    return scan_then_det if rest_det else scan_then_gen


def _scan_tests(prefix: list, scan: tuple, tests: list) -> Callable:
    """`_scan` whose rest is one or two deterministic tests (the role scan of `has_role`),
    called in the loop; a first test `x.f = y` on the element is written into it (its plain
    case, as fused.attr_is_slot does it)."""
    coll, slot, name, span = scan
    t0 = tests[0]
    t1 = tests[1] if len(tests) == 2 else None
    fused = getattr(t0, "fused", None)
    inline = fused is not None and fused[0] == slot
    attr, attr_span, rslot = fused[1:] if inline else (None, None, 0)

    def scan_tests(q: Any, env: list) -> Any:
        trail = q.trail
        mark = len(trail)
        for f in prefix:
            if not f(q, env):
                undo(q, mark)
                return
        c = env[0]
        try:
            items = deref(coll(q, env))
        except Fail:
            undo(q, mark)
            return
        if type(items) is not list:
            v = env[slot] = q.new_var(name)
            for _ in member(q, v, items, span):
                m2 = len(trail)
                if t0(q, env) and (t1 is None or t1(q, env)):
                    yield
                undo(q, m2)
                if env[0] != c:
                    break
            undo(q, mark)
            return
        # Each element starts from this trail length (a failed element is undone to it).
        m2 = len(trail)
        awaiter = q.awaiter
        for x in items:
            env[slot] = x
            if not inline:
                ok = t0(q, env)
            else:
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
                yield
            if len(trail) > m2:
                undo(q, m2)
            if env[0] != c:
                break
        undo(q, mark)
    return scan_tests


def make_negation(inner: Callable, resets: tuple) -> Callable:
    """`not G`: G runs to exhaustion in isolation; see Query.negate for partial variables."""
    def negation(q: Any, env: list) -> bool:
        c = env[0]
        try:
            return q.negate(inner, env)
        finally:
            env[0] = c
            for s in resets:
                env[s] = UNBOUND
    return negation
