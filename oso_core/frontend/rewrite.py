"""Load-time rewriting of rules: legacy's own rewrite (for names and messages) and head hoisting.

Legacy oso rewrites every rule as it loads it: each `_` becomes a fresh `_<n>`, and every lookup,
arithmetic operation and `new` is lifted out of its goal into a temporary (`_value_<n>`,
`_op_<n>`, `_temp_<n>` for `mod`/`rem`, `_instance_<n>`), head expressions going to the end of
the body. One counter numbers all of them (legacy's counter lives as long as its knowledge base;
here it starts at 1 for each load, which is what a fresh `Oso` shows). Legacy's messages print
rules in that rewritten form (`Invalid rule: f(_value_1) if x and x.y = _value_1; ...`), so the checks work on
a faithful copy of it (`LegacyRewriter`), made for a rule only when needed (`LegacyRule`): the
loader counts the names each rule uses up, so a later rewrite numbers them as legacy did.

The program handed to the runtime only gets the part the semantics need (`hoist_head`): head
expressions are replaced by the temporaries legacy would use for them, and a
`Unify(temporary, expression)` is appended to the body for each.
"""

from __future__ import annotations

from typing import Optional

from .syntax import CallTerm, DictTerm, ListTerm, Node, Op, Param, PatternTerm, Rule, RuleType, Sym

_TEMP_NAMES = {
    "Dot": "value", "Add": "op", "Sub": "op", "Mul": "op", "Div": "op",
    "Mod": "temp", "Rem": "temp", "New": "instance",
}

# Rewrites made inside a unification go after it, unless one of them is a `new` or a `mod`
# (observed legacy 0.27.3 behaviour: `x.y = 1` -> `_value_1 = 1 and x.y = _value_1`, but
# `x = new Foo()` -> `new (Foo(), _instance_1) and x = _instance_1`).
_KEEPS_REWRITES_BEFORE_UNIFY = frozenset({"New", "Mod"})


# The operators legacy lifts into a temporary, with the operand count they have then.
HOISTABLE_ARITY = {op: 1 if op == "New" else 2 for op in _TEMP_NAMES}


def is_hoistable(node: Node) -> bool:
    """Is this an expression legacy lifts into a temporary (lookup, arithmetic, `new`)?"""
    return type(node) is Op and HOISTABLE_ARITY.get(node.op) == len(node.args)


class Gensym:
    """Legacy's load-wide counter for fresh names (`_1`, `_value_2`, ...)."""

    def __init__(self, start: int = 1) -> None:
        self.next = start

    def fresh(self, prefix: str) -> str:
        n = self.next
        self.next += 1
        return f"_{n}" if prefix == "_" else f"_{prefix}_{n}"


class LegacyRewriter:
    """Reproduces legacy's load-time rewrite of one rule or rule type (see module docstring)."""

    def __init__(self, gensym: Gensym) -> None:
        self._gensym = gensym
        self._frames: list[list[Op]] = []

    def rule(self, rule: Rule) -> Rule:
        """The rule as legacy stores it; the body is rewritten before the head, like legacy."""
        self._frames.append([])
        body_goals = [self._goal(g, after=False) for g in rule.body.args]
        self._frames.pop()
        params, head_rewrites = self._params(rule.params)
        body = Op("And", body_goals + head_rewrites, rule.body.span)
        return Rule(rule.name, params, body, rule.span, rule.generated)

    def rule_type(self, rule_type: RuleType) -> Rule:
        """A rule type rewritten like a rule (legacy's rule types are rules with empty bodies)."""
        params, head_rewrites = self._params(rule_type.params)
        return Rule(rule_type.name, params, Op("And", head_rewrites), rule_type.span)

    def _params(self, params: list[Param]) -> tuple[list[Param], list[Node]]:
        self._frames.append([])
        new_params = []
        for p in params:
            term = self._fold(p.term)
            spec = None if p.specializer is None else self._fold(p.specializer)
            new_params.append(Param(term, spec))
        return new_params, list(self._frames.pop())

    def _goal(self, goal: Node, after: bool) -> Node:
        """Rewrite one conjunct, wrapping it with the rewrites lifted out of it."""
        self._frames.append([])
        new = self._fold(goal)
        rewrites = self._frames.pop()
        if not rewrites:
            return new
        if after or (isinstance(new, Op) and new.op == "Unify"
                     and not any(r.op in _KEEPS_REWRITES_BEFORE_UNIFY for r in rewrites)):
            return Op("And", [new, *rewrites], goal.span)
        return Op("And", [*rewrites, new], goal.span)

    def _fold(self, node: Node) -> Node:
        if isinstance(node, Op):
            if is_hoistable(node):
                args = [self._fold(a) for a in node.args]
                temp = Sym(self._gensym.fresh(_TEMP_NAMES[node.op]), node.span)
                self._frames[-1].append(Op(node.op, args + [temp], node.span))
                return Sym(temp.name, node.span)
            if node.op in ("And", "Or", "Not"):
                return Op(node.op, [self._goal(a, after=False) for a in node.args], node.span)
            if node.op == "ForAll":
                # Each forall argument keeps its own rewrites, placed after it.
                return Op(node.op, [self._goal(a, after=True) for a in node.args], node.span)
            return Op(node.op, [self._fold(a) for a in node.args], node.span)
        if isinstance(node, Sym):
            return Sym(self._gensym.fresh("_"), node.span) if node.name == "_" else node
        if isinstance(node, ListTerm):
            items = [self._fold(i) for i in node.items]
            rest = node.rest
            if rest is not None and rest.name == "_":
                rest = Sym(self._gensym.fresh("_"), rest.span)
            return ListTerm(items, rest, node.span)
        if isinstance(node, DictTerm):
            return DictTerm(self._fold_fields(node.fields), node.span)
        if isinstance(node, PatternTerm):
            return PatternTerm(node.tag, self._fold_fields(node.fields), node.span)
        if isinstance(node, CallTerm):
            args = [self._fold(a) for a in node.args]
            kwargs = None if node.kwargs is None else self._fold_fields(node.kwargs)
            return CallTerm(node.name, args, kwargs, node.span)
        return node

    def _fold_fields(self, fields: dict[str, Node]) -> dict[str, Node]:
        # Legacy keeps fields in a sorted map, so it visits (and numbers) them in key order.
        folded = {k: self._fold(fields[k]) for k in sorted(fields)}
        return {k: folded[k] for k in fields}


class LegacyRule:
    """A rule as legacy's knowledge base holds it, rewritten only when something needs all of it.

    `name`, `span`, `params` and `calls` (the names of the rules it calls, see
    `checks.RuleFacts.calls`) are always at hand: the parameters are the written ones unless legacy
    rewrites something in the head, and then the rule is rewritten at once. `rewritten()` gives
    the whole rule, numbered from `first_temporary` as if rewritten in load order.
    """

    __slots__ = ("name", "params", "span", "calls", "_written", "_first_temporary", "_rewritten")

    def __init__(self, written: Rule, calls: list[str], first_temporary: int, head_rewritten: bool) -> None:
        self.name = written.name
        self.span = written.span
        self.calls = calls
        self._written = written
        self._first_temporary = first_temporary
        self._rewritten: Optional[Rule] = None
        self.params = self.rewritten().params if head_rewritten else written.params

    @classmethod
    def as_is(cls, rule: Rule, calls: list[str]) -> "LegacyRule":
        """A rule legacy holds unrewritten (one generated from a resource block)."""
        legacy = cls(rule, calls, 0, False)
        legacy._rewritten = rule
        return legacy

    def rewritten(self) -> Rule:
        """The whole rule as legacy rewrote it."""
        if self._rewritten is None:
            self._rewritten = LegacyRewriter(Gensym(self._first_temporary)).rule(self._written)
        return self._rewritten


def hoist_head(rule: Rule, legacy: Rule) -> Rule:
    """The rule with head expressions replaced by legacy's temporaries, computed at the end.

    `legacy` is `LegacyRewriter.rule(rule)`: its parameters have the same shape as the
    original's with each outermost head expression replaced by a temporary, which names it here.
    """
    hoisted: list[Node] = []
    params = []
    for original, rewritten in zip(rule.params, legacy.params):
        term = _hoist(original.term, rewritten.term, hoisted)
        spec = None
        if original.specializer is not None:
            spec = _hoist(original.specializer, rewritten.specializer, hoisted)
        params.append(Param(term, spec))
    if not hoisted:
        return rule
    body = Op("And", list(rule.body.args) + hoisted, rule.body.span)
    return Rule(rule.name, params, body, rule.span, rule.generated)


def _hoist(original: Node, rewritten: Optional[Node], hoisted: list[Node]) -> Node:
    if is_hoistable(original):
        assert isinstance(rewritten, Sym)
        # Two distinct nodes: the compiler tells variable occurrences apart by node identity.
        hoisted.append(Op("Unify", [Sym(rewritten.name, original.span), original], original.span))
        return Sym(rewritten.name, original.span)
    if isinstance(original, ListTerm) and isinstance(rewritten, ListTerm):
        items = [_hoist(o, r, hoisted) for o, r in zip(original.items, rewritten.items)]
        return ListTerm(items, original.rest, original.span) if _changed(items, original.items) else original
    if isinstance(original, (DictTerm, PatternTerm)) and isinstance(rewritten, type(original)):
        # Sorted key order: the order legacy numbers (and appends) the temporaries in.
        hoisted_fields = {k: _hoist(original.fields[k], rewritten.fields.get(k), hoisted)
                          for k in sorted(original.fields)}
        fields = {k: hoisted_fields[k] for k in original.fields}
        if not _changed(list(fields.values()), list(original.fields.values())):
            return original
        if isinstance(original, DictTerm):
            return DictTerm(fields, original.span)
        return PatternTerm(original.tag, fields, original.span)
    return original


def _changed(new: list[Node], old: list[Node]) -> bool:
    return any(a is not b for a, b in zip(new, old))
