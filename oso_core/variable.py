"""`Variable`: names a logic variable in a query or a result."""

from __future__ import annotations


class Variable(str):
    """A `str` naming a Polar variable; equal to (and hashed like) the plain name."""

    def __repr__(self) -> str:
        return f"Variable({super().__repr__()})"

    def __str__(self) -> str:
        return repr(self)

    def __eq__(self, other: object) -> bool:
        return super().__eq__(other)

    def __hash__(self) -> int:
        return super().__hash__()
