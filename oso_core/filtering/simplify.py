"""Local simplifications of plan conditions that keep their meaning exactly.

Flattening nested `and`/`or`, constant folding, dropping duplicate conditions, and merging
`f = a or f = b or ...` into `f in [a, b, ...]` (many partial results differ only in one
constant, e.g. one per role the actor holds).

Partial evaluation yields one alternative per way a rule can succeed, so a resource-block
policy gives `exists role in r.roles where (role.user = 1 and role.name = "reader") or exists
role' in r.roles where (role'.user = 1 and role'.name = "admin") or ...`. Two rewrites turn
that into the query a person would write (one subquery per relation, `name IN (...)`):

* sibling `exists` over the same parent row and relation inside an `or` become one `exists`
  whose condition is the `or` of theirs (`∃x.A ∨ ∃y.B ≡ ∃x.(A ∨ B[y:=x])`);
* conjuncts common to every branch of an `or` are factored out
  (`(a ∧ b) ∨ (a ∧ c) ≡ a ∧ (b ∨ c)`; distributivity also holds in SQL's three-valued logic).
"""

from __future__ import annotations

from .plan import FALSE, TRUE, And, Compare, Condition, Contains, Exists, Field, In, InSet, Not, Or, Value


def simplify(c: Condition) -> Condition:
    t = type(c)
    if t is And:
        return _and([simplify(x) for x in c.items])
    if t is Or:
        return _or([simplify(x) for x in c.items])
    if t is Not:
        inner = simplify(c.item)
        ti = type(inner)
        if ti is Not:
            return inner.item
        if (ti is And or ti is Or) and not inner.items:   # not true / not false
            return FALSE if ti is And else TRUE
        return Not(inner)
    if t is Exists:
        inner = simplify(c.condition)
        if type(inner) is Or and not inner.items:
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
            if type(p) is Or and not p.items:
                return FALSE
            if not _contains(out, p):
                out.append(p)
    return out[0] if len(out) == 1 else And(tuple(out))


def _or(items: list) -> Condition:
    out: list = []
    for x in items:
        parts = x.items if type(x) is Or else (x,)
        for p in parts:
            if type(p) is And and not p.items:
                return TRUE
            if not _contains(out, p):
                out.append(p)
    out = _merge_equalities(_merge_exists(out))
    if len(out) < 2:
        return out[0] if out else FALSE
    return _factor_common(out)


def _merge_exists(items: list) -> list:
    """Sibling `exists` over the same parent row and relation -> one `exists` (the first's row)."""
    groups: dict = {}
    for x in items:
        if type(x) is Exists:
            groups.setdefault((id(x.parent), x.relation), []).append(x)
    if not any(len(g) > 1 for g in groups.values()):
        return items
    out: list = []
    for x in items:
        if type(x) is not Exists:
            out.append(x)
            continue
        group = groups[id(x.parent), x.relation]
        if len(group) == 1:
            out.append(x)
        elif group[0] is x:
            row = x.row
            branches = tuple(substitute(e.condition, {e.row: row}) if e.row is not row else e.condition
                             for e in group)
            # the branches are simplified already; `_or` merges what the renaming made alike
            inner = _or(list(branches))
            if inner != FALSE:
                out.append(Exists(x.parent, x.relation, row, inner))
    return out


def _factor_common(items: list) -> Condition:
    """`(a and b) or (a and c)` -> `a and (b or c)`; a branch left empty makes the `or` true."""
    conjuncts = [x.items if type(x) is And else (x,) for x in items]
    common = [c for c in conjuncts[0] if all(_contains(list(other), c) for other in conjuncts[1:])]
    if not common:
        return Or(tuple(items))
    rests = [And(tuple(c for c in cs if not _contains(common, c))) for cs in conjuncts]
    if any(r == TRUE for r in rests):
        return _and(common)
    return _and(common + [_or([r.items[0] if len(r.items) == 1 else r for r in rests])])


def substitute(c: Condition, rows: dict) -> Condition:
    """`c` with every reference to a row in `rows` (keys compared by identity) replaced."""
    t = type(c)
    if t is Field:
        return Field(rows.get(c.row, c.row), c.name)
    if t is Compare:
        return Compare(c.op, _operand(c.left, rows), _operand(c.right, rows))
    if t is In:
        return In(substitute(c.item, rows), c.values)
    if t is Contains:
        return Contains(substitute(c.column, rows), _operand(c.item, rows))
    if t is Exists:
        return Exists(rows.get(c.parent, c.parent), c.relation, c.row, substitute(c.condition, rows))
    if t is InSet:
        return InSet(rows.get(c.row, c.row), c.set_name)
    if t is And:
        return And(tuple(substitute(x, rows) for x in c.items))
    if t is Or:
        return Or(tuple(substitute(x, rows) for x in c.items))
    if t is Not:
        return Not(substitute(c.item, rows))
    raise TypeError(f"not a plan condition: {c!r}")


def _operand(x: object, rows: dict) -> object:
    return Field(rows.get(x.row, x.row), x.name) if type(x) is Field else x


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
    tx = type(x)
    try:
        for y in items:
            if y is x or (type(y) is tx and x == y):
                return True
    except Exception:  # a host value with a failing __eq__: keep both
        return False
    return False
