"""Recursive rules under partial evaluation: row sets instead of endless unfolding.

`allow(u, "read", f) if allow(u, "read", f.parent)` with `f` partial would unfold forever
(`f.parent`, `f.parent.parent`, ...). In data-filtering mode a call to a *recursive* predicate
whose only non-ground argument is a typed partial term is tabled: while a call with the same
key (predicate, ground arguments, argument position, type) is being evaluated, a nested call with
that key does not recurse; it adds the constraint `InSet(term, name)` -- "term is in the set of
rows for which the call holds" -- and the set is defined afterwards by evaluating the call once
more on a fresh partial row (`complete`). The definition may refer to itself: the filter builder
turns it into a recursive common table expression. Semantics are unchanged, because the set
is exactly the rows for which the call holds.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator, Optional

from ..expression import Expression
from ..values import Value
from .errors import EvalError
from .operations import add_constraint, free_vars, path_class, typed_path, undo
from .terms import Var, deref


class RowSetEntry:
    """One tabled call: `pred(args)` with the row at `position`, of registered class `type_name`."""

    __slots__ = ("key", "name", "pred", "args", "position", "type_name", "results", "site")

    def __init__(self, key: tuple, name: str, pred: Any, args: list, position: int, type_name: str,
                 site: Any) -> None:
        self.key = key
        self.name = name
        self.pred = pred
        self.args = args
        self.position = position
        self.type_name = type_name
        self.results: Optional[list] = None   # snapshots of the row's constraints, once complete
        self.site = site

    def describe(self) -> str:
        shown = ["_" if i == self.position else _show(a) for i, a in enumerate(self.args)]
        return f"{self.pred.name}({', '.join(shown)})"


class Tabling:
    """Row sets of one data-filtering evaluation (shared by the main query and set definitions)."""

    def __init__(self, kb: Any) -> None:
        self.kb = kb
        self.entries: dict = {}        # key -> RowSetEntry
        self.by_name: dict = {}        # name -> RowSetEntry
        self.active: list = []         # keys of calls being evaluated inline
        self._recursive: Optional[frozenset] = None
        self.symbol: Optional[Var] = None   # an unbound variable standing for a value (the actor)

    # Which calls are tabled -------------------------------------------------------------------

    def is_recursive(self, pred: Any) -> bool:
        if self._recursive is None:
            # Per policy snapshot: the call graph only changes when the policy does.
            cached = self.kb.derived.get("recursive")
            if cached is None:
                cached = self.kb.derived["recursive"] = recursive_predicates(self.kb)
            self._recursive = cached
        return (pred.name, pred.arity) in self._recursive

    def call(self, q: Any, pred: Any, args: list, site: Any) -> Iterator[None]:
        """`pred(args)`: inline, or as set membership when the same call is already running."""
        key = self._key(q, pred, args)
        if key is None:
            yield from pred.solve_untabled(q, args, site)
            return
        position, type_name, frozen = key
        full_key = (pred.name, pred.arity, position, type_name, frozen)
        if full_key in self.active:
            entry = self.entries.get(full_key)
            if entry is None:
                entry = RowSetEntry(full_key, f"{pred.name}_{len(self.entries) + 1}", pred, list(args), position,
                                    type_name, site)
                self.entries[full_key] = entry
                self.by_name[entry.name] = entry
            mark = len(q.trail)
            add_constraint(q, Expression("InSet", [args[position], entry.name]))
            yield
            undo(q, mark)
            return
        self.active.append(full_key)
        try:
            yield from pred.solve_untabled(q, args, site)
        finally:
            self.active.remove(full_key)

    def _key(self, q: Any, pred: Any, args: list) -> Optional[tuple]:
        position = None
        symbol = self.symbol
        for i, a in enumerate(args):
            t = deref(a)
            if symbol is not None and _rooted_at(t, symbol):
                continue   # the symbolic actor (partial_template) stands for one value
            if row_root(t) is not None:
                if position is not None:
                    return None   # two partial arguments: not a set of single rows
                position = i
            elif free_vars(t):
                return None
        if position is None:
            return None
        type_name = term_type(q, deref(args[position]))
        if type_name is None:
            return None
        frozen = tuple(None if i == position else _freeze(deref(a), symbol) for i, a in enumerate(args))
        return position, type_name, frozen

    # Definitions -------------------------------------------------------------------------------

    def pending(self) -> list:
        return [e for e in self.entries.values() if e.results is None]

    def drain(self, solve: Callable[[Any], list]) -> Iterator[Any]:
        """Solve every tabled call not solved yet (`solve(entry)` gives its results), also
        those that solving tables in turn; yield each entry once its results are set."""
        while True:
            pending = self.pending()
            if not pending:
                return
            for entry in pending:
                entry.results = []   # mark as started: a self-reference must not re-queue it
                self.active = [entry.key]
                entry.results = solve(entry)
                yield entry

    def holds(self, q: Any, c: Expression) -> bool:
        """Re-check `InSet(term, name)` once the term is a value: run the call on it."""
        entry = self.by_name[c.args[1]]
        args = list(entry.args)
        args[entry.position] = deref(c.args[0])
        mark = len(q.trail)
        for _ in entry.pred.solve_untabled(q, args, entry.site):
            return True
        undo(q, mark)
        return False


def row_root(t: Any) -> Optional[Var]:
    """The constrained variable a partial term is rooted at (`v`, `v.a.b`), else None."""
    while type(t) is Expression and t.operator == "Dot" and len(t.args) == 2:
        t = deref(t.args[0])
    if type(t) is Var and t.cons:
        return t
    return None


def term_type(q: Any, t: Any) -> Optional[str]:
    """Registered class name of a partial row term, from its base's type and field types."""
    typed = typed_path(t)
    if typed is None:
        return None
    if not typed[1] and q.kb.is_entity_type(typed[0]):
        return typed[0]   # a fact entity: its declared type, no registered class
    try:
        cls = path_class(q, *typed)
    except EvalError:   # no type information: the call unfolds as usual
        return None
    if cls is None or cls is list:
        return None
    return q.host.class_name(cls)


def recursive_predicates(kb: Any) -> frozenset:
    """(name, arity) of every predicate that can call itself, directly or through others."""
    graph: dict = {}
    for key, pred in kb.predicates.items():
        calls: set = set()
        for rule in pred.source_rules:
            _calls(rule.body, calls)
        graph[key] = calls
    recursive = set()
    for start in graph:
        stack = list(graph[start])
        seen = set()
        while stack:
            k = stack.pop()
            if k == start:
                recursive.add(start)
                break
            if k in seen or k not in graph:
                continue
            seen.add(k)
            stack.extend(graph[k])
    return frozenset(recursive)


def _calls(node: Any, out: set) -> None:
    from ..frontend.syntax import CallTerm
    if isinstance(node, CallTerm):
        out.add((node.name, len(node.args)))
    for child in _children(node):
        _calls(child, out)


def _children(node: Any) -> list:
    for attr in ("args", "items"):
        value = getattr(node, attr, None)
        if isinstance(value, (list, tuple)):
            return list(value)
    fields = getattr(node, "fields", None)
    if isinstance(fields, dict):
        return list(fields.values())
    return []


def _rooted_at(t: Any, v: Var) -> bool:
    while type(t) is Expression and t.operator == "Dot" and len(t.args) == 2:
        t = deref(t.args[0])
    return t is v


def _freeze(t: Any, symbol: Optional[Var] = None) -> Any:
    if symbol is not None and _rooted_at(t, symbol):
        return ("symbol", _show(t))
    tt = type(t)
    if tt is list:
        return ("list", tuple(_freeze(x) for x in t))
    if tt is dict:
        return ("dict", tuple((k, _freeze(t[k])) for k in sorted(t)))
    if t is None or tt in (str, int, float, bool):
        return (tt.__name__, t)
    if tt is Value:
        return ("Value", t.type, t.id)
    return ("object", id(t))


def _show(t: Any) -> str:
    from .terms import render_term
    return render_term(deref(t))
