"""Local simplifications of plan conditions that keep their meaning exactly.

Flattening nested `and`/`or`, constant folding, dropping duplicate conditions, and merging
`f = a or f = b or ...` into `f in [a, b, ...]` (many partial results differ only in one
constant, e.g. one per role the actor holds).
"""

from __future__ import annotations

from .plan import FALSE, TRUE, And, Compare, Condition, Exists, Field, In, Not, Or, Value


def simplify(c: Condition) -> Condition:
    t = type(c)
    if t is And:
        return _and([simplify(x) for x in c.items])
    if t is Or:
        return _or([simplify(x) for x in c.items])
    if t is Not:
        inner = simplify(c.item)
        if type(inner) is Not:
            return inner.item
        if inner == TRUE:
            return FALSE
        if inner == FALSE:
            return TRUE
        return Not(inner)
    if t is Exists:
        inner = simplify(c.condition)
        if inner == FALSE:
            return FALSE
        return Exists(c.parent, c.relation, c.row, inner)
    return c


def _and(items: list) -> Condition:
    out: list = []
    for x in items:
        if type(x) is And:
            parts = x.items
        else:
            parts = (x,)
        for p in parts:
            if p == FALSE:
                return FALSE
            if not _contains(out, p):
                out.append(p)
    return out[0] if len(out) == 1 else And(tuple(out))


def _or(items: list) -> Condition:
    out: list = []
    for x in items:
        parts = x.items if type(x) is Or else (x,)
        for p in parts:
            if p == TRUE:
                return TRUE
            if not _contains(out, p):
                out.append(p)
    out = _merge_equalities(out)
    return out[0] if len(out) == 1 else Or(tuple(out))


def _merge_equalities(items: list) -> list:
    """`f = 1 or f = 2` -> `f in [1, 2]` (scalar values only; order of first appearance kept)."""
    groups: dict = {}
    for x in items:
        field = _eq_field(x)
        if field is not None:
            groups.setdefault(field, []).append(x)
    if not any(len(g) > 1 for g in groups.values()):
        return items
    out: list = []
    done: set = set()
    for x in items:
        field = _eq_field(x)
        if field is None or len(groups[field]) == 1:
            out.append(x)
            continue
        if field in done:
            continue
        done.add(field)
        values: list = []
        for g in groups[field]:
            v = g.right.value if type(g) is Compare else g.values.value
            for one in (v if type(g) is In else [v]):
                if one not in values:
                    values.append(one)
        out.append(In(field, Value(values)))
    return out


def _eq_field(x: Condition):
    if type(x) is Compare and x.op == "Eq" and type(x.left) is Field and type(x.right) is Value \
            and _scalar(x.right.value):
        return x.left
    if type(x) is In and all(_scalar(v) for v in x.values.value):
        return x.item
    return None


def _scalar(v: object) -> bool:
    return type(v) in (str, int, float)


def _contains(items: list, x: Condition) -> bool:
    try:
        return any(x == y for y in items)
    except Exception:  # a host value with a failing __eq__: keep both
        return False
