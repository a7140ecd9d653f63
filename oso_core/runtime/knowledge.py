"""An immutable snapshot of a loaded policy, compiled lazily predicate by predicate.

A snapshot belongs to one version of the host's registrations (classes and constants are
compiled in); when registrations change the API builds a new snapshot from the same program.
Loading swaps the snapshot in whole, so concurrent queries see the old or the new policy.
"""

from __future__ import annotations

from typing import Any, Optional

from ..frontend.syntax import Rule
from ..data_filtering import Relation
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
        self.predicates: dict[tuple[str, int], CompiledPredicate] = {
            key: CompiledPredicate(key[0], key[1], group, self, False) for key, group in groups.items()}
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

    def predicate(self, name: str, arity: int) -> CompiledPredicate:
        pred = self.predicates.get((name, arity))
        if pred is None:
            pred = self.predicates.setdefault(
                (name, arity), CompiledPredicate(name, arity, [], self, name not in self.rule_names))
        return pred

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
