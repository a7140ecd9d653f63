"""Errors and warnings collected while loading, and how they are located in the source.

Legacy oso does not stop at the first problem of a load: it collects errors and warnings in
order ("diagnostics"), prints every warning and raises the first error. Some errors are
*unrecoverable*: parse errors, file bookkeeping errors and resource-block errors. After each
phase that can produce them the load stops, so later phases add neither errors nor warnings.
"""

from __future__ import annotations

from typing import Optional, Union

from ..exceptions import OsoError, ValidationError
from .source import Span


def context(span: Optional[Span]) -> str:
    """Legacy's ` at line L, column C[ of file F]:` suffix with the source excerpt, or ``""``."""
    if span is None:
        return ""
    return span.context()


def location_details(span: Optional[Span]) -> dict[str, object]:
    """`details` entries locating an error, in the shape the parser uses."""
    if span is None:
        return {}
    line, column = span.source.line_col(span.start)
    return {"loc": span.start, "line": line, "column": column, "file": span.source.filename}


def validation_error(kind: str, message: str, span: Optional[Span] = None) -> ValidationError:
    """A located ValidationError; `kind` names legacy's validation error variant."""
    details = {"kind": kind, **location_details(span)}
    return ValidationError(message + context(span), details)


class Diagnostics:
    """The ordered errors and warnings of one load."""

    def __init__(self) -> None:
        # (is_error, error or warning text, where a warning points; errors carry it in `details`)
        self._items: list[tuple[bool, Union[OsoError, str], Optional[Span]]] = []
        self._unrecoverable = False

    def error(self, error: OsoError, unrecoverable: bool = False) -> None:
        self._items.append((True, error, None))
        self._unrecoverable = self._unrecoverable or unrecoverable

    def warning(self, text: str, span: Optional[Span] = None) -> None:
        """Record a warning; `span` (optional) is where it points, for tools such as `check`."""
        self._items.append((False, text, span))

    @property
    def unrecoverable(self) -> bool:
        """Has an error been recorded after which legacy stops the load?"""
        return self._unrecoverable

    def first_error(self) -> Optional[OsoError]:
        for is_error, item, _ in self._items:
            if is_error:
                assert isinstance(item, OsoError)
                return item
        return None

    def warnings(self) -> list[str]:
        return [item for _, item, _ in self._items if isinstance(item, str)]

    def entries(self) -> list[tuple[bool, Union[OsoError, str], Optional[Span]]]:
        """Every recorded (is_error, error or warning text, warning span), in order."""
        return list(self._items)
