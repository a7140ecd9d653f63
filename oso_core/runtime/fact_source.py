"""What the runtime needs to answer a fact predicate from stored facts, owned here so the
runtime never imports the store (`oso_core.facts`) that implements it. Entities are
`oso_core.values.Value`, a bottom-layer type like `Variable` and `Expression`."""

from __future__ import annotations

from typing import Iterable, Optional, Protocol, Sequence


class FactSource(Protocol):
    """Stored facts, read by pattern."""

    def match(self, predicate: str, pattern: Sequence[Optional[object]]) -> Iterable[tuple]:
        """The facts `predicate(*args)` with `len(args) == len(pattern)` whose every argument
        equals the pattern's, where `None` in the pattern matches anything. Arguments are
        `Value` entities or `str`/`int`/`bool` primitives."""
