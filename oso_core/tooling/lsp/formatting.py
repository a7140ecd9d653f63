"""Formatting a document with `python -m oso_core fmt`'s formatter: one edit replacing the text."""

from __future__ import annotations

from lsprotocol import types

from ..fmt import format_source
from .documents import Document


def format_document(document: Document) -> list[types.TextEdit]:
    """The edits that lay the document out canonically (none when it already is). Raises the
    formatter's errors: ParserError when the text does not parse, FormatError when it cannot lay it out."""
    formatted = format_source(document.text, document.path)
    if formatted == document.text:
        return []
    return [types.TextEdit(range=document.lines.range(0, len(document.text)), new_text=formatted)]
