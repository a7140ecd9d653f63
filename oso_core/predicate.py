"""`Predicate`: a rule call (name and arguments) as a Python value."""

from __future__ import annotations

from typing import Any, Sequence


class Predicate:
    """A call such as `f(1, x)`: query it with `Polar.query(Predicate("f", [1, Variable("x")]))`."""

    def __init__(self, name: str, args: Sequence[Any]) -> None:
        self.name = name
        self.args = args

    def __str__(self) -> str:
        return f'{self.name}({", ".join(str(a) for a in self.args)})'

    def __repr__(self) -> str:
        return f"Predicate({self.name!r}, {list(self.args)!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, type(self)):
            return False
        return (self.name == other.name and len(self.args) == len(other.args)
                and all(x == y for x, y in zip(self.args, other.args)))

    __hash__ = None  # type: ignore[assignment]
