"""The cloud-dialect steps of a load (loader.py calls them; docs/cloud-dialect.md).

Per source: blocks are registered and test blocks kept aside. After all sources: blocks are
resolved (`extends`) and desugared, their fact signatures added, the default `allow` added,
signatures of predicates without rules inferred from their calls, every call checked against
its predicate's signatures and rules, and the test blocks checked.
"""

from __future__ import annotations

from typing import Iterable, Optional

from ..exceptions import OsoError, ValidationError
from ..values import Value as Entity
from .checks import walk
from .cloud_blocks import CloudBlocks
from .cloud_calls import check_calls
from .cloud_inference import DIALECT_PRIMITIVES, infer_fact_signatures
from .cloud_syntax import CloudBlock, CurrentUnixTime
from .diagnostics import Diagnostics
from .parser import parse_query
from .policy_test_ast import FactLine, Fixture, PolicyTest, PolicyTestBlocks, SourceSpot
from .syntax import CallTerm, Op, Param, PatternTerm, Rule, Sym, Value

__all__ = ["CloudLoad", "DEFAULT_ALLOW"]

DEFAULT_ALLOW = "allow(actor, action, resource) if has_permission(actor, action, resource);"

Signatures = dict[str, list[tuple[str, ...]]]


class CloudLoad:
    """What a cloud-dialect load collects besides rules: blocks and test blocks."""

    def __init__(self) -> None:
        self.blocks = CloudBlocks()
        self.tests = PolicyTestBlocks()
        self._fixture_spots: list[tuple[Fixture, Optional[SourceSpot]]] = []

    def read_items(self, items: Iterable[object], entity_types: set[str], diagnostics: Diagnostics) -> list:
        """Register this source's blocks and tests; the other items, for the legacy steps."""
        rest = []
        for item in items:
            if type(item) is CloudBlock:
                self.blocks.add(item, diagnostics)
                if item.resource is not None:
                    entity_types.add(item.resource.value)
            elif type(item) is PolicyTest:
                if any(t.name == item.name for t in self.tests.tests):
                    diagnostics.error(_located(f"Test \"{item.name}\" is defined twice.", item.spot))
                self.tests.tests.append(item)
            elif type(item) is Fixture:
                if item.name in self.tests.fixtures:
                    diagnostics.error(_located(f"Fixture `{item.name}` is defined twice.", item.spot))
                else:
                    self.tests.fixtures[item.name] = item
            else:
                rest.append(item)
        return rest

    def actors(self) -> tuple[str, ...]:
        return self.blocks.actors()

    def resources(self) -> tuple[str, ...]:
        return self.blocks.resources()

    def desugar(self, written: list[Rule], signatures: Signatures, diagnostics: Diagnostics) -> list[Rule]:
        """The generated rules (shorthands, then the default allow); adds the blocks' fact
        signatures to `signatures`."""
        self.blocks.resolve(diagnostics)
        generated = self.blocks.desugar(diagnostics)
        _merge(signatures, self.blocks.fact_signatures())
        names = {r.name for r in written}
        has_permission = any(r.name == "has_permission" for r in generated) or "has_permission" in names or (
            "has_permission" in signatures)
        if "allow" not in names and has_permission:
            generated.append(default_allow())
        return generated

    def infer(self, rules: list[Rule], rule_names: set[str], signatures: Signatures) -> list[OsoError]:
        """Add the signatures inferred from the calls of predicates without rules (joining the
        declared and block-implied ones); errors for the untyped ones."""
        inferred, errors = infer_fact_signatures(rules, rule_names, self.actors(), self.resources(),
                                                 frozenset(signatures))
        _merge(signatures, inferred)
        return errors

    def check_calls(self, rules: list[Rule], signatures: Signatures) -> list[OsoError]:
        """Errors for the calls that fit no signature and no rule of their predicate."""
        return check_calls(rules, signatures, self.actors(), self.resources())

    def check_tests(self, signatures: Signatures, rule_names: set[str], diagnostics: Diagnostics) -> None:
        """Test facts must match a fact signature; fixtures must exist; assertions may only
        call known predicates."""
        unions = {"Actor": set(self.actors()), "Resource": set(self.resources())}
        known = rule_names | set(signatures)
        types = set(self.resources()) | {"String", "Integer", "Boolean", "Actor", "Resource"}
        holders: list[tuple[str, list[FactLine], list[str], Optional[SourceSpot]]] = [
            (f"test \"{t.name}\"", t.facts, t.fixtures, t.spot) for t in self.tests.tests]
        holders += [(f"fixture {f.name}", f.facts, f.fixtures, f.spot) for f in self.tests.fixtures.values()]
        for where, facts, fixtures, spot in holders:
            for fact in facts:
                error = _fact_error(fact, signatures, unions)
                if error is not None:
                    diagnostics.error(_located(error, fact.spot))
            for name in fixtures:
                if name not in self.tests.fixtures:
                    diagnostics.error(_located(f"{where} uses fixture `{name}`, which is not defined.", spot))
        for test in self.tests.tests:
            for assertion in test.assertions:
                for text in (assertion.query, assertion.iff):
                    if text is None:
                        continue
                    for node in walk(parse_query(text, True)):
                        if isinstance(node, CallTerm) and node.name not in known:
                            diagnostics.error(_located(
                                f"Assertion in test \"{test.name}\" calls `{node.name}`, which no rule, block or "
                                "declaration defines.", assertion.spot))
                        elif (isinstance(node, Op) and node.op == "Isa" and isinstance(node.args[1], PatternTerm)
                              and node.args[1].tag not in types):
                            diagnostics.error(_located(
                                f"Assertion in test \"{test.name}\" uses the type `{node.args[1].tag}`, which is "
                                "neither a primitive type nor declared by a block.", assertion.spot))

    @staticmethod
    def entity_literal_types(rules: list[Rule]) -> frozenset[str]:
        """The types of the entity literals the rules mention (`User{"root"}` -> "User")."""
        found = set()
        for rule in rules:
            for top in [p.term for p in rule.params] + [rule.body]:
                for node in walk(top):
                    if isinstance(node, Value) and type(node.value) is Entity:
                        found.add(node.value.type)  # type: ignore[union-attr]
        return frozenset(found)

    @staticmethod
    def uses_current_unix_time(rules: list[Rule]) -> bool:
        for rule in rules:
            for node in walk(rule.body):
                if isinstance(node, CurrentUnixTime):
                    return True
        return False


def default_allow() -> Rule:
    """`allow(actor, action, resource) if has_permission(actor, action, resource);`"""
    params = [Param(Sym("actor")), Param(Sym("action")), Param(Sym("resource"))]
    body = Op("And", [CallTerm("has_permission", [Sym("actor"), Sym("action"), Sym("resource")])])
    return Rule("allow", params, body, None, True)


def _merge(into: Signatures, extra: Signatures) -> None:
    for name, sigs in extra.items():
        known = into.setdefault(name, [])
        for sig in sigs:
            if sig not in known:
                known.append(sig)


def _arg_type(arg: object) -> str:
    if type(arg) is Entity:
        return arg.type  # type: ignore[attr-defined]
    return DIALECT_PRIMITIVES[type(arg)]


def _fact_error(fact: FactLine, signatures: Signatures, unions: dict[str, set[str]]) -> Optional[str]:
    types = tuple(_arg_type(a) for a in fact.args)
    sigs = signatures.get(fact.predicate, [])
    for sig in sigs:
        if len(sig) == len(types) and all(s == t or t in unions.get(s, ()) for s, t in zip(sig, types)):
            return None
    rendered = f"{fact.predicate}({', '.join(types)})"
    if not sigs:
        return f"Test fact {rendered}: `{fact.predicate}` is not a fact predicate of this policy."
    expected = "; ".join(f"{fact.predicate}({', '.join(s)})" for s in sigs)
    return f"Test fact {rendered} matches no signature of `{fact.predicate}`: expected {expected}."


def _located(message: str, spot: Optional[SourceSpot]) -> ValidationError:
    details: dict = {"kind": "PolicyTest"}
    if spot is not None:
        where = f" at line {spot.line}, column {spot.column}"
        if spot.filename is not None:
            where += f" of file {spot.filename}"
        message += where
        details.update(line=spot.line, column=spot.column, file=spot.filename)
    return ValidationError(message, details)
