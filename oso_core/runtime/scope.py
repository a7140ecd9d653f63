"""Variable analysis of one rule or query: slots, first occurrences and slots to reset.

Evaluation order is head parameters, then body goals left to right. A variable occurrence is
*first* when no earlier goal on any path can have given the variable a value; the compiler then
assigns the value straight into the slot instead of allocating a logic variable and unifying.
That is sound because every path that reaches a first occurrence after backtracking executes it
again; the only constructs whose paths skip goals are `or` (each branch resets the slots first
used inside the disjunction) and `not`/`forall` (which reset the slots first used inside them).
"""

from __future__ import annotations

from typing import Any, Iterable, Optional

from ..frontend.syntax import CallTerm, DictTerm, ListTerm, Node, Op, PatternTerm, Sym


class Scope:
    """Slots of one rule application: slot 0 is the cut counter, then one per variable."""

    def __init__(self, constants: dict, fixed: Iterable[str] = ()) -> None:
        self.constants = constants
        self.slots: dict[str, int] = {}
        self.names: list[str] = ["<cut>"]
        self.first: set[int] = set()        # id() of Sym nodes that are first occurrences
        self.resets: dict[int, tuple[int, ...]] = {}  # id() of Or/Not/ForAll node -> slots to reset
        self._seen: set[str] = set(fixed)
        self._visited: set[int] = set()
        for name in fixed:
            self.slot_of(name)

    def is_variable(self, sym: Sym) -> bool:
        return sym.name == "_" or sym.name not in self.constants

    def slot_of(self, name: str) -> int:
        slot = self.slots.get(name)
        if slot is None:
            slot = self.slots[name] = len(self.names)
            self.names.append(name)
        return slot

    def anonymous_slot(self) -> int:
        self.names.append("_")
        return len(self.names) - 1

    @property
    def size(self) -> int:
        return len(self.names)

    # Analysis ------------------------------------------------------------------------------

    def visit_term(self, node: Any) -> None:
        """Record occurrences in a value/pattern term in evaluation order."""
        if isinstance(node, Sym):
            if not self.is_variable(node):
                return
            if id(node) in self._visited:
                # One node object standing for two occurrences: neither may be treated as first.
                self.first.discard(id(node))
                return
            self._visited.add(id(node))
            if node.name == "_":
                self.first.add(id(node))
                return
            self.slot_of(node.name)
            if node.name not in self._seen:
                self._seen.add(node.name)
                self.first.add(id(node))
        elif isinstance(node, ListTerm):
            for item in node.items:
                self.visit_term(item)
            if node.rest is not None:
                self.visit_term(node.rest)
        elif isinstance(node, (DictTerm, PatternTerm)):
            for value in node.fields.values():
                self.visit_term(value)
        elif isinstance(node, CallTerm):
            for arg in node.args:
                self.visit_term(arg)
            for value in (node.kwargs or {}).values():
                self.visit_term(value)
        elif isinstance(node, Op):
            self.visit_goal(node)

    def visit_goal(self, node: Any) -> None:
        if isinstance(node, Op):
            if node.op == "Or":
                before = set(self._seen)
                union = set(before)
                for branch in node.args:
                    self._seen = set(before)
                    self.visit_goal(branch)
                    union |= self._seen
                self._seen = union
                self.resets[id(node)] = self._slots_of(union - before)
                return
            if node.op in ("Not", "ForAll"):
                before = set(self._seen)
                for arg in node.args:
                    self.visit_goal(arg)
                inside = self._seen - before
                self._seen = before  # bindings made inside never escape
                self.resets[id(node)] = self._slots_of(inside)
                return
            if node.op == "Dot":
                self.visit_term(node.args[0])
                field = node.args[1]
                if isinstance(field, (Sym, CallTerm)):
                    self.visit_term(field)
                for extra in node.args[2:]:
                    self.visit_term(extra)
                return
            if node.op in ("Unify", "In", "Assign") and len(node.args) == 2:
                # Evaluate the value side before the variable side so that `x = expr` with a
                # fresh x is a first occurrence; `x = [x]` stays an ordinary unification.
                left, right = node.args
                if node.op != "In" and isinstance(left, Sym) and not self._mentions(right, left.name):
                    self.visit_term(right)
                    self.visit_term(left)
                    return
                if isinstance(right, Sym) and node.op == "Unify" and not self._mentions(left, right.name):
                    self.visit_term(left)
                    self.visit_term(right)
                    return
                if node.op == "In" and isinstance(left, Sym) and not self._mentions(right, left.name):
                    self.visit_term(right)
                    self.visit_term(left)
                    return
            for arg in node.args:
                self.visit_term(arg)
        else:
            self.visit_term(node)

    def _slots_of(self, names: set) -> tuple[int, ...]:
        return tuple(sorted(self.slots[n] for n in names if n in self.slots))

    @staticmethod
    def _mentions(node: Any, name: str) -> bool:
        if isinstance(node, Sym):
            return node.name == name
        if isinstance(node, ListTerm):
            return any(Scope._mentions(i, name) for i in node.items) or (
                node.rest is not None and node.rest.name == name)
        if isinstance(node, (DictTerm, PatternTerm)):
            return any(Scope._mentions(v, name) for v in node.fields.values())
        if isinstance(node, CallTerm):
            return any(Scope._mentions(a, name) for a in node.args) or any(
                Scope._mentions(v, name) for v in (node.kwargs or {}).values())
        if isinstance(node, Op):
            return any(Scope._mentions(a, name) for a in node.args)
        return False

    def is_first(self, sym: Optional[Node]) -> bool:
        return isinstance(sym, Sym) and id(sym) in self.first
