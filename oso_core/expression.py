"""`Expression` and `Pattern`: constraints on unbound variables as Python values."""

from __future__ import annotations

from typing import Any, Optional


class Expression:
    """An operator applied to arguments, e.g. `Expression("Gt", [Variable("_this"), 1])`."""

    def __init__(self, operator: str, args: list) -> None:
        self.operator = operator
        self.args = args

    def __repr__(self) -> str:
        return f"Expression({self.operator}, {self.args})"

    def __str__(self) -> str:
        return repr(self)

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Expression) and self.operator == other.operator
                and self.args == other.args)

    __hash__ = None  # type: ignore[assignment]


class Pattern:
    """A class pattern `Tag{fields}` (tag None: a dictionary pattern); right side of `Isa`."""

    def __init__(self, tag: Optional[str], fields: dict[str, Any]) -> None:
        self.tag = tag
        self.fields = fields

    def __repr__(self) -> str:
        return f"Pattern({self.tag}, {self.fields})"

    def __str__(self) -> str:
        return repr(self)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Pattern) and self.tag == other.tag and self.fields == other.fields

    __hash__ = None  # type: ignore[assignment]
