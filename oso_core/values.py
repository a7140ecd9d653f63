"""Typed values of the fact model: `Value("User", "alice")`, as on the Oso Cloud wire.

An entity is a (type, id) pair; ids are strings, like on the wire. Primitive arguments are plain
Python `str`, `int` and `bool` (Polar `String`, `Integer`, `Boolean`). In a pattern, `None`
matches any value and `ValueOfType("Repo")` any value of one type.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Union


@dataclass(frozen=True, slots=True)
class Value:
    """An entity: a type name and a string id (`Value("Repo", 7)` stores id `"7"`)."""

    type: str
    id: str

    def __init__(self, type: str, id: Union[str, int]) -> None:
        if not isinstance(type, str) or not type:
            raise TypeError(f"Value type must be a non-empty string, got {type!r}")
        if isinstance(id, bool) or not isinstance(id, (str, int)):
            raise TypeError(f"Value id must be a string or an integer, got {id!r}")
        object.__setattr__(self, "type", type)
        object.__setattr__(self, "id", str(id))

    def __repr__(self) -> str:
        return f"{self.type}{{{self.id!r}}}"


@dataclass(frozen=True, slots=True)
class ValueOfType:
    """A pattern argument matching any value of `type`."""

    type: str


# A concrete argument, and a pattern argument.
Arg = Union[Value, str, int, bool]
PatternArg = Optional[Union[Value, ValueOfType, str, int, bool]]
