"""Facts held in memory: a `FactSource` over a set of tuples, for tests, policy tests and the
per-request context facts. A fact is `(predicate, arg0, ...)`; arguments are `Value` entities or
`str`/`int`/`bool` primitives."""

from __future__ import annotations

from typing import Iterable, Iterator, Optional, Sequence

from ..values import Value, ValueOfType
from .fact_source import FactSource

__all__ = ["MemoryFacts", "ChainedFacts"]


def _fits(arg: object, wanted: Optional[object]) -> bool:
    if wanted is None:
        return True
    if type(wanted) is ValueOfType:
        return type(arg) is Value and arg.type == wanted.type
    # bool is an int in Python: `True` must not match the fact argument `1`.
    return type(arg) is type(wanted) and arg == wanted


class MemoryFacts:
    """A mutable set of facts answering `match` by scanning (small data only)."""

    def __init__(self, facts: Iterable[Sequence[object]] = ()) -> None:
        self._facts: dict[tuple[str, int], set[tuple]] = {}
        for fact in facts:
            self.insert(fact)

    def insert(self, fact: Sequence[object]) -> None:
        """Add `(predicate, *args)`."""
        name, args = _split(fact)
        self._facts.setdefault((name, len(args)), set()).add(args)

    def delete(self, fact: Sequence[object]) -> None:
        """Remove every fact matching `(predicate, *pattern)` (`None`/`ValueOfType` wildcards)."""
        name, pattern = _split(fact)
        rows = self._facts.get((name, len(pattern)))
        if rows:
            rows.difference_update([r for r in rows if all(map(_fits, r, pattern))])

    def __iter__(self) -> Iterator[tuple]:
        for (name, _), rows in self._facts.items():
            for r in rows:
                yield (name, *r)

    def __len__(self) -> int:
        return sum(len(rows) for rows in self._facts.values())

    def match(self, predicate: str, pattern: Sequence[Optional[object]]) -> Iterable[tuple]:
        rows = self._facts.get((predicate, len(pattern)))
        if not rows:
            return ()
        return [r for r in rows if all(map(_fits, r, pattern))]


class ChainedFacts:
    """The facts of several sources (stored facts, then a request's context facts)."""

    def __init__(self, *sources: Optional[FactSource]) -> None:
        self.sources = tuple(s for s in sources if s is not None)

    def match(self, predicate: str, pattern: Sequence[Optional[object]]) -> Iterable[tuple]:
        for s in self.sources:
            yield from s.match(predicate, pattern)


def _split(fact: Sequence[object]) -> tuple[str, tuple]:
    if not fact or not isinstance(fact[0], str):
        raise TypeError(f"A fact is (predicate name, *arguments), got {fact!r}")
    args = tuple(fact[1:])
    for a in args:
        if a is not None and not isinstance(a, (Value, ValueOfType, str, int)):
            raise TypeError(f"A fact argument is a Value or a str/int/bool, got {a!r}")
    return fact[0], args
