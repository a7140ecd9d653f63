"""Fused goals for the tests most policies consist of: `x.f = y`, `x.f = "lit"`, `x.f = y.g`, `x.f != nil`.

The general compiled form of `x.f = y` is three closures (read `x`, read `x.f`, read `y`) and a
call to `unify`. When `x` is a variable holding a plain host object (the case on every
decision), the fused goal reads the attribute and compares in one function: the same `getattr`,
in the same order, with the same conversion of the value and the same error. In any other case
(an unbound variable, a dictionary, a Polar value, a partial) it hands over, before doing
anything, to the general goal it was built from, so every answer, binding and constraint is
the general form's. Instrumented snapshots (explain, tracing, the debugger) and declared
`Relation` fields are never fused: their lookups must report or go through the adapter.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

from ..frontend.syntax import Op, Sym, Value
from .errors import Fail, application_error, runtime_error
from .operations import _COMPARE, compare, to_polar, unify
from .terms import PRIMITIVES, SPECIAL, UNBOUND

CONST, SLOT = 0, 1
# Anything whose attribute read is not a plain `getattr` (or not yet bound) takes the general goal.
GENERAL = frozenset(PRIMITIVES | SPECIAL | {type(UNBOUND)})
_TERMS = frozenset(PRIMITIVES | SPECIAL)


def plain_attr(bc: Any, node: Any) -> Optional[tuple[int, str, Any]]:
    """`(slot of x, "f", span)` for a lookup `x.f` that may be fused, else None."""
    if bc.instrumented or type(node) is not Op or node.op != "Dot" or len(node.args) != 2:
        return None
    base, field = node.args
    if type(base) is not Sym or base.name == "_" or base.name in bc.scope.constants:
        return None
    if type(field) is not Value or type(field.value) is not str:
        return None
    name = field.value
    if any(name in rels for rels in bc.linker.relation_fields.values()):
        return None
    slot = bc.scope.slots.get(base.name)
    if slot is None:
        return None
    return slot, name, node.span


def fuse_unify(bc: Any, left_node: Any, right: tuple, general: tuple) -> tuple:
    """`x.f = <slot or constant>`, fused when possible; `general` is the unfused goal."""
    found = plain_attr(bc, left_node)
    if found is None or right[0] not in (CONST, SLOT):
        return general
    bslot, name, span = found
    fallback = general[1]
    if right[0] == CONST:
        const = right[1]
        const_type = type(const)
        const_host = const_type not in _TERMS

        def attr_is_const(q: Any, env: list) -> bool:
            obj = env[bslot]
            if type(obj) in GENERAL:
                return fallback(q, env)
            # `read`, written out: this test runs once per element of a scanned list.
            try:
                v = getattr(obj, name)
                if q.awaiter is not None:  # an async query: await an awaitable value
                    v = q.awaiter(v)
            except AttributeError as e:
                raise application_error(str(e), span) from None
            tv = type(v)
            if tv is dict or tv is int:
                v = to_polar(v)
                tv = type(v)
            try:
                if tv is str and const_type is str:
                    return v == const
                if tv not in _TERMS and const_type not in SPECIAL or const_host and tv not in SPECIAL:
                    return v is const or bool(v == const)   # `unify` of a host value
                return unify(q, v, const)
            except Fail:
                return False
        return (general[0], attr_is_const)
    rslot = right[1]

    def attr_is_slot(q: Any, env: list) -> bool:
        r = env[rslot]
        obj = env[bslot]
        if r is UNBOUND or type(obj) in GENERAL:
            return fallback(q, env)
        # `read`, written out: this test runs once per element of a scanned list.
        try:
            v = getattr(obj, name)
            if q.awaiter is not None:  # an async query: await an awaitable value
                v = q.awaiter(v)
        except AttributeError as e:
            raise application_error(str(e), span) from None
        tv = type(v)
        tr = type(r)
        if tv is str and tr is str:
            return v == r
        if tv not in _TERMS and tr not in SPECIAL:   # a host value (no conversion): `unify`'s test
            return v is r or bool(v == r)
        return unify_read(q, v, r)
    # Read by the scan loops of exists.py, which run this test inline.
    attr_is_slot.fused = (bslot, name, span, rslot)  # type: ignore[attr-defined]
    return (general[0], attr_is_slot)


def unify_read(q: Any, v: Any, r: Any) -> bool:
    """The rest of `x.f = y` once `x.f` is read as `v` (y's value `r`)."""
    tv = type(v)
    if tv is dict or tv is int:
        v = to_polar(v)
    return unify_values(q, v, r)


def unify_values(q: Any, v: Any, r: Any) -> bool:
    """`unify(q, v, r)` inside a goal (a `Fail` fails it), with host values compared directly."""
    tv = type(v)
    tr = type(r)
    try:
        if tv is str and tr is str:
            return v == r
        if tv not in _TERMS and tr not in SPECIAL or tr not in _TERMS and tv not in SPECIAL:
            return v is r or bool(v == r)   # `unify` of a host value
        return unify(q, v, r)
    except Fail:
        return False


def fuse_compare(bc: Any, op: str, left_node: Any, right: tuple, general: Callable) -> Callable:
    """`x.f <op> <constant>`, fused when possible; `general` is the unfused goal function."""
    found = plain_attr(bc, left_node)
    if found is None or right[0] != CONST:
        return general
    bslot, name, span = found
    const = right[1]
    if type(const) not in _TERMS:   # a host constant (`nil`): `compare` of host values
        test = _COMPARE[op]
        const_type = type(const)

        def attr_cmp_host(q: Any, env: list) -> bool:
            obj = env[bslot]
            if type(obj) in GENERAL:
                return general(q, env)
            try:
                v = read(q, obj, name, span)
                if type(v) in SPECIAL:
                    return compare(q, op, v, const, span)
                try:
                    return bool(test(v, const))
                except TypeError:
                    raise runtime_error(f"External operation '{type(v)} {op} {const_type}' failed.") from None
            except Fail:
                return False
        return attr_cmp_host

    def attr_cmp_const(q: Any, env: list) -> bool:
        obj = env[bslot]
        if type(obj) in GENERAL:
            return general(q, env)
        try:
            return compare(q, op, read(q, obj, name, span), const, span)
        except Fail:
            return False
    return attr_cmp_const


def read(q: Any, obj: Any, name: str, span: Any) -> Any:
    """`obj.name` for a plain host object, as the compiler's attribute read does it."""
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


def fuse_attributes(bc: Any, left_node: Any, right_node: Any, general: tuple) -> tuple:
    """`x.f = y.g` (`doc.owner = user.name`), fused when possible: both reads, left first."""
    left = plain_attr(bc, left_node)
    right = plain_attr(bc, right_node)
    if left is None or right is None:
        return general
    lslot, lname, lspan = left
    rslot, rname, rspan = right
    fallback = general[1]

    def attributes_equal(q: Any, env: list) -> bool:
        lo = env[lslot]
        ro = env[rslot]
        if type(lo) in GENERAL or type(ro) in GENERAL:
            return fallback(q, env)
        v = read(q, lo, lname, lspan)
        r = read(q, ro, rname, rspan)
        if type(v) is str and type(r) is str:
            return v == r
        return unify_values(q, v, r)
    return (general[0], attributes_equal)
