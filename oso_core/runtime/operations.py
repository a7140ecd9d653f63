"""The meaning of Polar's operators on runtime terms: unification, comparison, arithmetic,
lookups, iteration, `matches`, and deferred constraints on unbound variables.

All functions take the query state `q` (trail, host, unions) first. Bindings go through
`bind`, which records them on the trail and re-checks constraints of the bound variable.
"""

from __future__ import annotations

import math
import operator as _op
from typing import Any, Iterable, Iterator, Optional

import oso_core.exceptions as exc
from ..expression import Expression, Pattern
from ..predicate import Predicate
from .errors import Fail, application_error, runtime_error, type_error, unsupported
from .fact_lookup import fact_holds
from .host_interface import RelationFetchError
from .terms import PRIMITIVES, SPECIAL, UNBOUND, RestList, Var, deref, render_term, rust_debug

I64_MIN = -(2 ** 63)
I64_MAX = 2 ** 63 - 1
_NUMBER = (int, float)


# Variables and the trail ----------------------------------------------------------------------

def bind(q: Any, v: Var, value: Any) -> bool:
    """Bind unbound `v` to `value` (a dereferenced term), re-checking v's constraints."""
    v.ref = value
    q.trail.append(v)
    cons = v.cons
    if type(value) is Var:
        v.aliased = value.aliased = True
        if cons:
            add_var_constraints(q, value, cons)
        return True
    if cons:
        for c in cons:
            if not recheck(q, c):
                return False
    return True


def add_var_constraints(q: Any, v: Var, cons: tuple) -> None:
    q.constrained = True
    old = v.cons
    q.trail.append((v, old))
    v.cons = cons if not old else old + tuple(c for c in cons if c not in old)


def add_constraint(q: Any, expr: Expression) -> None:
    """Attach a constraint to every unbound variable it mentions."""
    for v in free_vars(expr):
        add_var_constraints(q, v, (expr,))


def free_vars(t: Any, out: Optional[list] = None) -> list:
    """The unbound variables in `t`, each once, in order of first appearance."""
    if out is None:
        out = []
    # An explicit stack instead of recursion: this runs for every constraint partial
    # evaluation records, and most terms are a variable, a constant or a short dot path.
    stack = [t]
    pop = stack.pop
    while stack:
        t = pop()
        tt = type(t)
        while tt is Var:
            r = t.ref
            if r is UNBOUND:
                break
            t = r
            tt = type(t)
        if tt is Var:
            for v in out:
                if v is t:
                    break
            else:
                out.append(t)
        elif tt is Expression or tt is Predicate:
            stack.extend(reversed(t.args))
        elif tt is str or tt is int or tt is bool or tt is float:
            continue
        elif tt is list:
            stack.extend(reversed(t))
        elif tt is dict:
            stack.extend(reversed(list(t.values())))
        elif tt is RestList:
            stack.append(t.rest)
            stack.extend(reversed(t.items))
        elif tt is Pattern:
            stack.extend(reversed(list(t.fields.values())))
    return out


def note_origin(q: Any, expr: Expression, span: Any) -> Expression:
    """Remember where a constraint on a partial was written (data-filtering errors cite it)."""
    origins = q.origins
    if origins is not None and span is not None:
        origins[id(expr)] = (expr, span)
    return expr


def is_partial_term(t: Any) -> bool:
    tt = type(t)
    return tt is Var or tt is Expression


def recheck(q: Any, c: Expression) -> bool:
    """Re-evaluate a deferred constraint now that one of its variables got a value."""
    op = c.operator
    args = c.args
    if op == "Unify":
        return unify(q, resolve(q, args[0]), resolve(q, args[1]))
    if op in _COMPARE:
        return compare(q, op, resolve(q, args[0]), resolve(q, args[1]), None)
    if op == "Isa":
        return matches(q, resolve(q, args[0]), args[1])
    if op == "In":
        coll = resolve(q, args[1])
        if is_partial_term(coll):
            add_constraint(q, Expression("In", [args[0], coll]))
            return True
        mark = len(q.trail)
        for _ in member(q, resolve(q, args[0]), coll, None):
            return True  # keep the first match's bindings
        undo(q, mark)
        return False
    if op in _ARITH:
        a, b = resolve(q, args[0]), resolve(q, args[1])
        if is_partial_term(deref(a)) or is_partial_term(deref(b)):
            return True   # still unknown operands: the constraint stays on them
        value = arithmetic(q, op, a, b, None)
        return unify(q, value, args[2])
    if op == "Fact":
        return fact_holds(q, c)
    if op == "InSet" and q.tabling is not None:
        return q.tabling.holds(q, c)
    if op == "Not":
        mark = len(q.trail)
        ok = recheck(q, args[0])
        undo(q, mark)
        return not ok
    if op == "And":
        return all(recheck(q, a) for a in args)
    if op == "Or":
        for a in args:
            mark = len(q.trail)
            if recheck(q, a):
                return True
            undo(q, mark)
        return False
    raise runtime_error(f"Invalid state: cannot re-check constraint {render_term(c)}", None, exc.OperationalError)


def resolve(q: Any, t: Any) -> Any:
    """Dereference, evaluating constraint paths (`x.a`) whose base has become bound."""
    t = deref(t)
    if type(t) is Expression and t.operator == "Dot" and len(t.args) == 2:
        base = resolve(q, t.args[0])
        if is_partial_term(base):
            return t if base is t.args[0] else Expression("Dot", [base, t.args[1]])
        try:
            return lookup(q, base, t.args[1], None, None, None)
        except Fail:
            return _NoValue
    return t


class _NoValueType:
    """A lookup that found nothing inside a re-checked constraint: unifies with nothing."""

    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        return False

    __hash__ = object.__hash__


_NoValue = _NoValueType()


def undo(q: Any, mark: int) -> None:
    trail = q.trail
    while len(trail) > mark:
        e = trail.pop()
        if type(e) is Var:
            e.ref = UNBOUND
        else:
            e[0].cons = e[1]


# Unification ----------------------------------------------------------------------------------

def unify(q: Any, a: Any, b: Any) -> bool:
    if a is b and type(a) is Var:
        return True  # the same variable (so `x = nan and x = x` holds, but `nan = nan` does not)
    while type(a) is Var:
        r = a.ref
        if r is UNBOUND:
            break
        a = r
    while type(b) is Var:
        r = b.ref
        if r is UNBOUND:
            break
        b = r
    ta = type(a)
    tb = type(b)
    if a is b and ta is not float:
        return True
    if ta is Var:
        return bind(q, a, b)
    if tb is Var:
        return bind(q, b, a)
    if ta is str and tb is str:
        return a == b
    return _unify_slow(q, a, b, ta, tb)


def _unify_slow(q: Any, a: Any, b: Any, ta: type, tb: type) -> bool:
    if ta is Expression or tb is Expression:
        # Legacy order: the value first, the path (`_this.f`) second.
        add_constraint(q, Expression("Unify", [b, a] if tb is not Expression else [a, b]))
        return True
    if ta is Pattern or tb is Pattern:
        raise type_error("cannot unify patterns directly", None)
    a_host = ta not in PRIMITIVES and ta not in SPECIAL
    b_host = tb not in PRIMITIVES and tb not in SPECIAL
    if a_host or b_host:
        return bool(a == b)
    if ta is bool or tb is bool:
        return ta is tb and a == b
    if ta in _NUMBER and tb in _NUMBER:
        return a == b
    if ta is list:
        if tb is list:
            return len(a) == len(b) and all(unify(q, x, y) for x, y in zip(a, b))
        if tb is RestList:
            return _unify_rest(q, b, a)
        return False
    if ta is RestList:
        if tb is list:
            return _unify_rest(q, a, b)
        if tb is RestList:
            return _unify_two_rests(q, a, b)
        return False
    if ta is dict and tb is dict:
        return a.keys() == b.keys() and all(unify(q, a[k], b[k]) for k in a)
    if ta is Predicate and tb is Predicate:
        return (a.name == b.name and len(a.args) == len(b.args)
                and all(unify(q, x, y) for x, y in zip(a.args, b.args)))
    return False


def _unify_rest(q: Any, rl: RestList, items: list) -> bool:
    n = len(rl.items)
    if len(items) < n:
        return False
    if not all(unify(q, x, y) for x, y in zip(rl.items, items)):
        return False
    return unify(q, rl.rest, list(items[n:]))


def _unify_two_rests(q: Any, a: RestList, b: RestList) -> bool:
    if len(a.items) > len(b.items):
        a, b = b, a
    n = len(a.items)
    if not all(unify(q, x, y) for x, y in zip(a.items, b.items)):
        return False
    return unify(q, a.rest, RestList(b.items[n:], b.rest))


# Comparison -----------------------------------------------------------------------------------

_COMPARE = {"Eq": _op.eq, "Neq": _op.ne, "Lt": _op.lt, "Leq": _op.le, "Gt": _op.gt, "Geq": _op.ge}
_COMPARE_SYMBOL = {"Eq": "==", "Neq": "!=", "Lt": "<", "Leq": "<=", "Gt": ">", "Geq": ">="}


def compare(q: Any, op: str, a: Any, b: Any, span: Any) -> bool:
    a = deref(a)
    b = deref(b)
    ta = type(a)
    tb = type(b)
    if ta is tb and (ta is str or ta is int or ta is float):
        return _COMPARE[op](a, b)
    if ta is Var or tb is Var or ta is Expression or tb is Expression:
        add_constraint(q, note_origin(q, Expression(op, [a, b]), span))
        return True
    a_host = ta not in PRIMITIVES and ta not in SPECIAL
    b_host = tb not in PRIMITIVES and tb not in SPECIAL
    if a_host or b_host:
        try:
            return bool(_COMPARE[op](a, b))
        except TypeError:
            raise runtime_error(f"External operation '{ta} {op} {tb}' failed.") from None
    if (ta in _NUMBER or ta is bool) and (tb in _NUMBER or tb is bool):
        return _COMPARE[op](a, b)  # booleans compare as 0/1, a legacy quirk kept on purpose
    raise unsupported(f"{q.render(a)} {_COMPARE_SYMBOL[op]} {q.render(b)}", span)


# Arithmetic -----------------------------------------------------------------------------------

_ARITH = {"Add": " + ", "Sub": " - ", "Mul": " * ", "Div": " / ", "Mod": " mod ", "Rem": " rem "}


def arithmetic(q: Any, op: str, a: Any, b: Any, span: Any, result_name: str = "_op") -> Any:
    """Compute `a op b`; an unbound operand yields a fresh variable constrained by the operation."""
    a = deref(a)
    b = deref(b)
    ta = type(a)
    tb = type(b)
    if ta is Var or tb is Var or ta is Expression or tb is Expression:
        result = q.fresh_var(result_name)
        add_constraint(q, note_origin(q, Expression(op, [a, b, result]), span))
        return result
    if ta not in _NUMBER or tb not in _NUMBER:
        raise unsupported(f"unsupported arithmetic operands: {q.render(a)}{_ARITH[op]}{q.render(b)} = "
                          f"{q.fresh_name(result_name)}", span)
    both_int = ta is int and tb is int
    if op == "Add":
        r = a + b
    elif op == "Sub":
        r = a - b
    elif op == "Mul":
        r = a * b
    elif op == "Div":
        if b == 0:
            if a == 0 or a != a:
                return math.nan
            return math.copysign(math.inf, a) * math.copysign(1.0, b)
        return a / b
    elif op == "Mod":
        if b == 0:
            if both_int:
                raise _arith_error(q, a, b, " mod ", span)
            return math.nan
        r = a % b
    else:  # Rem: truncated remainder, sign of the dividend
        if b == 0:
            if both_int:
                raise _arith_error(q, a, b, " rem ", span)
            return math.nan
        r = (abs(a) % abs(b)) * (1 if a >= 0 else -1) if both_int else math.fmod(a, b)
    if both_int and not (I64_MIN <= r <= I64_MAX):
        raise _arith_error(q, a, b, _ARITH[op], span, "_op")
    return r


def _arith_error(q: Any, a: Any, b: Any, sym: str, span: Any, name: str = "_temp") -> Exception:
    return runtime_error(f"Arithmetic error: {q.render(a)}{sym}{q.render(b)} = {q.fresh_name(name)}", span)


# Lookups and calls on host values ----------------------------------------------------------------

def lookup(q: Any, obj: Any, field: Any, args: Optional[list], kwargs: Optional[dict], span: Any) -> Any:
    """`obj.field` or `obj.field(args, kwargs)`. Raises Fail for a missing dictionary key."""
    obj = deref(obj)
    to = type(obj)
    if to is dict and args is None:
        key = deref(field)
        if type(key) is not str:
            raise type_error(f"can only use a string key on a dictionary, this is {render_term(key)}", span)
        try:
            return obj[key]
        except KeyError:
            raise Fail from None
    if to is Var or to is Expression:
        if args is not None:
            raise unsupported(f"cannot call method on unbound variable {render_term(obj)}", span)
        return note_origin(q, Expression("Dot", [obj, deref(field)]), span)
    if to is bool:
        raise type_error(f"can only perform lookups on dicts and instances, this is {render_term(obj)}", span)
    name = deref(field)
    relations = q.kb.relation_fields.get(to)
    if relations is not None and args is None and name in relations:
        return to_polar(_fetch_relation(q, obj, name, relations[name], span))
    if to is list or to is dict:
        # A list or dictionary literal may hold variables: host methods see their values.
        obj = to_python(q, obj)
    awaiter = q.awaiter
    try:
        attr = getattr(obj, name)
        if awaiter is not None:  # an async query: await an awaitable attribute
            attr = awaiter(attr)
    except AttributeError as e:
        raise application_error(str(e), span) from None
    if args is None:
        return to_polar(attr)
    if not callable(attr):
        raise runtime_error(f"tried to call '{name}' but it is not callable", span, exc.InvalidCallError)
    if kwargs:
        result = attr(*[to_python(q, a) for a in args], **{k: to_python(q, v) for k, v in kwargs.items()})
    else:
        result = attr(*[to_python(q, a) for a in args])
    if awaiter is not None:  # `async def` methods: await the coroutine
        result = awaiter(result)
    return to_polar(result)


def _fetch_relation(q: Any, obj: Any, name: str, relation: Any, span: Any) -> Any:
    fetch = q.host.relation_fetcher
    if fetch is None:
        raise application_error(f"{name} is declared as a Relation field, and this host has no "
                                f"relation fetcher to read it with", span)
    try:
        return fetch(q.host, obj, name, relation)
    except RelationFetchError as e:
        raise application_error(str(e), span) from None


def to_polar(v: Any) -> Any:
    """A host value as a term. Only dictionaries (keys become strings) and integers outside
    64 bits (an error, as in legacy) need attention."""
    t = type(v)
    if t is dict:
        for k in v:
            if type(k) is not str:
                return {str(k): to_polar(x) for k, x in v.items()}
    elif t is int and not (I64_MIN <= v <= I64_MAX):
        raise serialization_error(v)
    return v


def serialization_error(v: int) -> Exception:
    return runtime_error(f"Serialization error: invalid value: integer `{v}`, expected i64", None,
                         exc.OperationalError)


def to_python(q: Any, t: Any) -> Any:
    """A term as a Python argument for host code: dereferenced, unbound variables as Variable."""
    t = deref(t)
    tt = type(t)
    if tt is list:
        return [to_python(q, x) for x in t]
    if tt is dict:
        return {k: to_python(q, x) for k, x in t.items()}
    if tt is Var:
        from ..variable import Variable
        return Variable(t.name)
    return t


def construct(q: Any, class_name: str, args: list, kwargs: Optional[dict], span: Any) -> Any:
    cls = q.host_class(class_name, span)
    try:
        if kwargs:
            instance = cls(*[to_python(q, a) for a in args], **{k: to_python(q, v) for k, v in kwargs.items()})
        else:
            instance = cls(*[to_python(q, a) for a in args])
    except Exception as e:  # legacy wraps every constructor failure
        raise runtime_error(f"Error constructing instance of {class_name}: {e}", span) from None
    q.constructed(instance, class_name, args, kwargs)
    return instance


# `in` -----------------------------------------------------------------------------------------

def member(q: Any, item: Any, coll: Any, span: Any) -> Iterator[None]:
    """Each way `item in coll` holds, with the bindings in place while suspended."""
    coll = deref(coll)
    tc = type(coll)
    if tc is list or tc is str:
        yield from unify_each(q, item, coll)
        return
    if tc is RestList:
        yield from unify_each(q, item, coll.items)
        yield from member(q, item, coll.rest, span)
        return
    if tc is dict:
        yield from unify_each(q, item, ([k, coll[k]] for k in sorted(coll)))
        return
    if tc is Var or tc is Expression:
        add_constraint(q, note_origin(q, Expression("In", [item, coll]), span))
        yield
        return
    if tc is bool or tc is int or tc is float:
        raise type_error(f"can only use `in` on an iterable value, this is {rust_debug(coll)}", span)
    if q.awaiter is not None:
        # An async query iterates asynchronously what offers it (`__aiter__`: async generators,
        # Django QuerySets, which may not do I/O synchronously in an event loop).
        yield from unify_each(q, item, _async_query_items(q, coll))
        return
    try:
        iterator = iter(coll)
    except TypeError:
        iterator = iter(_host_items(q, coll))
    yield from unify_each(q, item, _timed(q, iterator))


def _host_items(q: Any, coll: Any) -> Any:
    """The items of `coll`, which is not iterable itself (e.g. an ORM relation manager, Django's
    `repo.roles`), as the host knows them through its data-filtering adapter."""
    items = q.host.items_of(coll)
    if items is None:
        raise runtime_error(f"{coll!r} is not iterable", None, exc.InvalidIteratorError) from None
    return items


def _async_query_items(q: Any, coll: Any) -> Iterator:
    """`member`'s host iteration in an async query: `__aiter__` first, then `__iter__` (items
    that are awaitable are awaited), then what the host knows (`Host.items_of`)."""
    from .async_bridge import async_items
    if hasattr(type(coll), "__aiter__"):
        return async_items(q, coll, to_polar)
    try:
        iterator = iter(coll)
    except TypeError:
        return _async_query_items(q, q.awaiter(_host_items(q, coll)))
    return _timed(q, (q.awaiter(x) for x in iterator))


def unify_each(q: Any, item: Any, values: Iterable) -> Iterator[None]:
    """Unify `item` with each value in turn, undoing the bindings between values."""
    trail = q.trail
    for x in values:
        mark = len(trail)
        if unify(q, item, x):
            yield
        undo(q, mark)


def _timed(q: Any, iterator: Iterator) -> Iterator:
    """Host iterator items as terms, checking the query timeout (an endless iterator must stop)."""
    steps = 0
    for x in iterator:
        steps += 1
        if steps & 1023 == 0:
            q.check_time()
        yield to_polar(x)


# `matches` and specializers ---------------------------------------------------------------------

def matches(q: Any, value: Any, pattern: Any) -> bool:
    """`value matches pattern` (also the check of a rule parameter specializer)."""
    value = deref(value)
    tp = type(pattern)
    if tp is Pattern:
        tv = type(value)
        if tv is Var or tv is Expression:
            return constrain_isa(q, value, pattern)
        if pattern.tag is not None and not q.isa_class(value, pattern.tag):
            return False
        rels = q.kb.relation_fields.get(tv) if tv is not dict else None
        for key, sub in pattern.fields.items():
            if tv is dict:
                if key not in value:
                    return False
                field_value = value[key]
            elif rels is not None and key in rels:
                # A declared Relation field is read through the adapter, as `value.key` is.
                field_value = to_polar(_fetch_relation(q, value, key, rels[key], None))
            else:
                try:
                    field_value = getattr(value, key)
                    if q.awaiter is not None:  # an async query: await an awaitable field
                        field_value = q.awaiter(field_value)
                except AttributeError:
                    return False
                field_value = to_polar(field_value)
            if not matches(q, field_value, sub):
                return False
        return True
    if tp is list:
        v = value
        if type(v) is list:
            return len(v) == len(pattern) and all(matches(q, x, p) for x, p in zip(v, pattern))
        return unify(q, v, pattern)
    return unify(q, value, deref(pattern))


def typed_path(t: Any) -> Optional[tuple]:
    """`(tag, (f1, ..., fn))` for a term `v.f1...fn` (or `v`) whose base `v` has an `Isa` type."""
    fields = []
    while type(t) is Expression and t.operator == "Dot" and len(t.args) == 2:
        f = deref(t.args[1])
        if type(f) is not str:
            return None
        fields.append(f)
        t = deref(t.args[0])
    if type(t) is not Var:
        return None
    tag = None
    for c in t.cons or ():
        if c.operator == "Isa" and deref(c.args[0]) is t and type(c.args[1]) is Pattern and c.args[1].tag:
            tag = c.args[1].tag
    if tag is None or tag in ("Actor", "Resource"):
        return None
    fields.reverse()
    return tag, tuple(fields)


def path_class(q: Any, tag: str, fields: tuple) -> Any:
    """The type of `<tag>.f1...fn` from the host's field types (`register_class` fields or
    adapter-discovered relations): a class, `list` for to-many, or None if a type is unknown."""
    cls = q.host_class(tag, None)
    for f in fields:
        try:
            cls = q.host.get_field(cls, f)
        except exc.PolarRuntimeError as e:
            raise runtime_error(str(e)) from None
        if not isinstance(cls, type):
            return None
    return cls


def path_matches(q: Any, path: Expression, tag: str) -> bool:
    """Can `base.f1...fn` be a `tag`? Decided from the path's type, as legacy's isa_with_path."""
    typed = typed_path(path)
    if typed is None:
        return True
    key = ("path_matches", typed, tag)
    known = q.kb.derived.get(key)
    if known is None:
        known = q.kb.derived[key] = _path_matches(q, typed, tag)
    return known


def _path_matches(q: Any, typed: tuple, tag: str) -> bool:
    cls = path_class(q, *typed)
    if cls is None:
        return True
    if tag in ("Actor", "Resource") and tag not in q.kb.constants:
        return any(issubclass(cls, q.host_class(m, None)) for m in q.union_members(tag))
    return issubclass(cls, q.host_class(tag, None))


def constrain_isa(q: Any, value: Any, pattern: Pattern) -> bool:
    """Record `value matches Tag{...}` on an unbound value, failing if the type conflicts."""
    if type(value) is Var and not value.cons and not pattern.fields:
        # The common case (a class specializer on an unbound argument), without the general
        # bookkeeping: the only variable involved is `value` itself.
        q.constrained = True
        q.trail.append((value, None))
        value.cons = (Expression("Isa", [value, pattern if pattern.tag is not None else Pattern(None, {})]),)
        return True
    if pattern.tag is not None and type(value) is Expression and not path_matches(q, value, pattern.tag):
        return False
    if pattern.tag is not None and type(value) is Var and value.cons:
        for c in value.cons:
            if c.operator == "Isa" and deref(c.args[0]) is value and type(c.args[1]) is Pattern:
                other = c.args[1].tag
                if other is not None and not q.compatible_tags(other, pattern.tag):
                    return False
    add_constraint(q, Expression("Isa", [value, Pattern(pattern.tag, {})]))
    for key, sub in pattern.fields.items():
        path = Expression("Dot", [value, key])
        if type(sub) is Pattern:
            if not constrain_isa(q, path, sub):
                return False
        else:
            add_constraint(q, Expression("Unify", [path, deref(sub)]))
    return True
