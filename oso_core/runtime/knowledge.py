"""An immutable snapshot of a loaded policy, compiled lazily predicate by predicate.

A snapshot belongs to one version of the host's registrations (classes and constants are
compiled in); when registrations change the API builds a new snapshot from the same program.
Loading swaps the snapshot in whole, so concurrent queries see the old or the new policy.
"""

from __future__ import annotations

import copy
from typing import Any, Optional

from ..frontend.syntax import Rule
from ..data_filtering import Relation
from .fact_calls import PRIMITIVE_TYPES, FactPredicate
from .fact_source import FactSource
from .host_interface import HostInterface
from .predicates import CompiledPredicate
from .tracing import traces_goals


class KnowledgeBase:
    def __init__(self, program: Any, host: HostInterface) -> None:
        self.program = program
        self.host = host
        self.version = host.version
        self.constants = dict(host.constants)
        rules: list[Rule] = program.rules if program is not None else []
        self.rule_names = frozenset(r.name for r in rules)
        groups: dict[tuple[str, int], list[Rule]] = {}
        for r in rules:
            groups.setdefault((r.name, len(r.params)), []).append(r)
        # Fact predicates (`declare`): name -> argument-type tuples; their predicates are
        # `FactPredicate`s, chosen here so ordinary calls pay nothing for facts.
        self.fact_signatures: dict[str, list[tuple[str, ...]]] = (
            getattr(program, "fact_signatures", {}) if program is not None else {})
        self.entity_types = frozenset(
            t for sigs in self.fact_signatures.values() for sig in sigs for t in sig if t not in PRIMITIVE_TYPES)
        if program is not None and getattr(program, "dialect", "legacy") == "cloud":
            self.entity_types |= frozenset(program.resources)  # every block type is an entity type
        self.fact_source: Optional[FactSource] = getattr(host, "fact_source", None)
        # The Oso Cloud dialect (docs/cloud-dialect.md): queries parse in the policy's dialect;
        # a rule reading `@current_unix_time` makes a decision depend on the time of the query.
        self.dialect: str = getattr(program, "dialect", "legacy") if program is not None else "legacy"
        self.uses_current_unix_time: bool = bool(getattr(program, "uses_current_unix_time", False))
        # Entity literal types in rules: a plan cached with the actor as a bind parameter is only
        # valid when no rule names a literal entity of the actor's type.
        self.entity_literal_types: frozenset = getattr(program, "entity_literal_types", frozenset())
        self.predicates: dict[tuple[str, int], CompiledPredicate] = {
            key: self._new_predicate(key[0], key[1], group) for key, group in groups.items()}
        actors = tuple(program.actors) if program is not None else ()
        resources = tuple(program.resources) if program is not None else ()
        self.unions: dict[str, tuple[str, ...]] = {"Actor": actors, "Resource": resources}
        self.class_cache: dict[str, Any] = {}
        self.derived: dict[Any, Any] = {}   # facts computed from this snapshot on demand
        # Declared Relation fields are read through the data-filtering adapter (legacy behaviour).
        self.relation_fields: dict[type, dict] = {}
        for key, user_type in host.types.items():
            if isinstance(key, str):
                rels = {f: r for f, r in user_type.fields.items() if isinstance(r, Relation)}
                if rels:
                    self.relation_fields[user_type.cls] = rels

    @property
    def has_rules(self) -> bool:
        return bool(self.rule_names)

    def _new_predicate(self, name: str, arity: int, rules: list) -> CompiledPredicate:
        sigs = [s for s in self.fact_signatures.get(name, ()) if len(s) == arity]
        if sigs:
            return FactPredicate(name, arity, rules, self, sigs)
        return CompiledPredicate(name, arity, rules, self, not rules and name not in self.rule_names)

    def predicate(self, name: str, arity: int) -> CompiledPredicate:
        pred = self.predicates.get((name, arity))
        if pred is None:
            pred = self.predicates.setdefault((name, arity), self._new_predicate(name, arity, []))
        return pred

    def with_facts(self, source: Optional[FactSource]) -> "KnowledgeBase":
        """This snapshot answering fact predicates from `source` (e.g. stored facts chained with
        one request's context facts); compiled predicates are shared."""
        kb = copy.copy(self)
        kb.fact_source = source
        return kb

    def is_entity_type(self, tag: str) -> bool:
        """`tag` names a fact entity type that is not a registered class."""
        return tag in self.entity_types and tag not in self.host.types

    def lookup_class(self, name: str) -> Optional[type]:
        cls = self.class_cache.get(name)
        if cls is None:
            user_type = self.host.types.get(name)
            if user_type is None:
                return None
            cls = self.class_cache[name] = user_type.cls
        return cls


# Instrumented snapshots (explain, the debugger, POLAR_LOG=trace) --------------------------------

class InstrumentedKnowledgeBase(KnowledgeBase):
    """A snapshot whose compiled goals and lookups report to `q.tracer`."""
    instrumented = True


_INSTRUMENTED = "oso_core.runtime.tracing.instrumented"


def instrumented_kb(kb: Any) -> Any:
    """The same policy and registrations as `kb`, compiled with goal and lookup hooks.

    Made once per snapshot (kept in `kb.derived`), so explaining or step-debugging never touches
    the snapshot decisions run on.
    """
    if getattr(kb, "instrumented", False):
        return kb
    cached = kb.derived.get(_INSTRUMENTED)
    if cached is None:
        cached = kb.derived[_INSTRUMENTED] = InstrumentedKnowledgeBase(kb.program, kb.host)
    return cached


def traced_kb(kb: Any) -> Any:
    """The snapshot a query should run on: `kb`, or its instrumented copy under TRACE."""
    return instrumented_kb(kb) if traces_goals() else kb
