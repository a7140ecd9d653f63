"""The policy languages the server understands, each a parser and a checker over the frontend's AST.

A document's dialect comes from its language id (or, for files read from disk, its suffix);
documents of different dialects are never loaded together. Legacy Polar (`.polar`) is the one
the engine implements.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ...frontend.parser import parse_program
from ...frontend.source import Source
from ...frontend.syntax import Item
from ...host import Host
from ..check import check_sources
from ..lint import Diagnostic


@dataclass(frozen=True)
class Dialect:
    language_id: str
    suffixes: tuple[str, ...]
    parse: Callable[[Source], list[Item]]  # raises ParserError
    check: Callable[[Sequence[Source], Host | None], list[Diagnostic]]


LEGACY_POLAR = Dialect("polar", (".polar",), parse_program, lambda sources, host: check_sources(sources, host))

DIALECTS = (LEGACY_POLAR,)


def dialect_for(language_id: str | None, path: str | None) -> Dialect | None:
    """The dialect of a document by its language id, else by the suffix of its path."""
    for dialect in DIALECTS:
        if language_id == dialect.language_id:
            return dialect
    for dialect in DIALECTS:
        if path is not None and path.endswith(dialect.suffixes):
            return dialect
    return None
